/**
 * The study's transfer-learning model: a frozen ResNet50 base (ImageNet
 * weights, no top) under a small trainable head.
 *
 * @module
 */
import { tf } from "../engine/mod.ts";

/** Options of {@linkcode transferModel}. */
export interface TransferModelOptions {
  /** The base, e.g. `await resnet50({ includeTop: false, weights: "imagenet", inputShape })`. */
  base: tf.LayersModel;
  /** Number of classes of the output layer. */
  classes: number;
  /** Units of the hidden Dense (relu) layer. Default 256 (the study's 512 px run used 512). */
  dense?: number;
  /** Dropout rate after the hidden layer. Default 0.5. */
  dropout?: number;
  /** Pool size (and stride) of the AveragePooling2D on the base's output. Default 7. */
  poolSize?: number;
  /** Freeze the base (every base layer `trainable = false`). Default true. */
  freezeBase?: boolean;
  /** Seed of the head's initial weights (Glorot uniform). Default unseeded. */
  seed?: number;
  /** Model name. Default `"transfer"`. */
  name?: string;
}

/**
 * Builds the study's head on top of `base` (Keras layer names):
 * `average_pooling2d` (AveragePooling2D(poolSize)) -> `flatten` -> `dense`
 * (Dense(dense, relu)) -> `dropout` (Dropout(dropout)) -> `dense_1`
 * (Dense(classes, softmax)). The result is one flat model over the base's
 * input and layers (shared, not copied).
 *
 * With `freezeBase` (default) every base layer gets `trainable = false`
 * before the model is compiled: its weights are left out of training and its
 * BatchNormalization layers (lib/models BatchNormalization) run in inference
 * mode and keep their moving statistics, as in Keras 3. Compile after this
 * call, never before (tfjs collects trainable weights at compile time).
 *
 * @example
 * ```ts
 * const base = await resnet50({ includeTop: false, weights: "imagenet", inputShape: [256, 256, 3] });
 * const model = transferModel({ base, classes: 23 }); // 256 px: 8x8 -> AvgPool(7) -> 1x1x2048
 * ```
 */
export function transferModel(options: TransferModelOptions): tf.LayersModel {
  const { base, classes, dense = 256, dropout = 0.5, poolSize = 7, freezeBase = true } = options;
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`transferModel: classes must be a positive integer, got ${classes}`);
  }
  if (!Number.isInteger(dense) || dense < 1) {
    throw new Error(`transferModel: dense must be a positive integer, got ${dense}`);
  }
  if (!(dropout >= 0 && dropout < 1)) {
    throw new Error(`transferModel: dropout must be in [0, 1), got ${dropout}`);
  }
  const out = base.outputs[0];
  if (base.outputs.length !== 1 || out.rank !== 4) {
    throw new Error(
      `transferModel: the base must have one 4-D output (build it with includeTop: false ` +
        `and no pooling), got output shape [${out.shape}]`,
    );
  }
  const [h, w] = out.shape.slice(1, 3);
  if (h != null && w != null && (h < poolSize || w < poolSize)) {
    throw new Error(
      `transferModel: the base's feature map ${h}x${w} is smaller than poolSize ${poolSize} ` +
        `(use larger images: ResNet50 divides the size by 32, or a smaller poolSize)`,
    );
  }
  if (freezeBase) {
    for (const layer of base.layers) layer.trainable = false;
    base.trainable = false;
  }
  let seed = options.seed;
  const init = () => {
    const s = seed;
    if (s !== undefined) seed = s + 1;
    return tf.initializers.glorotUniform({ seed: s });
  };
  let x = tf.layers.averagePooling2d({ poolSize, name: "average_pooling2d" }).apply(out);
  x = tf.layers.flatten({ name: "flatten" }).apply(x);
  x = tf.layers.dense({
    units: dense,
    activation: "relu",
    kernelInitializer: init(),
    name: "dense",
  })
    .apply(x);
  x = tf.layers.dropout({ rate: dropout, name: "dropout" }).apply(x);
  x = tf.layers.dense({
    units: classes,
    activation: "softmax",
    kernelInitializer: init(),
    name: "dense_1",
  }).apply(x);
  return tf.model({
    inputs: base.inputs,
    outputs: x as tf.SymbolicTensor,
    name: options.name ?? "transfer",
  });
}
