/**
 * Direct access to the native TensorFlow backend of tfjs-node: running a
 * TensorFlow op by name with its attributes, for kernels tfjs does not expose
 * (FusedBatchNormV3, ResourceApplyAdam, BiasAddGrad, DecodeImage, ...), and
 * what the addon reports about itself. Used by lib/engine and lib/data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The attribute type and dtype codes of the addon's binding, and its reports. */
export interface AttrBinding {
  TF_ATTR_TYPE: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_STRING: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_INT: number;
  TF_ATTR_SHAPE: number;
  TF_FLOAT: number;
  /** `TF_Version()` of the loaded libtensorflow. */
  TF_Version: string;
  /** Tensors libtensorflow holds. */
  getNumOfTensors(): number;
}

/** One op attribute as the binding takes it. */
export interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** The part of tfjs-node's `NodeJSKernelBackend` used here. */
export interface NativeBackend {
  binding: AttrBinding;
  /** True when TensorFlow runs on a GPU. */
  isUsingGpuDevice: boolean;
  executeMultipleOutputs(
    name: string,
    attrs: OpAttr[],
    inputs: tf.Tensor[],
    numOutputs: number,
  ): tf.Tensor[];
}

/** The native backend when it is the active one, else null. */
export function nativeBackend(): NativeBackend | null {
  if (tf.getBackend() !== "tensorflow") return null;
  const b = tf.backend() as unknown as Partial<NativeBackend>;
  return typeof b.executeMultipleOutputs === "function" ? b as NativeBackend : null;
}

/**
 * True when the engine's own native kernels run (the native backend is the
 * active one): fused batch norm, ReLU fusion, ReluGrad, ResourceApplyAdam.
 */
export function hasFusedKernels(): boolean {
  return nativeBackend() !== null;
}

/** The float32 type attribute `T`. */
export function floatAttr(b: NativeBackend): OpAttr[] {
  return [{ name: "T", type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT }];
}
