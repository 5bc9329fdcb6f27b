/**
 * The experiments of notebook 03 ("the effect of image size"): the same model
 * trained at several image sizes, each run with FRESH callbacks (the original
 * notebook reused one EarlyStopping/ModelCheckpoint across its three fits),
 * a memory check before every run that refuses a size that would not fit,
 * and progressive resizing (small images first, then larger, same weights)
 * against fixed-size training for the same number of epochs.
 *
 * Data and models come from the caller (`loadData(size)`, `buildModel(size)`),
 * so the notebook passes the loader and ResNet50, and tests pass tiny ones.
 *
 * @example
 * ```ts
 * const runs = await sizeSweep({
 *   sizes: [128, 256, 512], epochs: 20, batchSize: 8,
 *   loadData: (s) => imageDatasetFromDirectory(dir, { imageSize: [s, s], subset: "both", ... }),
 *   buildModel: (s) => resnet50({ inputShape: [s, s, 3], classes: 23, preprocess: true }),
 * });
 * ```
 * @module
 */
import { join } from "node:path";
import type { SharedRun } from "./shared_runs.ts";
import { adam, tf } from "../engine/mod.ts";
import type { BatchDataset } from "../data/types.ts";
import {
  type AvailableMemory,
  availableMemory,
  checkFits,
  estimateTrainingMemory,
  type FitCheck,
  type MemoryEstimate,
  type MemoryEstimateOptions,
  type OptimizerName,
  sampleMemory,
} from "../budget/mod.ts";
import {
  decaySchedule,
  fit,
  type History,
  loadCheckpoint,
  savePredictions,
  trainAndEvaluate,
} from "../train/mod.ts";

/** Training and validation data at one image size. */
export type LoadData = (size: number) => Promise<[BatchDataset, BatchDataset]>;

/** Settings shared by {@linkcode sizeSweep} and {@linkcode progressiveResizing}. */
export interface SizeExperimentOptions {
  /** Training and validation datasets at an image size. */
  loadData: LoadData;
  /** Images per step (used for the memory estimate; the datasets' own batch size is what trains). */
  batchSize: number;
  /** Adam's learning rate (default 1e-4, as the study). */
  learningRate?: number;
  /** Early-stopping patience on val_accuracy (default 5, as the study); null for none. */
  patience?: number | null;
  /** Folder of the best-weights checkpoints (one file per run); null for none. */
  checkpointDir?: string | null;
  /** Memory at hand (default: {@linkcode availableMemory} before each run). */
  available?: number | AvailableMemory;
  /** Share of the available memory a run may take (default 0.9). */
  headroom?: number;
  /** Optimizer counted by the memory estimate (default "adam"). */
  optimizer?: OptimizerName;
  /** Overrides of the memory estimate's calibration (`activationFactor`, `baseBytes`, `floorBytes`). */
  estimate?: Pick<MemoryEstimateOptions, "activationFactor" | "baseBytes" | "floorBytes">;
  /** Training seed passed to `fit` (dropout, shuffling-independent randomness). */
  seed?: number;
  /** `fit`'s verbosity (default 1: a progress bar per epoch). */
  verbose?: 0 | 1 | 2;
  /** Receives one line per decision (memory check, run start/end); default console.log. */
  log?: (line: string) => void;
}

/** Options of {@linkcode sizeSweep}. */
export interface SizeSweepOptions extends SizeExperimentOptions {
  /** Image sizes (square), in run order. */
  sizes: number[];
  /** Maximum epochs per size. */
  epochs: number;
  /** A fresh model for images of `size` x `size`. */
  buildModel: (size: number) => tf.LayersModel;
  /** Factor of the learning rate after each epoch (default 1: constant, as the study). */
  learningRateDecay?: number;
  /**
   * A run made elsewhere with this size's very settings (e.g. notebook 02's,
   * found with `findSharedRun`), taken instead of training; null trains.
   */
  reuse?: (size: number) => Promise<SizeRun | null>;
  /**
   * Training steps of a fresh model at a reused size, run here only to
   * measure this process's peak memory at that size (so that every size's
   * peak is measured in the same process, in size order): a number of steps
   * (default 20), after one pass that only loads the training images, so a
   * dataset that caches them holds all of them as a run's does; `"epoch"`
   * one pass of training steps; 0 keeps the reused run's own peak.
   */
  memoryProbeSteps?: number | "epoch";
  /**
   * Folder for each size's best-epoch validation predictions
   * (`size-<px>-predictions.json`, notebook 04's format; the best weights are
   * reloaded for them); null (default) saves none.
   */
  predictionsDir?: string | null;
  /** Fingerprint of the dataset, stored with the predictions. */
  dataset?: string | null;
}

/** The outcome of one size. */
export interface SizeRun {
  size: number;
  /** "trained", or "refused" when the memory check said it would not fit. */
  status: "trained" | "refused";
  /** The memory estimate and the memory at hand, bytes, and the check's message. */
  estimateBytes: number;
  availableBytes: number;
  memoryMessage: string;
  /** Best val_accuracy over the epochs, and its 1-based epoch (null when refused). */
  bestValAccuracy: number | null;
  bestEpoch: number | null;
  /** Epochs run (early stopping may end a run before `epochs`). */
  epochsRun: number;
  /** Mean wall-clock seconds per epoch (training + validation). */
  secondsPerEpoch: number | null;
  /** CPU seconds of this process per epoch (the cost, unlike wall time not shared-machine noise). */
  cpuSecondsPerEpoch?: number | null;
  /** Highest RSS of this process during the run (sampled), and RSS just before it, bytes. */
  peakRssBytes: number | null;
  rssBeforeBytes: number | null;
  /** The run's history (null when refused). */
  history: History | null;
  /** The best-weights checkpoint file (null when refused or not saved). */
  checkpoint: string | null;
  /** The best epoch's validation predictions file (null when not saved). */
  predictionsPath?: string | null;
  /** Where the run came from when it was reused rather than trained here. */
  reusedFrom?: string | null;
}

/**
 * A run shared by another notebook (lib/experiments' `SharedRun`) as one
 * size of a sweep, for {@linkcode SizeSweepOptions.reuse}: trained, with its
 * history, best epoch, time per epoch, peak memory and predictions.
 */
export function sizeRunOf(shared: SharedRun): SizeRun {
  return {
    size: shared.spec.imageSize,
    status: "trained",
    estimateBytes: 0,
    availableBytes: 0,
    memoryMessage: `trained by notebook ${shared.notebook} with the same settings`,
    bestValAccuracy: shared.bestValAccuracy,
    bestEpoch: shared.bestEpoch,
    epochsRun: shared.history.epoch.length,
    secondsPerEpoch: shared.secondsPerEpoch,
    cpuSecondsPerEpoch: shared.cpuSecondsPerEpoch ?? null,
    peakRssBytes: shared.peakRssBytes,
    rssBeforeBytes: null,
    history: shared.history,
    checkpoint: null,
    predictionsPath: shared.predictionsPath,
    reusedFrom: `notebook ${shared.notebook}'s run`,
  };
}

/** Options of {@linkcode checkSize}. */
export interface CheckSizeOptions {
  /** A fresh model for `size` x `size` images (disposed after the estimate). */
  buildModel: (size: number) => tf.LayersModel;
  size: number;
  batchSize: number;
  /** Memory at hand (default: {@linkcode availableMemory} now). */
  available?: number | AvailableMemory;
  headroom?: number;
  optimizer?: OptimizerName;
  estimate?: Pick<MemoryEstimateOptions, "activationFactor" | "baseBytes" | "floorBytes">;
  /** Describes the memory in the message, e.g. "the study's P100". */
  label?: string;
}

/**
 * The memory check of one (model, size, batch) without training: builds the
 * model (weights only, no images), estimates, decides, disposes. Shows why a
 * size is refused, e.g. the study's 1024 px.
 */
export async function checkSize(options: CheckSizeOptions): Promise<FitCheck & MemoryEstimate> {
  const model = options.buildModel(options.size);
  try {
    return await checkModel(model, options.size, options);
  } finally {
    model.dispose();
  }
}

/** Estimate and decision for a model already built for `size` (shared by checkSize and sizeSweep). */
async function checkModel(
  model: tf.LayersModel,
  size: number,
  options: Omit<CheckSizeOptions, "buildModel" | "size">,
): Promise<FitCheck & MemoryEstimate> {
  const est = estimateTrainingMemory(model, {
    ...options.estimate,
    batchSize: options.batchSize,
    optimizer: options.optimizer,
  });
  const check = await checkFits(est, {
    available: options.available ?? await availableMemory(),
    headroom: options.headroom,
    label: `${size} px, batch ${options.batchSize}${options.label ? ` on ${options.label}` : ""}`,
  });
  return { ...est, ...check };
}

/**
 * Trains a fresh model at each size with fresh EarlyStopping (val_accuracy,
 * `patience`) and ModelCheckpoint (best only) callbacks, after a memory check
 * that refuses a size whose estimate exceeds the memory at hand.
 */
export async function sizeSweep(options: SizeSweepOptions): Promise<SizeRun[]> {
  const log = options.log ?? console.log;
  const runs: SizeRun[] = [];
  for (const size of options.sizes) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`sizeSweep: image size ${size} is not a positive integer`);
    }
    const reused = options.reuse ? await options.reuse(size) : null;
    if (reused) {
      log(
        `${size} px: reusing ${reused.reusedFrom ?? "an earlier run"} (same settings): best ` +
          `val_accuracy ${reused.bestValAccuracy?.toFixed(4)} (epoch ${reused.bestEpoch})`,
      );
      const steps = options.memoryProbeSteps ?? 20;
      if (steps !== 0) {
        const probe = await probeMemory(size, steps, options);
        log(
          `${size} px: peak memory measured here over ${probe.steps} training steps of a fresh ` +
            `model: ${(probe.peak / 2 ** 20).toFixed(0)} MiB`,
        );
        runs.push({ ...reused, peakRssBytes: probe.peak, rssBeforeBytes: probe.before });
      } else runs.push(reused);
      continue;
    }
    const model = options.buildModel(size);
    let run: SizeRun;
    try {
      const check = await checkModel(model, size, { ...options, label: undefined });
      log(check.message);
      run = {
        size,
        status: check.fits ? "trained" : "refused",
        estimateBytes: check.estimateBytes,
        availableBytes: check.availableBytes,
        memoryMessage: check.message,
        bestValAccuracy: null,
        bestEpoch: null,
        epochsRun: 0,
        secondsPerEpoch: null,
        peakRssBytes: null,
        rssBeforeBytes: null,
        history: null,
        checkpoint: null,
      };
      if (check.fits) await trainOne(model, size, options, run, log);
    } finally {
      model.dispose();
    }
    runs.push(run);
  }
  return runs;
}

/** Peak RSS of this process over `steps` training steps of a fresh model at `size` (then freed). */
async function probeMemory(
  size: number,
  stepsOption: number | "epoch",
  options: SizeSweepOptions,
): Promise<{ peak: number; before: number; steps: number }> {
  const [train] = await options.loadData(size);
  const steps = stepsOption === "epoch"
    ? train.cardinality
    : Math.min(stepsOption, train.cardinality);
  if (steps < train.cardinality) {
    // Load every training image once (a caching dataset keeps them, as it does in a run's
    // first epoch), at a fraction of an epoch of training steps' time.
    for await (const b of train) tf.dispose([b.x, b.y ?? []]);
  }
  const model = options.buildModel(size);
  const before = Deno.memoryUsage().rss;
  const sampler = sampleMemory();
  try {
    const first: BatchDataset = {
      ...train,
      classNames: train.classNames,
      filePaths: train.filePaths,
      labels: train.labels,
      cardinality: Math.min(steps, train.cardinality),
      async *[Symbol.asyncIterator]() {
        let i = 0;
        for await (const b of train) {
          yield b;
          if (++i >= steps) break;
        }
      },
    };
    await fit(model, first, {
      epochs: 1,
      learningRate: options.learningRate ?? 1e-4,
      seed: options.seed,
      verbose: 0,
    });
    return { peak: sampler.stop(), before, steps };
  } finally {
    sampler.stop();
    model.dispose();
  }
}

async function trainOne(
  model: tf.LayersModel,
  size: number,
  options: SizeSweepOptions,
  run: SizeRun,
  log: (line: string) => void,
): Promise<void> {
  const [train, valid] = await options.loadData(size);
  // The recipe's fresh callbacks for every size (the original reused them across fits);
  // the sweep keeps the last weights and reads the best epoch from the history.
  const r = await trainAndEvaluate(model, train, {
    epochs: options.epochs,
    validationData: valid,
    learningRate: options.learningRate ?? 1e-4,
    patience: options.patience,
    checkpointPath: options.checkpointDir ? join(options.checkpointDir, `size-${size}.ckpt`) : null,
    restoreBestWeights: !!options.predictionsDir,
    evaluate: false,
    predict: !!options.predictionsDir,
    predictionsPath: options.predictionsDir
      ? join(options.predictionsDir, `size-${size}-predictions.json`)
      : null,
    modelName: `resnet50-scratch (${size} px)`,
    dataset: options.dataset,
    callbacks: decaySchedule(options.learningRate ?? 1e-4, options.learningRateDecay),
    measureMemory: true,
    seed: options.seed,
    verbose: options.verbose ?? 1,
  });
  run.rssBeforeBytes = r.rssBeforeBytes;
  run.peakRssBytes = r.peakRssBytes;
  run.history = r.history;
  run.bestValAccuracy = r.best;
  run.bestEpoch = r.bestEpoch;
  run.epochsRun = r.epochsRun;
  run.secondsPerEpoch = r.secondsPerEpoch;
  run.cpuSecondsPerEpoch = r.cpuSecondsPerEpoch;
  run.checkpoint = r.checkpoint;
  run.predictionsPath = r.predictionsPath;
  log(
    `${size} px: best val_accuracy ${run.bestValAccuracy?.toFixed(4)} (epoch ${run.bestEpoch}), ` +
      `${run.epochsRun} epochs, ${run.secondsPerEpoch?.toFixed(1)} s/epoch`,
  );
}

/** One phase of a progressive-resizing schedule. */
export interface Phase {
  size: number;
  epochs: number;
}

/** Options of {@linkcode progressiveResizing}. */
export interface ProgressiveOptions extends SizeExperimentOptions {
  /** Phases in order, e.g. `[{size: 32, epochs: 2}, {size: 64, epochs: 2}]`. */
  schedule: Phase[];
  /**
   * A fresh model: `size` null asks for a size-agnostic one (input
   * `[null, null, 3]`, e.g. ResNet50 with global pooling), used by every
   * phase; a number for a fixed size (the memory check and the fixed run).
   */
  buildModel: (size: number | null) => tf.LayersModel;
}

/** How one training strategy ended. */
export interface StrategyRun {
  /** "progressive" or "fixed". */
  strategy: string;
  /** The phases that ran (one for fixed-size). */
  phases: (Phase & { seconds: number; valAccuracy: number | null })[];
  /** val_accuracy after the last epoch, at the final size. */
  finalValAccuracy: number | null;
  /** Best val_accuracy at the final size (the epochs of the last phase). */
  bestFinalSizeValAccuracy: number | null;
  /** Total wall-clock seconds of training + validation. */
  seconds: number;
  /** Highest RSS during the run, bytes. */
  peakRssBytes: number;
  /** Every epoch, all phases (val_accuracy measured at each phase's size). */
  history: History;
}

/** Progressive resizing against fixed-size training with the same epoch budget. */
export interface ProgressiveResult {
  progressive: StrategyRun | null;
  fixed: StrategyRun | null;
  /** Memory-check messages, and whether each strategy was refused. */
  memory: { strategy: string; fits: boolean; message: string }[];
  /** The epoch budget of each strategy. */
  epochs: number;
}

/**
 * Trains one size-agnostic model through the `schedule` (same weights and
 * same Adam state from phase to phase; validation at each phase's size),
 * then a fresh fixed-size model at the schedule's last size for the same
 * total number of epochs, and reports both. No early stopping (same budget
 * for both). Each strategy is memory-checked at its largest size first.
 */
export async function progressiveResizing(options: ProgressiveOptions): Promise<ProgressiveResult> {
  const log = options.log ?? console.log;
  if (options.schedule.length === 0) throw new RangeError("progressiveResizing: empty schedule");
  for (const p of options.schedule) {
    if (!Number.isInteger(p.size) || p.size < 1 || !Number.isInteger(p.epochs) || p.epochs < 1) {
      throw new RangeError(`progressiveResizing: bad phase ${JSON.stringify(p)}`);
    }
  }
  const epochs = options.schedule.reduce((a, p) => a + p.epochs, 0);
  const finalSize = options.schedule[options.schedule.length - 1].size;
  const largest = Math.max(...options.schedule.map((p) => p.size));
  const result: ProgressiveResult = { progressive: null, fixed: null, memory: [], epochs };

  const fits = async (strategy: string, size: number) => {
    const probe = options.buildModel(size);
    try {
      const check = await checkFits(
        estimateTrainingMemory(probe, {
          batchSize: options.batchSize,
          optimizer: options.optimizer,
        }),
        {
          available: options.available ?? await availableMemory(),
          headroom: options.headroom,
          label: `${strategy} (largest size ${size} px, batch ${options.batchSize})`,
        },
      );
      log(check.message);
      result.memory.push({ strategy, fits: check.fits, message: check.message });
      return check.fits;
    } finally {
      probe.dispose();
    }
  };

  if (await fits("progressive", largest)) {
    const model = options.buildModel(null);
    try {
      result.progressive = await runSchedule("progressive", model, options.schedule, options, log);
    } finally {
      model.dispose();
    }
  }
  if (await fits("fixed", finalSize)) {
    const model = options.buildModel(finalSize);
    try {
      result.fixed = await runSchedule("fixed", model, [{ size: finalSize, epochs }], options, log);
    } finally {
      model.dispose();
    }
  }
  return result;
}

async function runSchedule(
  strategy: string,
  model: tf.LayersModel,
  schedule: Phase[],
  options: ProgressiveOptions,
  log: (line: string) => void,
): Promise<StrategyRun> {
  // One optimizer for all phases: its moments carry over with the weights.
  const optimizer = adam(options.learningRate ?? 1e-4, 0.9, 0.999, 1e-7);
  const sampler = sampleMemory();
  let history: History | undefined;
  let epoch = 0;
  const phases: StrategyRun["phases"] = [];
  const t0 = performance.now();
  try {
    for (const phase of schedule) {
      const [train, valid] = await options.loadData(phase.size);
      const p0 = performance.now();
      log(`${strategy}: ${phase.size} px for ${phase.epochs} epoch(s)`);
      history = await fit(model, train, {
        epochs: epoch + phase.epochs,
        initialEpoch: epoch,
        optimizer,
        validationData: valid,
        history,
        seed: options.seed,
        verbose: options.verbose ?? 1,
      });
      epoch += phase.epochs;
      const va = history.history.val_accuracy;
      phases.push({
        ...phase,
        seconds: (performance.now() - p0) / 1000,
        valAccuracy: va ? va[va.length - 1] : null,
      });
    }
  } finally {
    optimizer.dispose();
  }
  const peakRssBytes = sampler.stop();
  const h = history!;
  const last = schedule[schedule.length - 1];
  const va = h.history.val_accuracy ?? [];
  const lastPhase = va.slice(va.length - last.epochs);
  return {
    strategy,
    phases,
    finalValAccuracy: va.length ? va[va.length - 1] : null,
    bestFinalSizeValAccuracy: lastPhase.length ? Math.max(...lastPhase) : null,
    seconds: (performance.now() - t0) / 1000,
    peakRssBytes,
    history: h,
  };
}

/**
 * The best trained size of a sweep (highest best val_accuracy with a
 * checkpoint), or null.
 */
export function bestRun(runs: readonly SizeRun[]): SizeRun | null {
  const ok = runs.filter((r) =>
    r.status === "trained" && r.checkpoint && r.bestValAccuracy !== null
  );
  return ok.reduce<SizeRun | null>(
    (b, r) => (b === null || r.bestValAccuracy! > b.bestValAccuracy! ? r : b),
    null,
  );
}

/** Options of {@linkcode savePredictionsOf}. */
export interface SavePredictionsOfOptions {
  /** A trained run with a checkpoint (e.g. {@linkcode bestRun}). */
  run: SizeRun;
  buildModel: (size: number) => tf.LayersModel;
  loadData: LoadData;
  /** Where to write (notebook 04 looks in `outDir("checkpoints", "03-image-size", "val-predictions.json")`). */
  path: string;
  /** Model description stored in the file. */
  model: string;
}

/**
 * Loads a run's best checkpoint into a fresh model, predicts the validation
 * images at the run's size and saves the predictions for notebook 04.
 */
export async function savePredictionsOf(options: SavePredictionsOfOptions): Promise<string> {
  const { run } = options;
  if (!run.checkpoint) {
    throw new Error(`savePredictionsOf: the ${run.size} px run has no checkpoint`);
  }
  const model = options.buildModel(run.size);
  try {
    const info = await loadCheckpoint(model, run.checkpoint);
    const [, valid] = await options.loadData(run.size);
    const { path } = await savePredictions(model, valid, options.path, {
      modelName: options.model,
      checkpoint: run.checkpoint,
      bestEpoch: info.epoch === null ? null : info.epoch + 1,
      verbose: 0,
    });
    return path;
  } finally {
    model.dispose();
  }
}
