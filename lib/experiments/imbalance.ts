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
  classCounts,
  type ClassWeightMethod,
  classWeights,
  oversample,
  undersample,
} from "../data/balance.ts";
import type { AugmentOptions } from "../data/augment.ts";
import type { MetricsSummary } from "../metrics/mod.ts";
import type { StrategyScores } from "../plots/imbalance.ts";

/** The strategies of notebook 05, in the order they run. */
export const STRATEGIES = [
  "baseline",
  "class weights",
  "undersample-200",
  "oversample",
  "oversample + augmentation",
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
  /** Run only these strategies (default: all, in {@linkcode STRATEGIES} order). */
  only?: readonly string[];
}

/**
 * The training lists of each strategy, built from the training subset only:
 * baseline (as is), class weights (as is, weighted), undersampling to `cap`
 * per class, random oversampling to the largest class, and the same
 * oversampling with on-the-fly augmentation.
 */
export function planStrategies(
  train: { filePaths: string[]; labels: number[] },
  options: PlanOptions,
): StrategyPlan[] {
  const k = options.numClasses;
  const seed = options.seed ?? 123;
  const cap = options.cap ?? 200;
  const method = options.classWeightMethod ?? "max";
  const only = options.only ?? STRATEGIES;
  for (const s of only) {
    if (!(STRATEGIES as readonly string[]).includes(s)) {
      throw new Error(`unknown strategy "${s}" (known: ${STRATEGIES.join(", ")})`);
    }
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
    }),
    "class weights": () => ({
      name: "class weights",
      description: method === "max"
        ? "all training images, loss weighted by max/n_c (the study's weights)"
        : "all training images, loss weighted by n/(k*n_c) (scikit-learn's 'balanced')",
      ...same(),
      classWeight: classWeights(labels, { numClasses: k, method }),
      augment: null,
    }),
    "undersample-200": () => ({
      name: "undersample-200",
      description: `at most ${cap} training images per class, drawn at random`,
      ...undersample(filePaths, labels, { numClasses: k, maxPerClass: cap, seed }),
      classWeight: null,
      augment: null,
    }),
    "oversample": () => ({
      name: "oversample",
      description: "every class drawn with replacement up to the largest class",
      ...over(),
      classWeight: null,
      augment: null,
    }),
    "oversample + augmentation": () => ({
      name: "oversample + augmentation",
      description:
        "oversampled as above, each training batch flipped, cropped, rotated and colour-jittered",
      ...over(),
      classWeight: null,
      augment: { ...options.augment, seed: options.augment?.seed ?? seed },
    }),
  };
  return STRATEGIES.filter((s) => only.includes(s)).map((s) => build[s]());
}

/** One row per plan: what it trains on (for the notebook's first table). */
export interface PlanRow {
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
}

/** Sizes and settings of each plan, for a table. */
export function planRows(plans: readonly StrategyPlan[], numClasses: number): PlanRow[] {
  return plans.map((p) => {
    const counts = classCounts(p.labels, numClasses).filter((n) => n > 0);
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
