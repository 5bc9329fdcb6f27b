/**
 * Per-class analysis of a model's validation predictions: what accuracy
 * hides on an imbalanced dataset (the study's "elephant in the room"). Both
 * confusion matrices, per-class scores, macro-F1 / balanced accuracy / MCC
 * beside accuracy, and the regression of each class's recall (TPR) on its
 * size; the same for the original study's 512 px confusion matrix.
 *
 * @example
 * ```ts
 * const ours = analyzePredictions({ predictions: await readPredictions(path), classSizes });
 * const study = await studyAnalysis();
 * await displayTable(headlineRows({ ours, study }));
 * ```
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { outDir } from "../config/mod.ts";
import {
  type ClassificationReport,
  classificationReport,
  confusionMatrix,
  type Matrix,
  type MetricsSummary,
  normalizeConfusion,
  type RegressionBand,
  regressionBand,
  summarizeConfusion,
} from "../metrics/mod.ts";
import type { SizePoint } from "../plots/metrics.ts";
import { ACMC_COUNTS, studyConfusion } from "../reference/mod.ts";
import { studySplit } from "./study_data.ts";
import { initEngine } from "../engine/mod.ts";
import { readPredictions, type SavedPredictions } from "../train/mod.ts";
import { trainFromScratch } from "./from_scratch.ts";

/** Everything notebook 04 shows for one model. */
export interface PerClassAnalysis {
  classNames: string[];
  /** Counts, rows true, columns predicted. */
  cm: Matrix;
  /** Row-normalised (`normalize="true"`). */
  normalized: Matrix;
  summary: MetricsSummary;
  report: ClassificationReport;
  /** One point per class with validation images: its size and its recall. */
  points: SizePoint[];
  /** Classes without validation images (no recall): left out of `points` and the regression. */
  leftOut: string[];
  /** Images per class (the regression's x), by name. */
  classSizes: Record<string, number>;
  /** OLS of recall on class size with its bootstrap band. */
  band: RegressionBand;
}

/** Options of {@linkcode analyzePredictions}. */
export interface AnalyzeOptions {
  /** Validation predictions (true and predicted labels, class names). */
  predictions: Pick<SavedPredictions, "labels" | "predicted" | "classNames">;
  /** Images per class (by class name): the x of the regression. */
  classSizes: Record<string, number>;
  /** Bootstrap resamples (default 1000), level (default 95) and seed (default 0). */
  nBoot?: number;
  ci?: number;
  seed?: number;
}

/** Scores, matrices and the TPR-vs-size regression of a model's validation predictions. */
export function analyzePredictions(options: AnalyzeOptions): PerClassAnalysis {
  const { labels, predicted, classNames } = options.predictions;
  const cm = confusionMatrix(labels, predicted, { numClasses: classNames.length });
  return analyzeMatrix(cm, classNames, options);
}

/** {@linkcode analyzePredictions} from a confusion matrix. */
export function analyzeMatrix(
  cm: Matrix,
  classNames: string[],
  options: Omit<AnalyzeOptions, "predictions">,
): PerClassAnalysis {
  const missing = classNames.filter((c) => !(options.classSizes[c] >= 0));
  if (missing.length) {
    throw new Error(`analyzeMatrix: no class size for ${missing.join(", ")}`);
  }
  const summary = summarizeConfusion(cm, classNames);
  // A class without validation images has no recall (NaN): it stays out of the
  // regression and the chart, as seaborn's regplot drops NaN.
  const present = summary.perClass.filter((c) => c.support > 0);
  const points = present.map((c) => ({
    name: c.name,
    size: options.classSizes[c.name],
    tpr: c.tpr,
  }));
  const band = regressionBand(points.map((p) => p.size), points.map((p) => p.tpr), {
    nBoot: options.nBoot,
    ci: options.ci,
    seed: options.seed,
  });
  return {
    classNames,
    cm,
    normalized: normalizeConfusion(cm, "true"),
    summary,
    report: classificationReport(cm, classNames),
    points,
    leftOut: summary.perClass.filter((c) => c.support === 0).map((c) => c.name),
    classSizes: { ...options.classSizes },
    band,
  };
}

/**
 * The original study's 512 px ImageNet run, from `reference/`: its confusion
 * matrix (blog label order) and the dataset's class counts.
 */
export async function studyAnalysis(
  options: Omit<AnalyzeOptions, "predictions" | "classSizes"> = {},
): Promise<PerClassAnalysis> {
  const { labels, matrix } = await studyConfusion();
  return analyzeMatrix(matrix, labels, { ...options, classSizes: { ...ACMC_COUNTS } });
}

/** One row of the per-class table. */
export interface ClassRow extends Record<string, unknown> {
  class: string;
  images: number;
  support: number;
  tp: number;
  fn: number;
  fp: number;
  tpr: number | null;
  precision: number;
  f1: number;
}

/** The per-class table, sorted by class size (largest first). */
export function perClassTable(a: PerClassAnalysis): ClassRow[] {
  return a.summary.perClass.map((c) => ({
    class: c.name,
    images: a.classSizes[c.name],
    support: c.support,
    tp: c.tp,
    fn: c.fn,
    fp: c.fp,
    // No validation image, no recall (null, shown as "–"), as scikit-learn's warning says.
    tpr: c.support > 0 ? c.tpr : null,
    precision: c.precision,
    f1: c.f1,
  })).sort((x, y) => y.images - x.images);
}

/** The headline scores side by side. */
export function headlineRows(
  columns: Record<string, PerClassAnalysis>,
): Record<string, string | number>[] {
  const metrics: [string, (s: MetricsSummary) => number | string][] = [
    ["validation images", (s) => s.total],
    ["correct", (s) => s.correct],
    ["accuracy", (s) => s.accuracy],
    ["balanced accuracy (mean recall)", (s) => s.balancedAccuracy],
    ["macro-F1", (s) => s.macroF1],
    ["weighted F1", (s) => s.weightedF1],
    ["multiclass MCC", (s) => s.mcc],
    ["classes never predicted right", (s) => s.perClass.filter((c) => c.tp === 0).length],
  ];
  return metrics.map(([label, f]) => ({
    metric: label,
    ...Object.fromEntries(Object.entries(columns).map(([name, a]) => [name, f(a.summary)])),
  }));
}

/** Where notebooks 02 and 03 save validation predictions, in the order notebook 04 looks. */
export function predictionCandidates(): string[] {
  return [
    outDir("checkpoints", "02-scratch", "val-predictions.json"),
    outDir("checkpoints", "03-image-size", "val-predictions.json"),
    outDir("checkpoints", "04-elephant", "val-predictions.json"),
  ];
}

/** The first saved predictions file that exists, or null. */
export function findSavedPredictions(candidates = predictionCandidates()): string | null {
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Options of {@linkcode trainForPredictions}. */
export interface TrainForPredictionsOptions {
  /** Dataset folder. */
  dir: string;
  imageSize: number;
  epochs: number;
  batchSize?: number;
  seed?: number;
  maxTrain?: number;
  maxVal?: number;
  learningRate?: number;
  patience?: number;
  /** Factor of the learning rate after each epoch (default 1) and BatchNorm momentum (0.99). */
  learningRateDecay?: number;
  batchNormMomentum?: number;
  validationSplit?: number;
  /** Fingerprint of the dataset, stored with the predictions. */
  dataset?: string | null;
  /** Where to save (default `outDir("checkpoints", "04-elephant")`). */
  saveDir?: string;
}

/**
 * Trains a ResNet50 from scratch on the study's split of `dir`
 * ({@linkcode trainFromScratch}, as notebook 02, short) and saves its
 * validation predictions, for when no notebook has saved any. Returns them
 * with the path written.
 *
 * @example
 * ```ts
 * const { path, predictions } = await trainForPredictions({ dir, imageSize: 32, epochs: 2 });
 * ```
 */
export async function trainForPredictions(
  options: TrainForPredictionsOptions,
): Promise<{ path: string; predictions: SavedPredictions }> {
  await initEngine();
  const seed = options.seed ?? 123;
  const [train, valid] = await studySplit(options.dir, {
    imageSize: options.imageSize,
    batchSize: options.batchSize ?? 8,
    seed,
    validationSplit: options.validationSplit,
    maxTrain: options.maxTrain,
    maxVal: options.maxVal,
    cache: "memory",
  });
  const dir = options.saveDir ?? outDir("checkpoints", "04-elephant");
  const path = join(dir, "val-predictions.json");
  await trainFromScratch({
    train,
    valid,
    epochs: options.epochs,
    learningRate: options.learningRate ?? 1e-4,
    learningRateDecay: options.learningRateDecay,
    batchNormMomentum: options.batchNormMomentum,
    dataset: options.dataset,
    patience: options.patience ?? 5,
    seed,
    checkpointDir: dir,
    evaluate: false,
    predictionsPath: path,
    modelName: "resnet50-scratch (notebook 04 fallback)",
    log: () => {},
  });
  return { path, predictions: await readPredictions(path) };
}
