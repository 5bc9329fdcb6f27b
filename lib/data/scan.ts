/**
 * Looking at an image dataset folder (one sub-folder per class) without
 * decoding images: class counts, image sizes from file headers, size
 * statistics over all images, and a seeded random sample for image grids.
 *
 * Errors name the path: a missing dataset folder, a class folder without
 * images, an unreadable folder or image file.
 *
 * @module
 */
import { join } from "node:path";
import sharp, { type Metadata } from "sharp";
import { ALLOWLIST_FORMATS, hasAllowedFormat, pyCompare } from "./files.ts";
import { seededRandom } from "../random/mod.ts";
import { type ProgressReporter, silentProgress, walk } from "../io/mod.ts";

/** One image file of a dataset. */
export interface ImageFile {
  /** Path of the file (the dataset folder joined with its relative path). */
  path: string;
  /** The class folder it lies under. */
  className: string;
}

/** An image file with its size in pixels, read from its header. */
export interface ImageSize extends ImageFile {
  width: number;
  height: number;
}

/** Options of the folder walks. */
export interface ScanOptions {
  /** Extensions counted as images, compared lower-case (default Keras': bmp gif jpeg jpg png). */
  formats?: readonly string[];
  /** Accept class folders without images instead of failing (default false). */
  allowEmptyClasses?: boolean;
}

async function statOrThrow(dir: string, what: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${what} not found: ${dir}`);
    throw new Error(`cannot read ${what} ${dir}: ${(e as Error).message}`);
  }
}

/**
 * The class folders of `dir` (sub-folders not starting with "."), sorted as
 * Python sorts strings (Keras' default class order).
 */
export async function classFolders(dir: string): Promise<string[]> {
  const st = await statOrThrow(dir, "dataset folder");
  if (!st.isDirectory) throw new Error(`dataset path is not a folder: ${dir}`);
  const top = await walk(dir, { compare: pyCompare, include: (n) => !n.startsWith(".") }).next();
  const names = top.done ? [] : top.value.dirs;
  if (names.length === 0) throw new Error(`no class folders in dataset folder ${dir}`);
  return names;
}

/**
 * Every image under the class folders of `dir`, walking each class folder
 * recursively (like the study's `os.walk`, and like Keras, which labels
 * images in nested folders by their top-level class folder). Classes in
 * Python-sorted order, files sorted within each folder.
 *
 * @example
 * ```ts
 * const files = await listImages("data/acmc");
 * files[0]; // { path: "data/acmc/Archie/Archie_001.png", className: "Archie" }
 * ```
 */
export async function listImages(dir: string, options: ScanOptions = {}): Promise<ImageFile[]> {
  const formats = options.formats ?? ALLOWLIST_FORMATS;
  const out: ImageFile[] = [];
  for (const className of await classFolders(dir)) {
    const classDir = join(dir, className);
    const before = out.length;
    for await (const { root, files } of walk(classDir, { compare: pyCompare })) {
      for (const f of files) {
        if (hasAllowedFormat(f, formats)) out.push({ path: join(root, f), className });
      }
    }
    if (out.length === before && !options.allowEmptyClasses) {
      throw new Error(
        `class folder has no images (${formats.join(" ")}): ${classDir}`,
      );
    }
  }
  return out;
}

/**
 * Images per class folder of `dir` (recursive), as `{ className: count }` in
 * Python-sorted class order. Fails on a missing folder or a class folder
 * without images, naming it.
 *
 * @example
 * ```ts
 * const counts = await countImagesByClass("data/acmc");
 * counts["Archie"]; // 1284 in ACMC
 * ```
 */
export async function countImagesByClass(
  dir: string,
  options: ScanOptions = {},
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const c of await classFolders(dir)) counts[c] = 0;
  for (const f of await listImages(dir, options)) counts[f.className]++;
  return counts;
}

/** Options of {@linkcode imageSizes}. */
export interface SizeOptions extends ScanOptions {
  /** Headers read at once (default 16). */
  concurrency?: number;
  /** Where progress goes (default `silentProgress`; lib/display's `progressReporter()` draws a bar). */
  progress?: ProgressReporter;
}

/** Reads one image's size from its header (no pixel decoding); errors name the file. */
export async function imageSize(file: ImageFile): Promise<ImageSize> {
  let meta: Metadata;
  try {
    meta = await sharp(file.path).metadata();
  } catch (e) {
    throw new Error(`cannot read the image header of ${file.path}: ${(e as Error).message}`);
  }
  if (!meta.width || !meta.height) {
    throw new Error(`image has no width/height in its header: ${file.path}`);
  }
  // EXIF orientations 5-8 swap width and height when the image is shown.
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    ...file,
    width: swap ? meta.height : meta.width,
    height: swap ? meta.width : meta.height,
  };
}

/**
 * Width and height of every image of a dataset folder (or of the given
 * files), read from file headers with sharp, a bounded number at a time.
 * Order follows {@linkcode listImages}.
 *
 * @example
 * ```ts
 * const sizes = await imageSizes("data/acmc");
 * sizeStats(sizes).width.median;
 * ```
 */
export async function imageSizes(
  dirOrFiles: string | readonly ImageFile[],
  options: SizeOptions = {},
): Promise<ImageSize[]> {
  const files = typeof dirOrFiles === "string" ? await listImages(dirOrFiles, options) : dirOrFiles;
  const concurrency = options.concurrency ?? 16;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const out = new Array<ImageSize>(files.length);
  if (files.length === 0) return out;
  const bar = (options.progress ?? silentProgress)(files.length, "image headers");
  let next = 0, done = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      out[i] = await imageSize(files[i]);
      bar.update(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    await bar.finish();
  }
  return out;
}

/** Min, median, mean and max of some numbers. */
export interface Summary {
  min: number;
  median: number;
  mean: number;
  max: number;
}

/** {@linkcode Summary} of `values` (median of an even count: mean of the middle two, like numpy). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("summarize: no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  let sum = 0;
  for (const v of s) sum += v;
  return { min: s[0], median, mean: sum / s.length, max: s[s.length - 1] };
}

/** Size statistics of a dataset. */
export interface SizeStats {
  /** Number of images. */
  count: number;
  width: Summary;
  height: Summary;
  /** Images whose width equals their height. */
  square: number;
  /** Distinct widths among the images. */
  distinctWidths: number;
}

/**
 * Statistics of image widths and heights over ALL images: min, median, mean
 * and max of each (unlike the study, see {@linkcode dictSizesStats}).
 *
 * @example
 * ```ts
 * sizeStats([{ width: 10, height: 20 }, { width: 30, height: 40 }]).width.mean; // 20
 * ```
 */
export function sizeStats(sizes: readonly { width: number; height: number }[]): SizeStats {
  if (sizes.length === 0) throw new RangeError("sizeStats: no image sizes (empty dataset?)");
  return {
    count: sizes.length,
    width: summarize(sizes.map((s) => s.width)),
    height: summarize(sizes.map((s) => s.height)),
    square: sizes.filter((s) => s.width === s.height).length,
    distinctWidths: new Set(sizes.map((s) => s.width)).size,
  };
}

/**
 * The study's flawed statistic, kept only to show the difference: the
 * original notebook took `dict(sizes)` of `(width, height)` pairs, which
 * keeps ONE height per distinct width (the last one met), and reported the
 * median and mean of those heights. `sizes` must be in the walk order.
 */
export function dictSizesStats(
  sizes: readonly { width: number; height: number }[],
): { keptImages: number; median: number; mean: number } {
  const byWidth = new Map<number, number>();
  for (const s of sizes) byWidth.set(s.width, s.height);
  const { median, mean } = summarize([...byWidth.values()]);
  return { keptImages: byWidth.size, median, mean };
}

/**
 * `n` images picked at random without replacement (seeded: the same seed and
 * folder give the same sample), with their sizes read from the headers.
 * `n` larger than the dataset returns every image, shuffled.
 *
 * @example
 * ```ts
 * const sample = await sampleImages("data/acmc", 12, 42);
 * ```
 */
export async function sampleImages(
  dirOrFiles: string | readonly ImageFile[],
  n: number,
  seed: number,
  options: ScanOptions = {},
): Promise<ImageSize[]> {
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new RangeError(`sampleImages: n must be a non-negative integer, got ${n}`);
  }
  const files = typeof dirOrFiles === "string"
    ? await listImages(dirOrFiles, options)
    : [...dirOrFiles];
  const rand = seededRandom(seed);
  const k = Math.min(n, files.length);
  const pool = [...files];
  // Partial Fisher-Yates: the first k slots end up a uniform sample.
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return await Promise.all(pool.slice(0, k).map(imageSize));
}
