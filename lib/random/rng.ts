/**
 * The project's one general-purpose seeded generator: sfc32 ("small fast
 * counting") seeded from any mix of strings and numbers. Everything that
 * draws at random in JavaScript uses it: the stand-in images, samplers,
 * augmentation parameters, bootstrap bands, image samples and (through
 * `Math.random` in lib/train's `withSeed`) initial weights. Keras' split needs
 * numpy's exact MT19937 instead (./mt19937.ts).
 *
 * Why not a library: sfc32 is ten lines, passes PractRand, gives the same
 * sequence on every platform, and the stand-in's images are defined by it
 * (the same seed must keep giving the same pixels). `Math.random` cannot be
 * seeded.
 *
 * @module
 */

/**
 * Hashes strings and numbers into four 32-bit words (a cyrb128-style mix):
 * the seed of an {@linkcode Rng}. A number and its decimal string differ.
 *
 * @example
 * ```ts
 * hashSeed(123, "Archie", 7); // four unsigned 32-bit integers
 * ```
 */
export function hashSeed(...parts: (string | number)[]): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  const text = parts.map((p) => (typeof p === "number" ? `#${p}` : `$${p}`)).join("\u0000");
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/**
 * sfc32 ("small fast counting") generator with helpers. The same seed parts
 * give the same sequence on every platform.
 *
 * @example
 * ```ts
 * const rng = new Rng(123, "Archie", 7);
 * rng.uniform(0, 10); rng.int(1, 6); rng.pick(["a", "b"]); rng.normal();
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(...seed: (string | number)[]) {
    [this.#a, this.#b, this.#c, this.#d] = hashSeed(...seed);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A standard normal draw (Box-Muller). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.pick: empty array");
    return items[Math.floor(this.next() * items.length)];
  }

  /** A new array holding `items` in a random order (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
