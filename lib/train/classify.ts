/**
 * One new image through a trained classifier: {@linkcode classifyImage}
 * decodes and resizes the file exactly as the loader does (it goes through
 * the loader's own `loadImage`, so the model sees the pixels
 * `imageDatasetFromDirectory` would give it), then returns the top-k classes
 * with their probabilities.
 *
 * @module
 */
import { tf } from "../engine/mod.ts";
import { datasetFromFiles, type LoadOptions } from "../data/mod.ts";

/** Options of {@linkcode classifyImage}. */
export interface ClassifyImageOptions extends
  Pick<
    LoadOptions,
    "colorMode" | "interpolation" | "cropToAspectRatio" | "padToAspectRatio" | "limitInputPixels"
  > {
  /**
   * `[height, width]` (or one number for a square) to resize to, as the
   * dataset the model was trained on. Default: the model's input size.
   */
  imageSize?: [number, number] | number;
  /** Class names, index = output unit (e.g. `train.classNames`). Default `"0"`, `"1"`, ... */
  classNames?: readonly string[];
  /** How many classes to return, most probable first. Default 5 (Keras' `decode_predictions`). */
  topK?: number;
  /** Applied to the image batch before the model, as `fit`'s `preprocess` (default none). */
  preprocess?: (x: tf.Tensor4D) => tf.Tensor;
}

/** One of the top-k classes. */
export interface ClassScore {
  /** Output index of the class. */
  classIndex: number;
  /** Its name. */
  className: string;
  /** The model's probability for it (its softmax output). */
  probability: number;
}

/** What {@linkcode classifyImage} returns. */
export interface Classification {
  /** The image file. */
  file: string;
  /** The `topK` most probable classes, most probable first. */
  top: ClassScore[];
  /** The probability of every class, index = output unit. */
  probabilities: number[];
}

function modelImageSize(model: tf.LayersModel): [number, number] | null {
  const shape = model.inputs[0]?.shape;
  const h = shape?.[1], w = shape?.[2];
  return typeof h === "number" && typeof w === "number" ? [h, w] : null;
}

/**
 * Classifies one image file with `model` (a softmax classifier taking 0-255
 * images, as the study's models with their preprocessing layer inside).
 * The file is decoded and resized by the loader's own code (same decoder,
 * same bilinear half-pixel resize, same crop / pad options), so its pixels
 * are those `imageDatasetFromDirectory` gives for it.
 *
 * Throws an error naming the file when it is missing or not a readable
 * image, and naming the option when `classNames` or `topK` do not fit the
 * model.
 *
 * @example
 * ```ts
 * const { top } = await classifyImage(model, "new/archie.png", {
 *   imageSize: 256, classNames: train.classNames, topK: 3,
 * });
 * for (const c of top) console.log(`${c.className}: ${(100 * c.probability).toFixed(1)}%`);
 * ```
 */
export async function classifyImage(
  model: tf.LayersModel,
  path: string,
  options: ClassifyImageOptions = {},
): Promise<Classification> {
  const outShape = model.outputs[0].shape;
  const k = outShape[outShape.length - 1];
  if (typeof k !== "number" || outShape.length !== 2) {
    throw new Error(
      `classifyImage: the model's output must be [batch, classes], got [${outShape}]`,
    );
  }
  const classNames = options.classNames ?? Array.from({ length: k }, (_, i) => String(i));
  if (classNames.length !== k) {
    throw new Error(
      `classifyImage: classNames has ${classNames.length} names but the model has ${k} classes`,
    );
  }
  const topK = options.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1) {
    throw new Error(`classifyImage: topK must be a positive integer, got ${topK}`);
  }
  const imageSize = options.imageSize ?? modelImageSize(model);
  if (imageSize == null) {
    throw new Error(
      "classifyImage: the model takes any image size; pass imageSize (the training size)",
    );
  }
  const ds = datasetFromFiles([path], null, [...classNames], {
    imageSize,
    colorMode: options.colorMode,
    interpolation: options.interpolation,
    cropToAspectRatio: options.cropToAspectRatio,
    padToAspectRatio: options.padToAspectRatio,
    limitInputPixels: options.limitInputPixels,
    labelMode: null,
    seed: 0,
  });
  // Throws ImageDecodeError ("Cannot decode image "<path>": ...") for a missing or bad file.
  const pixels = await ds.loadImage(path);
  const [h, w] = ds.imageSize;
  const probs = tf.tidy(() => {
    let x: tf.Tensor = tf.tensor4d(pixels, [1, h, w, ds.channels]);
    if (options.preprocess) x = options.preprocess(x as tf.Tensor4D);
    return (model.predict(x) as tf.Tensor).reshape([-1]);
  });
  const probabilities = Array.from(await probs.data());
  probs.dispose();
  const top = probabilities.map((probability, classIndex) => ({
    classIndex,
    className: classNames[classIndex],
    probability,
  })).sort((a, b) => b.probability - a.probability || a.classIndex - b.classIndex)
    .slice(0, topK);
  return { file: path, top, probabilities };
}
