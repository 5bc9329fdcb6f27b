/**
 * ResNet50's input preprocessing, Keras' "caffe" mode: RGB -> BGR, then
 * subtract the ImageNet channel means (BGR order) `[103.939, 116.779, 123.68]`;
 * no scaling. Input pixels are 0-255 floats, channels last.
 *
 * @module
 */
import { tf } from "../engine/mod.ts";

/** ImageNet channel means in BGR order, as Keras' `imagenet_utils` "caffe" mode. */
export const IMAGENET_MEAN_BGR: readonly [number, number, number] = [103.939, 116.779, 123.68];

function caffe(x: tf.Tensor): tf.Tensor {
  const channels = x.shape[x.rank - 1];
  if (channels !== 3) {
    throw new Error(
      `preprocessInput: expects 3 RGB channels on the last axis, got shape [${x.shape}]`,
    );
  }
  return tf.tidy(() => {
    const bgr = tf.reverse(x.toFloat(), -1);
    return tf.sub(bgr, tf.tensor1d(IMAGENET_MEAN_BGR as unknown as number[]));
  });
}

/**
 * `keras.applications.resnet50.preprocess_input` on a tensor: RGB -> BGR and
 * ImageNet mean subtraction ("caffe" mode), channels last. Returns a new
 * float32 tensor; the input is not disposed.
 *
 * @param x pixels 0-255, shape `[..., 3]` (e.g. `[batch, height, width, 3]`).
 * @example
 * ```ts
 * const y = preprocessInput(tf.fill([1, 2, 2, 3], 255)); // [151.061, 138.221, 131.32] per pixel
 * ```
 */
export function preprocessInput<T extends tf.Tensor>(x: T): T {
  return caffe(x) as T;
}

/** Options of {@linkcode PreprocessInput}. */
export interface PreprocessInputArgs {
  /** Layer name. Default auto-generated (`preprocess_input` in resnet50). */
  name?: string;
  /** Input shape when this is the first layer, e.g. `[224, 224, 3]`. */
  inputShape?: (number | null)[];
}

/**
 * {@linkcode preprocessInput} as a weightless layer, to put inside a model
 * (the study applies `preprocess_input` before a scratch ResNet50).
 * Registered for serialization as `ResNetPreprocessInput`.
 *
 * @example
 * ```ts
 * const input = tf.input({ shape: [128, 128, 3] });
 * const x = new PreprocessInput({ name: "preprocess_input" }).apply(input);
 * ```
 */
export class PreprocessInput extends tf.layers.Layer {
  /** Name under which the class is registered with tfjs serialization. */
  static className = "ResNetPreprocessInput";

  constructor(args: PreprocessInputArgs = {}) {
    super({ ...args, trainable: false });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return caffe(Array.isArray(inputs) ? inputs[0] : inputs);
  }
}

tf.serialization.registerClass(PreprocessInput);

/** A new {@linkcode PreprocessInput} layer. */
export function preprocessInputLayer(args: PreprocessInputArgs = {}): PreprocessInput {
  return new PreprocessInput(args);
}
