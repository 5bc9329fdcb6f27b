/**
 * Small seeded random generators for everything in this project that draws
 * at random in JavaScript (samplers, augmentation parameters, bootstrap
 * bands, image samples, seeded weight initialisation). `Math.random` cannot
 * be seeded, and none of these uses needs more than fast, well-spread uniform
 * draws, so a ten-line generator beats a dependency. Keras' numpy-exact
 * shuffle (MT19937) lives with the loader in `lib/data/random.ts`.
 * @module
 */

/**
 * mulberry32: a 32-bit seeded pseudo-random generator returning floats in
 * [0, 1). A single 32-bit state, passes the usual statistical batteries
 * (gjrand, PractRand up to its 2^32 period) and gives the same sequence on
 * every platform.
 *
 * @example
 * ```ts
 * const rand = mulberry32(42);
 * rand(); // 0.6011037519201636
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded generator of uniform floats in [0, 1): mulberry32 over a 32-bit
 * state mixed from all the `seed` parts (e.g. seed, epoch, step). Same seed,
 * same sequence.
 *
 * @example
 * ```ts
 * const rand = seededRandom(123, epoch, step);
 * rand(); // 0 <= x < 1, the same on every run
 * ```
 */
export function seededRandom(...seed: number[]): () => number {
  return mulberry32(mixSeed(...seed));
}

/** Hashes numbers (seed, epoch, step, ...) into one 32-bit state. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    if (!Number.isFinite(p)) throw new Error(`seed parts must be finite numbers, got ${p}`);
    // Fold the number (integer or not) into two 32-bit words.
    const lo = (p >>> 0) ^ 0;
    const hi = Math.floor(p / 4294967296) | 0;
    for (const w of [lo, hi]) {
      h = Math.imul(h ^ w, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}
