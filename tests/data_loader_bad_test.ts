/**
 * The loader on bad input (corrupt, empty, non-image and oversized files,
 * empty folders and subsets), its caches, per-epoch shuffling, the `map` hook
 * and bounded prefetching. The dataset folder is never written to.
 */
import assert, { deepStrictEqual as assertEquals, notDeepStrictEqual } from "node:assert/strict";
import { join } from "node:path";
import { classTree, encode, pixelsOf, snapshot } from "./data_fixtures.ts";
import {
  datasetFromFiles,
  decodeImage,
  type DecodePool,
  type GraphDecoder,
  ImageDataset,
  imageDatasetFromDirectory,
  ImageDecodeError,
} from "../lib/data/mod.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";

async function rejects(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

/** A small tree: two classes of good PNGs, plus optional extra files. */
function tree(extra: Record<string, Uint8Array> = {}, perClass = 6): Promise<string> {
  return classTree({
    classes: ["cat", "dog"],
    perClass,
    height: 16,
    prefix: "acmc-loader-bad-",
    extra,
  });
}

const quiet = { verbose: false, imageSize: [8, 8] as [number, number] };

async function drain(ds: ImageDataset): Promise<number> {
  let n = 0;
  for await (const { x, y } of ds) {
    n += x.shape[0];
    x.dispose();
    y?.dispose();
  }
  return n;
}

Deno.test("bad files: clear errors naming the file, at first read or when validating", async () => {
  const good = await encode("rgb", 30, 30, 9);
  const bad: Record<string, Uint8Array> = {
    "cat/truncated.png": good.slice(0, good.length - 30),
    "cat/empty.png": new Uint8Array(0),
    "dog/text.jpg": new TextEncoder().encode("this is not an image"),
  };
  for (const [rel, bytes] of Object.entries(bad)) {
    const root = await tree({ [rel]: bytes });
    try {
      const before = await snapshot(root);
      const ds = await imageDatasetFromDirectory(root, { ...quiet, shuffle: false, batchSize: 2 });
      const e = await rejects(() => drain(ds));
      assert(e.message.includes(join(root, rel)), e.message);
      const v = await rejects(() =>
        imageDatasetFromDirectory(root, { ...quiet, seed: 1, validate: true })
      );
      assert(v.message.includes(join(root, rel)), v.message);
      if (rel.includes("empty")) assert(/empty file/.test(v.message), v.message);
      if (!rel.includes("truncated")) { // a truncated body has a sound header
        const h = await rejects(() =>
          imageDatasetFromDirectory(root, { ...quiet, seed: 1, validate: "header" })
        );
        assert(h.message.includes(join(root, rel)), h.message);
      }
      // skip: the bad file is dropped and reported, the rest load
      const skip = await imageDatasetFromDirectory(root, {
        ...quiet,
        seed: 1,
        validate: true,
        onBadFile: "skip",
      });
      assertEquals(skip.skippedFiles.map((s) => s.path), [join(root, rel)]);
      assertEquals(skip.filePaths.length, 12);
      assertEquals(await drain(skip), 12);
      const lazy = await imageDatasetFromDirectory(root, { ...quiet, seed: 1, onBadFile: "skip" });
      assertEquals(await drain(lazy), 12);
      assertEquals(lazy.skippedFiles.length, 1);
      assertEquals(await snapshot(root), before);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
});

Deno.test("decompression bomb: over limitInputPixels is refused by name", async () => {
  const root = await tree({ "dog/huge.png": await encode("rgb", 400, 300, 3) });
  try {
    const e = await rejects(() =>
      imageDatasetFromDirectory(root, {
        ...quiet,
        seed: 1,
        validate: "header",
        limitInputPixels: 100_000,
      })
    );
    assert(e.message.includes("huge.png") && /pixel limit/.test(e.message), e.message);
    const ds = await imageDatasetFromDirectory(root, {
      ...quiet,
      shuffle: false,
      limitInputPixels: 100_000,
    });
    const e2 = await rejects(() => drain(ds));
    assert(e2.message.includes("huge.png") && /pixel limit/i.test(e2.message), e2.message);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("empty or missing folders, empty classes and empty subsets", async () => {
  const empty = await Deno.makeTempDir();
  let root = "";
  try {
    assert(
      /No images found/.test(
        (await rejects(() => imageDatasetFromDirectory(empty, quiet))).message,
      ),
    );
    await Deno.mkdir(join(empty, "a"));
    await Deno.writeTextFile(join(empty, "a", "notes.txt"), "x");
    assert(
      /No images found/.test(
        (await rejects(() => imageDatasetFromDirectory(empty, quiet))).message,
      ),
    );
    const missing = join(empty, "nope");
    const m = await rejects(() => imageDatasetFromDirectory(missing, quiet));
    assert(m.message.includes(missing), m.message);
    root = await tree();
    await Deno.mkdir(join(root, "emu"));
    const c = await rejects(() => imageDatasetFromDirectory(root, { ...quiet, seed: 1 }));
    assert(/without images/.test(c.message) && c.message.includes("emu"), c.message);
    const ok = await imageDatasetFromDirectory(root, {
      ...quiet,
      seed: 1,
      allowEmptyClasses: true,
    });
    assertEquals(ok.classNames, ["cat", "dog", "emu"]);
    const v = await rejects(() =>
      imageDatasetFromDirectory(root, {
        ...quiet,
        seed: 1,
        validationSplit: 0.05,
        subset: "both",
        allowEmptyClasses: true,
      })
    );
    assert(/empty validation subset/.test(v.message), v.message);
  } finally {
    if (root) await Deno.remove(root, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("disk and memory caches: later epochs read the cache, outside the dataset folder", async () => {
  const root = await tree();
  const cacheDir = await Deno.makeTempDir({ prefix: "acmc-cache-" });
  try {
    const before = await snapshot(root);
    const opts = { ...quiet, shuffle: false, batchSize: 4, cache: "disk" as const, cacheDir };
    const ds = await imageDatasetFromDirectory(root, opts);
    const epochs: number[][] = [];
    for (let e = 0; e < 2; e++) epochs.push(await pixelsOf(ds));
    assertEquals(ds.diskCache!.stats, { hits: 12, misses: 12, writes: 12 });
    assertEquals(epochs[0], epochs[1]);
    assert(epochs[0].every((v) => Number.isInteger(v)), "cached values are rounded uint8");
    // a new dataset (a later run) hits the cache from its first epoch
    const again = await imageDatasetFromDirectory(root, opts);
    await drain(again);
    assertEquals(again.diskCache!.stats.hits, 12);
    // a changed file is a miss (key: path, mtime, size)
    await Deno.writeFile(join(root, "cat", "0.png"), await encode("rgb", 25, 25, 77));
    const changed = await imageDatasetFromDirectory(root, opts);
    await drain(changed);
    assertEquals(changed.diskCache!.stats.hits, 11);
    // the cache may not live inside the dataset folder
    const inside = await rejects(() =>
      imageDatasetFromDirectory(root, { ...opts, cacheDir: join(root, "cache") })
    );
    assert(/never written/.test(inside.message), inside.message);
    await Deno.writeFile(join(root, "cat", "0.png"), await encode("rgb", 20, 16, 1));
    // memory cache: same values on every pass
    const mem = await imageDatasetFromDirectory(root, { ...opts, cache: "memory" });
    const a = await pixelsOf(mem);
    const b = await pixelsOf(mem);
    assertEquals(a, b);
    const now = await snapshot(root);
    assertEquals(now.split("\n").length, before.split("\n").length);
    assert(!now.includes("cache"), "nothing written in the dataset folder");
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("per-epoch shuffling: seeded, a new order each pass; validation of 'both' unshuffled", async () => {
  const root = await tree({}, 20);
  try {
    const opts = { ...quiet, seed: 3, validationSplit: 0.25, batchSize: 2 };
    const [train, val] = await imageDatasetFromDirectory(root, { ...opts, subset: "both" });
    const o0 = train.order(0);
    const o1 = train.order(1);
    assertEquals([...o0].sort((p, q) => p - q), Array.from({ length: 30 }, (_, i) => i));
    notDeepStrictEqual(o0, o1);
    const [again] = await imageDatasetFromDirectory(root, { ...opts, subset: "both" });
    assertEquals(again.order(0), o0);
    assertEquals(val.order(0), Array.from({ length: 10 }, (_, i) => i));
    assertEquals(val.order(5), val.order(0));
    // a single validation subset is shuffled per epoch, as in Keras
    const v1 = await imageDatasetFromDirectory(root, { ...opts, subset: "validation" });
    assertEquals(v1.filePaths, val.filePaths);
    notDeepStrictEqual(v1.order(0), v1.order(1));
    // iteration follows order(epoch) and counts epochs
    const labels: number[][] = [];
    for (let e = 0; e < 2; e++) {
      const seen: number[] = [];
      for await (const { x, y } of train) {
        seen.push(...(y!.dataSync() as Int32Array));
        x.dispose();
        y!.dispose();
      }
      labels.push(seen);
    }
    assertEquals(train.epoch, 2);
    assertEquals(labels[0], o0.map((i) => train.labels[i]));
    assertEquals(labels[1], o1.map((i) => train.labels[i]));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("map hook gets epoch and step; replaced tensors are disposed", async () => {
  const root = await tree();
  try {
    const calls: string[] = [];
    const ds = await imageDatasetFromDirectory(root, {
      ...quiet,
      seed: 1,
      batchSize: 5,
      map: (batch, ctx) => {
        calls.push(`${ctx.epoch}:${ctx.step}`);
        return { x: tf.tidy(() => tf.sub(255, batch.x)) as typeof batch.x, y: batch.y };
      },
    });
    const before = tf.memory().numTensors;
    for (let e = 0; e < 2; e++) {
      for await (const { x, y } of ds) {
        assert(tf.tidy(() => x.min().dataSync()[0]) >= 0);
        x.dispose();
        y?.dispose();
      }
    }
    assertEquals(calls, ["0:0", "0:1", "0:2", "1:0", "1:1", "1:2"]);
    assertEquals(tf.memory().numTensors, before);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prefetch runs ahead of the consumer with bounded concurrency", async () => {
  const root = await tree({}, 10);
  try {
    const files: string[] = [];
    for (const c of ["cat", "dog"]) {
      for (let i = 0; i < 10; i++) files.push(join(root, c, `${i}.png`));
    }
    let active = 0;
    let peak = 0;
    let loaded = 0;
    class Counting extends ImageDataset {
      override async decodeFile(
        path: string,
        pool?: DecodePool | GraphDecoder,
        workers?: number,
        into?: Float32Array | Uint8Array,
      ): Promise<Float32Array | Uint8Array> {
        active++;
        peak = Math.max(peak, active);
        try {
          return await super.decodeFile(path, pool, workers, into);
        } finally {
          active--;
          loaded++;
        }
      }
    }
    const base = datasetFromFiles(files, null, [], { batchSize: 2, imageSize: 8 });
    const ds = new Counting(base.filePaths, null, [], {
      batchSize: 2,
      imageSize: 8,
      concurrency: 3,
      prefetch: 3,
      seed: 1,
    });
    const it = ds[Symbol.asyncIterator]();
    const first = await it.next();
    (first.value as { x: { dispose(): void } }).x.dispose();
    await new Promise((r) => setTimeout(r, 300)); // the consumer "trains"
    assert(loaded >= 6, `only ${loaded} images ready while the consumer was busy`);
    assert(loaded <= 2 + 6 + 3, `prefetch not bounded: ${loaded}`);
    assert(peak <= 3, `peak concurrency ${peak}`);
    await it.return?.(undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("JPEGs on the native engine (TF's kernel): truncated or oversized ones are refused by name", async () => {
  await initEngine();
  assertEquals(tf.getBackend(), "tensorflow");
  const tensors = tf.memory().numTensors;
  const good = await encode("jpeg", 64, 48, 5);
  const img = await decodeImage(good, { file: "ok.jpg" });
  assertEquals([img.width, img.height, img.channels], [64, 48, 3]);
  const cut = await rejects(() =>
    decodeImage(good.slice(0, good.length >> 1), { file: "cut.jpg" })
  );
  assert(cut instanceof ImageDecodeError && cut.message.includes('"cut.jpg"'), cut.message);
  const big = await rejects(() => decodeImage(good, { file: "big.jpg", limitInputPixels: 1000 }));
  assert(/big\.jpg.*64x48 exceeds the pixel limit 1000/.test(big.message), big.message);
  assertEquals(tf.memory().numTensors, tensors, "no tensor left behind");
});
