/**
 * ResNet50 with the architecture of `keras.applications.ResNet50` (Keras 3):
 * same layers, names, order, padding, strides, projection shortcuts and
 * BatchNorm epsilon, so Keras weight files load by layer name and parameter
 * counts agree (23,634,839 with 23 classes).
 *
 * @module
 */
import { tf } from "../engine/mod.ts";
import { BatchNormalization } from "./batchnorm.ts";
import { AddThenReLU, ReLU } from "./relu_fusion.ts";
import { PreprocessInput } from "./preprocess.ts";
import { imagenetWeightsPath, loadKerasWeights } from "./weights.ts";

/** BatchNorm epsilon of Keras' ResNet50. */
export const RESNET_BN_EPSILON = 1.001e-5;

/** Options of {@linkcode resnet50} (Keras `ResNet50` arguments, camelCased). */
export interface ResNet50Options {
  /**
   * `[height, width, 3]`, at least 32 px each. Default `[224, 224, 3]` with
   * the top, else `[null, null, 3]` (any size).
   */
  inputShape?: [number | null, number | null, number];
  /** Whether to end with `avg_pool` + the `predictions` Dense layer. Default true. */
  includeTop?: boolean;
  /** Without the top: `"avg"` / `"max"` global pooling, or none (4-D output). Default none. */
  pooling?: "avg" | "max" | null;
  /** Number of classes of the `predictions` layer. Default 1000. */
  classes?: number;
  /**
   * `null` (random init, default), `"imagenet"` (Keras' official file from
   * `data/weights/`, see {@linkcode imagenetWeightsPath}), or a path to a Keras
   * weight file (`.h5` / `.weights.h5`), loaded by layer name.
   */
  weights?: null | "imagenet" | string;
  /** Activation of `predictions`: `"softmax"` (default) or `"linear"`/null for logits. */
  classifierActivation?: "softmax" | "linear" | "sigmoid" | null;
  /**
   * Put a `preprocess_input` layer (RGB->BGR, ImageNet mean; see
   * `preprocessInput`) right after the input, so the model takes 0-255 RGB.
   * Not part of Keras' ResNet50 (no weights; Keras' layer list gains one
   * entry). Default false.
   */
  preprocess?: boolean;
  /**
   * Seed of the initial weights (Glorot-uniform kernels, as Keras): the same
   * seed gives the same weights. Default: unseeded.
   */
  seed?: number;
  /**
   * Momentum of every BatchNormalization layer's moving mean and variance
   * (Keras' `BatchNormalization(momentum=...)`; Keras' ResNet50 keeps the
   * default 0.99). A lower value (0.9) lets the statistics used at inference
   * follow the weights in short trainings of a few hundred steps, where 0.99
   * still remembers the first steps' activations. Default 0.99.
   */
  batchNormMomentum?: number;
  /** Model name. Default `"resnet50"`. */
  name?: string;
}

type Sym = tf.SymbolicTensor;

class Builder {
  private nextSeed: number | undefined;
  constructor(seed: number | undefined, private readonly momentum = 0.99) {
    this.nextSeed = seed;
  }

  private init(): tf.serialization.Serializable {
    const seed = this.nextSeed;
    if (seed !== undefined) this.nextSeed = seed + 1;
    return tf.initializers.glorotUniform({ seed });
  }

  conv(x: Sym, filters: number, kernel: number, name: string, strides = 1, padding = "valid"): Sym {
    return tf.layers.conv2d({
      filters,
      kernelSize: kernel,
      strides,
      padding: padding as "valid" | "same",
      useBias: true,
      kernelInitializer: this.init() as never,
      biasInitializer: "zeros",
      name,
    }).apply(x) as Sym;
  }

  /** Batch norm; `fuseRelu` when its output feeds only the ReLU applied next (relu_fusion.ts). */
  bn(x: Sym, name: string, fuseRelu = false): Sym {
    const layer = new BatchNormalization({
      axis: -1,
      epsilon: RESNET_BN_EPSILON,
      momentum: this.momentum,
      name,
    });
    layer.fuseRelu = fuseRelu;
    return layer.apply(x) as Sym;
  }

  relu(x: Sym, name: string): Sym {
    return new ReLU({ name }).apply(x) as Sym;
  }

  /** `relu(a + b)` as Keras' `Add` then `Activation("relu")` layers, fused in training. */
  addRelu(a: Sym, b: Sym, addName: string, reluName: string): Sym {
    const add = new AddThenReLU({ name: addName });
    add.fuseRelu = true;
    return this.relu(add.apply([a, b]) as Sym, reluName);
  }

  dense(x: Sym, units: number, activation: string, name: string): Sym {
    return tf.layers.dense({
      units,
      activation: activation as "softmax",
      kernelInitializer: this.init() as never,
      biasInitializer: "zeros",
      name,
    }).apply(x) as Sym;
  }

  /** Keras `residual_block_v1` (bottleneck; stride on the first 1x1 conv). */
  block(x: Sym, filters: number, name: string, stride = 1, convShortcut = true): Sym {
    let shortcut = x;
    if (convShortcut) {
      shortcut = this.conv(x, 4 * filters, 1, `${name}_0_conv`, stride);
      shortcut = this.bn(shortcut, `${name}_0_bn`);
    }
    let y = this.conv(x, filters, 1, `${name}_1_conv`, stride);
    y = this.relu(this.bn(y, `${name}_1_bn`, true), `${name}_1_relu`);
    y = this.conv(y, filters, 3, `${name}_2_conv`, 1, "same");
    y = this.relu(this.bn(y, `${name}_2_bn`, true), `${name}_2_relu`);
    y = this.conv(y, 4 * filters, 1, `${name}_3_conv`);
    y = this.bn(y, `${name}_3_bn`);
    return this.addRelu(shortcut, y, `${name}_add`, `${name}_out`);
  }

  /** Keras `stack_residual_blocks_v1`. */
  stack(x: Sym, filters: number, blocks: number, name: string, stride1 = 2): Sym {
    x = this.block(x, filters, `${name}_block1`, stride1);
    for (let i = 2; i <= blocks; i++) x = this.block(x, filters, `${name}_block${i}`, 1, false);
    return x;
  }
}

function checkOptions(o: ResNet50Options): [number | null, number | null, number] {
  const includeTop = o.includeTop ?? true;
  const classes = o.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`resnet50: classes must be a positive integer, got ${classes}`);
  }
  if (o.pooling != null && o.pooling !== "avg" && o.pooling !== "max") {
    throw new Error(
      `resnet50: pooling must be "avg", "max" or null, got ${JSON.stringify(o.pooling)}`,
    );
  }
  if (o.weights === "imagenet" && includeTop && classes !== 1000) {
    throw new Error(
      `resnet50: weights "imagenet" with includeTop needs classes 1000, got classes=${classes}`,
    );
  }
  const m = o.batchNormMomentum;
  if (m !== undefined && !(m >= 0 && m <= 1)) {
    throw new Error(`resnet50: batchNormMomentum must be in [0, 1], got ${m}`);
  }
  const shape = o.inputShape ?? (includeTop ? [224, 224, 3] : [null, null, 3]);
  if (o.weights === "imagenet" && includeTop && (shape[0] !== 224 || shape[1] !== 224)) {
    throw new Error(
      `resnet50: with includeTop and weights "imagenet" the inputShape must be [224, 224, 3] ` +
        `(as in Keras), got [${shape}]`,
    );
  }
  if (shape.length !== 3 || shape[2] !== 3) {
    throw new Error(
      `resnet50: inputShape must be [height, width, 3] (channels_last), got [${shape}]`,
    );
  }
  for (const d of shape.slice(0, 2)) {
    if (d !== null && (!Number.isInteger(d) || d < 32)) {
      throw new Error(`resnet50: input height and width must be integers >= 32, got [${shape}]`);
    }
  }
  return shape as [number | null, number | null, number];
}

/**
 * Builds ResNet50 as a tfjs `LayersModel` with Keras 3's architecture
 * (`keras.applications.ResNet50`, channels_last): `conv1_pad`, `conv1_conv`,
 * `conv1_bn`, `conv1_relu`, `pool1_pad`, `pool1_pool`, then stages conv2..conv5
 * of 3/4/6/3 bottleneck blocks (`conv2_block1_0_conv` ... `conv5_block3_out`),
 * then `avg_pool` + `predictions` (with the top) or the chosen pooling.
 * BatchNorm layers are {@linkcode BatchNormalization} (Keras semantics when
 * frozen), epsilon 1.001e-5, momentum 0.99 (`batchNormMomentum`).
 *
 * @example
 * ```ts
 * await initEngine();
 * const model = resnet50({ inputShape: [128, 128, 3], classes: 23, weights: null });
 * model.countParams(); // 23,634,839
 * const base = await resnet50({ inputShape: [256, 256, 3], includeTop: false, weights: "imagenet" });
 * ```
 */
export function resnet50(
  options?: ResNet50Options & { weights?: null | undefined },
): tf.LayersModel;
export function resnet50(options: ResNet50Options): tf.LayersModel | Promise<tf.LayersModel>;
export function resnet50(options: ResNet50Options = {}): tf.LayersModel | Promise<tf.LayersModel> {
  const shape = checkOptions(options);
  const includeTop = options.includeTop ?? true;
  const classes = options.classes ?? 1000;
  const weights = options.weights ?? null;
  // Resolve (and check) the weight file before building anything.
  const weightsPath = weights === "imagenet" ? imagenetWeightsPath(includeTop) : weights;
  const b = new Builder(options.seed, options.batchNormMomentum);

  const input = tf.input({ shape, name: "input_layer" });
  let x: Sym = input;
  if (options.preprocess) {
    x = new PreprocessInput({ name: "preprocess_input" }).apply(x) as Sym;
  }
  x = tf.layers.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: "conv1_pad" }).apply(x) as Sym;
  x = b.conv(x, 64, 7, "conv1_conv", 2);
  x = b.relu(b.bn(x, "conv1_bn", true), "conv1_relu");
  x = tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: "pool1_pad" }).apply(x) as Sym;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: "pool1_pool" }).apply(x) as Sym;

  x = b.stack(x, 64, 3, "conv2", 1);
  x = b.stack(x, 128, 4, "conv3");
  x = b.stack(x, 256, 6, "conv4");
  x = b.stack(x, 512, 3, "conv5");

  if (includeTop) {
    x = tf.layers.globalAveragePooling2d({ name: "avg_pool" }).apply(x) as Sym;
    const activation = options.classifierActivation === undefined
      ? "softmax"
      : options.classifierActivation ?? "linear";
    x = b.dense(x, classes, activation, "predictions");
  } else if (options.pooling === "avg") {
    x = tf.layers.globalAveragePooling2d({ name: "avg_pool" }).apply(x) as Sym;
  } else if (options.pooling === "max") {
    x = tf.layers.globalMaxPooling2d({ name: "max_pool" }).apply(x) as Sym;
  }
  const model = tf.model({ inputs: input, outputs: x, name: options.name ?? "resnet50" });

  if (weightsPath === null) return model;
  return loadKerasWeights(model, weightsPath).then(() => model, (e) => {
    model.dispose();
    throw e;
  });
}
