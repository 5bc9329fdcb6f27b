/**
 * Writing the synthetic ACMC stand-in to disk: 23 class folders of
 * `<Class>_<NNN>.png` files, sized and counted like ACMC, plus the marker
 * `SYNTHETIC.json` (generator, parameters, counts) that tells lib/config the
 * folder is the stand-in.
 *
 * @module
 */
import { join } from "node:path";
import sharp from "sharp";
import { scaledCounts } from "./acmc.ts";
import { ACMC_TOTAL } from "../reference/mod.ts";
import { imageSvg } from "./image.ts";
import { encodePngRgb } from "./png.ts";
import { Rng } from "../random/mod.ts";
import { sampleSize } from "./sizes.ts";
import { defaultProgress, type ProgressReporter } from "../io/mod.ts";
import { SYNTH_DIR } from "../config/mod.ts";

/** Bumped whenever the drawing changes, so old folders are regenerated. */
export const GENERATOR_VERSION = 3;

/** The marker file's name. */
export const MARKER = "SYNTHETIC.json";

/** Options of {@linkcode generateStandIn}. */
export interface SynthOptions {
  /** Output folder (default `SYNTH_DIR`, `data/acmc-synth`). */
  outDir?: string;
  /** Fraction of ACMC's 6462 images (default 1). */
  scale?: number;
  /** Seed of everything random (default 123). */
  seed?: number;
  /** Fewest images per class (default 6). */
  minPerClass?: number;
  /**
   * Images in flight at once (default 8). Each sharp call runs on one libvips
   * thread; with 8 in flight both cores stay busy while the main thread
   * builds SVGs and writes PNGs (4 left ~14% of the CPU idle: 12-16% slower).
   */
  concurrency?: number;
  /** Regenerate even when the folder already matches (default false). */
  force?: boolean;
  /**
   * Where progress goes (default: lib/io's `defaultProgress()`, the bar that
   * lib/display installs when loaded; `silentProgress` for none).
   */
  progress?: ProgressReporter;
}

/** The content of `SYNTHETIC.json`. */
export interface SynthManifest {
  synthetic: true;
  generator: "acmc-stand-in";
  version: number;
  seed: number;
  scale: number;
  minPerClass: number;
  /** Images per class folder. */
  counts: Record<string, number>;
  total: number;
  /** False while images are being written. */
  complete: boolean;
  /** File names: `<Class>_<NNN>.png`, NNN from 001, at least 3 digits. */
  naming: string;
  note: string;
}

/** What {@linkcode generateStandIn} did. */
export interface SynthResult {
  dir: string;
  manifest: SynthManifest;
  /** True when a matching complete stand-in was already there. */
  skipped: boolean;
  seconds: number;
}

/** The file name of image `index` (0-based) of `className`. */
export function fileName(className: string, index: number): string {
  return `${className}_${String(index + 1).padStart(3, "0")}.png`;
}

/** Reads the marker of a stand-in folder, or null when there is none. */
export async function readManifest(dir: string): Promise<SynthManifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, MARKER))) as SynthManifest;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`cannot read ${join(dir, MARKER)}: ${(e as Error).message}`);
  }
}

async function countPngs(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".png")) n++;
  } catch {
    return -1;
  }
  return n;
}

/**
 * Renders one stand-in image (PNG bytes, RGB) of `className`, number `index`,
 * for `seed`. The same arguments give the same bytes.
 *
 * Steps: size drawn like ACMC -> SVG drawing (sharp/librsvg) -> mostly (70%)
 * a JPEG round trip at quality 30-85 (block artefacts, colour bleeding: the
 * JPEG's quantisation is these images' noise); the others, and the few (15%)
 * drawn at a lower resolution and enlarged (soft, like upscaled scans), get
 * seeded luminance noise before their JPEG, if any; 8% greyscale -> PNG.
 *
 * Cost matters (6462 images in under a minute on 2 cores), and each sharp call
 * costs ~1.3 ms of CPU here before any pixel work: so the common case is two
 * calls (SVG straight to JPEG, JPEG to RGB); the alpha drop, the enlargement
 * and the noise share one JavaScript pass instead of three libvips operations
 * (libvips' upscale alone cost ~8 ms); the JPEG skips Huffman-table
 * optimisation (half its encoding time, same pixels); and the PNG is written
 * by {@linkcode encodePngRgb} (zlib level 1, no row filters: sharp's PNG writer
 * with its defaults cost ~5 ms an image; with the same settings it costs about
 * as much as this, and the full stand-in took 2-6% longer through it).
 */
export async function renderImage(
  className: string,
  index: number,
  seed: number,
): Promise<{ png: Uint8Array; width: number; height: number }> {
  const rng = new Rng(seed, className, index);
  const { width, height } = sampleSize(rng);
  const svg = new TextEncoder().encode(imageSvg(className, rng, width, height));
  // Some drawn at lower resolution and enlarged (soft, like upscaled scans).
  const lowRes = rng.chance(0.15) ? rng.uniform(0.4, 0.75) : 1;
  const grey = rng.chance(0.08);
  // Most images went through JPEG at some point (block artefacts, colour bleeding).
  const quality = rng.chance(0.7) ? rng.int(30, 85) : 0;
  const jpegOptions = { quality, chromaSubsampling: "4:2:0", optimiseCoding: false };
  let rgb: Uint8Array;
  if (quality && lowRes === 1) {
    // Drawn straight into a JPEG (its quantisation is the noise) and decoded: two calls.
    let img = sharp(svg, { density: 72 }).removeAlpha();
    if (grey) img = img.greyscale();
    const jpeg = await img.jpeg(jpegOptions).toBuffer();
    rgb = await decodeRgb(sharp(jpeg), width, height, `${className} #${index}`);
  } else {
    const { data, info } = await sharp(svg, { density: 72 * lowRes }).raw()
      .toBuffer({ resolveWithObject: true });
    const expected = lowRes === 1 ? [width, height] : [info.width, info.height];
    if (info.width !== expected[0] || info.height !== expected[1] || info.channels !== 4) {
      throw new Error(
        `stand-in ${className} #${index}: rendered ${info.width}x${info.height}x${info.channels}, ` +
          `expected ${expected[0]}x${expected[1]}x4`,
      );
    }
    const amount = rng.uniform(1.5, 8);
    const src = { data, width: info.width, height: info.height };
    rgb = noisyRgb(src, width, height, rng, amount, grey);
    if (quality) {
      const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg(jpegOptions)
        .toBuffer();
      rgb = await decodeRgb(sharp(jpeg), width, height, `${className} #${index}`);
    }
  }
  const png = encodePngRgb(rgb, width, height);
  return { png, width, height };
}

/** Decodes to `width` x `height` RGB bytes (greyscale widened), or says what came out. */
async function decodeRgb(
  img: ReturnType<typeof sharp>,
  width: number,
  height: number,
  what: string,
): Promise<Uint8Array> {
  const { data, info } = await img.toColourspace("srgb").raw().toBuffer({
    resolveWithObject: true,
  });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(
      `stand-in ${what}: decoded ${info.width}x${info.height}x${info.channels}, ` +
        `expected ${width}x${height}x3`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * One pass over an RGBA rendering: drops alpha (the drawing is opaque),
 * enlarges it to `width` x `height` when it is smaller (bilinear, half-pixel
 * centres), adds seeded luminance noise of about `amount` levels, and
 * optionally greys the image. Returns RGB bytes.
 */
function noisyRgb(
  src: { data: Uint8Array; width: number; height: number },
  width: number,
  height: number,
  rng: Rng,
  amount: number,
  grey: boolean,
): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  // A clamped view saturates at 0 and 255 by itself.
  const px = new Uint8ClampedArray(out.buffer);
  const s = src.data, sw = src.width, sh = src.height;
  const same = sw === width && sh === height;
  const fx = sw / width, fy = sh / height;
  // xorshift32 seeded from rng: the per-pixel loop needs something cheaper than sfc32 calls.
  let x = (rng.next() * 4294967296) >>> 0 || 1;
  // Two bytes summed: a triangular distribution in [-amount, amount], as whole
  // levels from a table (integer adds into a clamped array: the cheap inner loop).
  const noise = new Int16Array(65536);
  for (let v = 0; v < 65536; v++) {
    noise[v] = Math.round(((v & 255) + (v >>> 8) - 255) * amount / 255);
  }
  let o = 0;
  if (same && !grey) {
    for (let i = 0; i < s.length; i += 4, o += 3) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const n = noise[x & 65535];
      px[o] = s[i] + n;
      px[o + 1] = s[i + 1] + n;
      px[o + 2] = s[i + 2] + n;
    }
    return out;
  }
  for (let yy = 0; yy < height; yy++) {
    // Source rows and weight for this output row (same image: the row itself).
    const sy = same ? yy : Math.min(Math.max((yy + 0.5) * fy - 0.5, 0), sh - 1);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, sh - 1), wy = sy - y0;
    const r0 = y0 * sw * 4, r1 = y1 * sw * 4;
    for (let xx = 0; xx < width; xx++, o += 3) {
      let r: number, g: number, b: number;
      if (same) {
        const i = r0 + xx * 4;
        r = s[i];
        g = s[i + 1];
        b = s[i + 2];
      } else {
        const sx = Math.min(Math.max((xx + 0.5) * fx - 0.5, 0), sw - 1);
        const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, sw - 1), wx = sx - x0;
        const a = r0 + x0 * 4, bb = r0 + x1 * 4, c = r1 + x0 * 4, d = r1 + x1 * 4;
        const w00 = (1 - wx) * (1 - wy), w01 = wx * (1 - wy), w10 = (1 - wx) * wy, w11 = wx * wy;
        r = s[a] * w00 + s[bb] * w01 + s[c] * w10 + s[d] * w11;
        g = s[a + 1] * w00 + s[bb + 1] * w01 + s[c + 1] * w10 + s[d + 1] * w11;
        b = s[a + 2] * w00 + s[bb + 2] * w01 + s[c + 2] * w10 + s[d + 2] * w11;
      }
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const n = noise[x & 65535];
      if (grey) {
        px[o] = px[o + 1] = px[o + 2] = 0.299 * r + 0.587 * g + 0.114 * b + n;
      } else {
        px[o] = r + n;
        px[o + 1] = g + n;
        px[o + 2] = b + n;
      }
    }
  }
  return out;
}

/**
 * Generates the synthetic ACMC stand-in (the project's embedded default
 * dataset) under `outDir`: 23 folders named like ACMC's, per-class counts
 * proportional to ACMC's (`scale` 1 = 6462 images, at least `minPerClass`
 * each), deterministic for `seed`. Skips the work when the folder already
 * holds a complete stand-in made with the same parameters. Refuses to write
 * into a non-empty folder that is not a stand-in (a real dataset, say).
 *
 * @example
 * ```ts
 * const { dir, manifest } = await generateStandIn({ scale: 0.05, outDir: "/tmp/acmc-tiny" });
 * ```
 */
export async function generateStandIn(options: SynthOptions = {}): Promise<SynthResult> {
  const t0 = performance.now();
  const dir = options.outDir ?? SYNTH_DIR;
  const scale = options.scale ?? 1;
  const seed = options.seed ?? 123;
  const minPerClass = options.minPerClass ?? 6;
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const counts = scaledCounts(scale, minPerClass);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const manifest: SynthManifest = {
    synthetic: true,
    generator: "acmc-stand-in",
    version: GENERATOR_VERSION,
    seed,
    scale,
    minPerClass,
    counts,
    total,
    complete: false,
    naming: "<Class>_<NNN>.png, NNN from 001 (at least 3 digits)",
    note: `Synthetic stand-in for ACMC (${ACMC_TOTAL} images at scale 1), made by ` +
      "`deno task synth`; not the real dataset (see data.README.md).",
  };

  const old = await readManifest(dir);
  if (
    old && !options.force && old.complete && old.version === GENERATOR_VERSION &&
    old.seed === seed && old.scale === scale && old.minPerClass === minPerClass
  ) {
    const ok = await Promise.all(
      Object.entries(counts).map(async ([c, n]) => (await countPngs(join(dir, c))) === n),
    );
    if (ok.every(Boolean)) {
      return { dir, manifest: old, skipped: true, seconds: (performance.now() - t0) / 1000 };
    }
  }
  if (!old) {
    let nonEmpty = false;
    try {
      for await (const _ of Deno.readDir(dir)) {
        nonEmpty = true;
        break;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (nonEmpty) {
      throw new Error(
        `refusing to write the stand-in into ${dir}: the folder is not empty and has no ${MARKER} ` +
          "(is it a real dataset?). Choose another --out or empty it.",
      );
    }
  } else {
    // A stand-in with other parameters (or unfinished): replace its class folders.
    for (const c of Object.keys(old.counts ?? {})) {
      await Deno.remove(join(dir, c), { recursive: true }).catch(() => {});
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, MARKER), JSON.stringify(manifest, null, 2) + "\n");

  const jobs: [string, number][] = [];
  for (const [c, n] of Object.entries(counts)) {
    await Deno.mkdir(join(dir, c), { recursive: true });
    for (let i = 0; i < n; i++) jobs.push([c, i]);
  }
  // One libvips thread per image and several images at once: less thread
  // hand-over than libvips splitting each small image across threads.
  const vipsThreads = sharp.concurrency();
  sharp.concurrency(1);
  const bar = (options.progress ?? defaultProgress())(total, "stand-in images");
  let next = 0, done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const [c, i] = jobs[next++];
      const { png } = await renderImage(c, i, seed);
      await Deno.writeFile(join(dir, c, fileName(c, i)), png);
      bar.update(++done, c);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  } finally {
    sharp.concurrency(vipsThreads);
  }
  const seconds = (performance.now() - t0) / 1000;
  await bar.finish(`${total} images in ${seconds.toFixed(1)} s`);
  manifest.complete = true;
  await Deno.writeTextFile(join(dir, MARKER), JSON.stringify(manifest, null, 2) + "\n");
  return { dir, manifest, skipped: false, seconds };
}
