import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import {
  ensureDataset,
  fileName,
  generateStandIn,
  MARKER,
  readManifest,
  RECIPES,
  renderImage,
  sampleSize,
  scaledCounts,
  SIZE_LIMITS,
} from "../lib/synth/mod.ts";
import { Rng } from "../lib/random/mod.ts";
import { ACMC_CLASSES, ACMC_COUNTS, ACMC_TOTAL } from "../lib/reference/mod.ts";
import { silentProgress } from "../lib/io/mod.ts";

const ACMC_NAMES = [
  "Archie",
  "Beazley",
  "Betty",
  "Chuck",
  "Dilton",
  "Ethel",
  "Flutesnoot",
  "Fred Andrews",
  "Grundy",
  "Harry Clayton",
  "Hiram Lodge",
  "Jughead",
  "Kleats",
  "Midge",
  "Moose",
  "Nancy",
  "Others",
  "Pop Tate",
  "Reggie",
  "Smithers",
  "Svenson",
  "Veronica",
  "Weatherbee",
];

async function digest(path: string): Promise<string> {
  const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function folderDigests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of ACMC_CLASSES) {
    for await (const e of Deno.readDir(join(dir, c))) {
      out[`${c}/${e.name}`] = await digest(join(dir, c, e.name));
    }
  }
  return out;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "synth_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// A tiny stand-in: 2 images per class (46), fast enough for unit tests.
const TINY = { scale: 0.001, minPerClass: 2, progress: silentProgress };

Deno.test("ACMC shape: 23 class names (with spaces), 6462 images, the reference counts", async () => {
  assertEquals([...ACMC_CLASSES].sort(), ACMC_NAMES);
  assertEquals(ACMC_TOTAL, 6462);
  const ref = JSON.parse(
    await Deno.readTextFile("/work/shared/reference/acmc-dataset.json").catch(() => "null"),
  );
  if (ref) {
    assertEquals({ ...ACMC_COUNTS }, ref.counts);
    assertEquals([...ACMC_CLASSES], ref.label_order_in_blog_notebooks);
  }
  // Every named class has its own recipe; "Others" is a random mixture.
  assertEquals(Object.keys(RECIPES).sort(), ACMC_NAMES.filter((c) => c !== "Others"));
});

Deno.test("scaledCounts: scale 1 is ACMC, smaller scales proportional with a floor", () => {
  assertEquals(scaledCounts(1), { ...ACMC_COUNTS });
  const tenth = scaledCounts(0.1);
  assertEquals(tenth["Archie"], 128);
  assertEquals(tenth["Reggie"], 55);
  assertEquals(tenth["Svenson"], 6); // 3.3 -> floor of 6
  const tiny = scaledCounts(0.001);
  assert(Object.values(tiny).every((n) => n === 6));
  assertEquals(scaledCounts(0.001, 2)["Archie"], 2);
  assert.throws(() => scaledCounts(0), /scale must be a positive number/);
  assert.throws(() => scaledCounts(1, 0), /minPerClass/);
});

Deno.test("sampleSize: sizes spread like ACMC (ranges, non-square, a few tiny)", () => {
  const rng = new Rng(123, "sizes");
  const sizes = Array.from({ length: 20000 }, () => sampleSize(rng));
  const ws = sizes.map((s) => s.width), hs = sizes.map((s) => s.height);
  assert(Math.min(...ws) >= SIZE_LIMITS.minWidth && Math.max(...ws) <= SIZE_LIMITS.maxWidth);
  assert(Math.min(...hs) >= SIZE_LIMITS.minHeight && Math.max(...hs) <= SIZE_LIMITS.maxHeight);
  assert(Math.min(...ws) < 30, "some very narrow images");
  assert(Math.max(...ws) > 1300 && Math.max(...hs) > 1500, "some very large images");
  const square = sizes.filter((s) => s.width === s.height).length / sizes.length;
  assert(square < 0.02, `square fraction ${square}`);
  const tiny = ws.filter((w) => w <= 64).length / ws.length;
  assert(tiny > 0.005 && tiny < 0.05, `tiny fraction ${tiny}`);
  const tall = sizes.filter((s) => s.height > s.width).length / sizes.length;
  assert(tall > 0.55 && tall < 0.9, `taller-than-wide fraction ${tall}`);
  const sorted = [...hs].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  assert(median > 350 && median < 450, `median height ${median}`);
});

Deno.test("renderImage: PNG of the drawn size, RGB, same bytes for the same seed", async () => {
  const a = await renderImage("Betty", 3, 99);
  const b = await renderImage("Betty", 3, 99);
  const c = await renderImage("Betty", 3, 100);
  assertEquals(a.png, b.png);
  assert(a.png.length !== c.png.length || a.png.some((v, i) => v !== c.png[i]));
  const meta = await sharp(a.png).metadata();
  assertEquals([meta.format, meta.width, meta.height, meta.channels], [
    "png",
    a.width,
    a.height,
    3,
  ]);
  // Not a flat picture: a drawing with noise has many distinct values.
  const stats = await sharp(a.png).stats();
  assert(stats.channels.every((ch) => ch.stdev > 5), "the image has content");
});

Deno.test("generateStandIn: folders, names, counts, marker; deterministic; idempotent", async () => {
  await withTempDir(async (root) => {
    const d1 = join(root, "one"), d2 = join(root, "two"), d3 = join(root, "three");
    const r1 = await generateStandIn({ ...TINY, outDir: d1, seed: 5 });
    assertEquals(r1.skipped, false);
    assertEquals(r1.manifest.total, 46);
    const entries = [];
    for await (const e of Deno.readDir(d1)) entries.push(e.name);
    assertEquals(entries.sort(), [...ACMC_NAMES, MARKER].sort());
    for (const c of ACMC_CLASSES) {
      const files = [];
      for await (const e of Deno.readDir(join(d1, c))) files.push(e.name);
      assertEquals(files.sort(), [fileName(c, 0), fileName(c, 1)]);
    }
    assertEquals(fileName("Pop Tate", 0), "Pop Tate_001.png");
    assertEquals(fileName("Archie", 1283), "Archie_1284.png");
    const m = await readManifest(d1);
    assertEquals(
      [m?.synthetic, m?.complete, m?.seed, m?.scale, m?.total],
      [true, true, 5, 0.001, 46],
    );
    for (const c of ["Archie", "Harry Clayton"]) {
      const meta = await sharp(join(d1, c, fileName(c, 0))).metadata();
      assert(
        meta.width! >= 22 && meta.width! <= 1770 && meta.height! >= 50 && meta.height! <= 1700,
      );
    }

    // Same seed elsewhere: identical bytes. Another seed: different images.
    await generateStandIn({ ...TINY, outDir: d2, seed: 5 });
    const h1 = await folderDigests(d1);
    assertEquals(await folderDigests(d2), h1);
    await generateStandIn({ ...TINY, outDir: d3, seed: 6 });
    const h3 = await folderDigests(d3);
    assert(Object.keys(h1).every((k) => h1[k] !== h3[k]));

    // Second run with the same parameters: skipped, files untouched.
    const before = (await Deno.stat(join(d1, "Archie", "Archie_001.png"))).mtime;
    const again = await generateStandIn({ ...TINY, outDir: d1, seed: 5 });
    assertEquals(again.skipped, true);
    assertEquals((await Deno.stat(join(d1, "Archie", "Archie_001.png"))).mtime, before);
    // A missing file, or other parameters: regenerated.
    await Deno.remove(join(d1, "Betty", "Betty_002.png"));
    assertEquals((await generateStandIn({ ...TINY, outDir: d1, seed: 5 })).skipped, false);
    assertEquals(await folderDigests(d1), h1);
    const other = await generateStandIn({ ...TINY, outDir: d1, seed: 6 });
    assertEquals(other.skipped, false);
    assertEquals(await folderDigests(d1), h3);
  });
});

Deno.test("generateStandIn refuses a non-empty folder that is not a stand-in; bad options", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "Archie"));
    await Deno.writeTextFile(join(dir, "Archie", "real.png"), "x");
    await assert.rejects(
      generateStandIn({ ...TINY, outDir: dir }),
      (e: Error) => e.message.includes(dir) && e.message.includes("refusing"),
    );
    await assert.rejects(generateStandIn({ ...TINY, outDir: dir, seed: 1.5 }), /seed/);
    await assert.rejects(generateStandIn({ ...TINY, outDir: dir, concurrency: 0 }), /concurrency/);
  });
});

Deno.test("ensureDataset: keeps a complete stand-in, names a missing dataset folder", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "nope");
    await assert.rejects(
      ensureDataset({ choice: { dir: missing, kind: "real", source: "ACMC_DATA" } }),
      (e: Error) => e.message.includes(missing) && e.message.includes("ACMC_DATA"),
    );
    const sdir = join(dir, "synth");
    const choice = { dir: sdir, kind: "synthetic" as const, source: "embedded default" as const };
    const made = await ensureDataset({ choice, ...TINY, seed: 3 });
    assertEquals(made.generated, true);
    assertEquals((await readManifest(sdir))?.total, 46);
    assertEquals((await ensureDataset({ choice })).generated, false);
    // An explicit folder (a notebook parameter): used as is, its kind read from the marker.
    assertEquals(await ensureDataset({ dir: sdir }), {
      dir: sdir,
      kind: "synthetic",
      source: "parameter",
      generated: false,
    });
    await assert.rejects(
      ensureDataset({ dir: missing }),
      (e: Error) => e.message.includes(missing),
    );
  });
});
