/**
 * Charts of notebook 03 (the effect of image size): a measure of each size's
 * run against the image size, beside the original study's figures, and the
 * validation accuracy per epoch of progressive resizing against fixed size.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Figure, plot } from "./dom.ts";
import { STUDY_SIZE_SWEEP } from "../reference/mod.ts";
import type { History } from "../train/mod.ts";

/**
 * One image size's outcome, as {@linkcode sizeSweepPlot} draws it
 * (lib/experiments' `SizeRun` is one).
 */
export interface SizeSweepPoint {
  /** Image size, pixels (square). */
  size: number;
  /** "trained", or "refused" (marked on the x axis) when the memory check said it would not fit. */
  status: "trained" | "refused";
  /** Best val_accuracy over the epochs (null when refused). */
  bestValAccuracy: number | null;
  /** Mean wall-clock seconds per epoch (null when refused). */
  secondsPerEpoch: number | null;
  /** Highest resident memory during the run, bytes (null when not measured). */
  peakRssBytes: number | null;
}

/** One training strategy, as {@linkcode progressiveCurves} draws it. */
export interface StrategyCurve {
  /** "progressive" or "fixed". */
  strategy: string;
  /** The phases in order: image size and epochs at that size. */
  phases: readonly { size: number; epochs: number }[];
  /** Every epoch of all phases; `val_accuracy` is drawn. */
  history: Pick<History, "history">;
}

/**
 * Progressive resizing against fixed-size training, as
 * {@linkcode progressiveCurves} draws them (lib/experiments'
 * `ProgressiveResult` is one).
 */
export interface ProgressiveCurves {
  progressive: StrategyCurve | null;
  fixed: StrategyCurve | null;
  /** The epoch budget of each strategy (the x axis). */
  epochs: number;
}

/** What {@linkcode sizeSweepPlot} draws against the image size. */
export type SizeMeasure = "accuracy" | "seconds" | "memory";

const LABEL: Record<SizeMeasure, string> = {
  accuracy: "Best val_accuracy",
  seconds: "Seconds per epoch",
  memory: "Peak memory (GiB)",
};

/** Options of {@linkcode sizeSweepPlot}. */
export interface SizeSweepPlotOptions {
  title?: string;
  subtitle?: string;
  /** Also draw the study's figures (accuracy and seconds only; default true). */
  study?: boolean;
  /** Legend name of this run's series (default "ours"). */
  label?: string;
}

/**
 * One measure of every trained size against the image size (a line with
 * dots, labelled with the values), with the study's figures dashed; refused
 * sizes are marked on the x axis.
 */
export function sizeSweepPlot(
  runs: readonly SizeSweepPoint[],
  measure: SizeMeasure,
  options: SizeSweepPlotOptions = {},
): Figure {
  if (!(measure in LABEL)) throw new RangeError(`sizeSweepPlot: unknown measure ${measure}`);
  const label = options.label ?? "ours";
  const value = (r: SizeSweepPoint) =>
    measure === "accuracy"
      ? r.bestValAccuracy
      : measure === "seconds"
      ? r.secondsPerEpoch
      : r.peakRssBytes === null
      ? null
      : r.peakRssBytes / 2 ** 30;
  const pts = runs.filter((r) => r.status === "trained" && value(r) !== null)
    .map((r) => ({ size: r.size, value: value(r)!, series: label }));
  const study = (options.study ?? true) && measure !== "memory"
    ? STUDY_SIZE_SWEEP.map((s) => ({
      size: s.size,
      value: measure === "accuracy" ? s.accuracy : s.seconds,
      series: "study (P100)",
    }))
    : [];
  const refused = runs.filter((r) => r.status === "refused").map((r) => ({
    size: r.size,
    text: `${r.size} px refused`,
  }));
  const all = [...pts, ...study];
  if (all.length === 0 && refused.length === 0) {
    throw new RangeError("sizeSweepPlot: nothing to draw");
  }
  const fmt = (v: number) => measure === "accuracy" ? v.toFixed(3) : v.toFixed(1);
  const sizes = [...new Set([...all.map((p) => p.size), ...refused.map((r) => r.size)])].sort((
    a,
    b,
  ) => a - b);
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: 640,
    height: 360,
    marginRight: 30,
    // A point scale: sizes evenly spaced in order (Plot's log scale drops some tick labels).
    x: { type: "point", domain: sizes, label: "Image size (px)", padding: 0.3, tickFormat: "d" },
    y: {
      label: LABEL[measure],
      grid: true,
      zero: true,
      domain: measure === "accuracy" ? [0, 1] : undefined,
    },
    color: { legend: true, domain: [label, "study (P100)"], range: ["steelblue", "#999"] },
    marks: [
      Plot.line(pts, { x: "size", y: "value", stroke: "series", marker: "circle" }),
      Plot.line(study, {
        x: "size",
        y: "value",
        stroke: "series",
        strokeDasharray: "5,4",
        marker: "circle",
      }),
      Plot.text(all, {
        x: "size",
        y: "value",
        text: (d: { value: number }) => fmt(d.value),
        dy: -10,
        fontSize: 10,
      }),
      Plot.ruleX(refused, { x: "size", stroke: "firebrick", strokeDasharray: "2,3" }),
      Plot.text(refused, { x: "size", text: "text", frameAnchor: "top", dy: 6, fill: "firebrick" }),
    ],
  });
}

/**
 * val_accuracy per epoch of progressive resizing (phases marked with their
 * size) and of fixed-size training, same epoch budget.
 */
export function progressiveCurves(
  result: ProgressiveCurves,
  options: { title?: string; subtitle?: string } = {},
): Figure {
  const rows: { epoch: number; value: number; strategy: string; size: number }[] = [];
  for (const run of [result.progressive, result.fixed]) {
    if (!run) continue;
    const va = run.history.history.val_accuracy ?? [];
    let e = 0;
    for (const phase of run.phases) {
      for (let i = 0; i < phase.epochs && e < va.length; i++, e++) {
        rows.push({ epoch: e + 1, value: va[e], strategy: run.strategy, size: phase.size });
      }
    }
  }
  if (rows.length === 0) throw new RangeError("progressiveCurves: no run to draw");
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: 640,
    height: 340,
    x: {
      label: "Epoch",
      ticks: Array.from({ length: result.epochs }, (_, i) => i + 1),
      tickFormat: "d",
    },
    y: { label: "val_accuracy", grid: true, domain: [0, 1] },
    color: { legend: true, domain: ["progressive", "fixed"], range: ["darkorange", "steelblue"] },
    marks: [
      Plot.line(rows, { x: "epoch", y: "value", stroke: "strategy", marker: "circle" }),
      Plot.text(rows, {
        x: "epoch",
        y: "value",
        text: (d: { size: number }) => `${d.size} px`,
        dy: -10,
        fontSize: 9,
        fill: "strategy",
      }),
    ],
  });
}
