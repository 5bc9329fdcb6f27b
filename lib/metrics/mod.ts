/**
 * Classification metrics checked against scikit-learn: confusion matrices
 * (fixed label order, normalised like `normalize="true"`), per-class
 * TP/FN/FP/TN, recall (TPR), precision, F1 and support, macro/micro/weighted
 * averages, balanced accuracy, multiclass MCC, the classification report, a
 * reader for labelled confusion-matrix CSVs, and OLS with a seeded bootstrap
 * band (seaborn `regplot` semantics) for the TPR-vs-class-size plot.
 *
 * @example
 * ```ts
 * import { confusionMatrix, summarizeConfusion } from "./mod.ts";
 * const cm = confusionMatrix([0, 1, 1, 2], [0, 1, 2, 2], { numClasses: 3 });
 * const { accuracy, macroF1, mcc } = summarizeConfusion(cm);
 * ```
 * @module
 */
export * from "./confusion.ts";
export * from "./classification.ts";
export * from "./regression.ts";
export * from "./worst.ts";
export * from "./findings.ts";
