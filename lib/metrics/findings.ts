/**
 * The four findings of the original ACMC study, each checked from a run's
 * numbers (training history, size sweep, validation confusion matrix,
 * imbalance strategies) with fixed thresholds, and written as one row of the
 * study report's findings table: the finding, the study's figure, ours, and
 * whether ours reproduces it.
 *
 * Each check returns a {@linkcode Finding}: a plain object (JSON as is) whose
 * `ours` text is made from the numbers, so a sentence never claims more than
 * the run shows.
 *
 * @example
 * ```ts
 * import { scratchFinding } from "./findings.ts";
 * const study = { accuracy: [0.2, 0.6, 0.9], val_accuracy: [0.1, 0.5, 0.55] };
 * const f = scratchFinding({
 *   accuracy: [0.3, 0.6, 0.8],
 *   val_accuracy: [0.25, 0.5, 0.55],
 * }, study);
 * f.reproduced; // true: best 0.55 >= 0.45, and 0.8 > 0.55 at the end
 * ```
 * @module
 */
import { STUDY_SIZE_SWEEP, type StudyRun } from "../reference/mod.ts";
import { accuracy, macroF1, perClassScores } from "./classification.ts";
import { checkSquare, type Matrix } from "./confusion.ts";
import { regressionBand } from "./regression.ts";

/** One condition of a finding, with the number it was decided on. */
export interface FindingCheck {
  /** What is checked, e.g. "best val_accuracy >= 0.45". */
  label: string;
  /** Whether it holds. */
  pass: boolean;
}

/** One finding of the study, decided on our numbers. */
export interface Finding {
  /** 1..4, the order of the study report's table. */
  id: number;
  /** The finding in words. */
  finding: string;
  /** The original study's figure(s), in words. */
  study: string;
  /** Our figure(s), in words, made from the numbers. */
  ours: string;
  /** True when every check holds. */
  reproduced: boolean;
  /** The conditions decided, each with its outcome. */
  checks: FindingCheck[];
}

/** The row of `findings.json`: a {@linkcode Finding} without its checks. */
export type FindingRow = Pick<Finding, "id" | "finding" | "study" | "ours" | "reproduced">;

const f2 = (v: number) => v.toFixed(2);
const f3 = (v: number) => v.toFixed(3);

function make(
  id: number,
  finding: string,
  study: string,
  ours: string,
  checks: FindingCheck[],
): Finding {
  return { id, finding, study, ours, reproduced: checks.every((c) => c.pass), checks };
}

function finiteSeries(name: string, values: readonly number[] | undefined): number[] {
  if (!values || values.length === 0) {
    throw new RangeError(`findings: the history has no "${name}" values`);
  }
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RangeError(`findings: ${name}[${bad}] = ${values[bad]} is not finite`);
  return [...values];
}

// ---------------------------------------------------------------- finding 1

/** Per-epoch accuracies, as in a `History.history` (Keras' names). */
export interface AccuracyHistory {
  accuracy: readonly number[];
  val_accuracy: readonly number[];
}

/** Thresholds of {@linkcode scratchFinding}. */
export interface ScratchFindingOptions {
  /** Best val_accuracy at least this (default 0.45; a constant "Archie" scores ~0.2). */
  minBest?: number;
  /** Best val_accuracy at most this (default 0.85: the data must stay about as hard as ACMC). */
  maxBest?: number;
}

/** A study run's per-epoch accuracies (lib/reference's `StudyRun`) as an {@linkcode AccuracyHistory}. */
export function studyHistory(run: StudyRun): AccuracyHistory {
  return {
    accuracy: run.epochs.map((e) => e.accuracy),
    val_accuracy: run.epochs.map((e) => e.val_accuracy),
  };
}

/** "best val_accuracy 0.567 (epoch 18 of 20); at the end training 0.919, validation 0.546". */
export function describeScratch(h: AccuracyHistory): string {
  const acc = finiteSeries("accuracy", h.accuracy);
  const val = finiteSeries("val_accuracy", h.val_accuracy);
  const best = Math.max(...val);
  return `best val_accuracy ${f3(best)} (epoch ${val.indexOf(best) + 1} of ${val.length}); ` +
    `at the end training ${f3(acc.at(-1)!)}, validation ${f3(val.at(-1)!)}`;
}

/**
 * Finding 1, "ResNet50 from scratch learns far above chance and overfits":
 * the best val_accuracy is at least `minBest` (0.45) and at most `maxBest`
 * (0.85), and the last epoch's training accuracy is above its validation
 * accuracy. `study` is the study's run (e.g. `studyHistory(studyRun(runs,
 * "tf-acmc-simple-orig.ipynb"))`), described the same way.
 */
export function scratchFinding(
  history: AccuracyHistory,
  study: AccuracyHistory,
  options: ScratchFindingOptions = {},
): Finding {
  const minBest = options.minBest ?? 0.45, maxBest = options.maxBest ?? 0.85;
  const acc = finiteSeries("accuracy", history.accuracy);
  const val = finiteSeries("val_accuracy", history.val_accuracy);
  if (acc.length !== val.length) {
    throw new RangeError(
      `scratchFinding: ${acc.length} accuracy values but ${val.length} val_accuracy values`,
    );
  }
  const best = Math.max(...val);
  return make(
    1,
    "ResNet50 from scratch learns far above chance and overfits",
    describeScratch(study),
    describeScratch(history),
    [
      { label: `best val_accuracy ${f3(best)} >= ${minBest}`, pass: best >= minBest },
      { label: `best val_accuracy ${f3(best)} <= ${maxBest}`, pass: best <= maxBest },
      {
        label: `final training accuracy ${f3(acc.at(-1)!)} > final val_accuracy ${f3(val.at(-1)!)}`,
        pass: acc.at(-1)! > val.at(-1)!,
      },
    ],
  );
}

// ---------------------------------------------------------------- finding 2

/** One size of a size sweep. */
export interface SweepPoint {
  /** Square image size, px. */
  size: number;
  /** Best val_accuracy at that size. */
  valAccuracy: number;
  /** Mean seconds per epoch (wall clock). */
  secondsPerEpoch: number;
  /**
   * CPU seconds of the training process per epoch, when measured: the cost of
   * an epoch, which wall time shows only on a machine nothing else uses.
   */
  cpuSecondsPerEpoch?: number | null;
  /**
   * Seconds per training step timed side by side with the other sizes, in one
   * process and the same minutes (lib/experiments `stepCostBySize`), when
   * measured: the cost that neither the hour of a run nor the machine's other
   * work changes.
   */
  secondsPerStep?: number | null;
  /** Peak memory of the run, bytes (null when not measured, as in the study). */
  peakMemoryBytes: number | null;
}

/** The study's size sweep (fork-of-tf-acmc-simple-sizes.ipynb, P100; memory not measured). */
export const STUDY_SWEEP_POINTS: readonly SweepPoint[] = STUDY_SIZE_SWEEP.map((r) => ({
  size: r.size,
  valAccuracy: r.accuracy,
  secondsPerEpoch: r.seconds,
  peakMemoryBytes: null,
}));

/** Thresholds of {@linkcode imageSizeFinding}. */
export interface ImageSizeFindingOptions {
  /** Least rise of val_accuracy from the smallest to the largest size (default 0.10). */
  minGain?: number;
  /** The study's figure in words (default: {@linkcode describeSizes} of its sweep). */
  study?: string;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** "val_accuracy 0.430 / 0.508 / 0.634 at 128 / 256 / 512 px; 34 / 58 / 160 s per epoch; ...". */
export function describeSizes(points: readonly SweepPoint[]): string {
  const p = [...points].sort((a, b) => a.size - b.size);
  const join = (f: (q: SweepPoint) => string) => p.map(f).join(" / ");
  const mem = p.every((q) => q.peakMemoryBytes !== null)
    ? `; peak memory ${join((q) => mib(q.peakMemoryBytes!))}`
    : "";
  const cpu = p.every((q) => q.cpuSecondsPerEpoch != null)
    ? ` (CPU ${join((q) => q.cpuSecondsPerEpoch!.toFixed(0))} s)`
    : "";
  const step = p.every((q) => q.secondsPerStep != null)
    ? `; ${join((q) => (q.secondsPerStep! * 1000).toFixed(0))} ms per step side by side`
    : "";
  return `val_accuracy ${join((q) => f3(q.valAccuracy))} at ${join((q) => String(q.size))} px; ` +
    `${join((q) => q.secondsPerEpoch.toFixed(0))} s per epoch${cpu}${step}${mem}`;
}

const rising = (v: readonly number[]) => v.every((x, i) => i === 0 || x > v[i - 1]);

/**
 * Finding 2, "larger images help, at a cost": over at least three sizes,
 * val_accuracy rises at each step up and by at least `minGain` (0.10) from
 * the smallest to the largest, and seconds per epoch and peak memory rise at
 * each step too. The time is, by what every size has: seconds per step
 * timed side by side (`secondsPerStep`), else CPU seconds per epoch, else
 * wall-clock seconds per epoch (the study's, on a dedicated GPU). Epoch
 * times of runs made at different minutes of a shared machine follow its
 * other work (on this project's 2-core machine the 48 px epochs once took
 * less wall time, and about as much CPU time, as the 40 px ones).
 */
export function imageSizeFinding(
  points: readonly SweepPoint[],
  options: ImageSizeFindingOptions = {},
): Finding {
  const minGain = options.minGain ?? 0.10;
  if (points.length < 3) {
    throw new RangeError(`imageSizeFinding: needs at least 3 sizes, got ${points.length}`);
  }
  const p = [...points].sort((a, b) => a.size - b.size);
  if (p.some((q, i) => i > 0 && q.size === p[i - 1].size)) {
    throw new RangeError("imageSizeFinding: a size appears twice");
  }
  for (const q of p) {
    if (![q.valAccuracy, q.secondsPerEpoch].every(Number.isFinite)) {
      throw new RangeError(`imageSizeFinding: the ${q.size} px run has no accuracy or time`);
    }
  }
  const acc = p.map((q) => q.valAccuracy);
  const gain = acc.at(-1)! - acc[0];
  const mem = p.map((q) => q.peakMemoryBytes);
  const memKnown = mem.every((m): m is number => m !== null && Number.isFinite(m));
  const known = (f: (q: SweepPoint) => number | null | undefined) =>
    p.every((q) => {
      const v = f(q);
      return v != null && v > 0;
    });
  const time = known((q) => q.secondsPerStep)
    ? {
      label: "seconds per training step (timed side by side) rise at each larger size",
      pass: rising(p.map((q) => q.secondsPerStep!)),
    }
    : known((q) => q.cpuSecondsPerEpoch)
    ? {
      label: "CPU seconds per epoch rise at each larger size",
      pass: rising(p.map((q) => q.cpuSecondsPerEpoch!)),
    }
    : {
      label: "seconds per epoch rise at each larger size",
      pass: rising(p.map((q) => q.secondsPerEpoch)),
    };
  return make(
    2,
    "Larger images help, at a cost",
    options.study ?? describeSizes(STUDY_SWEEP_POINTS) +
        "; 1024 px did not fit the P100's 16 GiB",
    describeSizes(p),
    [
      { label: "val_accuracy rises at each larger size", pass: rising(acc) },
      { label: `val_accuracy gain ${f3(gain)} >= ${minGain}`, pass: gain >= minGain },
      time,
      { label: "peak memory rises at each larger size", pass: memKnown && rising(mem) },
    ],
  );
}

// ---------------------------------------------------------------- finding 3

/** Options of {@linkcode classSizeFinding}. */
export interface ClassSizeFindingOptions {
  /** Bootstrap resamples of the slope (default 1000), level in percent (95), seed (0). */
  nBoot?: number;
  ci?: number;
  seed?: number;
  /** Least gap accuracy - macro-F1 (default 0.05). */
  minF1Gap?: number;
  /** Classes in each of the largest and smallest groups (default 5). */
  groupSize?: number;
  /** The study's figure in words (e.g. this function's `ours` on the study's matrix). */
  study?: string;
}

/** The numbers behind {@linkcode classSizeFinding}. */
export interface ClassSizeStats {
  accuracy: number;
  macroF1: number;
  /** OLS slope of recall on class size, per 100 images, and its bootstrap interval. */
  slopePer100: number;
  slopeInterval: [number, number];
  /** Classes in the regression (those with validation images). */
  classes: number;
  /** Classes left out: no validation image, so no recall. */
  leftOut: string[];
  /** Mean recall of the `groupSize` largest and smallest classes (with validation images). */
  largestRecall: number;
  smallestRecall: number;
}

/**
 * The statistics of finding 3 from a confusion matrix (rows true, columns
 * predicted, `classNames[i]` names row i) and each class's size (images in
 * its folder, the x of the study's regression). Classes without validation
 * images have no recall and are left out of the regression and of the
 * largest/smallest groups, as seaborn's `regplot` drops NaN.
 */
export function classSizeStats(
  cm: Matrix,
  classNames: readonly string[],
  classSizes: Readonly<Record<string, number>>,
  options: ClassSizeFindingOptions = {},
): ClassSizeStats {
  checkSquare(cm, "classSizeStats");
  const groupSize = options.groupSize ?? 5;
  const per = perClassScores(cm, classNames);
  const missing = per.filter((c) => !(classSizes[c.name] >= 0)).map((c) => c.name);
  if (missing.length) throw new Error(`classSizeStats: no class size for ${missing.join(", ")}`);
  const present = per.filter((c) => c.support > 0);
  if (present.length < Math.max(3, 2 * groupSize)) {
    throw new RangeError(
      `classSizeStats: ${present.length} classes have validation images; ` +
        `needs at least ${Math.max(3, 2 * groupSize)}`,
    );
  }
  const x = present.map((c) => classSizes[c.name]);
  const y = present.map((c) => c.tpr);
  const band = regressionBand(x, y, {
    nBoot: options.nBoot ?? 1000,
    ci: options.ci ?? 95,
    seed: options.seed ?? 0,
    gridSize: 2,
  });
  const bySize = [...present].sort((a, b) => classSizes[b.name] - classSizes[a.name]);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    accuracy: accuracy(cm),
    macroF1: macroF1(cm),
    slopePer100: band.fit.slope * 100,
    slopeInterval: [band.slopeInterval[0] * 100, band.slopeInterval[1] * 100],
    classes: present.length,
    leftOut: per.filter((c) => c.support === 0).map((c) => c.name),
    largestRecall: mean(bySize.slice(0, groupSize).map((c) => c.tpr)),
    smallestRecall: mean(bySize.slice(-groupSize).map((c) => c.tpr)),
  };
}

/** "recall slope +0.05 per 100 images (95% CI +0.02..+0.08, 22 classes); accuracy 0.63, macro-F1 0.49; ...". */
export function describeClassSize(s: ClassSizeStats, ci = 95, groupSize = 5): string {
  const sg = (v: number) => (v >= 0 ? "+" : "") + v.toFixed(3);
  return `recall slope ${sg(s.slopePer100)} per 100 images (${ci}% CI ${
    sg(s.slopeInterval[0])
  } to ${sg(s.slopeInterval[1])}, ${s.classes} classes); accuracy ${f3(s.accuracy)}, macro-F1 ${
    f3(s.macroF1)
  }; ` +
    `mean recall of the ${groupSize} largest classes ${f2(s.largestRecall)}, ` +
    `of the ${groupSize} smallest ${f2(s.smallestRecall)}`;
}

/**
 * Finding 3, "the elephant in the room": recall rises with class size (the
 * regression slope's bootstrap interval lies above 0), macro-F1 is below
 * accuracy by at least `minF1Gap` (0.05), and the mean recall of the
 * `groupSize` (5) largest classes is above that of the 5 smallest.
 */
export function classSizeFinding(
  cm: Matrix,
  classNames: readonly string[],
  classSizes: Readonly<Record<string, number>>,
  options: ClassSizeFindingOptions = {},
): Finding {
  const minGap = options.minF1Gap ?? 0.05;
  const groupSize = options.groupSize ?? 5;
  const ci = options.ci ?? 95;
  const s = classSizeStats(cm, classNames, classSizes, options);
  const gap = s.accuracy - s.macroF1;
  return make(
    3,
    "The elephant in the room: small classes are recognised worst",
    options.study ?? "",
    describeClassSize(s, ci, groupSize),
    [
      {
        label: `${ci}% interval of the recall-on-size slope above 0 (lower end ${
          s.slopeInterval[0].toFixed(4)
        } per 100 images)`,
        pass: s.slopeInterval[0] > 0,
      },
      { label: `accuracy - macro-F1 = ${f3(gap)} >= ${minGap}`, pass: gap >= minGap },
      {
        label: `mean recall of the ${groupSize} largest classes ${
          f2(s.largestRecall)
        } > of the ${groupSize} smallest ${f2(s.smallestRecall)}`,
        pass: s.largestRecall > s.smallestRecall,
      },
    ],
  );
}

// ---------------------------------------------------------------- finding 4

/** One imbalance strategy's score on the validation images. */
export interface StrategyScore {
  /** Strategy name; the baseline is the one named `baseline` in the options. */
  strategy: string;
  balancedAccuracy: number;
}

/** Thresholds of {@linkcode imbalanceFinding}. */
export interface ImbalanceFindingOptions {
  /** Name of the baseline strategy (default "baseline"). */
  baseline?: string;
  /** Least gain in balanced accuracy over the baseline (default 0.03). */
  minGain?: number;
  /** The study's figure in words (default: its class-weights run, {@linkcode STUDY_IMBALANCE}). */
  study?: string;
}

/** The study's class-weights run, in words (tf-acmc-imagenet-class-weights-50.ipynb). */
export const STUDY_IMBALANCE =
  "class weights max/n_c (frozen ImageNet ResNet50, 256 px, 50 epochs): val_accuracy 0.584, " +
  "macro-F1 0.47, MCC 0.53; balanced accuracy not reported";

/**
 * Finding 4, "imbalance remedies help the small classes": at least one
 * strategy other than the baseline raises balanced accuracy over the
 * baseline's by `minGain` (0.03) or more. The scores must come from the same
 * validation images and training budget (the caller's contract).
 */
export function imbalanceFinding(
  scores: readonly StrategyScore[],
  options: ImbalanceFindingOptions = {},
): Finding {
  const name = options.baseline ?? "baseline";
  const minGain = options.minGain ?? 0.03;
  const base = scores.find((s) => s.strategy === name);
  if (!base) throw new RangeError(`imbalanceFinding: no "${name}" among the strategies`);
  const others = scores.filter((s) => s !== base);
  if (others.length === 0) throw new RangeError("imbalanceFinding: no remedy besides the baseline");
  for (const s of scores) {
    if (!Number.isFinite(s.balancedAccuracy)) {
      throw new RangeError(`imbalanceFinding: ${s.strategy} has no balanced accuracy`);
    }
  }
  const best = others.reduce((a, b) => (b.balancedAccuracy > a.balancedAccuracy ? b : a));
  const gain = best.balancedAccuracy - base.balancedAccuracy;
  const sg = (v: number) => (v >= 0 ? "+" : "") + f3(v);
  return make(
    4,
    "Imbalance remedies help the small classes",
    options.study ?? STUDY_IMBALANCE,
    `balanced accuracy: ${name} ${f3(base.balancedAccuracy)}, ` +
      others.map((s) => `${s.strategy} ${f3(s.balancedAccuracy)}`).join(", ") +
      `; best remedy ${best.strategy} ${sg(gain)}`,
    [{
      label: `best remedy (${best.strategy}) gains ${f3(gain)} >= ${minGain} balanced accuracy`,
      pass: gain >= minGain,
    }],
  );
}

/** The rows of `findings.json` (`{id, finding, study, ours, reproduced}`), sorted by id. */
export function findingRows(findings: readonly Finding[]): FindingRow[] {
  return [...findings].sort((a, b) => a.id - b.id).map((
    { id, finding, study, ours, reproduced },
  ) => ({ id, finding, study, ours, reproduced }));
}

/**
 * A finding as sentences for a notebook, made from its numbers: "Finding 1,
 * ResNet50 from scratch learns far above chance and overfits: reproduced.
 * Ours: ... The study: ..." followed by each check with ✓ or ✗.
 */
export function findingText(f: Finding): string {
  return `Finding ${f.id}, ${f.finding}: ${f.reproduced ? "reproduced" : "NOT reproduced"}.\n` +
    `  ours: ${f.ours}\n  the study: ${f.study}\n` +
    f.checks.map((c) => `  ${c.pass ? "✓" : "✗"} ${c.label}`).join("\n");
}
