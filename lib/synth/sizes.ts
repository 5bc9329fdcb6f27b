/**
 * Image sizes spread like ACMC's: widths about 22-1770 px, heights about
 * 50-1700 px, most images taller than wide or wider than tall (crops of
 * comic panels), a few tiny ones.
 *
 * @module
 */
import type { Rng } from "../random/mod.ts";

/** Size limits of the stand-in (those seen in ACMC). */
export const SIZE_LIMITS = Object.freeze({
  minWidth: 22,
  maxWidth: 1770,
  minHeight: 50,
  maxHeight: 1700,
});

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/**
 * Draws one image size: about 1.5 % tiny crops (22-64 px wide), the rest with
 * a log-normal height (median ~380 px) and a log-normal aspect ratio
 * (median width/height ~0.8).
 */
export function sampleSize(rng: Rng): { width: number; height: number } {
  if (rng.chance(0.015)) {
    return { width: rng.int(22, 64), height: rng.int(50, 160) };
  }
  const height = Math.round(clamp(Math.exp(rng.normal(Math.log(380), 0.45)), 50, 1700));
  const aspect = Math.exp(rng.normal(Math.log(0.8), 0.38));
  let width = Math.round(clamp(height * aspect, 22, 1770));
  if (width === height && rng.chance(0.7)) width += rng.chance(0.5) ? 1 : -1;
  return { width, height };
}
