/**
 * ResNet50 models with Keras 3's architecture and semantics, on tfjs.
 *
 * - {@linkcode resnet50}: `keras.applications.ResNet50` (layer names, shapes,
 *   parameter counts; optional ImageNet or Keras weights).
 * - {@linkcode preprocessInput} / {@linkcode PreprocessInput}: ResNet's
 *   "caffe" preprocessing as a function and as a layer.
 * - {@linkcode loadKerasWeights}: Keras `.h5` / `.weights.h5` files by layer name.
 * - {@linkcode saveKerasWeights}: Keras 3's `.weights.h5` (Keras' `load_weights` reads it).
 * - {@linkcode saveTfjsModel}: tfjs' layers format (`model.json` + shards) for `tf.loadLayersModel`.
 * - {@linkcode transferModel}: the study's head on a frozen base.
 * - {@linkcode BatchNormalization}: Keras 3 BatchNorm (frozen = inference mode).
 *
 * Call `await initEngine()` (lib/engine) before building models.
 *
 * @example
 * ```ts
 * import { initEngine } from "../engine/mod.ts";
 * import { resnet50, transferModel } from "./mod.ts";
 * await initEngine();
 * const scratch = resnet50({ inputShape: [128, 128, 3], classes: 23, preprocess: true, seed: 1 });
 * const base = await resnet50({ inputShape: [256, 256, 3], includeTop: false, weights: "imagenet" });
 * const head = transferModel({ base, classes: 23 });
 * ```
 *
 * @module
 */
export { resnet50, type ResNet50Options, RESNET_BN_EPSILON } from "./resnet.ts";
export {
  IMAGENET_MEAN_BGR,
  PreprocessInput,
  preprocessInput,
  type PreprocessInputArgs,
  preprocessInputLayer,
} from "./preprocess.ts";
export {
  imagenetWeightsPath,
  KERAS_RESNET_WEIGHTS_URL,
  loadKerasWeights,
  type LoadWeightsOptions,
  type LoadWeightsReport,
  RESNET50_WEIGHTS_MD5,
  resnet50WeightsFileName,
  WEIGHTS_DIR,
} from "./weights.ts";
export { transferModel, type TransferModelOptions } from "./transfer.ts";
export { AddThenReLU, markRelu, ReLU, reluFusionActive } from "./relu_fusion.ts";
export {
  BatchNormalization,
  type BatchNormalizationArgs,
  type BatchNormKernels,
  batchNormKernels,
  type BatchNormTrainingResult,
  defaultBatchNormKernels,
  setBatchNormKernels,
  tfjsBatchNormKernels,
} from "./batchnorm.ts";
export {
  kerasClassName,
  kerasWeightPaths,
  type KerasWeightsEntry,
  saveKerasWeights,
  type SaveKerasWeightsReport,
} from "./keras_save.ts";
export {
  PREPROCESS_INPUT_MODULE,
  saveTfjsModel,
  type SaveTfjsModelOptions,
  type SaveTfjsModelReport,
  TFJS_SHARD_BYTES,
} from "./tfjs_export.ts";
