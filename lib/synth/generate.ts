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
import { ACMC_TOTAL, scaledCounts } from "./acmc.ts";
import { imageSvg } from "./image.ts";
import { Rng } from "./random.ts";
import { sampleSize } from "./sizes.ts";
import { progressBar, type ProgressMode } from "../display/progress.ts";
import { SYNTH_DIR } from "../config/mod.ts";

/** Bumped whenever the drawing changes, so old folders are regenerated. */
export const GENERATOR_VERSION = 2;

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
  /** Images rendered at once (default 4). */
  concurrency?: number;
  /** Regenerate even when the folder already matches (default false). */
  force?: boolean;
  /** Progress display (default: chosen by lib/display; "silent" for none). */
  progress?: ProgressMode;
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
 * Steps: size drawn like ACMC -> SVG drawing (sharp/librsvg), sometimes at a
 * lower resolution and upscaled -> seeded noise, sometimes greyscale -> mostly
 * a JPEG round trip at quality 30-85 (block artefacts) -> PNG.
 */
export async function renderImage(
  className: string,
  index: number,
  seed: number,
): Promise<{ png: Uint8Array; width: number; height: number }> {
  const rng = new Rng(seed, className, index);
  const { width, height } = sampleSize(rng);
  const svg = new TextEncoder().encode(imageSvg(className, rng, width, height));
  // Some drawn at lower resolution and enlarged (soft, like upscaled scans; costly, so few).
  const lowRes = rng.chance(0.15) ? rng.uniform(0.4, 0.75) : 1;
  let img = sharp(svg, { density: 72 * lowRes }).removeAlpha();
  if (lowRes !== 1) img = img.resize(width, height, { fit: "fill", kernel: "linear" });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(
      `stand-in ${className} #${index}: rendered ${info.width}x${info.height}x${info.channels}, ` +
        `expected ${width}x${height}x3`,
    );
  }
  addNoise(data, rng, rng.uniform(1.5, 8), rng.chance(0.08));
  const raw = { raw: { width, height, channels: 3 as const } };
  // Most images went through JPEG at some point (block artefacts, colour bleeding).
  const src = rng.chance(0.7)
    ? await sharp(data, raw).jpeg({ quality: rng.int(30, 85), chromaSubsampling: "4:2:0" })
      .toBuffer()
    : null;
  const png = await (src ? sharp(src) : sharp(data, raw)).png({ compressionLevel: 1 }).toBuffer();
  return { png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width, height };
}

/** Adds seeded luminance noise of about `amount` levels in place; optionally greys the image. */
function addNoise(rgb: Uint8Array, rng: Rng, amount: number, grey: boolean): void {
  // A clamped view saturates at 0 and 255 by itself.
  const px = new Uint8ClampedArray(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  // xorshift32 seeded from rng: the per-pixel loop needs something cheaper than sfc32 calls.
  let x = (rng.next() * 4294967296) >>> 0 || 1;
  const k = amount / 255;
  for (let i = 0; i < px.length; i += 3) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Two bytes summed: a triangular distribution in [-amount, amount].
    const n = ((x & 255) + ((x >>> 8) & 255) - 255) * k;
    if (grey) {
      const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2] + n;
      px[i] = px[i + 1] = px[i + 2] = y;
    } else {
      px[i] += n;
      px[i + 1] += n;
      px[i + 2] += n;
    }
  }
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
  const concurrency = options.concurrency ?? 4;
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
  const bar = progressBar({ total, title: "stand-in images", mode: options.progress });
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
