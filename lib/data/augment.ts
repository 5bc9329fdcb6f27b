/**
 * Seeded on-the-fly image augmentation for training batches: horizontal
 * flips, random resized crops, small rotations and colour jitter
 * (brightness, contrast, saturation), all run as TensorFlow ops on the native
 * engine.
 *
 * It is deterministic: the random parameters of a batch are drawn in JS from
 * `(seed, epoch, step)`, so the same seed, epoch and step always give the same
 * images, and each step of each epoch gets new ones. {@linkcode augmentation}
 * returns the `map` function the loader applies to TRAINING batches only
 * (`datasetFromFiles(..., { map })`); validation batches are never augmented.
 *
 * How each transform runs (tfjs-node registers `CropAndResize` natively but
 * not `RotateWithOffset` nor `Transform`):
 * - flip + random resized crop: one native `tf.image.cropAndResize` per batch,
 *   with a per-image box (a box whose x1 > x2 samples the mirror image);
 * - rotation: bilinear resampling built from `tf.gather` on the flattened
 *   batch, with Keras' "reflect" fill (or "nearest");
 * - colour jitter: per-image factors broadcast over the batch, then a clip to
 *   0-255.
 *
 * @example
 * ```ts
 * const map = augmentation({ seed: 123 });
 * const train = datasetFromFiles(s.filePaths, s.labels, classNames, { shuffle: true, map });
 * ```
 *
 * @module
 */
import { tf } from "../engine/mod.ts";
import type { Batch } from "./types.ts";
import { seededRandom } from "../random/mod.ts";

/** Where a batch sits in training: the loader passes it to `map`. */
export interface AugmentContext {
  /** Epoch index, from 0. */
  epoch: number;
  /** Batch index within the epoch, from 0. */
  step: number;
}

/** Options of {@linkcode augmentation} / {@linkcode augmentImages}; every transform can be turned off. */
export interface AugmentOptions {
  /** Seed of all random draws. Default 123. */
  seed?: number;
  /** Flip each image left-right with probability 0.5. Default true. */
  flip?: boolean;
  /**
   * Random resized crop (torchvision's `RandomResizedCrop`): a crop covering a
   * `scale` fraction of the image area, with width/height `ratio`, resized back
   * to the input size. Default `{ scale: [0.6, 1], ratio: [3/4, 4/3] }`;
   * `false` turns it off.
   */
  crop?: { scale: [number, number]; ratio: [number, number] } | false;
  /** Largest rotation, in degrees (uniform in `[-rotation, rotation]`). Default 10; 0 = off. */
  rotation?: number;
  /** How rotation fills pixels from outside the image. Default "reflect" (as Keras). */
  fillMode?: "reflect" | "nearest";
  /** Brightness shift, as a fraction of 255: uniform in `[-b, b] * 255`. Default 0.1; 0 = off. */
  brightness?: number;
  /** Contrast factor uniform in `[1 - c, 1 + c]` around each channel's mean. Default 0.2; 0 = off. */
  contrast?: number;
  /** Saturation factor uniform in `[1 - s, 1 + s]` (RGB images only). Default 0.2; 0 = off. */
  saturation?: number;
}

/** The random draws for one image (exported for tests and for display). */
export interface ImageParams {
  /** Whether the image is mirrored left-right. */
  flip: boolean;
  /** Crop box `[y1, x1, y2, x2]`, normalised (0-1), before the flip. */
  box: [number, number, number, number];
  /** Rotation, radians (counter-clockwise). */
  angle: number;
  /** Brightness shift, in 0-255 units. */
  brightness: number;
  /** Contrast factor. */
  contrast: number;
  /** Saturation factor. */
  saturation: number;
}

const DEFAULTS = {
  seed: 123,
  flip: true,
  crop: { scale: [0.6, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] },
  rotation: 10,
  fillMode: "reflect" as const,
  brightness: 0.1,
  contrast: 0.2,
  saturation: 0.2,
};

function resolve(options: AugmentOptions): Required<AugmentOptions> {
  const o = { ...DEFAULTS, ...options } as Required<AugmentOptions>;
  for (const key of ["rotation", "brightness", "contrast", "saturation"] as const) {
    const v = o[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new Error(`augmentation option ${key} must be a number >= 0, got ${v}`);
    }
  }
  if (o.contrast > 1 || o.saturation > 1) {
    throw new Error("augmentation options contrast and saturation must be <= 1");
  }
  if (o.crop) {
    const [s0, s1] = o.crop.scale;
    const [r0, r1] = o.crop.ratio;
    if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) {
      throw new Error(
        `augmentation crop.scale must satisfy 0 < min <= max <= 1, got [${s0}, ${s1}]`,
      );
    }
    if (!(r0 > 0 && r0 <= r1)) {
      throw new Error(`augmentation crop.ratio must satisfy 0 < min <= max, got [${r0}, ${r1}]`);
    }
  }
  if (o.fillMode !== "reflect" && o.fillMode !== "nearest") {
    throw new Error(`augmentation fillMode must be "reflect" or "nearest", got ${o.fillMode}`);
  }
  if (!Number.isFinite(o.seed)) throw new Error(`augmentation seed must be a number`);
  return o;
}

/** A crop box like torchvision's `RandomResizedCrop.get_params`, normalised to 0-1. */
function cropBox(
  h: number,
  w: number,
  crop: { scale: [number, number]; ratio: [number, number] },
  rand: () => number,
): [number, number, number, number] {
  const area = h * w;
  const [lr0, lr1] = [Math.log(crop.ratio[0]), Math.log(crop.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (crop.scale[0] + rand() * (crop.scale[1] - crop.scale[0]));
    const ratio = Math.exp(lr0 + rand() * (lr1 - lr0));
    const cw = Math.sqrt(target * ratio);
    const ch = Math.sqrt(target / ratio);
    if (cw <= w && ch <= h) {
      const y0 = rand() * (h - ch);
      const x0 = rand() * (w - cw);
      return [y0 / h, x0 / w, (y0 + ch) / h, (x0 + cw) / w];
    }
  }
  return [0, 0, 1, 1]; // Whole image when no crop fits (extreme ratios on thin images).
}

/**
 * The random draws for a batch of `n` images of `h x w` at `(epoch, step)`:
 * pure JS, deterministic.
 */
export function drawParams(
  n: number,
  [h, w]: [number, number],
  ctx: AugmentContext,
  options: AugmentOptions = {},
): ImageParams[] {
  const o = resolve(options);
  const rand = seededRandom(o.seed, ctx.epoch, ctx.step, 0xa06);
  const uniform = (a: number) => (2 * rand() - 1) * a;
  return Array.from({ length: n }, () => ({
    flip: o.flip ? rand() < 0.5 : false,
    box: o.crop ? cropBox(h, w, o.crop, rand) : [0, 0, 1, 1],
    angle: o.rotation ? uniform(o.rotation) * Math.PI / 180 : 0,
    brightness: o.brightness ? uniform(o.brightness) * 255 : 0,
    contrast: o.contrast ? 1 + uniform(o.contrast) : 1,
    saturation: o.saturation ? 1 + uniform(o.saturation) : 1,
  }));
}

/** Maps continuous coordinates into `[0, n-1]`: mirror ("reflect", d c b a | a b c d) or clamp. */
function fold(t: tf.Tensor, n: number, mode: "reflect" | "nearest"): tf.Tensor {
  if (mode === "reflect" && n > 1) {
    const m = tf.mod(tf.add(t, 0.5), 2 * n); // floor-mod: in [0, 2n)
    const r = tf.where(tf.greater(m, n), tf.sub(2 * n, m), m);
    t = tf.sub(r, 0.5);
  }
  return tf.clipByValue(t, 0, n - 1);
}

/** Rotates each image by `angles[i]` radians about its centre, bilinear (tf ops). */
export function rotateImages(
  x: tf.Tensor4D,
  angles: number[],
  fillMode: "reflect" | "nearest" = "reflect",
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (angles.length !== b) throw new Error(`rotateImages: ${angles.length} angles for ${b} images`);
  return tf.tidy(() => {
    const cy = (h - 1) / 2;
    const cx = (w - 1) / 2;
    const ii = tf.sub(tf.range(0, h, 1, "float32"), cy).reshape([1, h, 1]);
    const jj = tf.sub(tf.range(0, w, 1, "float32"), cx).reshape([1, 1, w]);
    const cos = tf.tensor1d(angles.map(Math.cos)).reshape([b, 1, 1]);
    const sin = tf.tensor1d(angles.map(Math.sin)).reshape([b, 1, 1]);
    // Inverse map: output pixel (i, j) samples the source at (ys, xs).
    // A positive angle turns the picture counter-clockwise as seen on screen.
    const xs = fold(tf.add(tf.sub(tf.mul(cos, jj), tf.mul(sin, ii)), cx), w, fillMode);
    const ys = fold(tf.add(tf.add(tf.mul(sin, jj), tf.mul(cos, ii)), cy), h, fillMode);
    const x0 = tf.floor(xs);
    const y0 = tf.floor(ys);
    const wx = tf.sub(xs, x0).expandDims(-1);
    const wy = tf.sub(ys, y0).expandDims(-1);
    const x1 = tf.minimum(tf.add(x0, 1), w - 1);
    const y1 = tf.minimum(tf.add(y0, 1), h - 1);
    const base = tf.mul(tf.range(0, b, 1, "float32"), h * w).reshape([b, 1, 1]);
    const flat = x.reshape([b * h * w, c]);
    const at = (yy: tf.Tensor, xx: tf.Tensor) =>
      tf.gather(flat, tf.add(base, tf.add(tf.mul(yy, w), xx)).toInt().reshape([-1]))
        .reshape([b, h, w, c]);
    const top = tf.add(at(y0, x0), tf.mul(tf.sub(at(y0, x1), at(y0, x0)), wx));
    const bottom = tf.add(at(y1, x0), tf.mul(tf.sub(at(y1, x1), at(y1, x0)), wx));
    return tf.add(top, tf.mul(tf.sub(bottom, top), wy)) as tf.Tensor4D;
  });
}

/**
 * Augments a batch of images (float32, 0-255, `[b, h, w, c]`) with the draws
 * of `(seed, ctx.epoch, ctx.step)`. Returns a new tensor of the same shape
 * and dtype, values in 0-255; `x` is left as it is (the caller owns both).
 */
export function augmentImages(
  x: tf.Tensor4D,
  ctx: AugmentContext,
  options: AugmentOptions = {},
): tf.Tensor4D {
  if (x.rank !== 4) {
    throw new Error(`augmentImages expects [batch, h, w, c] images, got ${x.shape}`);
  }
  if (x.dtype !== "float32") {
    throw new Error(`augmentImages expects float32 images, got ${x.dtype}`);
  }
  const o = resolve(options);
  const [b, h, w, c] = x.shape;
  if (b === 0) return x.clone();
  const p = drawParams(b, [h, w], ctx, o);
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    // Flip and crop in one native op: a box whose x1 > x2 samples the mirror image.
    const boxes = p.map(({ box: [y1, x1, y2, x2], flip }) =>
      flip ? [y1, x2, y2, x1] : [y1, x1, y2, x2]
    );
    const identity = p.every(({ box, flip }) => !flip && box.join() === "0,0,1,1");
    if (!identity) {
      y = tf.image.cropAndResize(
        y,
        tf.tensor2d(boxes, [b, 4]),
        tf.tensor1d(p.map((_, i) => i), "int32"),
        [h, w],
        "bilinear",
      );
    }
    if (p.some((q) => q.angle !== 0)) y = rotateImages(y, p.map((q) => q.angle), o.fillMode);
    const col = (v: number[]) => tf.tensor4d(v, [b, 1, 1, 1]);
    if (p.some((q) => q.brightness !== 0)) y = tf.add(y, col(p.map((q) => q.brightness)));
    if (p.some((q) => q.contrast !== 1)) {
      const mean = tf.mean(y, [1, 2], true);
      y = tf.add(tf.mul(tf.sub(y, mean), col(p.map((q) => q.contrast))), mean);
    }
    if (c === 3 && p.some((q) => q.saturation !== 1)) {
      // Luma with ITU-R 601 weights that sum to exactly 1, so gray stays gray.
      const gray = tf.sum(tf.mul(y, tf.tensor1d([0.299, 0.587, 0.114])), -1, true);
      y = tf.add(tf.mul(tf.sub(y, gray), col(p.map((q) => q.saturation))), gray);
    }
    y = tf.clipByValue(y, 0, 255);
    return y === x ? x.clone() : y;
  });
}

/**
 * The loader's `map` hook: augments the images of each training batch with
 * the draws of `(seed, epoch, step)`; labels pass through untouched. The
 * returned batch replaces the input one: the input's `x` is disposed (its `y`
 * is the same tensor in the output).
 *
 * @example
 * ```ts
 * const map = augmentation({ seed: 123, rotation: 10 });
 * const train = datasetFromFiles(files, labels, classNames, { shuffle: true, map });
 * // validation: no `map`, never augmented
 * ```
 */
export function augmentation(
  options: AugmentOptions = {},
): (batch: Batch, ctx: AugmentContext) => Batch {
  const o = resolve(options);
  return (batch, ctx) => {
    const x = augmentImages(batch.x, ctx, o);
    batch.x.dispose();
    return { x, y: batch.y };
  };
}
