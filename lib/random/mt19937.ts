/**
 * numpy's legacy random generator, bit for bit: `np.random.RandomState(seed)`
 * (MT19937 seeded with `init_genrand`) and its `shuffle`, which Keras uses to
 * shuffle the file list before splitting off the validation files. Also a
 * seeded tf.data-style buffer shuffle for the per-epoch order.
 *
 * @module
 */

const N = 624;
const M = 397;

/**
 * The Mersenne Twister MT19937 as numpy's `RandomState(seed)` seeds it for an
 * integer seed in `[0, 2**32 - 1]`.
 *
 * @example
 * ```ts
 * const rng = new MT19937(123);
 * rng.nextUint32(); // = np.random.RandomState(123).randint(2**32, dtype=np.uint32)
 * ```
 */
export class MT19937 {
  #mt = new Uint32Array(N);
  #pos = N;

  /** Seeds like numpy's `_legacy_seeding` with an integer (`mt19937_seed`). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Seed must be between 0 and 2**32 - 1, received: ${seed}`);
    }
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, modulo 2**32, without losing precision.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.#pos = N;
  }

  #generate(): void {
    const mt = this.#mt;
    let y: number;
    let k = 0;
    for (; k < N - M; k++) {
      y = (mt[k] & 0x80000000) | (mt[k + 1] & 0x7fffffff);
      mt[k] = mt[k + M] ^ (y >>> 1) ^ (-(y & 1) & 0x9908b0df);
    }
    for (; k < N - 1; k++) {
      y = (mt[k] & 0x80000000) | (mt[k + 1] & 0x7fffffff);
      mt[k] = mt[k + (M - N)] ^ (y >>> 1) ^ (-(y & 1) & 0x9908b0df);
    }
    y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (-(y & 1) & 0x9908b0df);
    this.#pos = 0;
  }

  /** The next tempered 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    if (this.#pos >= N) this.#generate();
    let y = this.#mt[this.#pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * numpy's `random_interval(max)`: a uniform integer in `[0, max]` by masked
   * rejection sampling on 32-bit draws (`max` below 2**32).
   */
  interval(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new RangeError(`interval max too large: ${max}`);
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0; while (value > max);
    return value;
  }
}

/**
 * Shuffles `items` in place exactly as `np.random.RandomState(seed).shuffle`
 * does (Fisher-Yates from the end with `random_interval`), and returns it.
 *
 * @example
 * ```ts
 * legacyShuffle([0, 1, 2, 3, 4], 123); // same order as numpy
 * ```
 */
export function legacyShuffle<T>(items: T[], seed: number): T[] {
  const rng = new MT19937(seed);
  for (let i = items.length - 1; i >= 1; i--) {
    const j = rng.interval(i);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

/**
 * The order in which a tf.data-style `shuffle(bufferSize)` emits `n` elements:
 * the buffer fills with the first `bufferSize` elements, then each step emits a
 * uniformly chosen buffer slot and refills it with the next element; at the
 * end the buffer drains in random order. Same semantics (and locality) as
 * `Dataset.shuffle`, but its own seeded generator, so not TF's order.
 */
export function bufferShuffleOrder(n: number, bufferSize: number, rng: MT19937): number[] {
  const size = Math.max(1, Math.min(bufferSize, n));
  const buffer: number[] = [];
  const out: number[] = [];
  let next = 0;
  while (next < size) buffer.push(next++);
  while (buffer.length > 0) {
    const k = rng.interval(buffer.length - 1);
    out.push(buffer[k]);
    if (next < n) buffer[k] = next++;
    else {
      buffer[k] = buffer[buffer.length - 1];
      buffer.pop();
    }
  }
  return out;
}
