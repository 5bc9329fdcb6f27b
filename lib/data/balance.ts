/**
 * Class balance for the training subset: per-class counts, class weights
 * (the study's `max/n_c` and scikit-learn's "balanced" `n/(k*n_c)`), and
 * seeded samplers (undersampling to the minimum or to a cap, random
 * oversampling).
 *
 * Every sampler takes the `(filePaths, labels)` of the TRAINING subset only and
 * returns new lists; the inputs are never modified. Split first, then balance
 * the training files, and leave the validation files as they are: the original
 * study undersampled the whole folder before splitting, so its validation set
 * was undersampled too.
 *
 * @example
 * ```ts
 * const [train, valid] = await imageDatasetFromDirectory(dir, { subset: "both", ... });
 * const k = train.classNames.length;
 * const under = undersample(train.filePaths, train.labels, { maxPerClass: 200, seed: 123 });
 * const weights = classWeights(train.labels, { numClasses: k, method: "balanced" });
 * ```
 *
 * @module
 */

import { seededRandom } from "../random/mod.ts";

/** New file and label lists, as a sampler returns them. */
export interface Sample {
  /** File paths, one per sample (an oversampled file appears several times). */
  filePaths: string[];
  /** The integer label of each entry of `filePaths`. */
  labels: number[];
}

function checkLists(filePaths: string[], labels: number[], numClasses?: number): number {
  if (!Array.isArray(filePaths) || !Array.isArray(labels)) {
    throw new Error("filePaths and labels must be arrays");
  }
  if (filePaths.length !== labels.length) {
    throw new Error(
      `filePaths (${filePaths.length}) and labels (${labels.length}) must have the same length`,
    );
  }
  return checkLabels(labels, numClasses);
}

function checkLabels(labels: number[], numClasses?: number): number {
  let max = -1;
  for (const [i, l] of labels.entries()) {
    if (!Number.isInteger(l) || l < 0) {
      throw new Error(`labels[${i}] = ${l}: labels must be integers >= 0`);
    }
    if (numClasses !== undefined && l >= numClasses) {
      throw new Error(`labels[${i}] = ${l} is out of range for numClasses = ${numClasses}`);
    }
    if (l > max) max = l;
  }
  if (numClasses !== undefined) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new Error(`numClasses must be an integer >= 1, got ${numClasses}`);
    }
    return numClasses;
  }
  return max + 1;
}

/**
 * Images per class: `counts[c]` = how many entries of `labels` equal `c`.
 *
 * @param labels Integer labels.
 * @param numClasses Length of the result (default: largest label + 1).
 */
export function labelCounts(labels: number[], numClasses?: number): number[] {
  const k = checkLabels(labels, numClasses);
  const counts = new Array<number>(k).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

/** How {@linkcode classWeights} weighs class `c` with `n_c` images, `n` in all, `k` classes. */
export type ClassWeightMethod = "max" | "balanced";

/** Options of {@linkcode classWeights}. */
export interface ClassWeightOptions {
  /**
   * `"max"`: the study's `max_c' n_c' / n_c` (the largest class weighs 1);
   * `"balanced"`: scikit-learn's `n / (k * n_c)` (weights average to 1 over
   * the samples). Default `"balanced"`.
   */
  method?: ClassWeightMethod;
  /** Number of classes `k` (default: largest label + 1). Every class must occur. */
  numClasses?: number;
}

/**
 * Class weights from per-class counts, as the `classWeight` argument of
 * `fit` takes them (`{classIndex: weight}`).
 *
 * @example
 * ```ts
 * classWeightsFromCounts([1284, 41], "max"); // {0: 1, 1: 31.317...}
 * ```
 */
export function classWeightsFromCounts(
  counts: number[],
  method: ClassWeightMethod = "balanced",
): Record<number, number> {
  if (!Array.isArray(counts) || counts.length === 0) {
    throw new Error("counts must be a non-empty array");
  }
  for (const [c, n] of counts.entries()) {
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(
        `class ${c} has ${n} images: every class needs at least one for a class weight`,
      );
    }
  }
  const k = counts.length;
  const n = counts.reduce((a, b) => a + b, 0);
  const max = Math.max(...counts);
  const out: Record<number, number> = {};
  for (const [c, nc] of counts.entries()) {
    if (method === "max") out[c] = max / nc;
    else if (method === "balanced") out[c] = n / (k * nc);
    else throw new Error(`unknown class-weight method "${method}" (use "max" or "balanced")`);
  }
  return out;
}

/**
 * Class weights from the training labels (see {@linkcode ClassWeightOptions}).
 *
 * @example
 * ```ts
 * const w = classWeights(train.labels, { numClasses: 23, method: "max" });
 * await fit(model, train, { epochs: 20, classWeight: w });
 * ```
 */
export function classWeights(
  labels: number[],
  options: ClassWeightOptions = {},
): Record<number, number> {
  return classWeightsFromCounts(labelCounts(labels, options.numClasses), options.method);
}

/** Options of {@linkcode undersample}. */
export interface UndersampleOptions {
  /**
   * Images kept per class: a number caps each class at that many (smaller
   * classes are kept whole), `"min"` cuts every class to the smallest class
   * present. Default `"min"`.
   */
  maxPerClass?: number | "min";
  /** Seed of the random choice of the kept files. Default 123. */
  seed?: number;
  /** Number of classes (default: largest label + 1). */
  numClasses?: number;
}

/** Indices of each class, in input order. */
function byClass(labels: number[], k: number): number[][] {
  const groups: number[][] = Array.from({ length: k }, () => []);
  for (const [i, l] of labels.entries()) groups[l].push(i);
  return groups;
}

/** `m` distinct entries of `items` drawn uniformly (partial Fisher-Yates on a copy). */
function choose(items: number[], m: number, rand: () => number): number[] {
  const a = items.slice();
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, m);
}

/**
 * Random undersampling without replacement: each class keeps at most
 * `maxPerClass` of its files (chosen at random, seeded); smaller classes are
 * kept whole. Kept files stay in their input order.
 *
 * @example
 * ```ts
 * const s = undersample(train.filePaths, train.labels, { maxPerClass: 200, seed: 123 });
 * const ds = datasetFromFiles(s.filePaths, s.labels, train.classNames, { shuffle: true });
 * ```
 */
export function undersample(
  filePaths: string[],
  labels: number[],
  options: UndersampleOptions = {},
): Sample {
  const k = checkLists(filePaths, labels, options.numClasses);
  const groups = byClass(labels, k);
  const present = groups.filter((g) => g.length > 0).map((g) => g.length);
  const spec = options.maxPerClass ?? "min";
  let cap: number;
  if (spec === "min") {
    cap = present.length ? Math.min(...present) : 0;
  } else {
    if (!Number.isInteger(spec) || spec < 1) {
      throw new Error(`maxPerClass must be an integer >= 1 or "min", got ${spec}`);
    }
    cap = spec;
  }
  const rand = seededRandom(options.seed ?? 123, 0x0de5);
  const keep = new Array<boolean>(labels.length).fill(false);
  for (const g of groups) {
    const chosen = g.length <= cap ? g : choose(g, cap, rand);
    for (const i of chosen) keep[i] = true;
  }
  const out: Sample = { filePaths: [], labels: [] };
  for (const [i, kept] of keep.entries()) {
    if (!kept) continue;
    out.filePaths.push(filePaths[i]);
    out.labels.push(labels[i]);
  }
  return out;
}

/** Options of {@linkcode oversample}. */
export interface OversampleOptions {
  /**
   * Images per class after oversampling: `"max"` (default) brings every class
   * up to the largest class, a number brings smaller classes up to it (classes
   * already larger are left whole, never cut).
   */
  targetPerClass?: number | "max";
  /** Seed of the random draws. Default 123. */
  seed?: number;
  /** Number of classes (default: largest label + 1). Absent classes stay absent. */
  numClasses?: number;
}

/**
 * Random oversampling with replacement: every original file is kept once, and
 * each smaller class gets extra copies of its own files drawn at random
 * (seeded) until it has `targetPerClass` entries. The result is returned in a
 * seeded random order: the loaders' per-epoch shuffle uses a small buffer
 * (`batchSize * 8`, as tf.data in Keras), which would otherwise yield the
 * originals first and the extra copies only at the end of each epoch.
 *
 * @example
 * ```ts
 * const s = oversample(train.filePaths, train.labels, { seed: 123 });
 * ```
 */
export function oversample(
  filePaths: string[],
  labels: number[],
  options: OversampleOptions = {},
): Sample {
  const k = checkLists(filePaths, labels, options.numClasses);
  const groups = byClass(labels, k);
  const spec = options.targetPerClass ?? "max";
  let target: number;
  if (spec === "max") {
    target = Math.max(0, ...groups.map((g) => g.length));
  } else {
    if (!Number.isInteger(spec) || spec < 1) {
      throw new Error(`targetPerClass must be an integer >= 1 or "max", got ${spec}`);
    }
    target = spec;
  }
  const rand = seededRandom(options.seed ?? 123, 0x0e5a);
  const picks = labels.map((_, i) => i);
  for (const g of groups) {
    if (g.length === 0) continue;
    for (let extra = target - g.length; extra > 0; extra--) {
      picks.push(g[Math.floor(rand() * g.length)]);
    }
  }
  for (let i = picks.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [picks[i], picks[j]] = [picks[j], picks[i]];
  }
  return { filePaths: picks.map((i) => filePaths[i]), labels: picks.map((i) => labels[i]) };
}
