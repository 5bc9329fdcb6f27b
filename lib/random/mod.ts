/**
 * Seeded randomness, two generators and no more:
 *
 * - {@linkcode Rng} (sfc32, ./rng.ts): the general-purpose one, for everything
 *   in this project that draws at random in JavaScript (the stand-in images,
 *   samplers, augmentation parameters, bootstrap bands, image samples, seeded
 *   weight initialisation). {@linkcode seededRandom} is its `() => number` form.
 * - {@linkcode MT19937} (./mt19937.ts): numpy's legacy generator bit for bit,
 *   only because Keras shuffles the file list with it before the validation
 *   split ({@linkcode legacyShuffle}); the loader's per-epoch buffer shuffle
 *   uses it too.
 *
 * @example
 * ```ts
 * import { legacyShuffle, Rng, seededRandom } from "../lib/random/mod.ts";
 * const rng = new Rng(123, "sizes");
 * rng.int(1, 6);
 * const rand = seededRandom(123, epoch, step); // 0 <= rand() < 1
 * legacyShuffle([0, 1, 2, 3], 123); // numpy's order
 * ```
 *
 * @module
 */
import { hashSeed, Rng } from "./rng.ts";

export { hashSeed, Rng } from "./rng.ts";
export { bufferShuffleOrder, legacyShuffle, MT19937 } from "./mt19937.ts";

/**
 * A seeded generator of uniform floats in [0, 1): an {@linkcode Rng} seeded
 * with all the `seed` parts (e.g. seed, epoch, step). Same seed, same
 * sequence.
 *
 * @throws Error when a seed part is not a finite number.
 * @example
 * ```ts
 * const rand = seededRandom(123, epoch, step);
 * rand(); // 0 <= x < 1, the same on every run
 * ```
 */
export function seededRandom(...seed: number[]): () => number {
  for (const p of seed) {
    if (!Number.isFinite(p)) throw new Error(`seed parts must be finite numbers, got ${p}`);
  }
  const rng = new Rng(...seed);
  return () => rng.next();
}

/**
 * One 32-bit seed from several numbers (seed, epoch, step, ...), e.g. for
 * lib/train's `withSeed` per training step.
 *
 * @example
 * ```ts
 * mixSeed(123, 0, 5); // an integer in [0, 2**32)
 * ```
 */
export function mixSeed(...parts: number[]): number {
  for (const p of parts) {
    if (!Number.isFinite(p)) throw new Error(`seed parts must be finite numbers, got ${p}`);
  }
  return hashSeed(...parts)[0];
}
