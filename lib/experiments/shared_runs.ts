/**
 * Training runs shared between notebooks, so that the study trains each
 * model once: notebook 03's middle size is notebook 02's run, notebook 05's
 * baseline is notebook 03's run at its size, notebook 04 analyses notebook
 * 02's predictions. A notebook that trains saves its runs in its results
 * (`saveResults(name, { runs: [...] })`); a later notebook asks
 * {@linkcode findSharedRun} for a run with exactly its own settings
 * ({@linkcode RunSpec}, dataset fingerprint included) and trains only when
 * there is none, so every notebook still runs on its own.
 *
 * @example
 * ```ts
 * const spec = runSpec({ dataset: fp, imageSize: 48, ...profile });
 * const shared = await findSharedRun("02-simple-resnet", spec);
 * console.log(shared ? `reusing ${shared.notebook}'s run` : "training here");
 * ```
 * @module
 */
import { existsSync } from "node:fs";
import { outDir } from "../config/mod.ts";
import type { History } from "../train/mod.ts";

/** Everything that decides a run's outcome. Two runs with equal specs are the same run. */
export interface RunSpec {
  /** Fingerprint of the dataset (`datasetFingerprint`). */
  dataset: string;
  /** The model, e.g. "resnet50-scratch". */
  model: string;
  imageSize: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** The learning rate's factor per epoch (1: constant). */
  learningRateDecay: number;
  batchNormMomentum: number;
  /** EarlyStopping patience (null: none). */
  patience: number | null;
  seed: number;
  validationSplit: number;
  /** Training and validation images used (0 = all). */
  maxTrain: number;
  maxVal: number;
  /** Imbalance strategy, "baseline" for plain training. */
  strategy: string;
  /** Batches per epoch (0 = a full pass). */
  stepsPerEpoch: number;
}

/** A run as a notebook saves it for others. */
export interface SharedRun {
  spec: RunSpec;
  /** The notebook that trained it, e.g. "02-simple-resnet". */
  notebook: string;
  history: History;
  /** 1-based best val_accuracy epoch (the checkpoint's), its val_accuracy. */
  bestEpoch: number;
  bestValAccuracy: number;
  /** Mean wall-clock seconds per epoch (training and validation). */
  secondsPerEpoch: number;
  /** CPU seconds of the process per epoch (null or absent: not measured). */
  cpuSecondsPerEpoch?: number | null;
  /** Peak RSS of the notebook's process during the run, bytes (null: not measured). */
  peakRssBytes: number | null;
  /** The best model's validation predictions file, or null. */
  predictionsPath: string | null;
}

/** A {@linkcode RunSpec} with the defaults of plain training filled in. */
export function runSpec(
  s: Omit<RunSpec, "strategy" | "stepsPerEpoch" | "model"> & Partial<RunSpec>,
): RunSpec {
  return {
    dataset: s.dataset,
    model: s.model ?? "resnet50-scratch",
    imageSize: s.imageSize,
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    learningRateDecay: s.learningRateDecay,
    batchNormMomentum: s.batchNormMomentum,
    patience: s.patience,
    seed: s.seed,
    validationSplit: s.validationSplit,
    maxTrain: s.maxTrain,
    maxVal: s.maxVal,
    strategy: s.strategy ?? "baseline",
    stepsPerEpoch: s.stepsPerEpoch ?? 0,
  };
}

/** True when two specs describe the same run (every field equal). */
export function sameRun(a: RunSpec, b: RunSpec): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof RunSpec>;
  return [...keys].every((k) => a[k] === b[k]);
}

/**
 * The run with settings `spec` saved by `notebook` (in its results'
 * `runs`), when there is one whose predictions file (if any) still exists;
 * else null. `resultsDir` defaults to `<out>/results`.
 */
export async function findSharedRun(
  notebook: string,
  spec: RunSpec,
  resultsDir: string = outDir("results"),
): Promise<SharedRun | null> {
  let data: { runs?: SharedRun[] };
  try {
    data = JSON.parse(await Deno.readTextFile(`${resultsDir}/${notebook}.json`));
  } catch {
    return null; // not run yet, or unreadable: train here
  }
  const run = (data.runs ?? []).find((r) => r?.spec && sameRun(r.spec, spec));
  if (!run) return null;
  if (run.predictionsPath && !existsSync(run.predictionsPath)) return null;
  return run;
}
