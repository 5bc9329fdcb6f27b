/**
 * Column sums (a sum over every axis but the last, e.g. the bias gradient of
 * a convolution: `dy` summed over batch, height and width) as TensorFlow's
 * `BiasAddGrad` kernel on the native engine: 2-3x faster than its generic
 * `Sum` reduction on ResNet50's activations (measured 0.4 vs 1.3 ms for
 * 8x64x64x64, 2.0 vs 5.8 ms for 8x128x128x64), same sums to float32 rounding.
 * tfjs' fused convolution computes its bias gradient this way, once per
 * convolution per step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { floatAttr, nativeBackend } from "./native.ts";

interface SumArgs {
  inputs: { x: tf.Tensor };
  attrs: { axis: number | number[]; keepDims: boolean };
  backend: unknown;
}

/** True when `axis` names every axis of a rank-`rank` tensor but the last, once each. */
export function isColumnSum(axis: number | number[] | undefined, rank: number): boolean {
  if (rank < 2 || axis === undefined) return false;
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
  if (axes.length !== rank - 1) return false;
  const sorted = [...axes].sort((a, b) => a - b);
  return sorted.every((a, i) => a === i);
}

let installed = false;

/**
 * Registers the `tensorflow` backend's `Sum` kernel so that float32 column
 * sums without `keepDims` run as `BiasAddGrad`; every other sum keeps the
 * original kernel. Idempotent; `installFastGradients` calls it.
 */
export function installColumnSums(): void {
  if (installed || !nativeBackend()) return;
  const sum = tf.getKernel("Sum", "tensorflow");
  if (!sum) return;
  installed = true;
  const original = sum.kernelFunc as unknown as (args: SumArgs) => tf.TensorInfo;
  tf.unregisterKernel("Sum", "tensorflow");
  tf.registerKernel({
    kernelName: "Sum",
    backendName: "tensorflow",
    kernelFunc: ((args: SumArgs) => {
      const { x } = args.inputs;
      const b = nativeBackend();
      if (
        !b || x.dtype !== "float32" || args.attrs.keepDims || !isColumnSum(args.attrs.axis, x.rank)
      ) return original(args);
      const format = { name: "data_format", type: b.binding.TF_ATTR_STRING, value: "NHWC" };
      return b.executeMultipleOutputs("BiasAddGrad", [...floatAttr(b), format], [x], 1)[0];
    }) as unknown as tf.KernelFunc,
  });
}
