/**
 * Post-hoc logit adjustment, a remedy for class imbalance that needs no
 * training: a softmax classifier trained on imbalanced data has learned the
 * training prior `π` along with the classes, so its predictions favour the
 * large classes. Subtracting `τ·log π_c` from each logit (equivalently,
 * dividing each probability by `π_c^τ` and renormalising) removes that prior;
 * with `τ = 1` the argmax is the Bayes-optimal rule for the *balanced* error
 * (the mean per-class error, 1 - balanced accuracy) when the model's
 * probabilities are calibrated (Menon et al., "Long-tail learning via logit
 * adjustment", ICLR 2021). It trades some accuracy on the large classes for
 * recall on the small ones.
 *
 * `τ` is a choice, not something to tune on the validation set that the
 * adjusted predictions are scored on: the default `1` is the theory's value.
 *
 * @example
 * ```ts
 * import { logitAdjusted } from "./logit_adjustment.ts";
 * // two classes, 900 and 100 training images: a 0.8 / 0.2 prediction turns around
 * const { predicted } = logitAdjusted([[0.8, 0.2]], [900, 100]);
 * console.log(predicted); // [1]  (0.8/0.9 = 0.89 < 0.2/0.1 = 2)
 * ```
 * @module
 */

/** Options of {@linkcode logitAdjusted}. */
export interface LogitAdjustmentOptions {
  /** Strength `τ` of the adjustment, >= 0 (0 leaves the predictions as they are). Default 1. */
  tau?: number;
}

/** Adjusted predictions: per-image probabilities (rows sum to 1) and their argmax. */
export interface AdjustedPredictions {
  /** `p_c / π_c^τ`, renormalised, one row per image. */
  probs: number[][];
  /** Argmax of each row (the first on ties, as `tf.argMax`). */
  predicted: number[];
}

/**
 * The predictions `probs` (softmax outputs, one row per image) with the
 * training prior removed: class `c`'s probability divided by
 * `(classCounts[c] / Σ classCounts)^τ`, each row renormalised.
 *
 * @param probs Class probabilities per image (rows of length `classCounts.length`).
 * @param classCounts Training images per class (of the data the model was trained on).
 * @throws RangeError when a class has no training images (its prior is 0), a
 *   row's length differs from the number of classes, or `tau` is negative.
 */
export function logitAdjusted(
  probs: readonly (readonly number[])[],
  classCounts: readonly number[],
  options: LogitAdjustmentOptions = {},
): AdjustedPredictions {
  const tau = options.tau ?? 1;
  if (!Number.isFinite(tau) || tau < 0) {
    throw new RangeError(`logitAdjusted: tau must be a number >= 0, got ${tau}`);
  }
  const k = classCounts.length;
  if (k < 2) throw new RangeError(`logitAdjusted: need at least 2 class counts, got ${k}`);
  classCounts.forEach((n, c) => {
    if (!Number.isFinite(n) || n <= 0) {
      throw new RangeError(
        `logitAdjusted: class ${c} has ${n} training images; the adjustment divides by ` +
          "each class's share of the training images, so every class needs at least one",
      );
    }
  });
  const total = classCounts.reduce((a, b) => a + b, 0);
  const logPrior = classCounts.map((n) => Math.log(n / total));
  const outProbs: number[][] = [];
  const predicted: number[] = [];
  probs.forEach((row, i) => {
    if (row.length !== k) {
      throw new RangeError(
        `logitAdjusted: row ${i} has ${row.length} probabilities, expected ${k}`,
      );
    }
    // In log space, so a probability that underflowed to 0 stays the smallest.
    const z = row.map((p, c) => Math.log(p) - tau * logPrior[c]);
    let best = 0;
    for (let c = 1; c < k; c++) if (z[c] > z[best]) best = c;
    const m = z[best];
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    outProbs.push(e.map((v) => v / s));
    predicted.push(best);
  });
  return { probs: outProbs, predicted };
}
