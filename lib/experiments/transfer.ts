/**
 * Transfer learning as the study did it (its
 * `fork-of-tf-acmc-simple-imagenet.ipynb`): a frozen ImageNet ResNet50 under
 * the study's small head, evaluated before training, trained with the
 * project's recipe ({@linkcode trainAndEvaluate}: fresh EarlyStopping on
 * val_accuracy and a best-only checkpoint), reloaded at its best epoch and
 * evaluated again.
 *
 * @example
 * ```ts
 * const result = await imagenetTransfer({
 *   weights: "data/weights/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
 *   imageSize: 256, classes: 23, train, valid, epochs: 20,
 *   checkpointDir: outDir("checkpoints", "02-imagenet"),
 * });
 * console.log(result.after.accuracy);
 * ```
 * @module
 */
import { join } from "node:path";
import type { BatchDataset } from "../data/types.ts";
import { resnet50, transferModel } from "../models/mod.ts";
import { type EvaluateResult, type History, trainAndEvaluate } from "../train/mod.ts";

/** Options of {@linkcode imagenetTransfer}. */
export interface ImagenetTransferOptions {
  /**
   * Keras weight file of ResNet50 without its top (e.g. Keras' ImageNet
   * `..._notop.h5`); null builds the base with seeded random weights
   * (tests, or a run without the file).
   */
  weights: string | null;
  /** Square image size, px (the base's input; ResNet50 divides it by 32). */
  imageSize: number;
  /** Number of classes of the head's softmax. */
  classes: number;
  /** Training data (0-255 images; `preprocess_input` is the base's first layer). */
  train: BatchDataset;
  /** Validation data (evaluated before and after, monitored by the callbacks). */
  valid: BatchDataset;
  /** Maximum epochs; early stopping may end sooner. */
  epochs: number;
  /** Folder of the best-weights checkpoint (`best.ckpt` inside). */
  checkpointDir: string;
  /** Adam's learning rate (default 1e-4, as the study). */
  learningRate?: number;
  /** EarlyStopping patience on val_accuracy (default 5, as the study). */
  patience?: number;
  /** Seed of the head's initial weights, of `fit`, and of a random base (default 123). */
  seed?: number;
  /** Units of the head's hidden Dense layer (default 256, as the study). */
  dense?: number;
  /** `fit`'s verbosity (default 1: a progress line per epoch). */
  verbose?: 0 | 1 | 2;
  /** Also predict the validation data with the best weights and save them here (default: no). */
  predictionsPath?: string | null;
  /** Fingerprint of the dataset, stored with the predictions. */
  dataset?: string | null;
  /** Receives the summary lines (parameters, best epoch); default console.log. */
  log?: (line: string) => void;
}

/** What {@linkcode imagenetTransfer} measured (the keys notebook 02 saves). */
export interface ImagenetTransferResult {
  /** Loss and accuracy on the validation data before any training. */
  before: EvaluateResult;
  /** Every epoch's logs. */
  history: History;
  /** The best val_accuracy epoch, 1-based (the one the checkpoint holds). */
  bestEpoch: number;
  /** Loss and accuracy on the validation data with the best weights reloaded. */
  after: EvaluateResult;
  /** The checkpoint file. */
  checkpoint: string;
}

/**
 * The AveragePooling2D window of the study's head at `imageSize` px: 7 at
 * 224 px and above (the study's), else the base's feature-map size
 * (`imageSize / 32`, at least 1).
 */
export function transferPoolSize(imageSize: number): number {
  return Math.max(1, Math.min(7, Math.floor(imageSize / 32)));
}

/**
 * Builds the frozen ResNet50 base (with `preprocess_input` in front) and the
 * study's head (AveragePooling2D → Flatten → Dense(256, relu) → Dropout(0.5)
 * → Dense(classes, softmax)), evaluates it, trains it with fresh
 * `EarlyStopping(monitor="val_accuracy", patience)` and best-only
 * `ModelCheckpoint`, reloads the best weights, evaluates again, and frees
 * the model (see the module doc for an example).
 */
export async function imagenetTransfer(
  options: ImagenetTransferOptions,
): Promise<ImagenetTransferResult> {
  const { imageSize, classes, train, valid, epochs } = options;
  if (!Number.isInteger(imageSize) || imageSize < 32) {
    throw new RangeError(`imagenetTransfer: imageSize must be an integer >= 32, got ${imageSize}`);
  }
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`imagenetTransfer: epochs must be a positive integer, got ${epochs}`);
  }
  const log = options.log ?? console.log;
  const seed = options.seed ?? 123;
  const patience = options.patience ?? 5;
  const inputShape: [number, number, number] = [imageSize, imageSize, 3];
  const base = options.weights === null
    ? resnet50({ includeTop: false, inputShape, preprocess: true, seed })
    : await resnet50({ includeTop: false, weights: options.weights, inputShape, preprocess: true });
  const head = transferModel({
    base,
    classes,
    dense: options.dense,
    poolSize: transferPoolSize(imageSize),
    seed,
  });
  try {
    const trainable = head.trainableWeights.reduce((s, w) => s + w.read().size, 0);
    log(
      `trainable parameters: ${trainable.toLocaleString("en")} of ${
        head.countParams().toLocaleString("en")
      }`,
    );
    const checkpoint = join(options.checkpointDir, "best.ckpt");
    const run = await trainAndEvaluate(head, train, {
      epochs,
      validationData: valid,
      learningRate: options.learningRate ?? 1e-4,
      patience,
      earlyStoppingVerbose: true,
      seed,
      verbose: options.verbose,
      checkpointPath: checkpoint,
      evaluateBefore: true,
      predict: false,
      predictionsPath: options.predictionsPath ?? null,
      modelName: `frozen ImageNet ResNet50 + Dense ${options.dense ?? 256} head, ${imageSize} px`,
      dataset: options.dataset,
    });
    const before = run.before!, after = run.after!, history = run.history;
    const bestEpoch = run.bestEpoch!;
    log(
      `best epoch ${bestEpoch}: val_accuracy ${after.accuracy.toFixed(4)} ` +
        `(before training ${before.accuracy.toFixed(4)})`,
    );
    return { before, history, bestEpoch, after, checkpoint };
  } finally {
    head.dispose();
  }
}
