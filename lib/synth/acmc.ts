/**
 * The shape of the stand-in: the real ACMC dataset's 23 class folders and
 * their counts (lib/reference's `ACMC_COUNTS`), scaled.
 *
 * @module
 */
import { ACMC_COUNTS } from "../reference/mod.ts";

/**
 * Images per class for a stand-in of `scale` times ACMC's size: each count
 * rounded, and at least `minPerClass` (default 6, so every class can still be
 * split 80/20 and sampled).
 *
 * @example
 * ```ts
 * scaledCounts(1)["Archie"]; // 1284
 * scaledCounts(0.01)["Svenson"]; // 6
 * ```
 */
export function scaledCounts(scale: number, minPerClass = 6): Record<string, number> {
  if (!(Number.isFinite(scale) && scale > 0)) {
    throw new RangeError(`scale must be a positive number, got ${scale}`);
  }
  if (!(Number.isInteger(minPerClass) && minPerClass >= 1)) {
    throw new RangeError(`minPerClass must be a positive integer, got ${minPerClass}`);
  }
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(ACMC_COUNTS)) {
    out[name] = Math.max(minPerClass, Math.round(n * scale));
  }
  return out;
}
