/**
 * Classification scores from a confusion matrix, with scikit-learn's
 * definitions and its default zero-division behaviour (a 0/0 score is 0;
 * scikit-learn also warns, this module does not).
 * @module
 */
import { checkSquare, type ClassCounts, classCounts, type Matrix } from "./confusion.ts";

/** Per-class scores (one-vs-rest), as `precision_recall_fscore_support(average=None)`. */
export interface ClassScores extends ClassCounts {
  /** Class index (row of the confusion matrix). */
  index: number;
  /** Class name (the index as text when no names were given). */
  name: string;
  /** Recall = true positive rate = `tp / support` (0 when the class has no samples). */
  tpr: number;
  /** Precision = `tp / predicted` (0 when nothing was predicted as the class). */
  precision: number;
  /** F1 = `2tp / (support + predicted)` (0 when both are 0). */
  f1: number;
}

/** Per-class scores of a confusion matrix; `classNames[i]` names row `i`. */
export function perClassScores(cm: Matrix, classNames?: readonly string[]): ClassScores[] {
  if (classNames && classNames.length !== cm.length) {
    throw new RangeError(
      `perClassScores: ${classNames.length} class names for a ${cm.length}x${cm.length} matrix`,
    );
  }
  return classCounts(cm).map((c, i) => ({
    index: i,
    name: classNames?.[i] ?? String(i),
    ...c,
    tpr: div(c.tp, c.support),
    precision: div(c.tp, c.predicted),
    f1: div(2 * c.tp, c.support + c.predicted),
  }));
}

/** Accuracy: the diagonal over the total (0 for an empty matrix). */
export function accuracy(cm: Matrix): number {
  checkSquare(cm, "accuracy");
  let t = 0, d = 0;
  cm.forEach((row, i) => row.forEach((v, j) => (t += v, d += i === j ? v : 0)));
  return div(d, t);
}

/**
 * Balanced accuracy: the mean recall over the classes that have samples
 * (`sklearn.metrics.balanced_accuracy_score`, which drops classes absent from
 * `y_true`).
 */
export function balancedAccuracy(cm: Matrix): number {
  const present = perClassScores(cm).filter((c) => c.support > 0);
  return present.length === 0 ? 0 : mean(present.map((c) => c.tpr));
}

/**
 * Multiclass Matthews correlation coefficient, scikit-learn's formula
 * (Gorodkin's R_K): with `t` the row sums, `p` the column sums, `c` the
 * diagonal sum and `s` the total,
 * `(c*s - t.p) / sqrt((s^2 - p.p) * (s^2 - t.t))`, and 0 when the denominator is 0.
 */
export function matthewsCorrcoef(cm: Matrix): number {
  checkSquare(cm, "matthewsCorrcoef");
  const k = cm.length;
  const t = cm.map((row) => row.reduce((a, b) => a + b, 0));
  const p = Array.from({ length: k }, (_, j) => cm.reduce((a, row) => a + row[j], 0));
  const c = cm.reduce((a, row, i) => a + row[i], 0);
  const s = t.reduce((a, b) => a + b, 0);
  const dot = (a: number[], b: number[]) => a.reduce((acc, v, i) => acc + v * b[i], 0);
  const covYtYp = c * s - dot(t, p);
  const covYpYp = s * s - dot(p, p);
  const covYtYt = s * s - dot(t, t);
  if (covYpYp * covYtYt === 0) return 0;
  return covYtYp / Math.sqrt(covYtYt * covYpYp);
}

/** Precision, recall and F1 averaged one way. */
export interface Averaged {
  precision: number;
  recall: number;
  f1: number;
  /** Total samples over the averaged classes. */
  support: number;
}

/**
 * Averaged precision/recall/F1 over all the matrix's classes, like
 * scikit-learn with `labels=range(k)`: `"macro"` (plain mean, every class
 * counts, also one with no samples), `"weighted"` (mean weighted by support),
 * `"micro"` (from the summed counts; equals accuracy for single-label data).
 */
export function averagedScores(cm: Matrix, average: "macro" | "micro" | "weighted"): Averaged {
  const cls = perClassScores(cm);
  const support = cls.reduce((a, c) => a + c.support, 0);
  if (average === "micro") {
    const tp = cls.reduce((a, c) => a + c.tp, 0);
    const pred = cls.reduce((a, c) => a + c.predicted, 0);
    return {
      precision: div(tp, pred),
      recall: div(tp, support),
      f1: div(2 * tp, support + pred),
      support,
    };
  }
  if (average === "macro") {
    return {
      precision: mean(cls.map((c) => c.precision)),
      recall: mean(cls.map((c) => c.tpr)),
      f1: mean(cls.map((c) => c.f1)),
      support,
    };
  }
  if (average === "weighted") {
    const w = (f: (c: ClassScores) => number) =>
      div(cls.reduce((a, c) => a + f(c) * c.support, 0), support);
    return {
      precision: w((c) => c.precision),
      recall: w((c) => c.tpr),
      f1: w((c) => c.f1),
      support,
    };
  }
  throw new RangeError(
    `averagedScores: average must be "macro", "micro" or "weighted", got ${average}`,
  );
}

/** Macro-averaged F1 (`f1_score(average="macro", labels=range(k))`). */
export function macroF1(cm: Matrix): number {
  return averagedScores(cm, "macro").f1;
}

/** Every headline number of a confusion matrix, plus the per-class table. */
export interface MetricsSummary {
  /** Samples counted. */
  total: number;
  /** Correct predictions (the diagonal). */
  correct: number;
  accuracy: number;
  balancedAccuracy: number;
  macroF1: number;
  microF1: number;
  weightedF1: number;
  /** Multiclass Matthews correlation coefficient. */
  mcc: number;
  macro: Averaged;
  micro: Averaged;
  weighted: Averaged;
  perClass: ClassScores[];
}

/**
 * All the scores of a confusion matrix at once.
 *
 * @example
 * ```ts
 * const m = summarizeConfusion(confusionMatrix(yTrue, yPred, { numClasses: 23 }), classNames);
 * console.log(m.accuracy, m.macroF1, m.mcc);
 * ```
 */
export function summarizeConfusion(cm: Matrix, classNames?: readonly string[]): MetricsSummary {
  const perClass = perClassScores(cm, classNames);
  const total = perClass.reduce((a, c) => a + c.support, 0);
  const correct = perClass.reduce((a, c) => a + c.tp, 0);
  const macro = averagedScores(cm, "macro");
  const micro = averagedScores(cm, "micro");
  const weighted = averagedScores(cm, "weighted");
  return {
    total,
    correct,
    accuracy: div(correct, total),
    balancedAccuracy: balancedAccuracy(cm),
    macroF1: macro.f1,
    microF1: micro.f1,
    weightedF1: weighted.f1,
    mcc: matthewsCorrcoef(cm),
    macro,
    micro,
    weighted,
    perClass,
  };
}

/** One row of a classification report. */
export interface ReportRow {
  /** Class name, or "accuracy" / "macro avg" / "weighted avg". */
  label: string;
  /** Null on the accuracy row (scikit-learn leaves those cells blank). */
  precision: number | null;
  recall: number | null;
  f1: number;
  support: number;
}

/** scikit-learn's `classification_report` as data, text and HTML. */
export interface ClassificationReport {
  /** One row per class, in matrix order. */
  classes: ReportRow[];
  /** The "accuracy", "macro avg" and "weighted avg" rows. */
  summary: ReportRow[];
  /** The fixed-width text scikit-learn prints. */
  text: string;
  /** The same table as an HTML `<table>` (for `display`). */
  html: string;
}

/**
 * The classification report of `sklearn.metrics.classification_report` (with
 * `labels=range(k)`, `target_names=classNames`): precision, recall, F1 and
 * support per class, then accuracy, macro and weighted averages.
 *
 * @param digits Decimals in the text and HTML (default 2, as scikit-learn).
 */
export function classificationReport(
  cm: Matrix,
  classNames?: readonly string[],
  digits = 2,
): ClassificationReport {
  const s = summarizeConfusion(cm, classNames);
  const classes: ReportRow[] = s.perClass.map((c) => ({
    label: c.name,
    precision: c.precision,
    recall: c.tpr,
    f1: c.f1,
    support: c.support,
  }));
  const summary: ReportRow[] = [
    { label: "accuracy", precision: null, recall: null, f1: s.accuracy, support: s.total },
    { label: "macro avg", ...pick(s.macro) },
    { label: "weighted avg", ...pick(s.weighted) },
  ];
  const width = Math.max(12, ...classes.map((r) => r.label.length), digits);
  const fmt = (v: number | null) => (v === null ? "" : pyFixed(v, digits));
  // scikit-learn's layout: the label right-aligned to `width`, then " " + a 9-wide field each.
  const cols = (cells: string[]) => cells.map((c) => " " + c.padStart(9)).join("");
  const line = (r: ReportRow) =>
    `${r.label.padStart(width)} ${
      cols([fmt(r.precision), fmt(r.recall), fmt(r.f1), String(r.support)])
    }`;
  const header = `${"".padStart(width)} ${cols(["precision", "recall", "f1-score", "support"])}`;
  const text = [header, "", ...classes.map(line), "", ...summary.map(line), ""].join("\n");
  const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const cell = (v: number | null) => `<td>${fmt(v)}</td>`;
  const tr = (r: ReportRow) =>
    `<tr><th>${esc(r.label)}</th>${cell(r.precision)}${cell(r.recall)}${
      cell(r.f1)
    }<td>${r.support}</td></tr>`;
  const html = `<table class="classification-report"><thead><tr><th></th><th>precision</th>` +
    `<th>recall</th><th>f1-score</th><th>support</th></tr></thead><tbody>` +
    classes.map(tr).join("") + `</tbody><tfoot>` + summary.map(tr).join("") +
    `</tfoot></table>`;
  return { classes, summary, text, html };
}

/**
 * `v` with `digits` decimals as Python's `format(v, ".Nf")` writes it: like
 * `toFixed`, except that an exact tie (e.g. 0.125 to 2 decimals) rounds to
 * even, as Python does, where `toFixed` rounds up.
 */
export function pyFixed(v: number, digits: number): string {
  const exact = Math.abs(v).toFixed(Math.min(100, digits + 60));
  const dot = exact.indexOf(".");
  const tail = exact.slice(dot + 1 + digits);
  if (/^50*$/.test(tail)) {
    const kept = exact.slice(0, dot + 1 + digits).replace(/\.$/, "");
    const last = Number(kept[kept.length - 1]);
    if (last % 2 === 0) return (v < 0 && Number(kept) !== 0 ? "-" : "") + kept;
  }
  return v.toFixed(digits);
}

function pick(a: Averaged) {
  return { precision: a.precision, recall: a.recall, f1: a.f1, support: a.support };
}

function div(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function mean(a: number[]): number {
  return a.length === 0 ? 0 : a.reduce((x, y) => x + y, 0) / a.length;
}
