/**
 * Charts of classification results: confusion-matrix heatmaps (counts or
 * row-normalised), the per-class recall (TPR) against class size with its
 * regression line and bootstrap band, and per-class bar charts.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Figure, plot } from "./dom.ts";
import { labelMargin } from "./layout.ts";
import {
  checkSquare,
  type ClassScores,
  type Matrix,
  normalizeConfusion,
  type RegressionBand,
} from "../metrics/mod.ts";

/** Options of {@linkcode confusionHeatmap}. */
export interface ConfusionHeatmapOptions {
  /** Show row-normalised rates (`normalize="true"`, rows sum to 1) instead of counts. Default false. */
  normalize?: boolean;
  /** Chart title. */
  title?: string;
  /** Subtitle, e.g. the model and the accuracy. */
  subtitle?: string;
  /** Pixels per cell (default 34: a 23x23 matrix is ~950 px wide). */
  cellSize?: number;
  /** Decimals of the normalised labels (default 2). */
  digits?: number;
  /** Colour scheme (default "blues"). */
  scheme?: Plot.ColorScheme;
  /** Colour steps in the legend (default 8). */
  steps?: number;
}

/** One cell of a heatmap (also the data of its marks). */
interface HeatCell {
  truth: string;
  predicted: string;
  value: number;
  count: number;
  label: string;
}

/**
 * A confusion-matrix heatmap: rows = true class, columns = predicted class,
 * in the given label order; each non-zero cell is labelled (count, or rate
 * with `normalize`), zero cells are left blank; x labels are rotated, and a
 * stepped colour legend sits above. Sized so a 23x23 matrix stays readable.
 *
 * @example
 * ```ts
 * await display(confusionHeatmap(cm, classNames, { normalize: true, title: "Validation" }));
 * ```
 */
export function confusionHeatmap(
  cm: Matrix,
  classNames: readonly string[],
  options: ConfusionHeatmapOptions = {},
): Figure {
  checkSquare(cm, "confusionHeatmap");
  if (classNames.length !== cm.length) {
    throw new RangeError(
      `confusionHeatmap: ${classNames.length} class names for a ${cm.length}x${cm.length} matrix`,
    );
  }
  const normalize = options.normalize ?? false;
  const digits = options.digits ?? 2;
  const cellSize = options.cellSize ?? 34;
  const values = normalize ? normalizeConfusion(cm, "true") : cm;
  const cells: HeatCell[] = [];
  values.forEach((row, i) =>
    row.forEach((v, j) =>
      cells.push({
        truth: classNames[i],
        predicted: classNames[j],
        value: v,
        count: cm[i][j],
        label: cm[i][j] === 0 ? "" : normalize ? rateLabel(v, digits) : String(v),
      })
    )
  );
  const max = Math.max(1, ...cells.map((c) => c.value));
  const margin = labelMargin(classNames, { perChar: 6.2, pad: 24 });
  const k = classNames.length;
  const fontSize = cellSize >= 30 ? 10 : 8;
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: margin + k * cellSize + 20,
    height: margin * 0.75 + k * cellSize + 40,
    marginLeft: margin,
    marginBottom: Math.ceil(margin * 0.75),
    marginTop: 30,
    padding: 0,
    x: {
      domain: classNames as string[],
      label: "Predicted class",
      labelAnchor: "center",
      labelOffset: Math.ceil(margin * 0.75) - 6,
      tickRotate: -50,
      axis: "bottom",
    },
    y: { domain: classNames as string[], label: "True class", labelAnchor: "center" },
    color: {
      type: "quantize",
      // Counts: no more steps than the largest count, so thresholds do not repeat.
      n: normalize ? options.steps ?? 8 : Math.max(2, Math.min(options.steps ?? 8, Math.ceil(max))),
      domain: [0, max],
      scheme: options.scheme ?? "blues",
      legend: true,
      label: normalize ? "Share of the true class (row)" : "Images",
      tickFormat: normalize ? ".2f" : "~g",
    },
    marks: [
      Plot.cell(cells, {
        x: "predicted",
        y: "truth",
        fill: "value",
        inset: 0.5,
        title: (d: HeatCell) =>
          `true ${d.truth}, predicted ${d.predicted}: ${d.count}` +
          (normalize ? ` (${(100 * d.value).toFixed(1)}%)` : ""),
      }),
      Plot.text(cells.filter((c) => c.label !== ""), {
        x: "predicted",
        y: "truth",
        text: "label",
        fontSize,
        fill: (d: HeatCell) => (d.value > 0.55 * max ? "white" : "black"),
      }),
      Plot.frame({ stroke: "#999" }),
    ],
  });
}

/** A rate as ".42"; a non-zero rate that rounds to 0 as "<.01". */
function rateLabel(v: number, digits: number): string {
  const t = v.toFixed(digits);
  if (Number(t) === 0) return `<${(10 ** -digits).toFixed(digits).replace(/^0\./, ".")}`;
  return t.replace(/^0\./, ".");
}

/** A class on the TPR-vs-size plot. */
export interface SizePoint {
  /** Class name (the point's label). */
  name: string;
  /** Class size: images of the class (training images, or all). */
  size: number;
  /** Recall (TPR) of the class on validation. */
  tpr: number;
}

/** Options of {@linkcode tprVsSizePlot}. */
export interface TprVsSizeOptions {
  title?: string;
  subtitle?: string;
  /** x-axis label (default "Images in the class"). */
  xLabel?: string;
  /** Logarithmic x axis (use with a `logx` band). Default false. */
  logX?: boolean;
  width?: number;
  height?: number;
}

/**
 * Recall (TPR) of each class against its size, seaborn `regplot` style: the
 * points with a label per class, the OLS line and its bootstrap confidence
 * band (from `regressionBand` of lib/metrics).
 *
 * @example
 * ```ts
 * const band = regressionBand(points.map((p) => p.size), points.map((p) => p.tpr), { seed: 0 });
 * await display(tprVsSizePlot(points, band));
 * ```
 */
export function tprVsSizePlot(
  points: readonly SizePoint[],
  band: RegressionBand,
  options: TprVsSizeOptions = {},
): Figure {
  if (points.length === 0) throw new RangeError("tprVsSizePlot: no points");
  const curve = band.grid.map((x, i) => ({
    x,
    yhat: band.yhat[i],
    lower: band.lower[i],
    upper: band.upper[i],
  }));
  const { slope, intercept, r } = band.fit;
  const lineNote = `OLS${band.options.logx ? " on log(size)" : ""}: TPR = ${
    intercept.toFixed(3)
  } + ${slope.toExponential(2)} × ${band.options.logx ? "log(size)" : "size"}, r = ${
    Number.isFinite(r) ? r.toFixed(2) : "n/a"
  }; band: ${band.options.ci}% bootstrap (${band.options.nBoot} resamples)`;
  return plot({
    title: options.title,
    subtitle: options.subtitle ?? lineNote,
    width: options.width ?? 820,
    height: options.height ?? 480,
    marginRight: 40,
    x: {
      type: options.logX ? "log" : "linear",
      label: options.xLabel ?? "Images in the class",
      grid: true,
    },
    y: { domain: [0, 1], label: "Recall (TPR)", grid: true },
    marks: [
      Plot.areaY(curve, {
        x: "x",
        y1: "lower",
        y2: "upper",
        fill: "steelblue",
        fillOpacity: 0.2,
        clip: true,
      }),
      Plot.line(curve, { x: "x", y: "yhat", stroke: "steelblue", strokeWidth: 2, clip: true }),
      Plot.dot(points, { x: "size", y: "tpr", fill: "steelblue", r: 4, tip: true }),
      Plot.text(points, {
        x: "size",
        y: "tpr",
        text: "name",
        dy: -9,
        fontSize: 10,
        fill: "#222",
      }),
    ],
  });
}

/** Which per-class score a bar chart shows. */
export type ClassMetric = "tpr" | "precision" | "f1" | "support";

const METRIC_LABEL: Record<ClassMetric, string> = {
  tpr: "Recall (TPR)",
  precision: "Precision",
  f1: "F1",
  support: "Validation images",
};

/** Options of {@linkcode perClassBars}. */
export interface PerClassBarsOptions {
  /** Scores to show, side by side (default `["tpr", "precision", "f1"]`). */
  metrics?: ClassMetric[];
  title?: string;
  subtitle?: string;
  /** Sort classes by this score, descending (default: the first metric); null keeps matrix order. */
  sortBy?: ClassMetric | null;
  width?: number;
}

/**
 * Horizontal bars of per-class scores (one panel per score), each bar
 * labelled with its value.
 *
 * @example
 * ```ts
 * await display(perClassBars(summarizeConfusion(cm, names).perClass, { metrics: ["tpr", "f1"] }));
 * ```
 */
export function perClassBars(
  scores: readonly ClassScores[],
  options: PerClassBarsOptions = {},
): Figure {
  if (scores.length === 0) throw new RangeError("perClassBars: no classes");
  const metrics = options.metrics ?? ["tpr", "precision", "f1"];
  if (metrics.length === 0) throw new RangeError("perClassBars: no metrics");
  const sortBy = options.sortBy === undefined ? metrics[0] : options.sortBy;
  const order = [...scores]
    .sort((a, b) => (sortBy === null ? a.index - b.index : b[sortBy] - a[sortBy]))
    .map((s) => s.name);
  const rows = metrics.flatMap((m) =>
    scores.map((s) => ({
      name: s.name,
      metric: METRIC_LABEL[m],
      value: s[m],
      label: m === "support" ? String(s[m]) : s[m].toFixed(2),
    }))
  );
  const onlySupport = metrics.every((m) => m === "support");
  if (!onlySupport && metrics.includes("support")) {
    throw new RangeError(
      'perClassBars: "support" (counts) cannot share an axis with rates: draw it in its own chart',
    );
  }
  const names = scores.map((s) => s.name);
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: options.width ??
      Math.max(640, 260 * metrics.length + labelMargin(names, { perChar: 7, pad: 0 })),
    height: 40 + 18 * scores.length + 30,
    marginLeft: labelMargin(names),
    marginRight: 40,
    fx: { domain: metrics.map((m) => METRIC_LABEL[m]), label: null, axis: "top" },
    x: {
      domain: onlySupport ? undefined : [0, 1],
      label: null,
      grid: true,
    },
    y: { domain: order, label: null },
    facet: { data: rows, x: "metric" },
    marks: [
      Plot.barX(rows, { x: "value", y: "name", fill: "steelblue" }),
      Plot.text(rows, {
        x: "value",
        y: "name",
        text: "label",
        dx: 3,
        textAnchor: "start",
        fontSize: 9,
      }),
      Plot.ruleX([0]),
    ],
  });
}
