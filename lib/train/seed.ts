/**
 * Seeded randomness for tfjs: initial weights and dropout masks.
 *
 * tfjs draws every random tensor (weight initializers, `tf.dropout`,
 * `tf.randomUniform`, ...) in JavaScript; an op given no explicit seed seeds
 * its generator from `Math.random()`. {@linkcode withSeed} replaces
 * `Math.random` by a seeded generator (lib/random's `seededRandom`) while a
 * synchronous function runs, so that everything random inside it (e.g.
 * building a ResNet50) comes out the same for the same seed, whatever the
 * model builder does.
 *
 * @module
 */
import { seededRandom } from "../random/mod.ts";

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
