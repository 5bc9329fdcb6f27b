/**
 * Training curves: accuracy or loss per epoch, training vs validation, ours
 * beside the original study's (from its saved Keras logs).
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Figure, plot } from "./dom.ts";
import type { History } from "../train/mod.ts";
import type { StudyRun } from "../reference/mod.ts";

/** One point of a training curve. */
export interface CurvePoint {
  /** 1-based epoch. */
  epoch: number;
  /** Value of the metric. */
  value: number;
  /** "training" or "validation". */
  split: "training" | "validation";
  /** Which run: e.g. "ours" or "study". */
  run: string;
}

/** Options of {@linkcode trainingCurves}. */
export interface TrainingCurvesOptions {
  /** `"accuracy"` (default) or `"loss"`. */
  metric?: "accuracy" | "loss";
  /** The study's run to draw beside ours (dashed). */
  study?: StudyRun;
  /** Label of our run in the legend (default "ours"). */
  label?: string;
  /** Label of the study's run (default "study (Keras, P100)"). */
  studyLabel?: string;
  /** Chart title (default "<Metric> per epoch"). */
  title?: string;
  /** Subtitle (e.g. image size and dataset). */
  subtitle?: string;
  /** Width in px (default 640). */
  width?: number;
  /** Height in px (default 320). */
  height?: number;
}

/** Our history as curve points (1-based epochs; only the metrics present). */
export function historyPoints(
  history: History,
  metric: "accuracy" | "loss",
  run = "ours",
): CurvePoint[] {
  const pts: CurvePoint[] = [];
  for (const [split, key] of [["training", metric], ["validation", `val_${metric}`]] as const) {
    const values = history.history[key];
    if (!values) continue;
    values.forEach((value, i) => pts.push({ epoch: history.epoch[i] + 1, value, split, run }));
  }
  return pts;
}

/** A study run as curve points. */
export function studyPoints(
  run: StudyRun,
  metric: "accuracy" | "loss",
  label = "study (Keras, P100)",
): CurvePoint[] {
  return run.epochs.flatMap((e) => [
    { epoch: e.epoch, value: e[metric], split: "training" as const, run: label },
    {
      epoch: e.epoch,
      value: metric === "accuracy" ? e.val_accuracy : e.val_loss,
      split: "validation" as const,
      run: label,
    },
  ]);
}

/**
 * Accuracy or loss per epoch: training and validation (colour), our run
 * (solid, dots) and the study's (dashed), with the best validation epoch of
 * each run marked (highest accuracy / lowest loss). With `history` null,
 * only the study's curves (a section that could not run, e.g. without the
 * ImageNet weight file, still shows what the study found).
 *
 * @example
 * ```ts
 * const scratch = studyRun(await studyRuns(), "tf-acmc-simple-orig.ipynb");
 * await display(trainingCurves(history, { metric: "accuracy", study: scratch }));
 * ```
 */
export function trainingCurves(
  history: History | null,
  options: TrainingCurvesOptions = {},
): Figure {
  const metric = options.metric ?? "accuracy";
  const ours = history ? historyPoints(history, metric, options.label ?? "ours") : [];
  if (history && ours.length === 0) {
    throw new Error(`trainingCurves: the history has no ${metric} values`);
  }
  if (!history && !options.study) {
    throw new Error("trainingCurves: no history and no study run to draw");
  }
  const study = options.study ? studyPoints(options.study, metric, options.studyLabel) : [];
  const best = (pts: CurvePoint[]) => {
    const val = pts.filter((p) => p.split === "validation");
    if (!val.length) return [];
    return [
      val.reduce((a, b) => (metric === "loss" ? b.value < a.value : b.value > a.value) ? b : a),
    ];
  };
  const all = [...ours, ...study];
  const maxEpoch = Math.max(...all.map((p) => p.epoch));
  const name = metric === "accuracy" ? "Accuracy" : "Loss";
  return plot({
    title: options.title ?? `${name} per epoch`,
    subtitle: [
      options.subtitle,
      !history
        ? "dashed: the original study (no run of ours)"
        : study.length
        ? "solid: this run; dashed: the original study"
        : "",
    ]
      .filter(Boolean).join(" · ") || undefined,
    width: options.width ?? 640,
    height: options.height ?? 320,
    marginRight: 20,
    x: { label: "epoch", domain: [1, Math.max(2, maxEpoch)], ticks: Math.min(maxEpoch, 10) },
    y: {
      label: metric === "accuracy" ? "accuracy" : "cross-entropy loss",
      grid: true,
      ...(metric === "accuracy" ? { domain: [0, 1] } : { zero: true }),
    },
    color: { legend: true, domain: ["training", "validation"], range: ["#1f77b4", "#ff7f0e"] },
    marks: [
      Plot.line(study, {
        x: "epoch",
        y: "value",
        stroke: "split",
        z: "split",
        strokeDasharray: "5,4",
        strokeOpacity: 0.8,
      }),
      Plot.line(ours, { x: "epoch", y: "value", stroke: "split", z: "split", strokeWidth: 2 }),
      Plot.dot(ours, { x: "epoch", y: "value", fill: "split", r: 2.5 }),
      Plot.dot([...best(ours), ...best(study)], {
        x: "epoch",
        y: "value",
        stroke: "black",
        r: 6,
        title: (p: CurvePoint) =>
          `${p.run}: best validation ${metric} ${p.value.toFixed(4)} (epoch ${p.epoch})`,
      }),
      Plot.text([...best(ours), ...best(study)], {
        x: "epoch",
        y: "value",
        text: (p: CurvePoint) =>
          `${p.run === "ours" || p.run === options.label ? "" : "study "}best ${
            p.value.toFixed(3)
          }`,
        dy: metric === "loss" ? 12 : -12,
        fontSize: 10,
      }),
    ],
  });
}
