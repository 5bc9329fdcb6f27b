/**
 * Loader benchmark: images/s of decode + resize to `size` x `size` for this
 * loader and for Keras' tf.data pipeline (`image_dataset_from_directory`
 * iterated fully, in the venv) on the same files, in one run, each pass in a
 * fresh process, ABBA order: on every core and on one (`taskset -c 0`), then
 * later runs from our disk cache. Prints `loader_img_per_s_ratio_vs_keras`
 * (target >= 1.0), `loader_cached_img_per_s_ratio_vs_keras` (>= 3.0),
 * `loader_scaling_N_vs_1_cores` (ours; >= 1.8 on 2 cores), Keras' scaling,
 * TensorFlow's decode floor and peak RSS (docs/loader.md).
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
import process from "node:process";
import { parseCommandLine } from "../cli.ts";
import sharp from "sharp";
import { ROOT } from "../../lib/config/mod.ts";
import { GraphDecoder, imageDatasetFromDirectory } from "../../lib/data/mod.ts";
// @ts-types="../../lib/data/native_decode.d.ts"
import type { RawBinding } from "../../lib/data/native_decode.js";
import { initEngine, nativeBackend } from "../../lib/engine/mod.ts";
import { seededRandom } from "../../lib/random/mod.ts";
import { kerasEnv } from "./train.ts";

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
  /**
   * Alternating runs of each side; the best of each counts (default 4: Keras'
   * first epoch sometimes stalls ~0.65 s with the same CPU time, 240 images in
   * ~1.32 s instead of ~0.65; docs/loader.md).
   */
  repeats?: number;
  /** Decode threads of our loader (`workers`; default: the loader's, one per core). */
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

/** One timed pass: images, seconds, CPU seconds (all threads), peak RSS. */
interface Pass {
  images: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  /** Ours: images decoded in TensorFlow graph runs (lib/data/graph_decode.ts). */
  graphImages?: number;
}

/** Options of one pass of our loader (run in a child process by {@linkcode benchLoader}). */
interface OursPass {
  dir: string;
  size: number;
  batchSize: number;
  concurrency?: number;
  cache?: "disk" | false;
  cacheDir?: string;
  workers?: number;
}

/** One pass of our loader in this process (engine initialised first, not timed). */
async function oursInProcess(o: OursPass): Promise<Pass> {
  await initEngine({ quiet: true });
  let peak = Deno.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const ds = await imageDatasetFromDirectory(o.dir, {
      imageSize: [o.size, o.size],
      batchSize: o.batchSize,
      shuffle: false,
      verbose: false,
      concurrency: o.concurrency,
      cache: o.cache ?? false,
      cacheDir: o.cacheDir,
      workers: o.workers,
    });
    let n = 0;
    for await (const { x, y } of ds) {
      n += x.shape[0];
      x.dispose();
      y?.dispose();
    }
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return {
      images: n,
      seconds,
      cpuSeconds: (c.user + c.system) / 1e6,
      peakRssMb: peak / 2 ** 20,
      graphImages: GraphDecoder.totals().decoded,
    };
  } finally {
    clearInterval(timer);
  }
}

/** `taskset -c 0` when `oneCore`, to run a side on one core. */
function pin(oneCore: boolean, cmd: string[]): string[] {
  return oneCore ? ["taskset", "-c", "0", ...cmd] : cmd;
}

async function run(cmd: string[], env: Record<string, string>, what: string): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${what} failed:\n${new TextDecoder().decode(out.stderr).slice(-3000)}`);
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return lines[lines.length - 1];
}

/** One pass of our loader in a fresh process (as a later run would), on one core or all. */
async function ours(o: OursPass, oneCore = false): Promise<Pass> {
  const args = [
    Deno.execPath(),
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--child",
    JSON.stringify(o),
  ];
  return JSON.parse(await run(pin(oneCore, args), Deno.env.toObject(), "our loader pass"));
}

/** One pass of Keras' loader (first epoch, nothing cached), on one core or all. */
async function keras(dir: string, size: number, batchSize: number, oneCore = false): Promise<Pass> {
  const cmd = [
    join(ROOT, ".venv", "bin", "python"),
    join(ROOT, "tools", "bench", "keras_loader.py"),
    dir,
    String(size),
    String(batchSize),
    "1",
  ];
  const env = { ...kerasEnv(), TF_CPP_MIN_LOG_LEVEL: "3", TF_ENABLE_ONEDNN_OPTS: "0" };
  const r = JSON.parse(await run(pin(oneCore, cmd), env, "keras_loader.py")) as {
    images: number;
    seconds: number[];
    cpu_seconds: number[];
    peak_rss_mb: number;
  };
  return {
    images: r.images,
    seconds: r.seconds[0],
    cpuSeconds: r.cpu_seconds[0],
    peakRssMb: r.peak_rss_mb,
  };
}

/**
 * CPU milliseconds per image of TensorFlow's `DecodeImage` alone (Keras'
 * decode: no resize, no pipeline), on one thread, best of 2: what a loader
 * that yields Keras' pixels must spend per image at the least (CPU time, so
 * other processes on a shared machine do not inflate it).
 */
async function tfDecodeMs(paths: string[]): Promise<number> {
  await initEngine({ quiet: true });
  const backend = nativeBackend();
  if (!backend) throw new Error("the native engine is needed for the decode floor");
  const b = backend.binding as unknown as RawBinding;
  const files = paths.map((p) => Deno.readFileSync(p));
  let best = Infinity;
  for (let r = 0; r < 2; r++) {
    const c0 = process.cpuUsage();
    for (const bytes of files) {
      const input = b.createTensor([], b.TF_STRING, [bytes]);
      const [out] = b.executeOp(
        "DecodeImage",
        [
          { name: "channels", type: b.TF_ATTR_INT, value: 3 },
          { name: "dtype", type: b.TF_ATTR_TYPE, value: b.TF_UINT8 },
          { name: "expand_animations", type: b.TF_ATTR_BOOL, value: false },
        ],
        [input],
        1,
      );
      b.deleteTensor(input);
      b.deleteTensor(out.id);
    }
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000 / files.length);
  }
  return best;
}

const rate = (p: Pass) => p.images / p.seconds;
const fmt = (x: number) => x.toFixed(1);

/**
 * Best of `repeats` alternating pairs in ABBA order (a b, b a, a b, ...): the
 * machine's drift hits both sides alike.
 */
async function abba(
  repeats: number,
  a: () => Promise<Pass>,
  b: () => Promise<Pass>,
  label: string,
): Promise<[Pass, Pass]> {
  let best: [Pass | null, Pass | null] = [null, null];
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    const got: Pass[] = [];
    for (const k of order) got[k] = await (k === 0 ? a() : b());
    console.log(
      `  ${label} run ${r + 1}: ours ${fmt(rate(got[0]))} img/s, Keras ${fmt(rate(got[1]))} img/s`,
    );
    best = [0, 1].map((k) => !best[k] || got[k].seconds < best[k]!.seconds ? got[k] : best[k]) as [
      Pass,
      Pass,
    ];
  }
  return best as [Pass, Pass];
}

/**
 * Runs the benchmark and prints images/s of both pipelines on every core and
 * on one, their ratios, the scaling with cores, TensorFlow's decode floor and
 * the disk cache's rate.
 */
export async function benchLoader(options: BenchLoaderOptions = {}): Promise<void> {
  const size = options.size ?? 256;
  const batchSize = options.batchSize ?? 32;
  const given = options.dir ?? Deno.env.get("ACMC_BENCH_DIR");
  const dir = given ?? await generateBenchImages(options.count ?? 240);
  // Every pass, and the floor, runs in a child process: the parent never loads
  // the engine (tfjs-node's loader reads `--dir` from the command line as its own).
  const cores = navigator.hardwareConcurrency;
  try {
    // warm the page cache for both sides
    const ds = await imageDatasetFromDirectory(dir, { shuffle: false, verbose: false });
    for (const p of ds.filePaths) await Deno.readFile(p);
    console.log(
      `loader bench: ${ds.filePaths.length} images in ${dir}, ${size}x${size}, batch ${batchSize}, ` +
        `${cores} cores (ABBA, best of each side)`,
    );
    const repeats = Math.max(1, options.repeats ?? 4);
    const o: OursPass = {
      dir,
      size,
      batchSize,
      concurrency: options.concurrency,
      workers: options.workers,
    };
    const [ourAll, kerasAll] = await abba(
      repeats,
      () => ours(o),
      () => keras(dir, size, batchSize),
      `${cores} cores`,
    );
    if (ourAll.images !== kerasAll.images) {
      throw new Error(`image counts differ: ours ${ourAll.images}, Keras ${kerasAll.images}`);
    }
    const [ourOne, kerasOne] = await abba(
      repeats,
      () => ours(o, true),
      () => keras(dir, size, batchSize, true),
      "1 core",
    );
    const k = rate(kerasAll);
    const how = (p: Pass) =>
      p.graphImages === p.images
        ? "every image in TensorFlow graph runs"
        : `${p.graphImages ?? 0} of ${p.images} images in graph runs`;
    console.log(
      `loader_ours_img_per_s: ${fmt(rate(ourAll))}  (peak RSS ${ourAll.peakRssMb.toFixed(0)} MB; ${
        how(ourAll)
      })`,
    );
    console.log(
      `loader_keras_img_per_s: ${fmt(k)}  (peak RSS ${kerasAll.peakRssMb.toFixed(0)} MB)`,
    );
    console.log(`loader_img_per_s_ratio_vs_keras: ${(rate(ourAll) / k).toFixed(2)}`);
    const cpuMs = (p: Pass) => (1000 * p.cpuSeconds) / p.images;
    console.log(
      `loader_cpu_ms_per_img: ours ${cpuMs(ourAll).toFixed(2)}, Keras ${
        cpuMs(kerasAll).toFixed(2)
      }` +
        "  (CPU time of the timed pass, all threads, per image: what a busy machine cannot hide)",
    );
    console.log(`loader_ours_1core_img_per_s: ${fmt(rate(ourOne))}  (${how(ourOne)})`);
    console.log(`loader_keras_1core_img_per_s: ${fmt(rate(kerasOne))}`);
    console.log(`loader_1core_ratio_vs_keras: ${(rate(ourOne) / rate(kerasOne)).toFixed(2)}`);
    console.log(`loader_scaling_${cores}_vs_1_cores: ${(rate(ourAll) / rate(ourOne)).toFixed(2)}`);
    console.log(
      `loader_keras_scaling_${cores}_vs_1_cores: ${(rate(kerasAll) / rate(kerasOne)).toFixed(2)}`,
    );
    // A real floor: Keras' pixels need TensorFlow's DecodeImage on every file.
    const decodeMs = Number(
      await run(
        [Deno.execPath(), "run", "-A", new URL(import.meta.url).pathname, "--floor", dir],
        Deno.env.toObject(),
        "decode floor",
      ),
    );
    const ceiling = (cores * 1000) / decodeMs;
    console.log(
      `loader_tf_decode_floor_ms: ${decodeMs.toFixed(2)}  (CPU of DecodeImage alone, one thread; ` +
        `on ${cores} cores at most ${ceiling.toFixed(0)} img/s, ${
          (ceiling / k).toFixed(2)
        }x Keras, ` +
        "before resizing or any pipeline)",
    );
    // later epochs / runs with the on-disk cache of resized images
    const cacheDir = await Deno.makeTempDir({ prefix: "acmc-bench-cache-" });
    try {
      const c = { ...o, cache: "disk" as const, cacheDir };
      await ours(c); // fills the cache
      let best: Pass | null = null;
      for (let r = 0; r < repeats; r++) {
        const p = await ours(c);
        if (!best || p.seconds < best.seconds) best = p;
      }
      console.log(
        `loader_cached_img_per_s: ${fmt(rate(best!))}  (disk cache, a later run; peak RSS ${
          best!.peakRssMb.toFixed(0)
        } MB)`,
      );
      console.log(`loader_cached_img_per_s_ratio_vs_keras: ${(rate(best!) / k).toFixed(2)}`);
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
        child: { type: "string" },
        floor: { type: "string" },
      },
    },
  );
  if (values.child) {
    // one timed pass for benchLoader, as JSON on the last line
    console.log(JSON.stringify(await oursInProcess(JSON.parse(values.child) as OursPass)));
    Deno.exit(0);
  }
  if (values.floor) {
    const ds = await imageDatasetFromDirectory(values.floor, { shuffle: false, verbose: false });
    console.log(await tfDecodeMs(ds.filePaths));
    Deno.exit(0);
  }
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
