/**
 * Tiny in-memory datasets and models for the training tests.
 * @module
 */
import { tf } from "../lib/engine/mod.ts";
import type { Batch, BatchDataset } from "../lib/data/types.ts";
import { seededRandom } from "../lib/random/mod.ts";

/** Options of {@linkcode memoryDataset}. */
export interface MemoryDatasetOptions {
  batchSize: number;
  imageSize: [number, number];
  channels?: number;
  classes: number;
  /** "categorical" (one-hot float) or "int" labels. */
  labelMode?: "categorical" | "int";
  /** Reshuffle on every pass with this seed (pass p uses seed + p); default unshuffled. */
  shuffleSeed?: number;
}

/** A BatchDataset over images given as flat arrays (one per image). */
export function memoryDataset(
  images: number[][],
  labels: number[],
  o: MemoryDatasetOptions,
): BatchDataset {
  const [h, w] = o.imageSize;
  const c = o.channels ?? 1;
  let pass = 0;
  const ds: BatchDataset = {
    classNames: Array.from({ length: o.classes }, (_, i) => `class${i}`),
    filePaths: images.map((_, i) => `mem://${i}`),
    labels,
    batchSize: o.batchSize,
    imageSize: [h, w],
    channels: c,
    cardinality: Math.ceil(images.length / o.batchSize),
    async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
      const order = images.map((_, i) => i);
      if (o.shuffleSeed !== undefined) {
        const rand = seededRandom(o.shuffleSeed + pass);
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
      }
      pass++;
      for (let s = 0; s < order.length; s += o.batchSize) {
        const idx = order.slice(s, s + o.batchSize);
        const x = tf.tensor4d(idx.flatMap((i) => images[i]), [idx.length, h, w, c]);
        const y = o.labelMode === "int"
          ? tf.tensor1d(idx.map((i) => labels[i]), "int32")
          : tf.tidy(() =>
            tf.oneHot(tf.tensor1d(idx.map((i) => labels[i]), "int32"), o.classes).toFloat()
          );
        yield { x, y };
      }
    },
  };
  return ds;
}

/** `n` random images `h x w x c` in 0-255 and labels in 0..classes-1 that depend on them. */
export function randomImages(
  n: number,
  h: number,
  w: number,
  c: number,
  classes: number,
  seed: number,
): { images: number[][]; labels: number[] } {
  const rand = seededRandom(seed);
  const images: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = Math.floor(rand() * classes);
    const img = Array.from(
      { length: h * w * c },
      (_, j) => Math.round(255 * (0.7 * rand() + 0.3 * ((j % classes) === label ? 1 : 0))),
    );
    images.push(img);
    labels.push(label);
  }
  return { images, labels };
}

/** A small dense classifier with explicit layer names: flatten, dense(hidden, relu), [dropout], dense(classes, softmax). */
export function tinyModel(
  inputShape: [number, number, number],
  classes: number,
  hidden = 8,
  dropout = 0,
): tf.LayersModel {
  const input = tf.input({ shape: inputShape, name: "image" });
  let x = tf.layers.rescaling({ scale: 1 / 255, name: "rescale" }).apply(
    input,
  ) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: "flatten" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: hidden, activation: "relu", name: "hidden" }).apply(
    x,
  ) as tf.SymbolicTensor;
  if (dropout > 0) {
    x = tf.layers.dropout({ rate: dropout, name: "drop" }).apply(x) as tf.SymbolicTensor;
  }
  const out = tf.layers.dense({ units: classes, activation: "softmax", name: "out" }).apply(x);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
}

/**
 * A small model with batch norm and explicit layer names: conv (2 filters, 3x3),
 * batch norm, flatten, dense(classes, softmax). Its moving statistics make it
 * the model for checkpoint round trips.
 */
export function bnModel(inputShape: [number, number, number], classes: number): tf.LayersModel {
  const input = tf.input({ shape: inputShape, name: "image" });
  let x = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: "conv" }).apply(input);
  x = tf.layers.batchNormalization({ name: "bn" }).apply(x);
  x = tf.layers.flatten({ name: "flat" }).apply(x);
  const out = tf.layers.dense({ units: classes, activation: "softmax", name: "out" }).apply(x);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
}

/** Every weight's values, in `model.weights` order. */
export async function weightValues(model: tf.LayersModel): Promise<number[][]> {
  return await Promise.all(model.weights.map(async (w) => Array.from(await w.read().data())));
}

/** Fails unless `|a - b| <= tol`. */
export function assertClose(a: number, b: number, tol: number, msg = ""): void {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${msg} expected ${a} within ${tol} of ${b}`);
}

/** Fails unless `fn` rejects with an Error whose message includes `includes`. */
export async function assertRejectsWith(
  fn: () => Promise<unknown>,
  includes: string,
): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof Error) || !e.message.includes(includes)) {
      throw new Error(`expected an error mentioning "${includes}", got: ${e}`);
    }
    return;
  }
  throw new Error(`expected a rejection mentioning "${includes}"`);
}
