/**
 * The study's training recipe in one call, {@linkcode trainAndEvaluate}: fresh
 * `EarlyStopping` and best-only `ModelCheckpoint` callbacks, `fit`, the best
 * epoch's weights reloaded, then evaluation and prediction on the validation
 * data, optionally saved as a predictions file. Every experiment and the
 * notebooks train through it, so they cannot drift apart (the original
 * notebooks reused callbacks across fits; here they are new on every call).
 *
 * What runs, in this order (each step optional, see {@linkcode TrainRunOptions}):
 * 1. `evaluate` before training (`evaluateBefore`);
 * 2. `fit` with `EarlyStopping(monitor, patience)` and
 *    `ModelCheckpoint(checkpointPath, monitor, saveBestOnly, saveWeightsOnly)`
 *    (plus `callbacks`), RSS sampled when `measureMemory`;
 * 3. the checkpoint's weights loaded back (`restoreBestWeights`);
 * 4. `evaluate` (`evaluate`), `predict` (`predict`), and the predictions
 *    written with {@linkcode writePredictions} (`predictionsPath`).
 *
 * The model is the caller's: it is neither built nor disposed here.
 *
 * @module
 */
import process from "node:process";
import type { tf } from "../engine/mod.ts";
import type { BatchDataset } from "../data/types.ts";
import { sampleMemory } from "../budget/mod.ts";
import { type EarlyStopping, earlyStopping, modelCheckpoint } from "./callbacks.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import {
  type ClassWeight,
  evaluate,
  type EvaluateResult,
  fit,
  type FitOptions,
  predict,
  type Predictions,
} from "./fit.ts";
import { writePredictions } from "./predictions.ts";
import type { Callback, History, Logs } from "./types.ts";

/** Options of {@linkcode trainAndEvaluate} (Keras' `fit` and callback arguments, camelCased). */
export interface TrainRunOptions {
  /** Maximum epochs; early stopping may end sooner. */
  epochs: number;
  /** Validation data: monitored by the callbacks, then evaluated and predicted. */
  validationData: BatchDataset;
  /** Adam's learning rate when no `optimizer` is given (default 1e-4, the study's). */
  learningRate?: number;
  /** An optimizer to train with instead of a fresh Adam; it stays the caller's to dispose. */
  optimizer?: tf.Optimizer;
  /** Per-class loss weights (Keras' `class_weight`). */
  classWeight?: ClassWeight;
  /** Seeds the random ops of every training step (`fit`'s `seed`). */
  seed?: number;
  /** `fit`'s verbosity: 0 silent, 1 a progress line per epoch (default), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Verbosity of the evaluation and prediction passes (default 1: a progress line). */
  inferenceVerbose?: 0 | 1;
  /** The logged quantity both callbacks watch (default `"val_accuracy"`). */
  monitor?: string;
  /** EarlyStopping's patience in epochs (default 5, the study's); null trains all `epochs`. */
  patience?: number | null;
  /** EarlyStopping prints a line when it stops training (default false). */
  earlyStoppingVerbose?: boolean;
  /**
   * File of the best-only, weights-only checkpoint (ModelCheckpoint's
   * `filepath`); null (default) keeps no checkpoint, and so restores nothing.
   */
  checkpointPath?: string | null;
  /** Load the checkpoint's (best) weights back after `fit` (default true; needs `checkpointPath`). */
  restoreBestWeights?: boolean;
  /** Evaluate on the validation data before training (default false). */
  evaluateBefore?: boolean;
  /** Evaluate on the validation data after training and restoring (default true). */
  evaluate?: boolean;
  /** Predict the validation data after training and restoring (default true). */
  predict?: boolean;
  /**
   * Write the validation predictions to this file ({@linkcode writePredictions}'s
   * format, the one notebook 04 reads); implies `predict`. Default: not written.
   */
  predictionsPath?: string | null;
  /** What made the predictions, stored in the file (default the model's name). */
  modelName?: string;
  /** Fingerprint of the dataset (`datasetFingerprint`), stored with the predictions. */
  dataset?: string | null;
  /** Sample the process' RSS during the run for its peak (default false). */
  measureMemory?: boolean;
  /** More callbacks, called after EarlyStopping and ModelCheckpoint. */
  callbacks?: Callback[];
  /**
   * Receives summary lines: the scores before training (`evaluateBefore`),
   * the best epoch with its logged value, and the scores after reloading
   * (`evaluate`). Default: none.
   */
  log?: (line: string) => void;
}

/** What {@linkcode trainAndEvaluate} measured. JSON-serialisable. */
export interface TrainRunResult {
  /** Every epoch's logs (`loss`, `accuracy`, `val_loss`, `val_accuracy`, `seconds`). */
  history: History;
  /** Epochs run (early stopping may end before `epochs`). */
  epochsRun: number;
  /**
   * 1-based epoch of the best monitored value: the one the checkpoint holds
   * (and the model, when restored); from the history when there is no
   * checkpoint. Null when the monitored quantity was never logged.
   */
  bestEpoch: number | null;
  /** The best monitored value, or null. */
  best: number | null;
  /** The logs of the best epoch, or null. */
  bestLogs: Logs | null;
  /** True when the best weights were loaded back into the model. */
  restored: boolean;
  /** 1-based epoch at which early stopping ended training, null when it did not. */
  stoppedEpoch: number | null;
  /** The checkpoint file written, or null (none asked, or never saved). */
  checkpoint: string | null;
  /** Loss and accuracy before training (`evaluateBefore`), else null. */
  before: EvaluateResult | null;
  /** Loss and accuracy after training and restoring (`evaluate`), else null. */
  after: EvaluateResult | null;
  /** Validation predictions (`predict`), else null. */
  predictions: Predictions | null;
  /** The predictions file written, or null. */
  predictionsPath: string | null;
  /** Wall-clock seconds of `fit` (training and per-epoch validation). */
  fitSeconds: number;
  /** Mean seconds per epoch, or null when no epoch ran. */
  secondsPerEpoch: number | null;
  /**
   * CPU seconds this process spent per epoch of `fit` (all its threads, user +
   * system), or null when no epoch ran: the run's cost, unlike wall time
   * unaffected by other work sharing the machine.
   */
  cpuSecondsPerEpoch: number | null;
  /** Highest RSS of this process during the run and RSS just before it, bytes (`measureMemory`), else null. */
  peakRssBytes: number | null;
  rssBeforeBytes: number | null;
}

/**
 * The best value of `monitor` in a history and its 1-based epoch: the first
 * best, as a best-only checkpoint keeps it (`mode` "auto": min for names
 * containing "loss", else max). Null when `monitor` was not logged.
 *
 * @example
 * ```ts
 * const best = bestOf(history); // { value: 0.57, epoch: 18 }
 * ```
 */
export function bestOf(
  history: History,
  monitor = "val_accuracy",
): { value: number; epoch: number } | null {
  const v = history.history[monitor];
  if (!v || v.length === 0) return null;
  const better = monitor.includes("loss")
    ? (a: number, b: number) => a < b
    : (a: number, b: number) => a > b;
  let best = 0;
  for (let i = 1; i < v.length; i++) if (better(v[i], v[best])) best = i;
  return { value: v[best], epoch: history.epoch[best] + 1 };
}

/** Options of {@linkcode savePredictions}. */
export interface SavePredictionsOptions {
  /** What made them, stored in the file (e.g. "resnet50-scratch"). */
  modelName: string;
  /** The checkpoint whose weights predicted, when known. */
  checkpoint?: string | null;
  /** Its 1-based epoch, when known. */
  bestEpoch?: number | null;
  /** Fingerprint of the dataset predicted (`datasetFingerprint`), stored in the file. */
  dataset?: string | null;
  /** Verbosity of the prediction pass (default 1). */
  verbose?: 0 | 1;
}

/**
 * Predicts every image of `ds` (an unshuffled validation set) and writes the
 * predictions with their file paths to `path` ({@linkcode writePredictions}).
 * Refuses to write when the predicted batches did not come in the dataset's
 * file order (the file pairs each prediction with `ds.filePaths`).
 *
 * @example
 * ```ts
 * await savePredictions(model, valid, "out/checkpoints/run/val-predictions.json", {
 *   modelName: "resnet50-scratch",
 * });
 * ```
 */
export async function savePredictions(
  model: tf.LayersModel,
  ds: BatchDataset,
  path: string,
  options: SavePredictionsOptions,
): Promise<{ path: string; predictions: Predictions }> {
  const predictions = await predict(model, ds, { verbose: options.verbose ?? 1 });
  await writeRunPredictions(path, ds, predictions, options);
  return { path, predictions };
}

async function writeRunPredictions(
  path: string,
  ds: BatchDataset,
  p: Predictions,
  options: SavePredictionsOptions,
): Promise<void> {
  if (ds.labels && p.labels.some((l, i) => l !== ds.labels[i])) {
    throw new Error(
      `savePredictions: the predictions of ${path} are not in the dataset's file order ` +
        "(is the validation set shuffled?)",
    );
  }
  await writePredictions(path, {
    model: options.modelName,
    imageSize: ds.imageSize[0],
    checkpoint: options.checkpoint ?? null,
    bestEpoch: options.bestEpoch ?? null,
    dataset: options.dataset ?? null,
    classNames: ds.classNames,
    filePaths: ds.filePaths,
    labels: p.labels,
    predicted: p.predicted,
    probs: p.probs,
  });
}

/**
 * Trains `model` on `trainDs` the study's way and measures it: fresh
 * EarlyStopping and best-only ModelCheckpoint on `monitor`, `fit`, the best
 * weights reloaded, then evaluation and prediction of the validation data
 * (see the module doc for the order and {@linkcode TrainRunOptions} for
 * what can be left out). Build the model under a seed for a reproducible run;
 * dispose it yourself.
 *
 * @example
 * ```ts
 * const model = resnet50({ inputShape: [256, 256, 3], classes: 23, preprocess: true, seed: 123 });
 * try {
 *   const run = await trainAndEvaluate(model, train, {
 *     epochs: 20, validationData: valid, learningRate: 1e-4, patience: 5, seed: 123,
 *     checkpointPath: outDir("checkpoints", "scratch", "best.ckpt"),
 *     predictionsPath: outDir("checkpoints", "scratch", "val-predictions.json"),
 *   });
 *   console.log(run.bestEpoch, run.after?.accuracy, run.peakRssBytes);
 * } finally {
 *   model.dispose();
 * }
 * ```
 */
export async function trainAndEvaluate(
  model: tf.LayersModel,
  trainDs: BatchDataset,
  options: TrainRunOptions,
): Promise<TrainRunResult> {
  const monitor = options.monitor ?? "val_accuracy";
  const patience = options.patience === undefined ? 5 : options.patience;
  const checkpointPath = options.checkpointPath ?? null;
  const inferenceVerbose = options.inferenceVerbose ?? 1;
  const predictionsPath = options.predictionsPath ?? null;
  const rssBeforeBytes = options.measureMemory ? Deno.memoryUsage().rss : null;
  const sampler = options.measureMemory ? sampleMemory() : null;
  try {
    const log = options.log ?? (() => {});
    const scores = (r: EvaluateResult) =>
      `loss ${r.loss.toFixed(4)}, accuracy ${r.accuracy.toFixed(4)}`;
    const before = options.evaluateBefore
      ? await evaluate(model, options.validationData, { verbose: inferenceVerbose })
      : null;
    if (before) log(`before training: ${scores(before)}`);
    // Fresh callbacks on every run (the original notebooks reused them across fits).
    const callbacks: Callback[] = [];
    let stop: EarlyStopping | null = null;
    if (patience !== null) {
      stop = earlyStopping({ monitor, patience, verbose: options.earlyStoppingVerbose ?? false });
      callbacks.push(stop);
    }
    const save = checkpointPath === null ? null : modelCheckpoint({
      path: checkpointPath,
      monitor,
      saveBestOnly: true,
      saveWeightsOnly: true,
    });
    if (save) callbacks.push(save);
    callbacks.push(...options.callbacks ?? []);
    const fitOptions: FitOptions = {
      epochs: options.epochs,
      validationData: options.validationData,
      callbacks,
      seed: options.seed,
      verbose: options.verbose ?? 1,
    };
    if (options.optimizer) fitOptions.optimizer = options.optimizer;
    else fitOptions.learningRate = options.learningRate ?? 1e-4;
    if (options.classWeight) fitOptions.classWeight = options.classWeight;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const history = await fit(model, trainDs, fitOptions);
    const fitSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);

    const checkpoint = save?.lastPath ?? null;
    const fromHistory = bestOf(history, monitor);
    let bestEpoch = fromHistory?.epoch ?? null;
    let restored = false;
    if (checkpoint && (options.restoreBestWeights ?? true)) {
      const info = await loadCheckpoint(model, checkpoint);
      if (info.epoch !== null && info.epoch !== undefined) bestEpoch = info.epoch + 1;
      restored = true;
    }
    const bestIndex = bestEpoch === null ? -1 : history.epoch.indexOf(bestEpoch - 1);
    const bestLogs = bestIndex < 0 ? null : Object.fromEntries(
      Object.entries(history.history).map(([k, v]) => [k, v[bestIndex]]),
    );
    const best = bestLogs?.[monitor] ?? fromHistory?.value ?? null;
    if (bestEpoch !== null && best !== null) {
      log(
        `best epoch ${bestEpoch} of ${history.epoch.length}: logged ${monitor} ${best.toFixed(4)}`,
      );
    }
    const after = options.evaluate ?? true
      ? await evaluate(model, options.validationData, { verbose: inferenceVerbose })
      : null;
    if (after) log(`${restored ? "reloaded" : "after training"}: ${scores(after)}`);
    const predictions = (options.predict ?? true) || predictionsPath
      ? await predict(model, options.validationData, { verbose: inferenceVerbose })
      : null;
    if (predictionsPath) {
      await writeRunPredictions(predictionsPath, options.validationData, predictions!, {
        modelName: options.modelName ?? model.name,
        checkpoint: checkpointPath,
        bestEpoch,
        dataset: options.dataset,
      });
    }
    const seconds = history.history.seconds ?? [];
    const result: TrainRunResult = {
      history,
      epochsRun: history.epoch.length,
      bestEpoch,
      best,
      bestLogs,
      restored,
      stoppedEpoch: stop && stop.stoppedEpoch ? stop.stoppedEpoch + 1 : null,
      checkpoint,
      before,
      after,
      predictions,
      predictionsPath,
      fitSeconds,
      secondsPerEpoch: seconds.length ? seconds.reduce((a, b) => a + b, 0) / seconds.length : null,
      cpuSecondsPerEpoch: history.epoch.length
        ? (cpu.user + cpu.system) / 1e6 / history.epoch.length
        : null,
      peakRssBytes: null,
      rssBeforeBytes,
    };
    result.peakRssBytes = sampler?.stop() ?? null;
    return result;
  } finally {
    sampler?.stop(); // also when training failed; stopping twice is harmless
  }
}
