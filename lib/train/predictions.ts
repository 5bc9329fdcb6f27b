/**
 * Saved validation predictions: the JSON file a training run writes beside
 * its best checkpoint (`trainAndEvaluate`'s `predictionsPath`) and the
 * per-class analysis reads.
 * @module
 */
import { writeFileAtomic } from "../io/mod.ts";

/** A model's predictions on the validation images, in the validation set's file order. */
export interface SavedPredictions {
  /** What made them, e.g. "resnet50-scratch". */
  model: string;
  /** Image size the model saw, px. */
  imageSize: number;
  /** The checkpoint whose weights predicted, when known. */
  checkpoint?: string | null;
  /** 1-based best epoch of that checkpoint, when known. */
  bestEpoch?: number | null;
  /**
   * Fingerprint of the dataset the model predicted (`datasetFingerprint` of
   * its folder); notebook 04 refuses predictions of another dataset.
   */
  dataset?: string | null;
  /** Class names, index = label. */
  classNames: string[];
  /** The validation files, in order. */
  filePaths: string[];
  /** True label of each file. */
  labels: number[];
  /** Predicted label (argmax) of each file. */
  predicted: number[];
  /** Class probabilities of each file (optional when saving). */
  probs?: number[][];
}

/**
 * Reads and checks a predictions file: the arrays agree in length and every
 * label is a class index. Errors name the file.
 *
 * @example
 * ```ts
 * const { labels, predicted, classNames } = await readPredictions("out/p.json");
 * ```
 */
export async function readPredictions(path: string): Promise<SavedPredictions> {
  let data: SavedPredictions;
  try {
    data = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`readPredictions: cannot read ${path}: ${(e as Error).message}`);
  }
  const fail = (what: string): never => {
    throw new Error(`readPredictions: ${path}: ${what}`);
  };
  if (!Array.isArray(data.classNames) || data.classNames.length < 2) fail("no classNames");
  if (!Array.isArray(data.labels) || !Array.isArray(data.predicted)) fail("no labels/predicted");
  if (data.labels.length !== data.predicted.length) {
    fail(`${data.labels.length} labels but ${data.predicted.length} predictions`);
  }
  if (data.labels.length === 0) fail("no predictions");
  const k = data.classNames.length;
  for (const [name, arr] of [["labels", data.labels], ["predicted", data.predicted]] as const) {
    const bad = arr.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= k);
    if (bad >= 0) fail(`${name}[${bad}] = ${arr[bad]} is not a class index in 0..${k - 1}`);
  }
  if (data.filePaths && data.filePaths.length !== data.labels.length) {
    fail(`${data.filePaths.length} file paths for ${data.labels.length} labels`);
  }
  return data;
}

/**
 * Writes predictions as JSON, atomically ({@linkcode writeFileAtomic});
 * returns `path`.
 *
 * @example
 * ```ts
 * await writePredictions("out/p.json", {
 *   model: "m", imageSize: 32, classNames: ["a", "b"], filePaths: ["a/1.png"],
 *   labels: [0], predicted: [1],
 * });
 * ```
 */
export async function writePredictions(path: string, data: SavedPredictions): Promise<string> {
  await writeFileAtomic(path, JSON.stringify(data));
  return path;
}
