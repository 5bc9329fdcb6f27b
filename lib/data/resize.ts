/**
 * Resizing like `tf.image.resize(images, size, method, antialias=False)`:
 * bilinear or nearest with half-pixel centres, in float32 arithmetic, plus
 * Keras' `smart_resize` crop (`cropToAspectRatio`) and TF's
 * `resize_with_pad` (`padToAspectRatio`). Output is float32 in 0-255.
 *
 * @module
 */
import type { RawImage } from "./decode.ts";
// @ts-types="./native_decode.d.ts"
import { aspectPlan } from "./native_decode.js";

/** Resize methods reproduced exactly. */
export type Interpolation = "bilinear" | "nearest";

/** Options of {@linkcode resizeImage}. */
export interface ResizeOptions {
  /** `"bilinear"` (default) or `"nearest"`. */
  interpolation?: Interpolation;
  /** Crop the largest centred window of the target aspect ratio first (Keras `smart_resize`). */
  cropToAspectRatio?: boolean;
  /** Resize to fit, then pad with zeros (TF `resize_with_pad`). */
  padToAspectRatio?: boolean;
}

const f = Math.fround;

interface Axis {
  lo: Int32Array;
  hi: Int32Array;
  lerp: Float32Array;
}

/** TF's `compute_interpolation_weights` with the half-pixel scaler, in float32. */
function bilinearAxis(outSize: number, inSize: number, offset: number): Axis {
  const scale = f(inSize / outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const x = f(f(f(i + 0.5) * scale) - 0.5);
    const xf = Math.floor(x);
    lo[i] = offset + Math.max(xf, 0);
    hi[i] = offset + Math.min(Math.ceil(x), inSize - 1);
    lerp[i] = f(x - xf);
  }
  return { lo, hi, lerp };
}

/** TF's nearest neighbour with half-pixel centres: `min(floor((i + .5) * scale), in - 1)`. */
function nearestAxis(outSize: number, inSize: number, offset: number): Int32Array {
  const scale = f(inSize / outSize);
  const idx = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    idx[i] = offset + Math.min(Math.floor(f(f(i + 0.5) * scale)), inSize - 1);
  }
  return idx;
}

/**
 * Resizes the window `[y0, y0+h) x [x0, x0+w)` of `img` to `outH x outW` into
 * `out` (float32, row stride `outStride` pixels, starting at pixel `outOffset`).
 */
function resizeWindow(
  img: RawImage,
  y0: number,
  x0: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  method: Interpolation,
  out: Float32Array,
  outOffset: number,
  outStride: number,
): void {
  const c = img.channels;
  const src = img.data;
  const rowLen = img.width * c;
  if (method === "nearest") {
    const ys = nearestAxis(outH, h, y0);
    const xs = nearestAxis(outW, w, x0);
    for (let y = 0; y < outH; y++) {
      const srow = ys[y] * rowLen;
      let d = (outOffset + y * outStride) * c;
      for (let x = 0; x < outW; x++) {
        const s = srow + xs[x] * c;
        for (let k = 0; k < c; k++) out[d++] = src[s + k];
      }
    }
    return;
  }
  const ya = bilinearAxis(outH, h, y0);
  const xa = bilinearAxis(outW, w, x0);
  const xlo = new Int32Array(outW);
  const xhi = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    xlo[x] = xa.lo[x] * c;
    xhi[x] = xa.hi[x] * c;
  }
  // float64 arithmetic on float32 weights: within ~1e-5 of TF's float32 kernel
  const xl32 = xa.lerp;
  for (let y = 0; y < outH; y++) {
    const top = ya.lo[y] * rowLen;
    const bot = ya.hi[y] * rowLen;
    const yl = ya.lerp[y];
    let d = (outOffset + y * outStride) * c;
    if (c === 3) {
      for (let x = 0; x < outW; x++) {
        const xl = xl32[x];
        const l = xlo[x];
        const r = xhi[x];
        const tl0 = src[top + l], tl1 = src[top + l + 1], tl2 = src[top + l + 2];
        const bl0 = src[bot + l], bl1 = src[bot + l + 1], bl2 = src[bot + l + 2];
        const t0 = tl0 + (src[top + r] - tl0) * xl;
        const t1 = tl1 + (src[top + r + 1] - tl1) * xl;
        const t2 = tl2 + (src[top + r + 2] - tl2) * xl;
        const b0 = bl0 + (src[bot + r] - bl0) * xl;
        const b1 = bl1 + (src[bot + r + 1] - bl1) * xl;
        const b2 = bl2 + (src[bot + r + 2] - bl2) * xl;
        out[d] = t0 + (b0 - t0) * yl;
        out[d + 1] = t1 + (b1 - t1) * yl;
        out[d + 2] = t2 + (b2 - t2) * yl;
        d += 3;
      }
      continue;
    }
    for (let x = 0; x < outW; x++) {
      const xl = xl32[x];
      const l = xlo[x];
      const r = xhi[x];
      for (let k = 0; k < c; k++) {
        const tl = src[top + l + k];
        const bl = src[bot + l + k];
        const t = tl + (src[top + r + k] - tl) * xl;
        const b = bl + (src[bot + r + k] - bl) * xl;
        out[d++] = t + (b - t) * yl;
      }
    }
  }
}

/**
 * Resizes a decoded image to `[height, width]` like Keras' `_load_image_tf`:
 * plain `tf.image.resize` (aspect ratio not kept), or crop / pad to the
 * target aspect ratio first.
 *
 * @returns float32 `height * width * channels`, values 0-255.
 * @example
 * ```ts
 * const x = resizeImage(img, [256, 256]); // bilinear, half-pixel centres
 * ```
 */
export function resizeImage(
  img: RawImage,
  size: [number, number],
  options: ResizeOptions = {},
): Float32Array {
  const [outH, outW] = size;
  const method = options.interpolation ?? "bilinear";
  const c = img.channels;
  const out = new Float32Array(outH * outW * c);
  const p = aspectPlan(img.width, img.height, size, options);
  if (p.outH > 0 && p.outW > 0) {
    resizeWindow(
      img,
      p.y0,
      p.x0,
      p.h,
      p.w,
      p.outH,
      p.outW,
      method,
      out,
      p.padTop * outW + p.padLeft,
      outW,
    );
  }
  return out;
}
