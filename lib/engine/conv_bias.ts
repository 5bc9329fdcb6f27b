/**
 * Convolution + bias as one kernel when TensorFlow runs oneDNN.
 *
 * tfjs' `FusedConv2D` kernel on the native engine runs `Conv2D`, then adds the
 * bias with a broadcasting `Add`: a second pass over an activation-sized
 * tensor and a second such tensor, for each of ResNet50's 53 convolutions.
 * With oneDNN on (lib/engine/onednn.ts), TensorFlow has a kernel that adds
 * the bias inside the convolution (`_MklNativeConv2DWithBias`, registered
 * under the label `MklNameChangeOp`); TensorFlow's own graphs use it for
 * Keras' biased convolutions. This module makes tfjs' `FusedConv2D` use it for
 * float32 NHWC convolutions with a bias and no activation; everything else
 * (other activations, no bias, other layouts, oneDNN off: TensorFlow's
 * `_FusedConv2D` needs a string-list attribute the addon cannot pass) keeps
 * the original kernel. Gradients are tfjs' own (they never read the kernel's
 * output), so training is unchanged up to float rounding.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { floatAttr, nativeBackend } from "./native.ts";
import { oneDnnInUse } from "./onednn.ts";

interface KernelArgs {
  inputs: Record<string, tf.Tensor | null | undefined>;
  attrs: Record<string, unknown>;
  backend: unknown;
}
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

let installed = false;
let fusedCalls = 0;

/** How many convolutions this process ran with the bias fused in (diagnostics, tests). */
export function fusedConvBiasCount(): number {
  return fusedCalls;
}

const pair = (v: unknown): [number, number] | null => {
  const [a, b] = typeof v === "number" ? [v, v] : Array.isArray(v) ? v : [NaN, NaN];
  return Number.isInteger(a) && Number.isInteger(b) ? [a, b] : null;
};

/**
 * Registers the fused kernel as the `tensorflow` backend's `FusedConv2D` when
 * libtensorflow runs oneDNN on the CPU. Idempotent; `initEngine` calls it.
 */
export function installConvBias(): void {
  const b = nativeBackend();
  if (installed || !b || b.isUsingGpuDevice || !oneDnnInUse()) return;
  const k = tf.getKernel("FusedConv2D", "tensorflow");
  if (!k) return;
  installed = true;
  const original = k.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel("FusedConv2D", "tensorflow");
  tf.registerKernel({
    kernelName: "FusedConv2D",
    backendName: "tensorflow",
    kernelFunc: ((args: KernelArgs) => {
      const { x, filter, bias } = args.inputs;
      const a = args.attrs;
      const strides = pair(a.strides);
      const dilations = pair(a.dilations ?? 1);
      const be = nativeBackend();
      if (
        !be || !x || !filter || !bias || x.dtype !== "float32" || filter.dtype !== "float32" ||
        bias.dtype !== "float32" || bias.rank !== 1 || x.rank !== 4 ||
        (a.activation ?? "linear") !== "linear" || (a.dataFormat ?? "NHWC") !== "NHWC" ||
        !(a.pad === "same" || a.pad === "valid") || !strides || !dilations
      ) {
        return original(args);
      }
      const t = be.binding;
      fusedCalls++;
      return be.executeMultipleOutputs(
        "_MklNativeConv2DWithBias",
        [
          ...floatAttr(be),
          { name: "strides", type: t.TF_ATTR_INT, value: [1, ...strides, 1] },
          { name: "padding", type: t.TF_ATTR_STRING, value: String(a.pad).toUpperCase() },
          { name: "explicit_paddings", type: t.TF_ATTR_INT, value: [] },
          { name: "data_format", type: t.TF_ATTR_STRING, value: "NHWC" },
          { name: "dilations", type: t.TF_ATTR_INT, value: [1, ...dilations, 1] },
          { name: "use_cudnn_on_gpu", type: t.TF_ATTR_BOOL, value: true },
          { name: "_kernel", type: t.TF_ATTR_STRING, value: "MklNameChangeOp" },
        ],
        [x, filter, bias],
        1,
      )[0];
    }) as unknown as tf.KernelFunc,
  });
}
