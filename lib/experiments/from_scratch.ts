/**
 * ResNet50 trained from scratch, as the study's first notebook
 * (`tf-acmc-simple-orig.ipynb`): `keras.applications.ResNet50(weights=None)`
 * with ResNet's `preprocess_input` as its first layer and seeded initial
 * weights, trained with the project's recipe ({@linkcode trainAndEvaluate}:
 * fresh EarlyStopping on val_accuracy, a best-only checkpoint, the best
 * weights reloaded, evaluated and predicted).
 *
 * @example
 * ```ts
 * const run = await trainFromScratch({
 *   train, valid, epochs: 20, seed: 123,
 *   checkpointDir: outDir("checkpoints", "02-scratch"),
 *   evaluateBefore: true,
 *   predictionsPath: outDir("checkpoints", "02-scratch", "val-predictions.json"),
 * });
 * console.log(run.bestEpoch, run.after?.accuracy);
 * ```
 * @module
 */
import { join } from "node:path";
import type { BatchDataset } from "../data/types.ts";
import { resnet50 } from "../models/mod.ts";
import {
  decaySchedule,
  trainAndEvaluate,
  type TrainRunOptions,
  type TrainRunResult,
} from "../train/mod.ts";

/** Options of {@linkcode trainFromScratch}: the recipe's, plus the data and where to save. */
export interface FromScratchOptions
  extends Omit<TrainRunOptions, "validationData" | "checkpointPath" | "seed"> {
  /** Training data (0-255 images; `preprocess_input` is the model's first layer). */
  train: BatchDataset;
  /** Validation data (monitored, evaluated, predicted). */
  valid: BatchDataset;
  /** Folder of the best-weights checkpoint (`best.ckpt` inside). */
  checkpointDir: string;
  /** Seed of the initial weights and of `fit` (default 123, as the study's split). */
  seed?: number;
  /** Receives the summary lines (the model's size, then the recipe's); default console.log. */
  log?: (line: string) => void;
  /** ResNet50's BatchNormalization momentum (default 0.99, Keras'). */
  batchNormMomentum?: number;
  /** Factor of the learning rate after each epoch (default 1: constant, as the study). */
  learningRateDecay?: number;
}

/** What {@linkcode trainFromScratch} measured: the recipe's result and the model's size. */
export interface FromScratchResult extends TrainRunResult {
  /** Parameters of the model. */
  parameters: number;
}

/**
 * Builds a seeded ResNet50 for the training data's image size and classes
 * (with `preprocess_input` in front), trains and measures it with
 * {@linkcode trainAndEvaluate} (checkpoint `<checkpointDir>/best.ckpt`),
 * and frees it.
 */
export async function trainFromScratch(options: FromScratchOptions): Promise<FromScratchResult> {
  const {
    train,
    valid,
    checkpointDir,
    log = console.log,
    batchNormMomentum,
    learningRateDecay,
    ...recipe
  } = options;
  const seed = options.seed ?? 123;
  const [h, w] = train.imageSize;
  const model = resnet50({
    inputShape: [h, w, train.channels],
    classes: train.classNames.length,
    preprocess: true,
    seed,
    batchNormMomentum,
  });
  try {
    const parameters = model.countParams();
    log(
      `${model.name}: ${
        parameters.toLocaleString("en")
      } parameters, input ${h}x${w}x${train.channels}`,
    );
    const run = await trainAndEvaluate(model, train, {
      ...recipe,
      seed,
      validationData: valid,
      checkpointPath: join(checkpointDir, "best.ckpt"),
      callbacks: [
        ...decaySchedule(recipe.learningRate ?? 1e-4, learningRateDecay),
        ...(recipe.callbacks ?? []),
      ],
      log,
    });
    return { ...run, parameters };
  } finally {
    model.dispose();
  }
}
