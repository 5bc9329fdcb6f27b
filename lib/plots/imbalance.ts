/**
 * Charts of notebook 05 (handling the class imbalance): the headline scores
 * of each strategy side by side, and the per-class recall (TPR) of one
 * strategy against another, and a grid of training images before and after
 * augmentation.
 * @module
 */
import * as Plot from "@observablehq/plot";
import sharp from "sharp";
import { escapeXml } from "../io/mod.ts";
import { type Figure, plot, svgFigure } from "./dom.ts";
import { labelMargin } from "./layout.ts";
import type { tf } from "../engine/mod.ts";

/** The headline scores of one strategy (one row of notebook 05's table). */
export interface StrategyScores {
  /** Strategy name, e.g. "baseline", "class weights". */
  strategy: string;
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  /** Multiclass Matthews correlation coefficient. */
  mcc: number;
}

const SCORE_LABEL = {
  accuracy: "Accuracy",
  balancedAccuracy: "Balanced accuracy",
  macroF1: "Macro-F1",
  mcc: "MCC",
} as const;

/** Options of {@linkcode strategyScoresChart}. */
export interface StrategyScoresChartOptions {
  title?: string;
  subtitle?: string;
  /** Scores to show, one panel each (default: accuracy, balanced accuracy, macro-F1, MCC). */
  scores?: (keyof typeof SCORE_LABEL)[];
  width?: number;
}

/**
 * One panel per score, one horizontal bar per strategy (in the given order),
 * each labelled with its value; MCC's axis reaches below 0 when a strategy
 * scores below chance.
 *
 * @example
 * ```ts
 * await display(strategyScoresChart(rows, { title: "Validation scores per strategy" }));
 * ```
 */
export function strategyScoresChart(
  rows: readonly StrategyScores[],
  options: StrategyScoresChartOptions = {},
): Figure {
  if (rows.length === 0) throw new RangeError("strategyScoresChart: no strategies");
  const names = rows.map((r) => r.strategy);
  if (new Set(names).size !== names.length) {
    throw new RangeError(`strategyScoresChart: strategy names repeat (${names.join(", ")})`);
  }
  const scores = options.scores ?? ["accuracy", "balancedAccuracy", "macroF1", "mcc"];
  const data = scores.flatMap((s) =>
    rows.map((r) => {
      const value = r[s];
      if (!Number.isFinite(value)) {
        throw new RangeError(`strategyScoresChart: ${s} of "${r.strategy}" is ${value}`);
      }
      return { strategy: r.strategy, score: SCORE_LABEL[s], value, label: value.toFixed(3) };
    })
  );
  const lo = Math.min(0, ...data.map((d) => d.value));
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: options.width ??
      Math.max(640, 220 * scores.length + labelMargin(names, { perChar: 7, pad: 0 })),
    height: 60 + 26 * rows.length + 30,
    marginLeft: labelMargin(names),
    marginRight: 44,
    fx: { domain: scores.map((s) => SCORE_LABEL[s]), label: null, axis: "top" },
    x: { domain: [lo, 1], label: null, grid: true, ticks: 4 },
    y: { domain: names, label: null },
    color: { domain: names, scheme: "tableau10" },
    facet: { data, x: "score" },
    marks: [
      Plot.barX(data, { x: "value", y: "strategy", fill: "strategy" }),
      Plot.text(data, {
        x: "value",
        y: "strategy",
        text: "label",
        dx: 3,
        textAnchor: "start",
        fontSize: 9,
      }),
      Plot.ruleX([0]),
    ],
  });
}

/** Options of {@linkcode tprComparisonChart}. */
export interface TprComparisonOptions {
  /** Name of the first series (default "baseline"). */
  fromLabel?: string;
  /** Name of the second series (default "best"). */
  toLabel?: string;
  /**
   * Training images per class (label order): classes are then sorted by it,
   * largest first, and the count is shown after the name. Default: label order.
   */
  trainCounts?: readonly number[];
  /**
   * Validation images per class (label order): shown after the training count,
   * and classes without any are left out (their recall is undefined, not 0).
   */
  validationCounts?: readonly number[];
  title?: string;
  subtitle?: string;
  width?: number;
}

/**
 * Per-class recall (TPR) of two runs: for each class (named in LABEL order:
 * `classNames[i]` is the class of `from[i]` and `to[i]`) a grey line from the
 * first run's dot to the second run's dot, so gains and losses read at a
 * glance. With `validationCounts`, classes without validation images are
 * left out.
 *
 * @example
 * ```ts
 * await display(tprComparisonChart(classNames, baseTpr, bestTpr, {
 *   fromLabel: "baseline", toLabel: "oversample + augmentation", trainCounts,
 * }));
 * ```
 */
export function tprComparisonChart(
  classNames: readonly string[],
  from: readonly number[],
  to: readonly number[],
  options: TprComparisonOptions = {},
): Figure {
  const k = classNames.length;
  if (k === 0) throw new RangeError("tprComparisonChart: no classes");
  for (
    const [what, v] of [
      ["from", from],
      ["to", to],
      ["trainCounts", options.trainCounts],
      ["validationCounts", options.validationCounts],
    ] as const
  ) {
    if (v !== undefined && v.length !== k) {
      throw new RangeError(`tprComparisonChart: ${what} has ${v.length} values for ${k} classes`);
    }
  }
  const fromLabel = options.fromLabel ?? "baseline";
  const toLabel = options.toLabel ?? "best";
  if (fromLabel === toLabel) throw new RangeError("tprComparisonChart: the two labels are equal");
  const counts = options.trainCounts;
  const val = options.validationCounts;
  const name = (i: number) =>
    counts && val
      ? `${classNames[i]} (${counts[i]} / ${val[i]})`
      : counts
      ? `${classNames[i]} (${counts[i]})`
      : val
      ? `${classNames[i]} (${val[i]})`
      : classNames[i];
  const order = [...classNames.keys()].filter((i) => !val || val[i] > 0);
  if (order.length === 0) {
    throw new RangeError("tprComparisonChart: no class has validation images");
  }
  if (counts) order.sort((a, b) => counts[b] - counts[a] || a - b);
  const yLabel = counts && val
    ? "class (training / validation images)"
    : counts
    ? "class (training images)"
    : val
    ? "class (validation images)"
    : null;
  const pairs = order.map((i) => ({ cls: name(i), from: from[i], to: to[i] }));
  const dots = pairs.flatMap((p) => [
    { cls: p.cls, run: fromLabel, tpr: p.from },
    { cls: p.cls, run: toLabel, tpr: p.to },
  ]);
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: options.width ?? 720,
    height: 70 + 20 * order.length,
    marginLeft: labelMargin(order.map((i) => name(i))),
    marginRight: 20,
    x: { domain: [0, 1], label: "Recall (TPR) on validation", grid: true },
    y: { domain: pairs.map((p) => p.cls), label: yLabel },
    color: { domain: [fromLabel, toLabel], range: ["#9e9e9e", "#1f77b4"], legend: true },
    marks: [
      Plot.link(pairs, { x1: "from", x2: "to", y1: "cls", y2: "cls", stroke: "#bbb" }),
      Plot.dot(dots, { x: "tpr", y: "cls", fill: "run", r: 4 }),
    ],
  });
}

/** One row of {@linkcode augmentationGrid}: a caption and a batch of images (0-255). */
export interface GridRow {
  label: string;
  /** `[b, h, w, c]` float32 0-255 (c = 1, 3 or 4); every row the same batch size. */
  images: tf.Tensor4D;
}

/** Options of {@linkcode augmentationGrid}. */
export interface AugmentationGridOptions {
  /** Thumbnail size in px (default 96; small images are enlarged with nearest-neighbour). */
  thumb?: number;
  /** A title line above the grid. */
  title?: string;
}

/**
 * Images as they reach the model: one row per batch (e.g. the originals,
 * then the same images augmented at two steps), one column per image, as a
 * self-contained SVG (PNG thumbnails embedded).
 *
 * @example
 * ```ts
 * await display(await augmentationGrid([
 *   { label: "original", images: x },
 *   { label: "augmented, step 0", images: augmentImages(x, { epoch: 0, step: 0 }) },
 * ]));
 * ```
 */
export async function augmentationGrid(
  rows: readonly GridRow[],
  options: AugmentationGridOptions = {},
): Promise<Figure> {
  if (rows.length === 0) throw new RangeError("augmentationGrid: no rows");
  const n = rows[0].images.shape[0];
  for (const r of rows) {
    if (r.images.rank !== 4 || r.images.shape[0] !== n) {
      throw new RangeError(
        `augmentationGrid: row "${r.label}" has shape ${r.images.shape}, expected ${n} images`,
      );
    }
  }
  const thumb = options.thumb ?? 96;
  const pad = 6, labelW = 150, head = options.title ? 26 : 0;
  const width = labelW + n * (thumb + pad) + pad;
  const height = head + rows.length * (thumb + pad) + pad;
  const cells: string[] = [];
  for (const [ri, row] of rows.entries()) {
    const [, h, w, c] = row.images.shape;
    const data = await row.images.data();
    const y0 = head + pad + ri * (thumb + pad);
    cells.push(
      `<text x="${pad}" y="${y0 + thumb / 2 + 4}" font-size="12">${escapeXml(row.label)}</text>`,
    );
    for (let i = 0; i < n; i++) {
      const px = Uint8Array.from(
        data.subarray(i * h * w * c, (i + 1) * h * w * c),
        (v) => Math.max(0, Math.min(255, Math.round(v))),
      );
      const png = await sharp(px, { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } })
        .resize(thumb, thumb, { fit: "inside", kernel: "nearest" })
        .png()
        .toBuffer({ resolveWithObject: true });
      const x0 = labelW + i * (thumb + pad);
      cells.push(
        `<image class="grid-image" x="${x0 + (thumb - png.info.width) / 2}" ` +
          `y="${y0 + (thumb - png.info.height) / 2}" width="${png.info.width}" ` +
          `height="${png.info.height}" href="data:image/png;base64,${
            png.data.toString("base64")
          }"/>`,
      );
    }
  }
  return svgFigure(width, height, cells.join(""), { title: options.title, x: pad });
}
