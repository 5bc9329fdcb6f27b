/**
 * Loader benchmark: images/s of decode + resize to `size` x `size` for this
 * loader and for Keras' tf.data pipeline (`image_dataset_from_directory`
 * iterated fully, in the venv) on the same files, in one run. Prints
 * `loader_img_per_s_ratio_vs_keras: X` (target >= 2.0) and peak RSS of both.
 *
 * Without a dataset it generates a few hundred PNGs of ACMC-like sizes
 * (50-1700 px, flat-coloured "comic" panels) in a temporary folder.
 *
 * Standalone: `deno run -A tools/bench/loader.ts [--dir DIR] [--count 240]
 * [--size 256] [--concurrency 4]`; `deno task bench --only loader` calls
 * {@linkcode benchLoader}.
 *
 * @module
 */
import { join } from "node:path";
import { parseCommandLine } from "../cli.ts";
import sharp from "sharp";
import { ROOT } from "../../lib/config/mod.ts";
import { imageDatasetFromDirectory } from "../../lib/data/mod.ts";
import { initEngine } from "../../lib/engine/mod.ts";
import { seededRandom } from "../../lib/random/mod.ts";
import { kerasEnv } from "./train.ts";
import zlib from "node:zlib";

/** Options of {@linkcode benchLoader}. */
export interface BenchLoaderOptions {
  /** Dataset folder (class subfolders); default a generated one (`ACMC_BENCH_DIR` if set). */
  dir?: string;
  /** Images to generate when no `dir` is given (default 240). */
  count?: number;
  /** Target side in pixels (default 256). */
  size?: number;
  /** Batch size of both pipelines (default 32). */
  batchSize?: number;
  /** Decodes in flight for our loader (default: the loader's default). */
  concurrency?: number;
  /** Alternating runs of each side; the best of each counts (default 2). */
  repeats?: number;
  /** Resize Web Workers for our loader (default: the loader's default, 0). */
  workers?: number;
}

/** Writes `count` PNGs of ACMC-like sizes into 4 class folders of a new temp dir. */
export async function generateBenchImages(count: number, seed = 1): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "acmc-bench-loader-" });
  const r = seededRandom(seed);
  for (let c = 0; c < 4; c++) await Deno.mkdir(join(dir, `class_${c}`));
  for (let i = 0; i < count; i++) {
    const u = r();
    // ~70% 250-650 px, 20% 650-1100, 10% up to 1700; a few tiny ones
    const w = Math.round(
      u < 0.05
        ? 50 + r() * 150
        : u < 0.75
        ? 250 + r() * 400
        : u < 0.95
        ? 650 + r() * 450
        : 1100 + r() * 600,
    );
    const h = Math.max(50, Math.min(1700, Math.round(w * (0.6 + r() * 1.0))));
    // flat panels with outlines and a gradient sky: compresses like scanned comics
    const shapes: string[] = [];
    for (let k = 0; k < 12; k++) {
      const col = `rgb(${(r() * 255) | 0},${(r() * 255) | 0},${(r() * 255) | 0})`;
      shapes.push(
        `<ellipse cx="${r() * w}" cy="${r() * h}" rx="${10 + r() * w / 3}" ry="${
          10 + r() * h / 3
        }" ` +
          `fill="${col}" stroke="black" stroke-width="${1 + r() * 4}"/>`,
      );
    }
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
      `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#8cf"/>` +
      `<stop offset="1" stop-color="#fed"/></linearGradient></defs>` +
      `<rect width="${w}" height="${h}" fill="url(#g)"/>${shapes.join("")}</svg>`;
    const png = await sharp(new TextEncoder().encode(svg)).png().toBuffer();
    await Deno.writeFile(join(dir, `class_${i % 4}`, `img_${String(i).padStart(4, "0")}.png`), png);
  }
  return dir;
}

/**
 * Milliseconds per PNG that zlib alone takes to inflate the pixel data (the
 * IDAT chunks) of the PNGs among `paths`, on one thread, best of 2: a floor
 * under any PNG decoder built on zlib, before unfiltering, resizing or any
 * pipeline overhead. Null when there are no PNGs.
 */
export async function pngInflateMs(paths: string[]): Promise<number | null> {
  const streams: Uint8Array[] = [];
  for (const p of paths) {
    const b = await Deno.readFile(p);
    if (!(b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47)) {
      continue;
    }
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const parts: Uint8Array[] = [];
    for (let i = 8; i + 8 <= b.length;) {
      const n = v.getUint32(i);
      const type = String.fromCharCode(b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
      if (type === "IDAT") parts.push(b.subarray(i + 8, i + 8 + n));
      if (type === "IEND") break;
      i += 12 + n;
    }
    const all = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
    let at = 0;
    for (const x of parts) all.set(x, (at += x.length) - x.length);
    streams.push(all);
  }
  if (streams.length === 0) return null;
  let best = Infinity;
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    for (const z of streams) zlib.inflateSync(z);
    best = Math.min(best, (performance.now() - t0) / streams.length);
  }
  return best;
}

async function ours(
  dir: string,
  size: number,
  batchSize: number,
  concurrency?: number,
  cache: "disk" | false = false,
  cacheDir?: string,
  workers?: number,
) {
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
  try {
    const t0 = performance.now();
    const ds = await imageDatasetFromDirectory(dir, {
      imageSize: [size, size],
      batchSize,
      shuffle: false,
      verbose: false,
      concurrency,
      cache,
      cacheDir,
      workers,
    });
    let n = 0;
    for await (const { x, y } of ds) {
      n += x.shape[0];
      x.dispose();
      y?.dispose();
    }
    return { images: n, seconds: (performance.now() - t0) / 1000, peakRssMb: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

async function keras(dir: string, size: number, batchSize: number) {
  const out = await new Deno.Command(join(ROOT, ".venv", "bin", "python"), {
    args: [
      join(ROOT, "tools", "bench", "keras_loader.py"),
      dir,
      String(size),
      String(batchSize),
      "1",
    ],
    clearEnv: true,
    env: { ...kerasEnv(), TF_CPP_MIN_LOG_LEVEL: "3", TF_ENABLE_ONEDNN_OPTS: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`keras_loader.py failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const r = JSON.parse(lines[lines.length - 1]) as {
    images: number;
    seconds: number[];
    peak_rss_mb: number;
  };
  return { images: r.images, seconds: r.seconds[0], peakRssMb: r.peak_rss_mb };
}

/**
 * Runs the benchmark and prints images/s of both pipelines, their ratio
 * (`loader_img_per_s_ratio_vs_keras: X`) and peak RSS.
 */
export async function benchLoader(options: BenchLoaderOptions = {}): Promise<void> {
  const size = options.size ?? 256;
  const batchSize = options.batchSize ?? 32;
  const given = options.dir ?? Deno.env.get("ACMC_BENCH_DIR");
  const dir = given ?? await generateBenchImages(options.count ?? 240);
  // The engine the loader feeds in real use (tensors are created on it).
  await initEngine();
  try {
    // warm the page cache for both sides
    const ds = await imageDatasetFromDirectory(dir, { shuffle: false, verbose: false });
    for (const p of ds.filePaths) await Deno.readFile(p);
    console.log(
      `loader bench: ${ds.filePaths.length} images in ${dir}, ${size}x${size}, batch ${batchSize}`,
    );
    const repeats = Math.max(1, options.repeats ?? 2);
    let k = { images: 0, seconds: Infinity, peakRssMb: 0 };
    let o = { images: 0, seconds: Infinity, peakRssMb: 0 };
    for (let r = 0; r < repeats; r++) {
      const kr = await keras(dir, size, batchSize);
      const or = await ours(
        dir,
        size,
        batchSize,
        options.concurrency,
        false,
        undefined,
        options.workers,
      );
      console.log(
        `  run ${r + 1}: ours ${(or.images / or.seconds).toFixed(1)} img/s, ` +
          `Keras ${(kr.images / kr.seconds).toFixed(1)} img/s`,
      );
      if (kr.seconds < k.seconds) k = kr;
      if (or.seconds < o.seconds) o = or;
    }
    if (o.images !== k.images) {
      throw new Error(`image counts differ: ours ${o.images}, Keras ${k.images}`);
    }
    const ourRate = o.images / o.seconds;
    const kerasRate = k.images / k.seconds;
    console.log(
      `loader_ours_img_per_s: ${ourRate.toFixed(1)}  (peak RSS ${o.peakRssMb.toFixed(0)} MB)`,
    );
    console.log(
      `loader_keras_img_per_s: ${kerasRate.toFixed(1)}  (peak RSS ${k.peakRssMb.toFixed(0)} MB)`,
    );
    console.log(`loader_img_per_s_ratio_vs_keras: ${(ourRate / kerasRate).toFixed(2)}`);
    // What any zlib-based PNG loader could reach on this machine: inflate alone, on every core.
    const inflateMs = await pngInflateMs(ds.filePaths);
    if (inflateMs !== null) {
      const cores = navigator.hardwareConcurrency;
      const ceiling = (cores * 1000) / inflateMs;
      console.log(
        `loader_png_inflate_floor_ms: ${
          inflateMs.toFixed(2)
        }  (zlib alone, one thread; on ${cores} ` +
          `cores at most ${ceiling.toFixed(0)} img/s, ${
            (ceiling / kerasRate).toFixed(2)
          }x Keras, ` +
          "before unfiltering, resizing or any overhead)",
      );
    }
    // later epochs / runs with the on-disk cache of resized images
    const cacheDir = await Deno.makeTempDir({ prefix: "acmc-bench-cache-" });
    try {
      await ours(dir, size, batchSize, options.concurrency, "disk", cacheDir);
      const c = await ours(dir, size, batchSize, options.concurrency, "disk", cacheDir);
      const cRate = c.images / c.seconds;
      console.log(
        `loader_cached_img_per_s: ${cRate.toFixed(1)}  (disk cache, ratio vs Keras ${
          (cRate / kerasRate).toFixed(2)
        }, peak RSS ${c.peakRssMb.toFixed(0)} MB)`,
      );
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  } finally {
    if (!given) await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseCommandLine(
    "bench/loader",
    "deno run -A tools/bench/loader.ts [--dir DIR] [--count N] [--size PX] [--batch N] " +
      "[--concurrency N] [--repeats N] [--workers N]",
    {
      options: {
        dir: { type: "string" },
        count: { type: "string" },
        size: { type: "string" },
        batch: { type: "string" },
        concurrency: { type: "string" },
        repeats: { type: "string" },
        workers: { type: "string" },
      },
    },
  );
  const num = (v?: string) => (v === undefined ? undefined : Number(v));
  await benchLoader({
    dir: values.dir,
    count: num(values.count),
    size: num(values.size),
    batchSize: num(values.batch),
    concurrency: num(values.concurrency),
    repeats: num(values.repeats),
    workers: num(values.workers),
  });
}
