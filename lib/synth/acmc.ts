/**
 * The shape of the real ACMC dataset that the stand-in copies: its 23 class
 * folders and how many images each holds (Kaggle `agneev/archie-comics-multi-class`,
 * folder `Multi-class/`; 6462 PNGs).
 *
 * @module
 */

/**
 * Images per class folder in ACMC, in the label order the study's notebooks
 * use (`os.listdir` order passed as `class_names`).
 */
export const ACMC_COUNTS: Readonly<Record<string, number>> = Object.freeze({
  "Kleats": 41,
  "Midge": 71,
  "Dilton": 146,
  "Pop Tate": 85,
  "Reggie": 550,
  "Jughead": 962,
  "Grundy": 157,
  "Ethel": 67,
  "Weatherbee": 259,
  "Harry Clayton": 34,
  "Smithers": 46,
  "Svenson": 33,
  "Moose": 151,
  "Chuck": 109,
  "Nancy": 46,
  "Veronica": 679,
  "Flutesnoot": 64,
  "Fred Andrews": 121,
  "Archie": 1284,
  "Betty": 699,
  "Beazley": 39,
  "Hiram Lodge": 197,
  "Others": 622,
});

/** The 23 class folder names, in the study's label order. */
export const ACMC_CLASSES: readonly string[] = Object.freeze(Object.keys(ACMC_COUNTS));

/** Total images in ACMC (6462). */
export const ACMC_TOTAL: number = Object.values(ACMC_COUNTS).reduce((a, b) => a + b, 0);

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
