/**
 * The validation files a model gets most wrong: {@linkcode worstPredictions}
 * ranks images by their cross-entropy loss, i.e. by how little probability
 * the model gave their true class.
 *
 * @module
 */

/** One image of {@linkcode worstPredictions}. */
export interface WorstPrediction {
  /** Index of the image in the predictions (and in `filePaths`). */
  index: number;
  /** Its file. */
  file: string;
  /** True class index. */
  label: number;
  /** Predicted (arg-max) class index. */
  predicted: number;
  /** The probability the model gave the true class. */
  trueProbability: number;
  /** The probability of the predicted class. */
  predictedProbability: number;
  /** Categorical cross-entropy of the image, `-ln(p_true)` with Keras' clipping to [1e-7, 1 - 1e-7]. */
  loss: number;
}

/** Options of {@linkcode worstPredictions}. */
export interface WorstPredictionsOptions {
  /** How many images to return. Default 10. */
  k?: number;
  /** Only misclassified images (arg-max not the true class). Default false. */
  onlyWrong?: boolean;
}

/** Keras' `epsilon()`: probabilities are clipped to [1e-7, 1 - 1e-7] in the cross-entropy. */
const EPSILON = 1e-7;

/**
 * The `k` images with the highest loss (lowest probability of the true
 * class), worst first; ties keep the images' order. `predictions` is what
 * `predict` returns (`probs` and `labels`, one row per image) and
 * `filePaths` the dataset's files in the same order (`valid.filePaths` for an
 * unshuffled validation set).
 *
 * @example
 * ```ts
 * const preds = await predict(model, valid);
 * for (const w of worstPredictions(preds, valid.filePaths, { k: 5 })) {
 *   console.log(`${w.file}: true class p=${w.trueProbability.toFixed(3)}`);
 * }
 * ```
 */
export function worstPredictions(
  predictions: { probs: readonly (readonly number[])[]; labels: readonly number[] },
  filePaths: readonly string[],
  options: WorstPredictionsOptions = {},
): WorstPrediction[] {
  const { probs, labels } = predictions;
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 0) {
    throw new Error(`worstPredictions: k must be a non-negative integer, got ${k}`);
  }
  if (probs.length !== labels.length || filePaths.length !== labels.length) {
    throw new Error(
      `worstPredictions: ${probs.length} probability rows, ${labels.length} labels and ` +
        `${filePaths.length} file paths: they must match`,
    );
  }
  const rows: WorstPrediction[] = probs.map((row, index) => {
    const label = labels[index];
    if (!Number.isInteger(label) || label < 0 || label >= row.length) {
      throw new Error(
        `worstPredictions: label ${label} of ${filePaths[index]} is not a class index in 0..${
          row.length - 1
        }`,
      );
    }
    let predicted = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[predicted]) predicted = j;
    const p = row[label];
    return {
      index,
      file: filePaths[index],
      label,
      predicted,
      trueProbability: p,
      predictedProbability: row[predicted],
      loss: -Math.log(Math.min(Math.max(p, EPSILON), 1 - EPSILON)),
    };
  });
  return rows
    .filter((r) => !options.onlyWrong || r.predicted !== r.label)
    .sort((a, b) => a.trueProbability - b.trueProbability || a.index - b.index)
    .slice(0, k);
}
