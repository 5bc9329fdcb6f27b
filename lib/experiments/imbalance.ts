/**
 * The strategy comparison of notebook 05 (handling the class imbalance):
 * which training lists, class weights and augmentation each strategy uses,
 * and how the runs are scored and compared.
 *
 * Every strategy starts from the same TRAINING subset (after the split) and
 * is scored on the same, untouched validation subset.
 *
 * @example
 * ```ts
 * const plans = planStrategies(train, { numClasses: 23, seed: 123 });
 * for (const plan of plans) { ... train on plan.filePaths / plan.labels ... }
 * ```
 *
 * @module
 */
import {
  type ClassWeightMethod,
  classWeights,
  labelCounts,
  oversample,
  undersample,
} from "../data/balance.ts";
import { join } from "node:path";
import { adam } from "../engine/mod.ts";
import type { AugmentOptions } from "../data/augment.ts";
import type { BatchDataset } from "../data/types.ts";
import {
  confusionMatrix,
  type Matrix,
  type MetricsSummary,
  summarizeConfusion,
} from "../metrics/mod.ts";
import { resnet50 } from "../models/mod.ts";
import type { StrategyScores } from "../plots/imbalance.ts";
import {
  decaySchedule,
  type History,
  logitAdjusted,
  type LogitAdjustmentOptions,
  trainAndEvaluate,
} from "../train/mod.ts";

/** The strategies of notebook 05, in the order they run. */
export const STRATEGIES = [
  "baseline",
  "class weights",
  "undersample-200",
  "oversample",
  "oversample + augmentation",
  "logit adjustment",
] as const;

/** One of {@linkcode STRATEGIES}. */
export type StrategyName = typeof STRATEGIES[number];

/** What one strategy trains on. */
export interface StrategyPlan {
  name: StrategyName;
  /** One sentence for the notebook's table. */
  description: string;
  /** Training files after sampling (the validation files are never here). */
  filePaths: string[];
  /** Their labels. */
  labels: number[];
  /** `classWeight` for `fit`, or null. */
  classWeight: Record<number, number> | null;
  /** Augmentation of the training batches, or null. */
  augment: AugmentOptions | null;
  /**
   * Post-hoc logit adjustment of the baseline's predictions (no training of
   * its own: see {@linkcode adjustedStrategyResult}), or null.
   */
  logitAdjustment: LogitAdjustmentOptions | null;
}

/** Options of {@linkcode planStrategies}. */
export interface PlanOptions {
  /** Number of classes (the class names' length). */
  numClasses: number;
  /** Seed of the samplers and of the augmentation. Default 123. */
  seed?: number;
  /** Cap of the undersampling strategy (images per class). Default 200. */
  cap?: number;
  /** Class weights: the study's `"max"` (max/n_c, default) or `"balanced"` n/(k*n_c). */
  classWeightMethod?: ClassWeightMethod;
  /** Augmentation options of "oversample + augmentation" (the seed is filled in). */
  augment?: AugmentOptions;
  /** Strength `τ` of "logit adjustment" (default 1, the theory's value; not tuned on validation). */
  tau?: number;
  /** Run only these strategies (default: all, in {@linkcode STRATEGIES} order). */
  only?: readonly string[];
}

/**
 * The training lists of each strategy, built from the training subset only:
 * baseline (as is), class weights (as is, weighted), undersampling to `cap`
 * per class, random oversampling to the largest class, and the same
 * oversampling with on-the-fly augmentation, and the baseline's own model
 * with its predictions corrected for the training prior (logit adjustment,
 * which needs the baseline among the strategies).
 */
export function planStrategies(
  train: { filePaths: string[]; labels: number[] },
  options: PlanOptions,
): StrategyPlan[] {
  const k = options.numClasses;
  const seed = options.seed ?? 123;
  const cap = options.cap ?? 200;
  const method = options.classWeightMethod ?? "max";
  const tau = options.tau ?? 1;
  const only = options.only ?? STRATEGIES;
  for (const s of only) {
    if (!(STRATEGIES as readonly string[]).includes(s)) {
      throw new Error(`unknown strategy "${s}" (known: ${STRATEGIES.join(", ")})`);
    }
  }
  if (only.includes("logit adjustment") && !only.includes("baseline")) {
    throw new Error(
      'the "logit adjustment" strategy adjusts the baseline\'s predictions: add "baseline" to the strategies',
    );
  }
  const { filePaths, labels } = train;
  const same = () => ({ filePaths: filePaths.slice(), labels: labels.slice() });
  const over = () => oversample(filePaths, labels, { numClasses: k, seed });
  const build: Record<StrategyName, () => StrategyPlan> = {
    "baseline": () => ({
      name: "baseline",
      description: "all training images, unweighted (as notebook 02)",
      ...same(),
      classWeight: null,
      augment: null,
      logitAdjustment: null,
    }),
    "class weights": () => ({
      name: "class weights",
      description: method === "max"
        ? "all training images, loss weighted by max/n_c (the study's weights)"
        : "all training images, loss weighted by n/(k*n_c) (scikit-learn's 'balanced')",
      ...same(),
      classWeight: classWeights(labels, { numClasses: k, method }),
      augment: null,
      logitAdjustment: null,
    }),
    "undersample-200": () => ({
      name: "undersample-200",
      description: `at most ${cap} training images per class, drawn at random`,
      ...undersample(filePaths, labels, { numClasses: k, maxPerClass: cap, seed }),
      classWeight: null,
      augment: null,
      logitAdjustment: null,
    }),
    "oversample": () => ({
      name: "oversample",
      description: "every class drawn with replacement up to the largest class",
      ...over(),
      classWeight: null,
      augment: null,
      logitAdjustment: null,
    }),
    "oversample + augmentation": () => ({
      name: "oversample + augmentation",
      description:
        "oversampled as above, each training batch flipped, cropped, rotated and colour-jittered",
      ...over(),
      classWeight: null,
      augment: { ...options.augment, seed: options.augment?.seed ?? seed },
      logitAdjustment: null,
    }),
    "logit adjustment": () => ({
      name: "logit adjustment",
      description: `the baseline's model; each class's probability divided by its share of the ` +
        `training images${tau === 1 ? "" : ` to the power ${tau}`} before the argmax (no training)`,
      ...same(),
      classWeight: null,
      augment: null,
      logitAdjustment: { tau },
    }),
  };
  return STRATEGIES.filter((s) => only.includes(s)).map((s) => build[s]());
}

/** One row per plan: what it trains on (for the notebook's first table; a plain record, so `displayTable` takes it). */
export type PlanRow = {
  strategy: string;
  /** Training entries per epoch. */
  images: number;
  /** Distinct training files. */
  distinctFiles: number;
  /** Entries of the smallest and the largest class. */
  smallestClass: number;
  largestClass: number;
  /** Largest class weight / smallest, or 1 without weights. */
  weightSpread: number;
  augmentation: boolean;
  description: string;
};

/** Sizes and settings of each plan, for a table. */
export function planRows(plans: readonly StrategyPlan[], numClasses: number): PlanRow[] {
  return plans.map((p) => {
    const counts = labelCounts(p.labels, numClasses).filter((n) => n > 0);
    const w = p.classWeight ? Object.values(p.classWeight) : [1];
    return {
      strategy: p.name,
      images: p.filePaths.length,
      distinctFiles: new Set(p.filePaths).size,
      smallestClass: Math.min(...counts),
      largestClass: Math.max(...counts),
      weightSpread: Math.max(...w) / Math.min(...w),
      augmentation: p.augment !== null,
      description: p.description,
    };
  });
}

/** The outcome of one strategy's run. */
export interface StrategyResult {
  strategy: string;
  /** Scores of the validation predictions (lib/metrics `summarizeConfusion`). */
  summary: MetricsSummary;
  /** Epochs trained. */
  epochs: number;
  /** Training wall time, seconds. */
  seconds: number;
  /** 1-based epoch whose weights were scored (the best val_accuracy), when known. */
  bestEpoch?: number;
  /** Validation confusion matrix (rows true, columns predicted, label order). */
  confusion?: Matrix;
  /** The training history. */
  history?: History;
  /** The validation predictions file written, when asked (`predictionsPath`). */
  predictionsPath?: string | null;
  /** Where the run came from when another notebook's run was reused (see shared_runs.ts). */
  reusedFrom?: string;
  /** The scored validation predictions (label order; `probs` when the run kept them). */
  predictions?: { labels: number[]; predicted: number[]; probs?: number[][] };
}

/**
 * The first `steps` batches of each pass over `ds` (all of them when `steps`
 * is null or larger): a fixed training budget per epoch, so that strategies
 * with more or fewer images per epoch get the same number of updates. On a
 * shuffled dataset every pass takes a new random selection. `filePaths` and
 * `labels` stay those of `ds` (the pool the batches come from).
 */
export function takeBatches(ds: BatchDataset, steps: number | null): BatchDataset {
  if (steps === null || steps >= ds.cardinality) return ds;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new Error(`takeBatches: steps must be an integer >= 1 or null, got ${steps}`);
  }
  return {
    classNames: ds.classNames,
    filePaths: ds.filePaths,
    labels: ds.labels,
    batchSize: ds.batchSize,
    imageSize: ds.imageSize,
    channels: ds.channels,
    cardinality: steps,
    async *[Symbol.asyncIterator]() {
      let n = 0;
      for await (const batch of ds) {
        yield batch;
        if (++n >= steps) break;
      }
    },
  };
}

/** Options of {@linkcode runStrategy}. */
export interface RunStrategyOptions {
  /** The validation subset (never sampled, never augmented). */
  validation: BatchDataset;
  /** Class names, label order. */
  classNames: readonly string[];
  /** Epochs at most (default 20, as the study). */
  epochs?: number;
  /** Adam's learning rate (default 1e-4, as the study). */
  learningRate?: number;
  /** Early-stopping patience on val_accuracy (default 5, as the study). */
  patience?: number;
  /** Seed of the initial weights and of the training steps (default 123). */
  seed?: number;
  /** Folder for the best-epoch checkpoint (required). */
  checkpointDir: string;
  /** `fit`'s verbosity (default 1: one line per epoch updated in place). */
  verbose?: 0 | 1 | 2;
  /** ResNet50's BatchNormalization momentum (default 0.99, Keras'). */
  batchNormMomentum?: number;
  /** Factor of the learning rate after each epoch (default 1: constant, as the study). */
  learningRateDecay?: number;
  /** Write the best model's validation predictions here (notebook 04's format); default none. */
  predictionsPath?: string | null;
  /** Fingerprint of the dataset, stored with the predictions. */
  dataset?: string | null;
}

/**
 * Trains a fresh ResNet50 from scratch (with `preprocessInput`, as notebook
 * 02) on `trainDs` with the plan's class weights through the project's
 * recipe ({@linkcode trainAndEvaluate}: early stopping on val_accuracy, a
 * best-only checkpoint, the best epoch's weights reloaded), predicts the
 * validation subset and scores it. The model and its optimizer
 * are disposed, so runs one after another do not pile up memory.
 *
 * `trainDs` must hold the plan's files (`datasetFromFiles(plan.filePaths,
 * plan.labels, ...)`, with the plan's augmentation as its `map`).
 */
export async function runStrategy(
  plan: StrategyPlan,
  trainDs: BatchDataset,
  options: RunStrategyOptions,
): Promise<StrategyResult> {
  const k = options.classNames.length;
  if (trainDs.filePaths.length !== plan.filePaths.length) {
    throw new Error(
      `runStrategy(${plan.name}): the training dataset has ${trainDs.filePaths.length} files, ` +
        `the plan ${plan.filePaths.length}`,
    );
  }
  const validSet = new Set(options.validation.filePaths);
  if (plan.filePaths.some((f) => validSet.has(f))) {
    throw new Error(`runStrategy(${plan.name}): a validation file is in the training lists`);
  }
  const [h, w] = trainDs.imageSize;
  const seed = options.seed ?? 123;
  const model = resnet50({
    inputShape: [h, w, trainDs.channels],
    classes: k,
    preprocess: true,
    seed,
    batchNormMomentum: options.batchNormMomentum,
  });
  // Our own optimizer (Keras' Adam: epsilon 1e-7), so its moments are freed with the model.
  const optimizer = adam(options.learningRate ?? 1e-4, 0.9, 0.999, 1e-7);
  try {
    const slug = plan.name.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "");
    const run = await trainAndEvaluate(model, trainDs, {
      epochs: options.epochs ?? 20,
      validationData: options.validation,
      optimizer,
      classWeight: plan.classWeight ?? undefined,
      patience: options.patience ?? 5,
      checkpointPath: join(options.checkpointDir, `${slug}.ckpt`),
      evaluate: false,
      inferenceVerbose: 0,
      seed,
      verbose: options.verbose ?? 1,
      callbacks: decaySchedule(options.learningRate ?? 1e-4, options.learningRateDecay),
      predictionsPath: options.predictionsPath ?? null,
      modelName: `resnet50-scratch (${plan.name})`,
      dataset: options.dataset,
    });
    const preds = run.predictions!;
    const confusion = confusionMatrix(preds.labels, preds.predicted, { numClasses: k });
    return {
      strategy: plan.name,
      summary: summarizeConfusion(confusion, options.classNames),
      epochs: run.epochsRun,
      seconds: run.fitSeconds,
      bestEpoch: run.restored ? run.bestEpoch ?? undefined : undefined,
      confusion,
      history: run.history,
      predictionsPath: run.predictionsPath,
      predictions: { labels: preds.labels, predicted: preds.predicted, probs: preds.probs },
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/**
 * A run made elsewhere with the very same settings (another notebook's
 * `SharedRun`, e.g. notebook 02's plain training) as this notebook's
 * `strategy` result, scored from its saved validation predictions; null when
 * those predictions are not of the same validation files (then train here).
 */
export function strategyResultOf(
  strategy: string,
  shared: {
    notebook: string;
    history: History;
    bestEpoch: number;
    secondsPerEpoch: number;
  },
  predictions: { filePaths: string[]; labels: number[]; predicted: number[]; probs?: number[][] },
  validation: { filePaths: readonly string[] },
  classNames: readonly string[],
): StrategyResult | null {
  const same = predictions.filePaths.length === validation.filePaths.length &&
    predictions.filePaths.every((f, i) => f === validation.filePaths[i]);
  if (!same) return null;
  const confusion = confusionMatrix(predictions.labels, predictions.predicted, {
    numClasses: classNames.length,
  });
  return {
    strategy,
    summary: summarizeConfusion(confusion, classNames),
    epochs: shared.history.epoch.length,
    seconds: shared.secondsPerEpoch * shared.history.epoch.length,
    bestEpoch: shared.bestEpoch,
    confusion,
    history: shared.history,
    reusedFrom: `notebook ${shared.notebook}'s run (same settings)`,
    predictions: {
      labels: predictions.labels,
      predicted: predictions.predicted,
      probs: predictions.probs,
    },
  };
}

/**
 * The result of a post-hoc plan ("logit adjustment"): the `baseline` run's
 * validation probabilities with the training prior removed
 * ({@linkcode logitAdjusted}, the prior from `trainCounts`, the baseline's
 * training images per class; a class without any counts as one), scored
 * like any run. Epochs, time and history are the baseline's: the strategy
 * trains nothing of its own.
 *
 * @throws when the plan is not a post-hoc one or the baseline kept no probabilities.
 */
export function adjustedStrategyResult(
  plan: StrategyPlan,
  baseline: StrategyResult,
  trainCounts: readonly number[],
  classNames: readonly string[],
): StrategyResult {
  if (!plan.logitAdjustment) {
    throw new Error(`adjustedStrategyResult: "${plan.name}" is not a post-hoc strategy`);
  }
  const probs = baseline.predictions?.probs;
  if (!probs || probs.length !== baseline.predictions!.labels.length) {
    throw new Error(
      `adjustedStrategyResult(${plan.name}): the ${baseline.strategy} run kept no class ` +
        "probabilities to adjust (its predictions file has no probs)",
    );
  }
  const labels = baseline.predictions!.labels;
  // A class without training images (possible on tiny datasets) counts as one: its prior
  // would be 0 and its adjustment infinite. On any real split every count is >= 1.
  const counts = trainCounts.map((n) => Math.max(n, 1));
  const adjusted = logitAdjusted(probs, counts, plan.logitAdjustment);
  const confusion = confusionMatrix(labels, adjusted.predicted, { numClasses: classNames.length });
  return {
    strategy: plan.name,
    summary: summarizeConfusion(confusion, classNames),
    epochs: baseline.epochs,
    seconds: baseline.seconds,
    bestEpoch: baseline.bestEpoch,
    confusion,
    history: baseline.history,
    reusedFrom: `the ${baseline.strategy}'s model, its predictions adjusted (no training)`,
    predictions: { labels, predicted: adjusted.predicted, probs: adjusted.probs },
  };
}

/**
 * One line for the notebook's log: where the run came from, its best epoch,
 * accuracy, balanced accuracy, macro-F1, MCC and training seconds.
 *
 * @example
 * ```ts
 * console.log(strategyLine(result));
 * // "oversample: best epoch 3 of 3, accuracy 0.611, balanced 0.402, macro-F1 0.398, MCC 0.571 (260 s)"
 * ```
 */
export function strategyLine(r: StrategyResult): string {
  const s = r.summary;
  const scores = `accuracy ${s.accuracy.toFixed(3)}, balanced ${s.balancedAccuracy.toFixed(3)}, ` +
    `macro-F1 ${s.macroF1.toFixed(3)}, MCC ${s.mcc.toFixed(3)}`;
  const epoch = `best epoch ${r.bestEpoch ?? "-"} of ${r.epochs}`;
  return r.reusedFrom
    ? `${r.strategy}: from ${r.reusedFrom}, ${epoch}, ${scores}`
    : `${r.strategy}: ${epoch}, ${scores} (${r.seconds.toFixed(0)} s)`;
}

/** The headline scores of each run (the rows of the notebook's table and chart). */
export function scoreRows(results: readonly StrategyResult[]): StrategyScores[] {
  return results.map((r) => ({
    strategy: r.strategy,
    accuracy: r.summary.accuracy,
    balancedAccuracy: r.summary.balancedAccuracy,
    macroF1: r.summary.macroF1,
    mcc: r.summary.mcc,
  }));
}

/**
 * The best strategy other than `baseline`, by `metric` (default balanced
 * accuracy, the mean per-class recall), ties broken by macro-F1 then by
 * order. Throws when there is nothing but the baseline.
 */
export function bestStrategy(
  results: readonly StrategyResult[],
  metric: "balancedAccuracy" | "macroF1" | "mcc" | "accuracy" = "balancedAccuracy",
  baseline = "baseline",
): StrategyResult {
  const others = results.filter((r) => r.strategy !== baseline);
  if (others.length === 0) throw new Error("bestStrategy: no strategy besides the baseline");
  return others.reduce((best, r) =>
    r.summary[metric] > best.summary[metric] ||
      (r.summary[metric] === best.summary[metric] && r.summary.macroF1 > best.summary.macroF1)
      ? r
      : best
  );
}
