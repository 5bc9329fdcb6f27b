import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import {
  classFolders,
  countImagesByClass,
  dictSizesStats,
  imageSizes,
  listImages,
  sampleImages,
  sizeStats,
  summarize,
} from "../lib/data/scan.ts";

/** Writes a w x h image (PNG, or JPEG when the name says so). */
async function img(path: string, w: number, h: number): Promise<void> {
  const s = sharp({ create: { width: w, height: h, channels: 3, background: "#3366aa" } });
  await (path.toLowerCase().endsWith(".jpg") ? s.jpeg() : s.png()).toFile(path);
}

/**
 * A small dataset: "Pop Tate" (a space, 3 images, one in a nested folder,
 * an upper-case extension), "Archie" (2 images, a .txt that is not an image),
 * a hidden folder and a loose file at the top that are ignored.
 */
async function fixture(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "scan_test_" });
  await Deno.mkdir(join(dir, "Pop Tate", "nested"), { recursive: true });
  await Deno.mkdir(join(dir, "Archie"));
  await Deno.mkdir(join(dir, ".hidden"));
  await img(join(dir, "Pop Tate", "Pop Tate_001.png"), 30, 60);
  await img(join(dir, "Pop Tate", "Pop Tate_002.PNG"), 50, 40);
  await img(join(dir, "Pop Tate", "nested", "deep.jpg"), 22, 100);
  await img(join(dir, "Archie", "Archie_001.png"), 10, 20);
  await img(join(dir, "Archie", "Archie_002.png"), 50, 80);
  await Deno.writeTextFile(join(dir, "Archie", "notes.txt"), "not an image");
  await img(join(dir, ".hidden", "x.png"), 5, 5);
  await img(join(dir, "loose.png"), 5, 5);
  return dir;
}

async function withFixture(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fixture();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("classFolders, listImages, countImagesByClass: recursive, sorted, images only", async () => {
  await withFixture(async (dir) => {
    assertEquals(await classFolders(dir), ["Archie", "Pop Tate"]);
    const files = await listImages(dir);
    assertEquals(files.map((f) => f.path.slice(dir.length + 1)), [
      "Archie/Archie_001.png",
      "Archie/Archie_002.png",
      "Pop Tate/Pop Tate_001.png",
      "Pop Tate/Pop Tate_002.PNG",
      "Pop Tate/nested/deep.jpg",
    ]);
    assertEquals(files.map((f) => f.className), [
      "Archie",
      "Archie",
      "Pop Tate",
      "Pop Tate",
      "Pop Tate",
    ]);
    assertEquals(await countImagesByClass(dir), { "Archie": 2, "Pop Tate": 3 });
    assertEquals(await countImagesByClass(dir, { formats: [".png"] }), {
      "Archie": 2,
      "Pop Tate": 2,
    });
  });
});

Deno.test("imageSizes: width and height of every image from its header, in walk order", async () => {
  await withFixture(async (dir) => {
    const sizes = await imageSizes(dir, { concurrency: 2 });
    assertEquals(sizes.map((s) => [s.className, s.width, s.height]), [
      ["Archie", 10, 20],
      ["Archie", 50, 80],
      ["Pop Tate", 30, 60],
      ["Pop Tate", 50, 40],
      ["Pop Tate", 22, 100],
    ]);
    await assert.rejects(imageSizes(dir, { concurrency: 0 }), /concurrency/);
  });
});

Deno.test("sizeStats: min/median/mean/max over all images (hand-computed)", () => {
  const sizes = [
    { width: 10, height: 20 },
    { width: 50, height: 80 },
    { width: 30, height: 60 },
    { width: 50, height: 40 },
    { width: 22, height: 100 },
  ];
  assertEquals(sizeStats(sizes), {
    count: 5,
    width: { min: 10, median: 30, mean: 32.4, max: 50 },
    height: { min: 20, median: 60, mean: 60, max: 100 },
    square: 0,
    distinctWidths: 4,
  });
  // Even count: median is the mean of the two middle values (numpy).
  assertEquals(summarize([4, 1, 3, 2]), { min: 1, median: 2.5, mean: 2.5, max: 4 });
  assert.throws(() => sizeStats([]), /no image sizes/);
});

Deno.test("dictSizesStats reproduces the study's dict(sizes) flaw: one height per width", () => {
  const sizes = [
    { width: 10, height: 100 },
    { width: 10, height: 300 }, // same width: dict keeps this later one only
    { width: 20, height: 50 },
    { width: 10, height: 200 }, // ...and then this one
  ];
  // dict(sizes) == {10: 200, 20: 50}: 2 of 4 images, median/mean of [200, 50].
  assertEquals(dictSizesStats(sizes), { keptImages: 2, median: 125, mean: 125 });
  // The real statistics over all 4 heights differ.
  assertEquals(sizeStats(sizes).height.median, 150);
});

Deno.test("sampleImages: seeded, without replacement, with sizes", async () => {
  await withFixture(async (dir) => {
    const a = await sampleImages(dir, 3, 42);
    const b = await sampleImages(dir, 3, 42);
    assertEquals(a, b);
    assertEquals(new Set(a.map((s) => s.path)).size, 3);
    const all = await imageSizes(dir);
    for (const s of a) assert(all.some((x) => x.path === s.path && x.width === s.width));
    const everything = await sampleImages(dir, 10, 1);
    assertEquals(everything.map((s) => s.path).sort(), all.map((s) => s.path).sort());
    const seeds = new Set<string>();
    for (let seed = 0; seed < 8; seed++) {
      seeds.add((await sampleImages(dir, 2, seed)).map((s) => s.path).join());
    }
    assert(seeds.size > 2, "different seeds pick different samples");
    assertEquals(await sampleImages(dir, 0, 1), []);
    await assert.rejects(sampleImages(dir, -1, 1), /non-negative integer/);
  });
});

Deno.test("errors name the path: missing folder, not a folder, no classes, empty class, bad file", async () => {
  await withFixture(async (dir) => {
    const missing = join(dir, "missing");
    await assert.rejects(
      countImagesByClass(missing),
      (e: Error) => e.message === `dataset folder not found: ${missing}`,
    );
    const file = join(dir, "loose.png");
    await assert.rejects(listImages(file), (e: Error) => e.message.includes(file));
    const bare = join(dir, "Archie");
    await assert.rejects(classFolders(bare), /no class folders/);

    await Deno.mkdir(join(dir, "Betty"));
    await assert.rejects(
      countImagesByClass(dir),
      (e: Error) =>
        e.message.includes("class folder has no images") &&
        e.message.includes(join(dir, "Betty")),
    );
    assertEquals(await countImagesByClass(dir, { allowEmptyClasses: true }), {
      "Archie": 2,
      "Betty": 0,
      "Pop Tate": 3,
    });
    await Deno.remove(join(dir, "Betty"));

    const broken = join(dir, "Archie", "Archie_003.png");
    await Deno.writeTextFile(broken, "this is not a PNG");
    await assert.rejects(
      imageSizes(dir),
      (e: Error) => e.message.startsWith(`cannot read the image header of ${broken}`),
    );
  });
});
