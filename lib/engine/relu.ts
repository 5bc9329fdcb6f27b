/**
 * ReLU on the native engine: TensorFlow's `Relu` / `ReluGrad` kernels for use
 * inside custom gradients, {@linkcode addRelu} (a ResNet block's
 * `relu(shortcut + residual)` keeping only its output for the gradient), and
 * the one-kernel Relu gradient ({@linkcode installReluGradient}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

import { floatAttr, type NativeBackend, nativeBackend } from "./native.ts";

/** TensorFlow's `Relu` kernel (no tape: for use inside a custom gradient). */
export function reluKernel(b: NativeBackend, x: tf.Tensor): tf.Tensor {
  return b.executeMultipleOutputs("Relu", floatAttr(b), [x], 1)[0];
}

/** TensorFlow's `ReluGrad(dy, y)`: `dy` where the ReLU's output `y` is positive, else 0. */
export function reluGradKernel(b: NativeBackend, dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return b.executeMultipleOutputs("ReluGrad", floatAttr(b), [dy, y], 1)[0];
}

/**
 * `relu(a + b)` for two float32 tensors of the same shape (a ResNet block's
 * shortcut and residual) as one differentiable op that keeps only its output
 * for the gradient: the sum itself is never held, where `tf.relu(tf.add(a, b))`
 * keeps an activation-sized sum alive until the forward pass ends. Off the
 * native backend, or for other shapes or dtypes, it is exactly that composition.
 *
 * @example
 * ```ts
 * const out = addRelu(shortcut, residual);
 * ```
 */
export function addRelu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const be = nativeBackend();
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!be || !same || a.dtype !== "float32" || b.dtype !== "float32") {
    return tf.tidy(() => tf.relu(tf.add(a, b)));
  }
  const f = tf.customGrad((...args: unknown[]) => {
    const [x, y, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const sum = be.executeMultipleOutputs("AddV2", floatAttr(be), [x, y], 1)[0];
    const out = reluKernel(be, sum);
    sum.dispose();
    save([out]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = reluGradKernel(be, dy, saved[0]);
        return [g, g.clone()];
      },
    };
  });
  return f(a, b);
}

let reluGradInstalled = false;

/**
 * Makes the gradient of `Relu` one TensorFlow `ReluGrad` kernel on the native
 * backend (tfjs computes `dy * step(x)` with Step = five kernels, two of them
 * filling activation-sized tensors: ~10% of a ResNet50 step), saving the
 * Relu's output instead of its input. Other backends keep tfjs' formula.
 * Global and idempotent; `installFastGradients` (./fast_gradients.ts) calls it.
 */
export function installReluGradient(): void {
  if (reluGradInstalled) return;
  reluGradInstalled = true;
  tf.registerGradient({
    kernelName: "Relu",
    // The output, not the input: the input (a batch-norm output) can then be
    // freed after the forward pass, as TensorFlow's own ReluGrad does.
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [y] = saved;
      const g = dy as tf.Tensor;
      return {
        x: () => {
          const b = nativeBackend();
          if (b && y.dtype === "float32" && g.dtype === "float32") return reluGradKernel(b, g, y);
          return tf.mul(g, tf.cast(tf.step(y), "float32"));
        },
      };
    },
  });
}
