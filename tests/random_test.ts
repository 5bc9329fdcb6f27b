import assert, {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
} from "node:assert/strict";
import { hashSeed, mixSeed, Rng, seededRandom } from "../lib/random/mod.ts";

Deno.test("Rng: seeded, reproducible, in range", () => {
  const a = new Rng(1, "x"), b = new Rng(1, "x"), c = new Rng(2, "x");
  const sa = Array.from({ length: 5 }, () => a.next());
  assertEquals(sa, Array.from({ length: 5 }, () => b.next()));
  assert(sa.join() !== Array.from({ length: 5 }, () => c.next()).join());
  assert(hashSeed(1, "a").join() !== hashSeed(1, "b").join());
  assert(hashSeed("1").join() !== hashSeed(1).join());
  const r = new Rng(7);
  const ints = Array.from({ length: 2000 }, () => r.int(1, 6));
  assertEquals(new Set(ints).size, 6);
  assert(ints.every((v) => v >= 1 && v <= 6));
  const normals = Array.from({ length: 4000 }, () => r.normal());
  const mean = normals.reduce((s, v) => s + v, 0) / normals.length;
  assert(Math.abs(mean) < 0.08, `normal mean ${mean}`);
});

Deno.test("seededRandom is reproducible and roughly uniform", () => {
  const a = seededRandom(1, 2, 3);
  const b = seededRandom(1, 2, 3);
  const xs = Array.from({ length: 10000 }, () => a());
  assertEquals(xs, Array.from({ length: 10000 }, () => b()));
  assertNotEquals(seededRandom(1, 2, 4)(), seededRandom(1, 2, 3)());
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert(xs.every((x) => x >= 0 && x < 1));
});

Deno.test("seededRandom and mixSeed refuse seed parts that are not finite numbers", () => {
  assert.throws(() => seededRandom(1, NaN), /finite/);
  assert.throws(() => mixSeed(Infinity), /finite/);
  assertEquals(mixSeed(1, 2, 3), mixSeed(1, 2, 3));
  assertNotEquals(mixSeed(1, 2, 3), mixSeed(1, 2, 4));
  assert(Number.isInteger(mixSeed(5)) && mixSeed(5) >= 0 && mixSeed(5) < 2 ** 32);
});

Deno.test("seededRandom draws the Rng sequence of the same seed parts", () => {
  const rand = seededRandom(123, 4, 5);
  const rng = new Rng(123, 4, 5);
  assertEquals(Array.from({ length: 8 }, rand), Array.from({ length: 8 }, () => rng.next()));
});
