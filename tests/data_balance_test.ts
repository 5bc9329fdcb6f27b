import assert, { deepStrictEqual as assertEquals, notDeepStrictEqual } from "node:assert/strict";
import { seededRandom } from "../lib/random/mod.ts";
import {
  classWeights,
  classWeightsFromCounts,
  labelCounts,
  oversample,
  undersample,
} from "../lib/data/balance.ts";
import { runOracle } from "./_python.ts";

const assertNotEquals = (a: unknown, b: unknown) => notDeepStrictEqual(a, b);
function assertAlmostEquals(actual: number, expected: number, tol: number, msg?: string) {
  assert(
    Math.abs(actual - expected) <= tol,
    `${msg ?? ""} expected ${expected} +- ${tol}, got ${actual}`,
  );
}
function assertThrows(fn: () => unknown, _cls: ErrorConstructor, includes: string) {
  assert.throws(fn, (e: Error) => e.message.includes(includes));
}

/** The reference ACMC class counts (shared/reference/acmc-dataset.json), in the blog's label order. */
const REF: [string, number][] = [
  ["Kleats", 41],
  ["Midge", 71],
  ["Dilton", 146],
  ["Pop Tate", 85],
  ["Reggie", 550],
  ["Jughead", 962],
  ["Grundy", 157],
  ["Ethel", 67],
  ["Weatherbee", 259],
  ["Harry Clayton", 34],
  ["Smithers", 46],
  ["Svenson", 33],
  ["Moose", 151],
  ["Chuck", 109],
  ["Nancy", 46],
  ["Veronica", 679],
  ["Flutesnoot", 64],
  ["Fred Andrews", 121],
  ["Archie", 1284],
  ["Betty", 699],
  ["Beazley", 39],
  ["Hiram Lodge", 197],
  ["Others", 622],
];
const NAMES = REF.map((r) => r[0]);
const COUNTS = REF.map((r) => r[1]);

/** A file list shaped like ACMC (`counts[c]` files of class c), in a seeded random order. */
function fakeFiles(counts: number[], seed = 1): { filePaths: string[]; labels: number[] } {
  const items: [string, number][] = [];
  counts.forEach((n, c) => {
    for (let i = 0; i < n; i++) items.push([`C${c}/C${c}_${String(i).padStart(4, "0")}.png`, c]);
  });
  const rand = seededRandom(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return { filePaths: items.map((x) => x[0]), labels: items.map((x) => x[1]) };
}

/** A train/validation split of the whole list (validation = the last 20%, as Keras does). */
function split(all: { filePaths: string[]; labels: number[] }) {
  const nVal = Math.floor(0.2 * all.filePaths.length);
  const nTrain = all.filePaths.length - nVal;
  return {
    train: { filePaths: all.filePaths.slice(0, nTrain), labels: all.labels.slice(0, nTrain) },
    valid: { filePaths: all.filePaths.slice(nTrain), labels: all.labels.slice(nTrain) },
  };
}

Deno.test("labelCounts counts each label and checks its input", () => {
  assertEquals(labelCounts([2, 0, 2, 2]), [1, 0, 3]);
  assertEquals(labelCounts([1], 4), [0, 1, 0, 0]);
  assertEquals(labelCounts(fakeFiles(COUNTS).labels, 23), COUNTS);
  assertThrows(() => labelCounts([0, 1.5]), Error, "labels[1]");
  assertThrows(() => labelCounts([0, 3], 3), Error, "out of range");
});

Deno.test("class weights max/n_c match a hand computation on the reference counts", () => {
  const w = classWeights(fakeFiles(COUNTS).labels, { numClasses: 23, method: "max" });
  // The blog: Archie has the most images (1284); Kleats 1284/41 = 31.3, Jughead 1284/962 = 1.3.
  assertEquals(Math.max(...COUNTS), 1284);
  assertAlmostEquals(w[NAMES.indexOf("Kleats")], 31.317073170731707, 1e-12);
  assertAlmostEquals(w[NAMES.indexOf("Jughead")], 1.3347193347193347, 1e-12);
  assertAlmostEquals(w[NAMES.indexOf("Svenson")], 38.90909090909091, 1e-12);
  assertAlmostEquals(w[NAMES.indexOf("Others")], 2.0643086816720255, 1e-12);
  assertEquals(w[NAMES.indexOf("Archie")], 1);
  assertEquals(Object.keys(w).length, 23);
  for (const [c, n] of COUNTS.entries()) assertAlmostEquals(w[c] * n, 1284, 1e-9);
});

Deno.test("class weights 'balanced' match scikit-learn's compute_class_weight", async () => {
  const cases: { y: number[]; k: number }[] = [
    { y: fakeFiles(COUNTS).labels, k: 23 },
    { y: split(fakeFiles(COUNTS, 7)).train.labels, k: 23 },
    { y: [0, 0, 0, 1, 2, 2, 2, 2, 2, 3], k: 4 },
  ];
  const refs = await runOracle<number[][]>(
    "sklearn_class_weight.py",
    cases.map(({ y, k }) => ({
      method: "balanced",
      classes: Array.from({ length: k }, (_, i) => i),
      y,
    })),
  );
  for (const [i, { y, k }] of cases.entries()) {
    const ours = classWeights(y, { numClasses: k, method: "balanced" });
    assertEquals(refs[i].length, k);
    for (let c = 0; c < k; c++) assertAlmostEquals(ours[c], refs[i][c], 1e-12, `class ${c}`);
  }
  // Default method is "balanced"; weighted mean over samples is 1.
  const w = classWeights([0, 0, 0, 1]);
  assertEquals(w, { 0: 4 / 6, 1: 2 });
});

Deno.test("class weights refuse a class with no images and an unknown method", () => {
  assertThrows(() => classWeights([0, 0, 2], { numClasses: 3 }), Error, "class 1 has 0 images");
  assertThrows(
    // @ts-expect-error: a wrong method name from untyped callers
    () => classWeightsFromCounts([1, 2], "inverse"),
    Error,
    'unknown class-weight method "inverse"',
  );
});

Deno.test("undersample to 200 caps big classes, keeps small ones whole, in input order", () => {
  const all = fakeFiles(COUNTS);
  const s = undersample(all.filePaths, all.labels, { maxPerClass: 200, seed: 123 });
  const counts = labelCounts(s.labels, 23);
  assertEquals(counts, COUNTS.map((n) => Math.min(n, 200)));
  assertEquals(s.filePaths.length, COUNTS.reduce((a, n) => a + Math.min(n, 200), 0));
  // No duplicates, labels still match their files, every kept file comes from the input.
  assertEquals(new Set(s.filePaths).size, s.filePaths.length);
  const labelOf = new Map(all.filePaths.map((f, i) => [f, all.labels[i]]));
  s.filePaths.forEach((f, i) => assertEquals(labelOf.get(f), s.labels[i]));
  // Classes under the cap are kept whole.
  const kept = new Set(s.filePaths);
  all.filePaths.forEach((f, i) => {
    if (COUNTS[all.labels[i]] <= 200) assert(kept.has(f), `${f} of a small class was dropped`);
  });
  // Input order is preserved.
  const pos = new Map(all.filePaths.map((f, i) => [f, i]));
  for (let i = 1; i < s.filePaths.length; i++) {
    assert(pos.get(s.filePaths[i - 1])! < pos.get(s.filePaths[i])!);
  }
});

Deno.test("undersample to the minimum gives every class the size of the smallest", () => {
  const all = fakeFiles(COUNTS);
  const s = undersample(all.filePaths, all.labels, { seed: 5 });
  assertEquals(labelCounts(s.labels, 23), COUNTS.map(() => 33)); // Svenson: 33
  assertEquals(new Set(s.filePaths).size, 23 * 33);
  assertThrows(
    () => undersample(all.filePaths, all.labels, { maxPerClass: 0 }),
    Error,
    "maxPerClass",
  );
  assertThrows(() => undersample(["a"], [0, 1]), Error, "same length");
});

Deno.test("oversample to the max keeps every original and balances the labels", () => {
  const all = fakeFiles(COUNTS);
  const s = oversample(all.filePaths, all.labels, { seed: 123 });
  assertEquals(labelCounts(s.labels, 23), COUNTS.map(() => 1284));
  // Every original is there; extra copies come from the same class only.
  const labelOf = new Map(all.filePaths.map((f, i) => [f, all.labels[i]]));
  s.filePaths.forEach((f, i) => assertEquals(labelOf.get(f), s.labels[i], f));
  assertEquals(new Set(s.filePaths).size, all.filePaths.length);
  // With replacement: Kleats' 41 files fill 1284 entries, some drawn more often than others.
  const times = new Map<string, number>();
  for (const f of s.filePaths) if (labelOf.get(f) === 0) times.set(f, (times.get(f) ?? 0) + 1);
  assertEquals(times.size, 41);
  assertEquals([...times.values()].reduce((a, b) => a + b, 0), 1284);
  assertNotEquals(Math.min(...times.values()), Math.max(...times.values()));
  // Mixed order: the first 8 * batch entries (a tf.data shuffle buffer) are not just originals
  // of the big classes; the smallest class shows up about as often as the largest.
  const head = s.labels.slice(0, 2000);
  const share = (c: number) => head.filter((l) => l === c).length / head.length;
  assert(share(0) > 0.02 && share(18) < 0.08, `head shares ${share(0)} / ${share(18)}`);
  assertNotEquals(s.filePaths.slice(0, all.filePaths.length), all.filePaths);
  // A numeric target lifts small classes only.
  const t = oversample(all.filePaths, all.labels, { targetPerClass: 200, seed: 1 });
  assertEquals(labelCounts(t.labels, 23), COUNTS.map((n) => Math.max(n, 200)));
});

Deno.test("samplers are deterministic per seed and differ across seeds", () => {
  const all = fakeFiles(COUNTS);
  for (const f of [undersample, oversample] as const) {
    const a = f(all.filePaths, all.labels, { seed: 42 });
    const b = f(all.filePaths, all.labels, { seed: 42 });
    const c = f(all.filePaths, all.labels, { seed: 43 });
    assertEquals(a, b);
    assertNotEquals(a.filePaths, c.filePaths);
  }
  const a = undersample(all.filePaths, all.labels, { maxPerClass: 200, seed: 9 });
  assertEquals(a, undersample(all.filePaths, all.labels, { maxPerClass: 200, seed: 9 }));
  assertNotEquals(a, undersample(all.filePaths, all.labels, { maxPerClass: 200, seed: 10 }));
});

Deno.test("samplers applied after the split leave validation unchanged and disjoint", () => {
  const { train, valid } = split(fakeFiles(COUNTS, 3));
  const trainCopy = structuredClone(train);
  const validCopy = structuredClone(valid);
  const validSet = new Set(valid.filePaths);
  const outs = [
    undersample(train.filePaths, train.labels, { maxPerClass: 200, numClasses: 23 }),
    undersample(train.filePaths, train.labels, { numClasses: 23 }),
    oversample(train.filePaths, train.labels, { numClasses: 23 }),
  ];
  for (const s of outs) {
    assert(s.filePaths !== train.filePaths && s.labels !== train.labels, "new lists");
    for (const f of s.filePaths) assert(!validSet.has(f), `${f} is a validation file`);
  }
  // Neither the validation lists nor the training inputs were touched.
  assertEquals(valid, validCopy);
  assertEquals(train, trainCopy);
  assertEquals(valid.filePaths.length, Math.floor(0.2 * 6462));
});

Deno.test("with the loader's split: sampling the training subset leaves validation as it was", async () => {
  const { imageDatasetFromDirectory } = await import("../lib/data/dataset.ts");
  const { default: sharp } = await import("sharp");
  const dir = await Deno.makeTempDir({ prefix: "acmc-balance-" });
  try {
    const sizes = { big: 40, mid: 12, small: 6 };
    const png = await sharp({
      create: { width: 4, height: 4, channels: 3, background: { r: 9, g: 9, b: 9 } },
    }).png().toBuffer();
    for (const [name, n] of Object.entries(sizes)) {
      await Deno.mkdir(`${dir}/${name}`);
      for (let i = 0; i < n; i++) await Deno.writeFile(`${dir}/${name}/${name}_${i}.png`, png);
    }
    const opts = {
      validationSplit: 0.2,
      subset: "both" as const,
      seed: 123,
      imageSize: 4,
      verbose: false,
    };
    const [train, valid] = await imageDatasetFromDirectory(dir, opts);
    const validBefore = structuredClone({ f: valid.filePaths, l: valid.labels });
    const k = train.classNames.length;
    const outs = [
      undersample(train.filePaths, train.labels, { maxPerClass: 10, numClasses: k }),
      oversample(train.filePaths, train.labels, { numClasses: k }),
    ];
    const validSet = new Set(valid.filePaths);
    for (const s of outs) assert(s.filePaths.every((f) => !validSet.has(f)), "disjoint");
    assertEquals({ f: valid.filePaths, l: valid.labels }, validBefore);
    // A fresh split with the same seed selects the very same validation files.
    const [, again] = await imageDatasetFromDirectory(dir, opts);
    assertEquals(again.filePaths, validBefore.f);
    assertEquals(valid.filePaths.length, Math.floor(0.2 * 58));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
