/**
 * Faster convolution gradients on the native CPU engine.
 *
 * TensorFlow's default CPU kernels for `Conv2DBackpropInput` and
 * `Conv2DBackpropFilter` are often slower than other ways to the same
 * numbers, and which way wins depends on the shape. Measured per ResNet50
 * convolution (batch 8, 128 and 256 px, 2 cores; docs/engine.md):
 *
 * - TensorFlow also registers its Eigen tensor-contraction kernels for both
 *   ops under the label `eigen_tensor` (chosen with the `_kernel` attribute).
 *   For the input gradient of stride-1 "same" convolutions with odd filters
 *   they are 1.2-3x faster than the default kernel (and faster than a forward
 *   convolution with the flipped filter, whose filter transpose alone costs
 *   several ms for 3x3x512x512), and for their filter gradient once the image
 *   is 16x16 or larger (1.1-1.6x; slower below). They are far slower for the
 *   strided 7x7 stem (30x), so they are used only where measured.
 * - 1x1 ("pointwise") convolutions are matrix products: the input gradient is
 *   `dy W^T` (spread over the input grid for strides > 1), the filter gradient
 *   `x^T dy`, one `BatchMatMul` each; for the input gradient of stride-1 1x1
 *   convolutions on 8x8 or larger images the Eigen kernel is faster still.
 *   Strided 1x1 filter gradients keep the default kernel (sub-sampling `x`
 *   first cost more than it saved).
 *
 * Every route gives the default kernel's results to float32 rounding (tested
 * against the pure-JS backend). The GPU (cuDNN) keeps TensorFlow's kernels, and
 * so does the CPU with oneDNN on (lib/engine/onednn.ts): TensorFlow then runs
 * oneDNN's kernels for both gradients.
 * `tools/bench/conv_grads.ts` re-measures every shape (default, Eigen, ours)
 * on another machine before the thresholds are changed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { floatAttr, type NativeBackend, nativeBackend, type OpAttr } from "./native.ts";
import { oneDnnInUse } from "./onednn.ts";

/** How one convolution gradient is computed (see the module documentation). */
export type ConvGradientRoute = "pointwise" | "eigen" | "tensorflow";

/** Images of at least this many pixels (H x W) take the Eigen filter gradient of odd filters. */
const EIGEN_MIN_PIXELS = 256;

interface KernelArgs {
  inputs: Record<string, tf.Tensor>;
  attrs: Record<string, unknown>;
  backend: unknown;
}
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

const ones = (v: unknown) =>
  v === undefined || v === 1 || (Array.isArray(v) && v.every((x) => x === 1));

function stridesOf(attrs: Record<string, unknown>): [number, number] | null {
  const st = attrs.strides;
  const [sh, sw] = typeof st === "number" ? [st, st] : (st ?? [1, 1]) as [number, number];
  return Number.isInteger(sh) && Number.isInteger(sw) ? [sh, sw] : null;
}

/**
 * The route of one convolution gradient on the native CPU engine.
 *
 * @param which `"input"` (Conv2DBackpropInput) or `"filter"` (Conv2DBackpropFilter)
 * @param xShape the convolution's input, NHWC
 * @param filterShape `[kh, kw, inChannels, outChannels]`
 * @param attrs tfjs' kernel attributes (`strides`, `pad`, `dataFormat`, `dilations`)
 * @param oneDnn whether libtensorflow runs with oneDNN on (then always `"tensorflow"`:
 *   oneDNN's kernels). Default: as the engine loaded it.
 * @example
 * ```ts
 * convGradientRoute("input", [8, 32, 32, 64], [3, 3, 64, 64], { strides: 1, pad: "same" }); // "eigen"
 * ```
 */
export function convGradientRoute(
  which: "input" | "filter",
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: Record<string, unknown>,
  oneDnn: boolean = oneDnnInUse(),
): ConvGradientRoute {
  const [kh, kw] = filterShape;
  const strides = stridesOf(attrs);
  // With oneDNN on, TensorFlow runs its own oneDNN kernels for both gradients
  // (it renames the ops, and the renamed ones have no "eigen_tensor" kernel).
  if (oneDnn) return "tensorflow";
  if (
    !strides || (attrs.dataFormat ?? "NHWC") !== "NHWC" || !ones(attrs.dilations) ||
    xShape.length !== 4 || filterShape.length !== 4
  ) return "tensorflow";
  const pixels = xShape[1] * xShape[2];
  const stride1 = strides[0] === 1 && strides[1] === 1;
  if (kh === 1 && kw === 1) {
    // A 1x1 window never needs padding: "same" and "valid" (and 0) agree.
    if (!(attrs.pad === "valid" || attrs.pad === "same" || attrs.pad === 0)) return "tensorflow";
    if (which === "input") return stride1 && pixels >= 64 ? "eigen" : "pointwise";
    return stride1 ? "pointwise" : "tensorflow";
  }
  if (kh % 2 === 1 && kw % 2 === 1 && attrs.pad === "same" && stride1) {
    if (which === "input") return "eigen";
    return pixels >= EIGEN_MIN_PIXELS ? "eigen" : "tensorflow";
  }
  return "tensorflow";
}

/**
 * Runs TensorFlow's convolution-gradient `op` (NHWC, undilated) directly,
 * with the kernel registered under `label` (`"eigen_tensor"`) or, without
 * one, TensorFlow's default kernel.
 *
 * @param operand the filter for `Conv2DBackpropInput`, the input `x` for `Conv2DBackpropFilter`
 * @param sizes the shape of the result: the input's or the filter's
 * @param padding `"same"` or `"valid"`
 * @example
 * ```ts
 * const dx = runConvGradKernel(b, "Conv2DBackpropInput", w, dy, [8, 32, 32, 64], [1, 1], "same", "eigen_tensor");
 * ```
 */
export function runConvGradKernel(
  b: NativeBackend,
  op: "Conv2DBackpropInput" | "Conv2DBackpropFilter",
  operand: tf.Tensor,
  dy: tf.Tensor,
  sizes: readonly number[],
  [sh, sw]: readonly [number, number],
  padding: "same" | "valid",
  label?: string,
): tf.Tensor {
  const t = b.binding;
  const attrs: OpAttr[] = [
    ...floatAttr(b),
    { name: "strides", type: t.TF_ATTR_INT, value: [1, sh, sw, 1] },
    { name: "padding", type: t.TF_ATTR_STRING, value: padding.toUpperCase() },
    { name: "data_format", type: t.TF_ATTR_STRING, value: "NHWC" },
    { name: "dilations", type: t.TF_ATTR_INT, value: [1, 1, 1, 1] },
    { name: "use_cudnn_on_gpu", type: t.TF_ATTR_BOOL, value: true },
    { name: "explicit_paddings", type: t.TF_ATTR_INT, value: [] },
  ];
  if (label) attrs.push({ name: "_kernel", type: t.TF_ATTR_STRING, value: label });
  const sizeTensor = tf.tensor1d(sizes as number[], "int32");
  try {
    const inputs = op === "Conv2DBackpropInput"
      ? [sizeTensor, operand, dy]
      : [operand, sizeTensor, dy];
    return b.executeMultipleOutputs(op, attrs, inputs, 1)[0];
  } finally {
    sizeTensor.dispose();
  }
}

/** `runConvGradKernel` with the Eigen kernel, for one of tfjs' kernel calls. */
function eigenConvGrad(
  b: NativeBackend,
  op: "Conv2DBackpropInput" | "Conv2DBackpropFilter",
  operand: tf.Tensor,
  dy: tf.Tensor,
  sizes: readonly number[],
  attrs: Record<string, unknown>,
): tf.Tensor {
  const padding = attrs.pad === "same" ? "same" : "valid";
  return runConvGradKernel(b, op, operand, dy, sizes, stridesOf(attrs)!, padding, "eigen_tensor");
}

/**
 * The input gradient of a 1x1 convolution: `dy W^T` as one matrix product,
 * then, for strides > 1, spread over the input's grid (zeros between).
 */
function pointwiseBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inShape: [number, number, number, number],
  [sh, sw]: [number, number],
): tf.Tensor4D {
  const [n, h, w, cin] = inShape;
  const cout = filter.shape[3];
  const [, ho, wo] = dy.shape;
  return tf.tidy(() => {
    const dy2 = tf.reshape(dy, [-1, cout]);
    const w2 = tf.reshape(filter, [cin, cout]);
    // Few rows (small images): W dy^T then a transpose of the small result is
    // faster than dy W^T (measured 3.3 vs 5.8-8.8 ms at 4x4x2048 -> 512).
    const g = dy2.shape[0] * 2 < cin
      ? tf.transpose(tf.matMul(w2, dy2, false, true))
      : tf.matMul(dy2, w2, false, true);
    if (sh === 1 && sw === 1) return tf.reshape(g, [n, h, w, cin]) as tf.Tensor4D;
    const spread = tf.pad(tf.reshape(g, [n, ho, 1, wo, 1, cin]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]).reshape([n, ho * sh, wo * sw, cin]);
    return tf.slice(spread, [0, 0, 0, 0], [n, h, w, cin]) as tf.Tensor4D;
  });
}

/** The filter gradient of a stride-1 1x1 convolution: one matrix product `x^T dy`. */
function pointwiseBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const cin = x.shape[3];
  const cout = dy.shape[3];
  return tf.tidy(() => {
    const dw = tf.matMul(tf.reshape(x, [-1, cin]), tf.reshape(dy, [-1, cout]), true, false);
    return tf.reshape(dw, [1, 1, cin, cout]) as tf.Tensor4D;
  });
}

let installed = false;
let inputGradientUnused = 0;
const counts = { eigen: 0, pointwise: 0, tensorflow: 0, unused: 0 };

/**
 * How many convolution gradients each route computed in this process so far
 * (`unused`: input gradients skipped by {@linkcode withUnusedInputGradient}).
 * A copy; for diagnostics and tests.
 */
export function convGradientCounts(): Record<ConvGradientRoute | "unused", number> {
  return { ...counts };
}

/**
 * Runs `f` with the input gradients of convolutions marked unused: the
 * `Conv2DBackpropInput` kernel then returns zeros of the right shape without
 * computing them. For the backward step of a fused convolution (convolution +
 * bias as one custom gradient in tfjs, which computes the gradients of all its
 * inputs together) whose input is no function of what the gradient is taken
 * of, e.g. ResNet50's stem seeing the image: TensorFlow's executor never
 * computes that gradient, tfjs would (50 ms a step at 256 px) and throw it
 * away. The backprop wrapper of lib/engine/tape_release.ts decides when.
 */
export function withUnusedInputGradient<T>(f: () => T): T {
  inputGradientUnused++;
  try {
    return f();
  } finally {
    inputGradientUnused--;
  }
}

/**
 * Registers the routes of {@linkcode convGradientRoute} as the `tensorflow`
 * backend's `Conv2DBackpropInput` / `Conv2DBackpropFilter` kernels on the CPU
 * engine; every other case keeps the original kernels. Idempotent;
 * `installFastGradients` calls it (off with `ACMC_FAST_GRADIENTS=0`).
 */
export function installConvGradients(): void {
  const b = nativeBackend();
  if (installed || !b || b.isUsingGpuDevice) return;
  const input = tf.getKernel("Conv2DBackpropInput", "tensorflow");
  const filter = tf.getKernel("Conv2DBackpropFilter", "tensorflow");
  if (!input || !filter) return;
  installed = true;
  const original = {
    input: input.kernelFunc as unknown as KernelFunc,
    filter: filter.kernelFunc as unknown as KernelFunc,
  };
  tf.unregisterKernel("Conv2DBackpropInput", "tensorflow");
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "tensorflow",
    kernelFunc: ((args: KernelArgs) => {
      const { dy, filter: f } = args.inputs;
      const b = nativeBackend();
      const inShape = args.attrs.inputShape as [number, number, number, number];
      if (inputGradientUnused > 0) {
        counts.unused++;
        return tf.zeros(inShape, dy.dtype);
      }
      if (!b || dy.dtype !== "float32" || f.dtype !== "float32") {
        counts.tensorflow++;
        return original.input(args);
      }
      const route = convGradientRoute("input", inShape, f.shape, args.attrs);
      counts[route]++;
      if (route === "pointwise") {
        return pointwiseBackpropInput(
          dy as tf.Tensor4D,
          f as tf.Tensor4D,
          inShape,
          stridesOf(args.attrs)!,
        );
      }
      if (route === "eigen") {
        return eigenConvGrad(b, "Conv2DBackpropInput", f, dy, inShape, args.attrs);
      }
      return original.input(args);
    }) as unknown as tf.KernelFunc,
  });
  tf.unregisterKernel("Conv2DBackpropFilter", "tensorflow");
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "tensorflow",
    kernelFunc: ((args: KernelArgs) => {
      const { x, dy } = args.inputs;
      const b = nativeBackend();
      const fShape = args.attrs.filterShape as [number, number, number, number];
      if (!b || x.dtype !== "float32" || dy.dtype !== "float32") {
        counts.tensorflow++;
        return original.filter(args);
      }
      const route = convGradientRoute("filter", x.shape, fShape, args.attrs);
      counts[route]++;
      if (route === "pointwise") {
        return pointwiseBackpropFilter(x as tf.Tensor4D, dy as tf.Tensor4D);
      }
      if (route === "eigen") {
        return eigenConvGrad(b, "Conv2DBackpropFilter", x, dy, fShape, args.attrs);
      }
      return original.filter(args);
    }) as unknown as tf.KernelFunc,
  });
}
