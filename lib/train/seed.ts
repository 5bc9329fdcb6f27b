/**
 * Seeded randomness for tfjs: initial weights and dropout masks.
 *
 * tfjs draws every random tensor (weight initializers, `tf.dropout`,
 * `tf.randomUniform`, ...) in JavaScript; an op given no explicit seed seeds
 * its generator from `Math.random()`. {@linkcode withSeed} replaces
 * `Math.random` by a seeded generator while a synchronous function runs, so
 * that everything random inside it (e.g. building a ResNet50) comes out the
 * same for the same seed, whatever the model builder does.
 *
 * @module
 */

/**
 * A fast seeded generator of floats in `[0, 1)` (mulberry32 on a 32-bit
 * state; the seed is mixed with splitmix32 first, so nearby seeds give
 * unrelated streams).
 *
 * @example
 * ```ts
 * const rand = seededRandom(123);
 * rand(); // the same number on every run
 * ```
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) {
    throw new RangeError(`seededRandom: seed must be a number, got ${seed}`);
  }
  let s = mix32(Math.floor(seed) >>> 0 ^ 0x9e3779b9);
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** splitmix32-style finaliser of a 32-bit integer. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seed derived from a base seed and a few integers (e.g. epoch and step):
 * `deriveSeed(123, 4, 17)` is the seed of step 17 of epoch 4.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mix32(Math.floor(seed) >>> 0);
  for (const p of parts) h = mix32((h ^ (Math.floor(p) >>> 0)) + 0x9e3779b9);
  return h;
}

/**
 * Runs the synchronous `fn` with `Math.random` replaced by a generator seeded
 * with `seed`, and restores it afterwards (also when `fn` throws). Use it to
 * build a model with the same initial weights on every run, whatever
 * initializers the builder uses:
 *
 * @example
 * ```ts
 * const model = withSeed(123, () => resnet50({ inputShape: [64, 64, 3], classes: 23 }));
 * ```
 *
 * @throws TypeError when `fn` returns a Promise (the replacement would leak into
 *   unrelated code running while it waits); build synchronously instead.
 */
export function withSeed<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError(
        "withSeed: fn returned a Promise; only synchronous code can run under a seed",
      );
    }
    return result;
  } finally {
    Math.random = original;
  }
}
