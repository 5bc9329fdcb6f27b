/**
 * Confusion matrices: counting, normalising and per-class counts.
 * @module
 */

/** A dense matrix as rows of numbers. A confusion matrix has rows = true class, columns = predicted class. */
export type Matrix = number[][];

/** Which labels a confusion matrix has, in which order. */
export interface ConfusionOptions<L extends number | string = number> {
  /**
   * The labels, in row/column order (like scikit-learn's `labels=`). Samples
   * whose true or predicted value is not among them are left out, as
   * scikit-learn does.
   */
  labels?: readonly L[];
  /**
   * Integer labels `0..numClasses-1` (rows in that order, also for classes
   * absent from the data). A value outside that range is an error.
   */
  numClasses?: number;
}

/**
 * The confusion matrix `cm[i][j]` = number of samples of true class `i`
 * predicted as class `j`, in a fixed label order (classes absent from the
 * data or the predictions keep their zero row/column). Same as
 * `sklearn.metrics.confusion_matrix(y_true, y_pred, labels=...)`.
 *
 * Give `numClasses` for integer labels, or `labels` for any values; with
 * neither, the labels are `0..max` of both arrays.
 *
 * @example
 * ```ts
 * confusionMatrix([0, 1, 2, 2], [0, 2, 2, 2], { numClasses: 4 });
 * // [[1,0,0,0],[0,0,1,0],[0,0,2,0],[0,0,0,0]]
 * ```
 */
export function confusionMatrix<L extends number | string = number>(
  yTrue: ArrayLike<L>,
  yPred: ArrayLike<L>,
  options: ConfusionOptions<L> = {},
): Matrix {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(
      `confusionMatrix: yTrue has ${yTrue.length} samples but yPred has ${yPred.length}`,
    );
  }
  if (options.labels !== undefined && options.numClasses !== undefined) {
    throw new TypeError("confusionMatrix: give either `labels` or `numClasses`, not both");
  }
  if (options.labels !== undefined) {
    const index = new Map<L, number>();
    options.labels.forEach((l, i) => {
      if (index.has(l)) throw new RangeError(`confusionMatrix: label ${String(l)} appears twice`);
      index.set(l, i);
    });
    if (index.size === 0) throw new RangeError("confusionMatrix: `labels` is empty");
    const cm = zeros(index.size, index.size);
    for (let s = 0; s < yTrue.length; s++) {
      const i = index.get(yTrue[s]);
      const j = index.get(yPred[s]);
      if (i !== undefined && j !== undefined) cm[i][j]++;
    }
    return cm;
  }
  let k = options.numClasses;
  if (k === undefined) {
    k = 0;
    for (let s = 0; s < yTrue.length; s++) {
      k = Math.max(k, Number(yTrue[s]) + 1, Number(yPred[s]) + 1);
    }
  }
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`confusionMatrix: numClasses must be a positive integer, got ${k}`);
  }
  const cm = zeros(k, k);
  for (let s = 0; s < yTrue.length; s++) {
    const i = yTrue[s] as unknown as number;
    const j = yPred[s] as unknown as number;
    for (const [name, v] of [["yTrue", i], ["yPred", j]] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= k) {
        throw new RangeError(
          `confusionMatrix: ${name}[${s}] = ${String(v)} is not an integer label in 0..${k - 1}`,
        );
      }
    }
    cm[i][j]++;
  }
  return cm;
}

/**
 * Normalises a confusion matrix like scikit-learn's `normalize=`:
 * `"true"` divides each row by its sum (row = recall per class), `"pred"`
 * each column by its sum, `"all"` everything by the total. A row (column)
 * with no samples becomes zeros, as scikit-learn's `nan_to_num` makes it.
 *
 * @example
 * ```ts
 * normalizeConfusion([[3, 1], [0, 0]], "true"); // [[0.75, 0.25], [0, 0]]
 * ```
 */
export function normalizeConfusion(
  cm: Matrix,
  normalize: "true" | "pred" | "all" = "true",
): Matrix {
  checkSquare(cm, "normalizeConfusion");
  const k = cm.length;
  if (normalize === "true") {
    return cm.map((row) => {
      const s = sum(row);
      return row.map((v) => (s === 0 ? 0 : v / s));
    });
  }
  if (normalize === "pred") {
    const cols = Array.from({ length: k }, (_, j) => sum(cm.map((r) => r[j])));
    return cm.map((row) => row.map((v, j) => (cols[j] === 0 ? 0 : v / cols[j])));
  }
  if (normalize === "all") {
    const t = sum(cm.map(sum));
    return cm.map((row) => row.map((v) => (t === 0 ? 0 : v / t)));
  }
  throw new RangeError(
    `normalizeConfusion: normalize must be "true", "pred" or "all", got ${normalize}`,
  );
}

/** One-vs-rest counts of one class. */
export interface ClassCounts {
  /** True positives: class samples predicted as the class. */
  tp: number;
  /** False negatives: class samples predicted as another class. */
  fn: number;
  /** False positives: other samples predicted as the class. */
  fp: number;
  /** True negatives: other samples predicted as another class. */
  tn: number;
  /** Samples of the class (`tp + fn`, the row sum). */
  support: number;
  /** Samples predicted as the class (`tp + fp`, the column sum). */
  predicted: number;
}

/** One-vs-rest TP/FN/FP/TN for every class of a confusion matrix. */
export function classCounts(cm: Matrix): ClassCounts[] {
  checkSquare(cm, "classCounts");
  const total = sum(cm.map(sum));
  return cm.map((row, i) => {
    const tp = row[i];
    const support = sum(row);
    const predicted = sum(cm.map((r) => r[i]));
    const fn = support - tp;
    const fp = predicted - tp;
    return { tp, fn, fp, tn: total - tp - fn - fp, support, predicted };
  });
}

/** Throws unless `cm` is a non-empty square matrix of finite non-negative numbers. */
export function checkSquare(cm: Matrix, where = "confusion matrix"): void {
  if (!Array.isArray(cm) || cm.length === 0) throw new RangeError(`${where}: empty matrix`);
  cm.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cm.length) {
      throw new RangeError(
        `${where}: not square: row ${i} has ${row?.length} entries, expected ${cm.length}`,
      );
    }
    row.forEach((v, j) => {
      if (!Number.isFinite(v) || v < 0) {
        throw new RangeError(`${where}: entry [${i}][${j}] = ${v} is not a non-negative number`);
      }
    });
  });
}

function zeros(r: number, c: number): Matrix {
  return Array.from({ length: r }, () => new Array<number>(c).fill(0));
}

function sum(a: readonly number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}
