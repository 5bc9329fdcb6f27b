/**
 * The engine's automatic training-step fixes, installed together by
 * {@linkcode installFastGradients} (which lib/engine's `initEngine` calls unless
 * `fastGradients: false` / `ACMC_FAST_GRADIENTS=0`, e.g. for the benchmark's
 * "before" figures).
 *
 * @module
 */
import { installColumnSums } from "./column_sums.ts";
import { installConvGradients } from "./conv_grads.ts";
import { installReluGradient } from "./relu.ts";
import { installEarlyGradientRelease } from "./tape_release.ts";

/**
 * Installs, globally and once (idempotent), four replacements for the way
 * tfjs runs a training step, each falling back to tfjs' own maths where it
 * does not apply (pure-JS backend, other shapes or dtypes):
 *
 * 1. Relu's gradient as one TensorFlow `ReluGrad` kernel, saving the Relu's
 *    output instead of its input (./relu.ts).
 * 2. Early release on the gradient tape: each op's saved tensors and incoming
 *    gradients are freed as soon as its gradient is computed; an `Add`
 *    without broadcasting saves nothing; the input gradient of a fused
 *    convolution whose input needs none (ResNet50's stem) is skipped
 *    (./tape_release.ts).
 * 3. Convolution gradients routed per shape to TensorFlow's fastest CPU
 *    kernel or a matrix product (./conv_grads.ts; CPU engine only).
 * 4. Float32 sums over all axes but the last (a convolution's bias gradient)
 *    as one `BiasAddGrad` kernel (./column_sums.ts).
 *
 * @example
 * ```ts
 * await initEngine({ fastGradients: false }); // tfjs as shipped
 * installFastGradients(); // now with the four replacements
 * ```
 */
export function installFastGradients(): void {
  installReluGradient();
  installEarlyGradientRelease();
  installConvGradients();
  installColumnSums();
}
