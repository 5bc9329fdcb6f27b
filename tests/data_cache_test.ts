/**
 * The disk cache of resized images (lib/data/cache.ts) and the decode
 * workers (lib/data/decode_pool.ts) on the native engine: records survive
 * later runs, a changed, corrupt, torn or half-written record is decoded
 * again (never read as valid), two builders at once agree, and the workers
 * give the main thread's pixels and its errors, naming the file.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { classTree, encode, pixelsOf } from "./data_fixtures.ts";
import {
  checksum,
  DECODE_ADDON,
  DecodePool,
  DiskCache,
  GraphDecoder,
  imageDatasetFromDirectory,
  type LoadOptions,
} from "../lib/data/mod.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
// @ts-types="../lib/data/native_decode.d.ts"
import type { DecodeSpec } from "../lib/data/native_decode.js";

await initEngine({ quiet: true });

function tree(perClass = 5): Promise<string> {
  return classTree({ classes: ["a", "b"], perClass, height: 17, prefix: "acmc-cache-data-" });
}

const base: LoadOptions = { imageSize: [9, 11], batchSize: 4, shuffle: false, verbose: false };

async function setup() {
  const root = await tree();
  const cacheDir = await Deno.makeTempDir({ prefix: "acmc-cache-" });
  const opts = { ...base, cache: "disk" as const, cacheDir };
  // the uncached pixels, rounded: what every cached pass must yield
  const plain = await pixelsOf(await imageDatasetFromDirectory(root, base));
  const want = plain.map((v) => Math.round(v));
  const first = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(first), want);
  assertEquals(first.diskCache!.stats, { hits: 0, misses: 10, writes: 10 });
  const done = async () => {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  };
  return { root, cacheDir, opts, want, path: first.diskCache!.path, done };
}

Deno.test("checksum: CRC-32, the same at any alignment; one changed byte changes it", () => {
  assertEquals(checksum(new TextEncoder().encode("123456789")), 0xcbf43926); // CRC-32's check value
  const b = new Uint8Array(1027).map((_, i) => (i * 31) & 255);
  const shifted = new Uint8Array(1028);
  shifted.set(b, 1);
  assertEquals(checksum(shifted.subarray(1)), checksum(b));
  const c = b.slice();
  c[500] ^= 1;
  assert(checksum(c) !== checksum(b));
});

Deno.test("disk cache: one file, read whole by a later run; a changed file is decoded again", async () => {
  const { root, cacheDir, opts, want, path, done } = await setup();
  assertEquals([...Deno.readDirSync(cacheDir)].map((e) => e.name), [path.split("/").pop()]);
  const tensors = tf.memory().numTensors;
  const again = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(again), want);
  assertEquals(tf.memory().numTensors, tensors, "batches made by TF's Cast are disposed");
  assertEquals(again.diskCache!.stats, { hits: 10, misses: 0, writes: 0 });
  // same size, new mtime: stale
  const f = join(root, "a", "2.png");
  await Deno.utime(f, new Date(), new Date(Date.now() + 5000));
  const touched = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(touched), want);
  assertEquals(touched.diskCache!.stats, { hits: 9, misses: 1, writes: 1 });
  // new content: the new pixels, not the cached ones
  await Deno.writeFile(f, await encode("rgb", 30, 12, 99));
  const changed = await imageDatasetFromDirectory(root, opts);
  const px = await pixelsOf(changed);
  assertEquals(changed.diskCache!.stats, { hits: 9, misses: 1, writes: 1 });
  const fresh = await pixelsOf(await imageDatasetFromDirectory(root, base));
  assertEquals(px, fresh.map((v) => Math.round(v)));
  await done();
});

Deno.test("disk cache: a corrupt record or header is never read as valid", async () => {
  const { root, opts, want, path, done } = await setup();
  const bytes = await Deno.readFile(path);
  // flip the last byte of the last record
  bytes[bytes.length - 1] ^= 0x55;
  await Deno.writeFile(path, bytes);
  const ds = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(ds), want);
  assertEquals(ds.diskCache!.stats, { hits: 9, misses: 1, writes: 1 });
  const healed = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(healed), want);
  assertEquals(healed.diskCache!.stats.hits, 10);
  // a damaged header: the whole file is replaced
  const b2 = await Deno.readFile(path);
  b2[3] ^= 0xff;
  await Deno.writeFile(path, b2);
  const rebuilt = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(rebuilt), want);
  assertEquals(rebuilt.diskCache!.stats, { hits: 0, misses: 10, writes: 10 });
  await done();
});

Deno.test("disk cache: a crash mid-write (torn file, unfinished record, stray temp file) reads as misses", async () => {
  const { root, cacheDir, opts, want, path, done } = await setup();
  const size = (await Deno.stat(path)).size;
  // the file cut in the middle of the records (a crash while the OS wrote it)
  await Deno.truncate(path, size - 9 * 11 * 3 * 3 - 50);
  await Deno.writeFile(`${path}.dead.tmp`, new Uint8Array(100).fill(7)); // a creation that died
  const torn = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(torn), want);
  assertEquals(torn.diskCache!.stats, { hits: 6, misses: 4, writes: 4 });
  // a record whose bytes were written but not its entry: invalid, as write() leaves it
  const cache = new DiskCache(cacheDir, "test", ["/nonexistent/x.png"], 4);
  assertEquals(cache.has(0), false);
  cache.close();
  // a file shorter than its header (creation cut short under the final name)
  await Deno.truncate(path, 100);
  const short = await imageDatasetFromDirectory(root, opts);
  assertEquals(await pixelsOf(short), want);
  assertEquals(short.diskCache!.stats.writes, 10);
  await done();
});

Deno.test("disk cache: two builders at once write the same records; a third run reads them all", async () => {
  const root = await tree();
  const cacheDir = await Deno.makeTempDir({ prefix: "acmc-cache-" });
  const opts = { ...base, cache: "disk" as const, cacheDir };
  const want = (await pixelsOf(await imageDatasetFromDirectory(root, base))).map(Math.round);
  const [a, b] = await Promise.all([
    imageDatasetFromDirectory(root, opts).then(pixelsOf),
    imageDatasetFromDirectory(root, opts).then(pixelsOf),
  ]);
  assertEquals(a, want);
  assertEquals(b, want);
  const third = await imageDatasetFromDirectory(root, { ...opts, shuffle: true, seed: 4 });
  await pixelsOf(third);
  assertEquals(third.diskCache!.stats, { hits: 10, misses: 0, writes: 0 });
  assertEquals([...Deno.readDirSync(cacheDir)].length, 1, "no temporary file left");
  await Deno.remove(root, { recursive: true });
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("graph runs and decode workers: same pixels as the main thread; bad files named, skipped, validated", async () => {
  const root = await tree(6);
  await Deno.writeFile(join(root, "a", "bad.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]));
  const tensors = tf.memory().numTensors;
  const pixels: number[][] = [];
  // main thread, TensorFlow graph runs on 1 and 3 threads, 2 decode workers
  for (const [workers, graph] of [[0, true], [1, true], [3, true], [2, false]] as const) {
    if (!graph) Deno.env.set("ACMC_DECODE_GRAPH", "0");
    const ds = await imageDatasetFromDirectory(root, {
      ...base,
      workers,
      onBadFile: "skip",
    });
    Deno.env.delete("ACMC_DECODE_GRAPH");
    pixels.push(await pixelsOf(ds));
    assertEquals(ds.skippedFiles.map((s) => s.path), [join(root, "a", "bad.png")]);
    assert(/Cannot decode image ".*bad\.png"/.test(ds.skippedFiles[0].error));
  }
  assertEquals(pixels[1], pixels[0]);
  assertEquals(pixels[2], pixels[0]);
  assertEquals(pixels[3], pixels[0]);
  assert(pixels[0].some((v) => !Number.isInteger(v)), "float32 bilinear values, not rounded");
  let err: Error | null = null;
  try {
    await pixelsOf(await imageDatasetFromDirectory(root, { ...base, workers: 2 }));
  } catch (e) {
    err = e as Error;
  }
  assert(err && /Cannot decode image ".*bad\.png"/.test(err.message), String(err));
  const checked = await imageDatasetFromDirectory(root, {
    ...base,
    workers: 2,
    validate: true,
    onBadFile: "skip",
  });
  assertEquals(checked.filePaths.length, 12);
  assertEquals(checked.skippedFiles.length, 1);
  assertEquals(tf.memory().numTensors, tensors, "no tensor left behind");
  await Deno.remove(root, { recursive: true });
});

Deno.test("decode workers (the fallback without TensorFlow's C API) load the addon: the graph's pixels; a bad addon is not ready", async () => {
  const root = await tree(3);
  const file = join(root, "a", "1.png");
  const spec: DecodeSpec = {
    channels: 3,
    size: [9, 11],
    interpolation: "bilinear",
    limitInputPixels: 1e8,
  };
  const dec = GraphDecoder.shared({ channels: 3, interpolation: "bilinear", round: false }, 1)!;
  const want = new Float32Array(9 * 11 * 3);
  assert(dec.decodeSync(Deno.readFileSync(file), spec, file, want));
  for (const [addon, ok] of [[DECODE_ADDON, true], ["/nonexistent/tfjs_binding.node", false]]) {
    const pool = new DecodePool(1, addon as string);
    try {
      // a pending decode keeps the (otherwise unref'd) worker alive
      const px = pool.decode(file, spec, false);
      assertEquals(await pool.ready(), ok);
      if (ok) assertEquals([...((await px) as Float32Array)], [...want]);
      else assertEquals(await px, null, "left to the main thread to decode");
    } finally {
      pool.close();
    }
  }
  await Deno.remove(root, { recursive: true });
});
