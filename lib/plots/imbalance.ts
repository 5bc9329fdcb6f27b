/**
 * Charts of notebook 05 (handling the class imbalance): the headline scores
 * of each strategy side by side, and the per-class recall (TPR) of one
 * strategy against another.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Figure, plot } from "./dom.ts";

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
  const longest = Math.max(...names.map((n) => n.length));
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: options.width ?? Math.max(640, 220 * scores.length + longest * 7),
    height: 60 + 26 * rows.length + 30,
    marginLeft: Math.ceil(16 + longest * 6.5),
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
  title?: string;
  subtitle?: string;
  width?: number;
}

/**
 * Per-class recall (TPR) of two runs: for each class (named in LABEL order:
 * `classNames[i]` is the class of `from[i]` and `to[i]`) a grey line from the
 * first run's dot to the second run's dot, so gains and losses read at a
 * glance.
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
    const [what, v] of [["from", from], ["to", to], ["trainCounts", options.trainCounts]] as const
  ) {
    if (v !== undefined && v.length !== k) {
      throw new RangeError(`tprComparisonChart: ${what} has ${v.length} values for ${k} classes`);
    }
  }
  const fromLabel = options.fromLabel ?? "baseline";
  const toLabel = options.toLabel ?? "best";
  if (fromLabel === toLabel) throw new RangeError("tprComparisonChart: the two labels are equal");
  const counts = options.trainCounts;
  const name = (i: number) => counts ? `${classNames[i]} (${counts[i]})` : classNames[i];
  const order = [...classNames.keys()];
  if (counts) order.sort((a, b) => counts[b] - counts[a] || a - b);
  const pairs = order.map((i) => ({ cls: name(i), from: from[i], to: to[i] }));
  const dots = pairs.flatMap((p) => [
    { cls: p.cls, run: fromLabel, tpr: p.from },
    { cls: p.cls, run: toLabel, tpr: p.to },
  ]);
  const longest = Math.max(...order.map((i) => name(i).length));
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: options.width ?? 720,
    height: 70 + 20 * k,
    marginLeft: Math.ceil(16 + longest * 6.5),
    marginRight: 20,
    x: { domain: [0, 1], label: "Recall (TPR) on validation", grid: true },
    y: { domain: pairs.map((p) => p.cls), label: counts ? "class (training images)" : null },
    color: { domain: [fromLabel, toLabel], range: ["#9e9e9e", "#1f77b4"], legend: true },
    marks: [
      Plot.link(pairs, { x1: "from", x2: "to", y1: "cls", y2: "cls", stroke: "#bbb" }),
      Plot.dot(dots, { x: "tpr", y: "cls", fill: "run", r: 4 }),
    ],
  });
}
