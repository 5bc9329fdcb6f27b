/**
 * The TensorFlow engine behind every model in this project.
 *
 * `tf` is the tfjs namespace; {@linkcode initEngine} must run (once) before
 * heavy work so that the native TensorFlow backend of
 * `@tensorflow/tfjs-node-gpu` is registered and selected (GPU when TensorFlow
 * sees one, else CPU; pure JS only with a loud warning). `ACMC_ENGINE=gpu|cpu|js`
 * forces a choice. {@linkcode engineInfo} reports what is in use.
 *
 * Always import `tf` from here, never `@tensorflow/tfjs` directly.
 *
 * @example
 * ```ts
 * import { describeEngine, initEngine, tf } from "../lib/engine/mod.ts";
 * await initEngine();
 * console.log(describeEngine());
 * tf.tidy(() => tf.ones([2, 2]).matMul(tf.ones([2, 2])).print());
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

export { tf };
export {
  cudaPipLibDirs,
  describeEngine,
  type EngineChoice,
  type EngineInfo,
  engineInfo,
  type EngineOptions,
  initEngine,
  type LibTensorFlowInfo,
  NATIVE_PACKAGE_DIR,
  nativeTensorCount,
} from "./engine.ts";
export { installNodeCompat } from "./compat.ts";
export { hasFusedKernels, type NativeBackend, nativeBackend, type OpAttr } from "./native.ts";
export { type OneDnnDecision, oneDnnInUse, type OneDnnIsa } from "./onednn.ts";
export {
  adam,
  type AdamState,
  adamState,
  isNativeAdam,
  materializeAdamState,
  setAdamState,
} from "./adam.ts";
export {
  type AttrValue,
  DT,
  Graph,
  libtensorflowPath,
  type Output as GraphOutput,
  Session,
} from "./tf_c.ts";
export { type FusedBatchNormResult, fusedBatchNormTraining } from "./batch_norm.ts";
export { addRelu } from "./relu.ts";
export { installFastGradients } from "./fast_gradients.ts";
export { type ColdPageRelease, installColdPageRelease, releaseColdPages } from "./cold_pages.ts";
