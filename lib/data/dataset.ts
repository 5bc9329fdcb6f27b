/**
 * `imageDatasetFromDirectory`: Keras 3's `image_dataset_from_directory` in
 * TypeScript. Same files, labels and validation split as Keras for the same
 * folder and seed (numpy's `RandomState` shuffle reproduced bit for bit), the
 * same pixels (TF-like decoding, half-pixel bilinear resize, float32 0-255),
 * and decoding ahead of the consumer with a bounded prefetch and optional
 * caches.
 *
 * Per-epoch order: a shuffled dataset draws a new order on each pass with a
 * buffer shuffle of the same buffer size as Keras (`batchSize * 8`, 1024 when
 * unbatched), seeded from `seed` and the epoch number. tf.data's own random
 * stream cannot be reproduced, so the per-epoch order differs from TF's; the
 * split (which files are training / validation) is identical.
 *
 * @module
 */
import { nativeBackend, tf } from "../engine/mod.ts";
import type { Batch, BatchDataset } from "./types.ts";
import {
  ALLOWLIST_FORMATS,
  checkValidationSplitArg,
  indexDirectory,
  trainingOrValidationSplit,
} from "./files.ts";
import { bufferShuffleOrder, MT19937 } from "../random/mod.ts";
import {
  decodeImage,
  DEFAULT_LIMIT_INPUT_PIXELS,
  ImageDecodeError,
  imageHeader,
} from "./decode.ts";
import { type Interpolation, resizeImage } from "./resize.ts";
import { DECODE_ADDON, DecodePool } from "./decode_pool.ts";
import { type BatchImage, GraphDecoder } from "./graph_decode.ts";
import { BatchSlots, wholeBatch } from "./batch_slots.ts";
// @ts-types="./image_format.d.ts"
import { checkImageBytes, jpegFrame, sniffFormat } from "./image_format.js";
// @ts-types="./native_decode.d.ts"
import {
  decodeResizeNative,
  type DecodeSpec,
  nativeFormat,
  type RawBinding,
} from "./native_decode.js";
import {
  type CacheMode,
  defaultCacheDir,
  DiskCache,
  isInside,
  toFloat32,
  toUint8,
} from "./cache.ts";

/** How labels are encoded in batches (Keras `label_mode`). */
export type LabelMode = "int" | "categorical" | "binary" | null;

/** What the `map` hook receives besides the batch. */
export interface MapContext {
  /** 0-based epoch (pass over the dataset). */
  epoch: number;
  /** 0-based batch index within the epoch. */
  step: number;
}

/** A file that could not be loaded and was skipped (`onBadFile: "skip"`). */
export interface SkippedFile {
  /** The file path. */
  path: string;
  /** Why it was skipped. */
  error: string;
}

/** Options shared by {@linkcode imageDatasetFromDirectory} and {@linkcode datasetFromFiles}. */
export interface LoadOptions {
  /** `"int"` (default), `"categorical"`, `"binary"` (2 classes) or null (images only). */
  labelMode?: LabelMode;
  /** `"rgb"` (3 channels, default), `"grayscale"` (1) or `"rgba"` (4). */
  colorMode?: "rgb" | "grayscale" | "rgba";
  /** Images per batch (default 32), or null for batches of one image (see {@linkcode ImageDataset}). */
  batchSize?: number | null;
  /** `[height, width]` (or one number for a square) to resize to. Default `[256, 256]`. */
  imageSize?: [number, number] | number;
  /** Shuffle each epoch (and, for directories, the file list before splitting). */
  shuffle?: boolean;
  /** Integer seed in [0, 2**32-1]; random when null. */
  seed?: number | null;
  /** `"bilinear"` (default) or `"nearest"` (TF half-pixel semantics). */
  interpolation?: Interpolation;
  /** Crop to the target aspect ratio before resizing (Keras `smart_resize`). */
  cropToAspectRatio?: boolean;
  /** Resize to fit then zero-pad to the target size (TF `resize_with_pad`). */
  padToAspectRatio?: boolean;
  /**
   * Keep resized images (rounded to uint8) between epochs: `"memory"`, `"disk"`
   * (under `cacheDir`, default `outDir("cache", "images")`), or false (default).
   * With a cache every epoch, the first included, yields the rounded values.
   */
  cache?: CacheMode;
  /** Folder of the disk cache. Must not be inside the dataset folder. */
  cacheDir?: string;
  /**
   * Check every file before the dataset is returned: `true` / `"decode"` decodes
   * each (filling the cache when one is on), `"header"` reads headers only.
   * Default false (a bad file then fails at its first read).
   */
  validate?: boolean | "decode" | "header";
  /** On a bad file: `"error"` (default) throws naming it; `"skip"` drops it and lists it in `skippedFiles`. */
  onBadFile?: "error" | "skip";
  /** Largest accepted `width * height` of a source image (decompression bombs). Default 268,402,689. */
  limitInputPixels?: number;
  /**
   * Images in flight when the epoch goes image by image (`onBadFile: "skip"`,
   * `samples()`, validation, worker threads; default twice `workers`, or 4
   * without): whole-batch decoding keeps `prefetch` batches in flight instead.
   */
  concurrency?: number;
  /** Batches prepared ahead of the consumer (default 2). */
  prefetch?: number;
  /**
   * Threads that decode and resize, default the cores this process may use
   * (`navigator.hardwareConcurrency`, which follows `taskset`). On the native
   * engine these are TensorFlow's: each batch is read, decoded and resized in
   * one graph run on a pool of `workers` threads (lib/data/graph_decode.ts),
   * as tf.data's parallel map does for Keras. Where TensorFlow's C API cannot
   * be reached (no FFI permission) or with `ACMC_DECODE_GRAPH=0`, worker
   * threads do it instead (each with its own eager context; none by default on
   * one core). 0 decodes on the main thread, image by image. Without the
   * native engine (pure-JS tfjs) decoding runs in sharp's threads and this is
   * ignored.
   */
  workers?: number;
  /**
   * Applied to each batch before it is yielded (augmentation). Input tensors
   * that the result does not reuse are disposed after the call.
   */
  map?: (batch: Batch, ctx: MapContext) => Batch;
  /** Print Keras' "Found N files belonging to K classes." lines. Default true for directories. */
  verbose?: boolean;
}

/** Options of {@linkcode imageDatasetFromDirectory} (Keras names, camelCased). */
export interface ImageDatasetOptions extends LoadOptions {
  /** `"inferred"` (default: from the class folders), integer labels in file order, or null. */
  labels?: "inferred" | number[] | null;
  /** Class order (subfolder names); default the sorted subfolders. */
  classNames?: string[] | null;
  /** Fraction of the files held out for validation (0-1). */
  validationSplit?: number | null;
  /** `"training"`, `"validation"` or `"both"` (returns `[train, val]`). */
  subset?: "training" | "validation" | "both" | null;
  /** Walk into symlinked subfolders. */
  followLinks?: boolean;
  /** Accept class folders without images (Keras does); default false: an error names them. */
  allowEmptyClasses?: boolean;
}

/** A batch decoded ahead of its consumer (see `ImageDataset`'s `#graphBatch`). */
interface PendingBatch {
  /** Makes the batch's tensors (the consumer disposes them). */
  take(): Batch | Promise<Batch>;
  /** Frees what it holds, making no tensors (nobody takes it). */
  drop(): void;
}

/** Where one image of an epoch comes from: a disk cache record, or pixels in hand. */
type Source = { record: number } | { pixels: Float32Array | Uint8Array };

interface Loaded {
  index: number;
  source?: Source;
  error?: Error;
}

/** A uint8 batch as a float32 tensor: one copy into TensorFlow and its Cast kernel. */
function floatTensor(u8: Uint8Array, shape: [number, number, number, number]): tf.Tensor4D {
  const backend = nativeBackend();
  if (!backend) return tf.tensor4d(toFloat32(u8), shape, "float32");
  const b = backend.binding as unknown as RawBinding;
  const id = b.createTensor(shape, b.TF_UINT8, u8);
  try {
    const [out] = b.executeOp(
      "Cast",
      [
        { name: "SrcT", type: b.TF_ATTR_TYPE, value: b.TF_UINT8 },
        { name: "DstT", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
        { name: "Truncate", type: b.TF_ATTR_BOOL, value: false },
      ],
      [id],
      1,
    );
    const nb = backend as unknown as { createOutputTensor(m: typeof out): tf.Tensor };
    return nb.createOutputTensor(out) as tf.Tensor4D;
  } finally {
    b.deleteTensor(id);
  }
}

/**
 * A float32 batch as a tensor made now. With `copy`, its pixels are copied
 * into TensorFlow's memory (`Snapshot`, ~0.09 ms per 256 px image), so that
 * `xs`' buffer can take a later batch: the binding's tensors otherwise share
 * the JavaScript buffer, and a fresh 25 MB buffer per batch cost its first
 * writes ~190 page faults per image (~0.3 ms of CPU; docs/loader.md).
 * @returns the tensor, and whether `xs` is free again (false: the tensor
 * holds it).
 */
function float32Tensor(
  xs: Float32Array,
  shape: [number, number, number, number],
  copy: boolean,
): [tf.Tensor4D, boolean] {
  const backend = nativeBackend();
  if (!backend) return [tf.tensor4d(xs, shape, "float32"), false];
  const b = backend.binding as unknown as RawBinding;
  const nb = backend as unknown as { createOutputTensor(m: unknown): tf.Tensor };
  const id = b.createTensor(shape, b.TF_FLOAT, xs);
  if (!copy) {
    return [nb.createOutputTensor({ id, shape, dtype: b.TF_FLOAT }) as tf.Tensor4D, false];
  }
  try {
    const [out] = b.executeOp(
      "Snapshot",
      [{ name: "T", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }],
      [id],
      1,
    );
    return [nb.createOutputTensor(out) as tf.Tensor4D, true];
  } finally {
    b.deleteTensor(id);
  }
}

const SUPPORTED_INTERPOLATIONS = ["bilinear", "nearest"];
const KERAS_INTERPOLATIONS = [
  "bilinear",
  "nearest",
  "bicubic",
  "area",
  "lanczos3",
  "lanczos5",
  "gaussian",
  "mitchellcubic",
];

function normaliseSize(imageSize: [number, number] | number | undefined): [number, number] {
  const s = imageSize ?? [256, 256];
  const size: unknown[] = typeof s === "number" ? [s, s] : Array.isArray(s) ? s : [];
  if (size.length !== 2 || !size.every((v) => Number.isInteger(v) && (v as number) > 0)) {
    throw new Error(
      `Invalid \`imageSize\` value. Expected a tuple of 2 positive integers. Received: imageSize=${
        JSON.stringify(imageSize)
      }`,
    );
  }
  return size as [number, number];
}

function channelsOf(colorMode: string | undefined): 1 | 3 | 4 {
  switch (colorMode ?? "rgb") {
    case "rgb":
      return 3;
    case "rgba":
      return 4;
    case "grayscale":
      return 1;
    default:
      throw new Error(
        `\`colorMode\` must be one of {"rgb", "rgba", "grayscale"}. Received: colorMode=${colorMode}`,
      );
  }
}

function checkInterpolation(interpolation: string | undefined): Interpolation {
  const m = (interpolation ?? "bilinear").toLowerCase();
  if (!KERAS_INTERPOLATIONS.includes(m)) {
    throw new Error(
      `Argument \`interpolation\` should be one of ${
        JSON.stringify(KERAS_INTERPOLATIONS)
      }. Received: interpolation=${interpolation}`,
    );
  }
  if (!SUPPORTED_INTERPOLATIONS.includes(m)) {
    throw new Error(
      `interpolation="${m}" is valid in Keras but not implemented by this loader; ` +
        `use one of ${JSON.stringify(SUPPORTED_INTERPOLATIONS)}.`,
    );
  }
  return m as Interpolation;
}

function checkLabelMode(labelMode: unknown): void {
  if (![undefined, null, "int", "categorical", "binary"].includes(labelMode as string)) {
    throw new Error(
      '`labelMode` argument must be one of "int", "categorical", "binary", or null. ' +
        `Received: labelMode=${labelMode}`,
    );
  }
}

/** Mixes the seed and the epoch into a 32-bit seed for that epoch's order. */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Bytes of a file's start that {@linkcode readHead} reads: enough for every
 * format's size fields but a JPEG's frame header after a large EXIF block,
 * which a second read of up to {@linkcode HEAD_MAX} bytes finds. (A first
 * read of 64 KB cost ~0.1 ms of CPU per file: copying bytes nothing read.)
 */
const HEAD_BYTES = 4096;
const HEAD_MAX = 65536;
const headBuffer = new Uint8Array(HEAD_MAX);

/**
 * The first `bytes` of `path` (all of a shorter file), a view of one shared
 * buffer valid until the next call.
 * @throws the file system's error.
 */
function readHead(path: string, bytes: number): Uint8Array {
  using f = Deno.openSync(path);
  let n = 0;
  while (n < bytes) {
    const got = f.readSync(headBuffer.subarray(n, bytes));
    if (got === null || got === 0) break;
    n += got;
  }
  return headBuffer.subarray(0, n);
}

/**
 * The start of `path` that holds its header, for the graph decoder (which
 * reads the file itself): {@linkcode HEAD_BYTES}; for a JPEG whose frame
 * header lies further (an EXIF block), {@linkcode HEAD_MAX}, then the whole
 * file. A view valid until the next call, unless it is the whole file.
 * @throws {ImageDecodeError} naming the file when it cannot be read.
 */
function readHeader(path: string): Uint8Array {
  try {
    const head = readHead(path, HEAD_BYTES);
    if (sniffFormat(head) !== "jpeg" || head.length < HEAD_BYTES || jpegFrame(head)) return head;
    const more = readHead(path, HEAD_MAX);
    return more.length < HEAD_MAX || jpegFrame(more) ? more : Deno.readFileSync(path);
  } catch (e) {
    throw new ImageDecodeError(path, (e as Error).message);
  }
}

/** Runs at most `n` async jobs at a time. */
class Limiter {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/**
 * A batched image dataset (the {@linkcode BatchDataset} contract): each
 * `for await` is one epoch. Batches are `{x: [b, h, w, c] float32 0-255, y}`;
 * the consumer disposes them.
 *
 * When `batchSize` is null, Keras yields single images `[h, w, c]`; here each
 * batch then holds one image (`x` is `[1, h, w, c]`) so that `x` keeps the
 * contract's rank; {@linkcode ImageDataset.samples} yields plain arrays.
 */
export class ImageDataset implements BatchDataset {
  /** Class names, index = label. */
  readonly classNames: string[];
  /** Files of this dataset in Keras' order (before per-epoch shuffling). */
  filePaths: string[];
  /** Integer label per file (empty when there are no labels). */
  labels: number[];
  /** Images per batch (null: one image per batch). */
  readonly batchSize: number | null;
  /** `[height, width]` of the yielded images. */
  readonly imageSize: [number, number];
  /** 1, 3 or 4. */
  readonly channels: number;
  /** How labels are encoded, null for none. */
  readonly labelMode: LabelMode;
  /** Whether each epoch is shuffled. */
  readonly shuffle: boolean;
  /** The seed of the per-epoch orders. */
  readonly seed: number;
  /** Files dropped because they could not be loaded (`onBadFile: "skip"`). */
  readonly skippedFiles: SkippedFile[] = [];
  /** The disk cache in use (its `stats` count hits / misses), or null. */
  readonly diskCache: DiskCache | null;
  #epoch = 0;
  #opts: LoadOptions;
  #memory = new Map<string, Uint8Array>();
  #bad = new Map<string, string>();

  /** Prefer {@linkcode imageDatasetFromDirectory} / {@linkcode datasetFromFiles}. */
  constructor(
    filePaths: string[],
    labels: number[] | null,
    classNames: string[],
    options: LoadOptions & { seed: number; datasetDir?: string },
  ) {
    this.#opts = options;
    this.filePaths = [...filePaths];
    this.labels = labels ? [...labels] : [];
    this.classNames = [...classNames];
    this.labelMode = options.labelMode === undefined ? "int" : options.labelMode;
    if (labels === null) this.labelMode = null;
    this.batchSize = options.batchSize === undefined ? 32 : options.batchSize;
    if (
      this.batchSize !== null && !(Number.isInteger(this.batchSize) && this.batchSize > 0)
    ) {
      throw new Error(
        `\`batchSize\` must be a positive integer or null, received: ${this.batchSize}`,
      );
    }
    this.imageSize = normaliseSize(options.imageSize);
    this.channels = channelsOf(options.colorMode);
    checkInterpolation(options.interpolation);
    if (options.cropToAspectRatio && options.padToAspectRatio) {
      throw new Error("Only one of `padToAspectRatio`, `cropToAspectRatio` can be set to `true`.");
    }
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed;
    const cache = options.cache ?? false;
    if (cache !== false && cache !== "memory" && cache !== "disk") {
      throw new Error(`\`cache\` must be "disk", "memory" or false, received: ${cache}`);
    }
    if (cache === "disk") {
      const dir = options.cacheDir ?? defaultCacheDir();
      const dirs = options.datasetDir
        ? [options.datasetDir]
        : [...new Set(filePaths.map((p) => p.slice(0, Math.max(0, p.lastIndexOf("/")))))];
      for (const d of dirs) {
        if (d && isInside(dir, d)) {
          throw new Error(
            `The cache folder ${dir} is inside the dataset folder ${d}; the dataset folder ` +
              "is never written to: choose another `cacheDir`.",
          );
        }
      }
      const variant = JSON.stringify({
        v: 2,
        size: this.imageSize,
        channels: this.channels,
        interpolation: options.interpolation ?? "bilinear",
        crop: !!options.cropToAspectRatio,
        pad: !!options.padToAspectRatio,
      });
      const [h, w] = this.imageSize;
      this.diskCache = new DiskCache(dir, variant, this.filePaths, h * w * this.channels);
    } else this.diskCache = null;
    if (this.labelMode && this.labels.length !== this.filePaths.length) {
      throw new Error(
        `${this.labels.length} labels for ${this.filePaths.length} files: they must match.`,
      );
    }
    if (this.labelMode === "binary" && this.classNames.length !== 2) {
      throw new Error(
        'When passing `labelMode="binary"`, there must be exactly 2 classNames. ' +
          `Received: classNames=${JSON.stringify(this.classNames)}`,
      );
    }
    const k = this.classNames.length;
    if (this.labelMode && this.labels.some((l) => !Number.isInteger(l) || l < 0 || l >= k)) {
      const bad = this.labels.find((l) => !Number.isInteger(l) || l < 0 || l >= k);
      throw new Error(`Label ${bad} is not an integer in [0, ${k}) (classNames: ${k}).`);
    }
  }

  /** Batches per epoch (Keras' `cardinality()`). */
  get cardinality(): number {
    const n = this.filePaths.length;
    return this.batchSize === null ? n : Math.ceil(n / this.batchSize);
  }

  /** Number of epochs started so far (the next `for await` is epoch `epoch`, 0-based). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Images in this dataset. */
  get size(): number {
    return this.filePaths.length;
  }

  /** The order (indices into `filePaths`) of epoch `epoch`. */
  order(epoch: number): number[] {
    const n = this.filePaths.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    if (!this.shuffle) return idx;
    const buffer = this.batchSize === null ? 1024 : this.batchSize * 8;
    return bufferShuffleOrder(n, buffer, new MT19937(epochSeed(this.seed, epoch)));
  }

  /** What the decoders are asked for. */
  get #spec(): DecodeSpec {
    return {
      channels: this.channels as 1 | 3 | 4,
      size: this.imageSize,
      interpolation: (this.#opts.interpolation ?? "bilinear").toLowerCase() as Interpolation,
      cropToAspectRatio: !!this.#opts.cropToAspectRatio,
      padToAspectRatio: !!this.#opts.padToAspectRatio,
      limitInputPixels: this.#opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS,
    };
  }

  /**
   * The process' graph decoder for this dataset's images on `threads`
   * TensorFlow threads; null without the native engine or TensorFlow's C API,
   * or with `ACMC_DECODE_GRAPH=0`.
   */
  #graphDecoder(threads: number): GraphDecoder | null {
    if (!nativeBackend() || Deno.env.get("ACMC_DECODE_GRAPH") === "0") return null;
    return GraphDecoder.shared({
      channels: this.channels as 1 | 3 | 4,
      interpolation: this.#spec.interpolation,
      round: (this.#opts.cache ?? false) !== false,
    }, threads);
  }

  /**
   * How an epoch of `count` images decodes: in TensorFlow's threads (a
   * {@linkcode GraphDecoder} with `threads` of them), else in decode worker
   * threads (`threads` workers, a {@linkcode DecodePool}), else on this
   * thread (`threads` 0: the `workers: 0` option, one image, or no native
   * engine).
   */
  #decoding(count: number): { graph: GraphDecoder | null; threads: number } {
    if (!nativeBackend() || count <= 1) return { graph: null, threads: 0 };
    const cores = navigator.hardwareConcurrency ?? 1;
    const n = this.#opts.workers;
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) {
      throw new Error(`\`workers\` must be a non-negative integer, received: ${n}`);
    }
    if (n === 0) return { graph: null, threads: 0 };
    const graph = this.#graphDecoder(n ?? cores);
    if (graph) return { graph, threads: n ?? cores };
    // worker threads: on one core a worker only adds its start and messages
    const workers = n ?? (cores > 1 ? cores : 0);
    return { graph: null, threads: workers };
  }

  /**
   * Decodes and resizes one file, without looking in the caches but filling
   * them: float32 pixels (0-255), or uint8 ones (rounded) when a cache is on.
   * With `via` a {@linkcode GraphDecoder}, in TensorFlow's threads; a
   * {@linkcode DecodePool}, in its workers (the first `workers` of them);
   * else on this thread. TensorFlow's kernels on the native engine (Keras'
   * pixels exactly), sharp + resize.ts elsewhere. With `into` (the image's
   * slot in a batch, of the type above) the pixels are written there and
   * `into` is returned.
   *
   * @throws {ImageDecodeError} naming the file.
   */
  async decodeFile(
    path: string,
    via?: DecodePool | GraphDecoder,
    workers?: number,
    into?: Float32Array | Uint8Array,
  ): Promise<Float32Array | Uint8Array> {
    const mode = this.#opts.cache ?? false;
    const round = mode !== false;
    const spec = this.#spec;
    let out: Float32Array | Uint8Array | null = null;
    if (via instanceof GraphDecoder) {
      const job = this.#graphJob(path, into);
      // false: a crop or pad without the header's size (decoded below)
      if (job && (await via.decode(job.head, spec, path, job.out))) out = job.out;
    } else if (via) {
      try {
        out = await via.decode(path, spec, round, workers, into);
      } catch (e) {
        if (e instanceof ImageDecodeError) throw e;
        // a worker crashed or none loaded the addon: decode here
      }
      if (out === null) out = this.#decodeHere(path, into);
    } else out = this.#decodeHere(path, into);
    if (out === null) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(path);
      } catch (e) {
        throw new ImageDecodeError(path, (e as Error).message);
      }
      const backend = nativeBackend();
      let f32: Float32Array;
      if (backend && nativeFormat(bytes)) {
        f32 = decodeResizeNative(backend.binding as unknown as RawBinding, bytes, spec, path);
      } else {
        const img = await decodeImage(bytes, {
          channels: spec.channels,
          limitInputPixels: spec.limitInputPixels,
          file: path,
        });
        f32 = resizeImage(img, spec.size, spec);
      }
      if (round) out = toUint8(f32, into as Uint8Array | undefined);
      else if (into) {
        (into as Float32Array).set(f32);
        out = into;
      } else out = f32;
    }
    this.#store(path, out);
    return out;
  }

  /** Keeps `out`, the decoded pixels of `path`, in the cache in use. */
  #store(path: string, out: Float32Array | Uint8Array): void {
    const mode = this.#opts.cache ?? false;
    if (mode === "memory") this.#memory.set(path, out as Uint8Array);
    else if (mode === "disk") {
      const r = this.diskCache!.recordOf(path);
      if (r >= 0) this.diskCache!.write(r, out as Uint8Array);
    }
  }

  /**
   * Decodes and resizes `path` on this thread, synchronously, in one graph
   * run (GraphDecoder.decodeSync; into `into` when given): float32, or
   * rounded uint8 with a cache. Null where that path does not apply (no
   * TensorFlow C API here, a format it leaves to decode.ts, a crop or pad
   * without the header's size); the caches are not filled.
   * @throws {ImageDecodeError} naming the file.
   */
  #decodeHere(path: string, into?: Float32Array | Uint8Array): Float32Array | Uint8Array | null {
    const dec = this.#graphDecoder(navigator.hardwareConcurrency ?? 1);
    const job = dec && this.#graphJob(path, into);
    return job && dec.decodeSync(job.head, this.#spec, path, job.out) ? job.out : null;
  }

  /**
   * What a graph decoder needs to decode `path` on its own: the file's
   * header ({@linkcode readHeader}) and where the pixels go (`into`, or a
   * new array: float32, or uint8 with a cache); null for a format it leaves
   * to decode.ts.
   * @throws {ImageDecodeError} naming the file when it cannot be read.
   */
  #graphJob(
    path: string,
    into?: Float32Array | Uint8Array,
  ): { head: Uint8Array; out: Float32Array | Uint8Array } | null {
    const head = readHeader(path);
    if (!nativeFormat(head)) return null;
    const n = this.imageSize[0] * this.imageSize[1] * this.channels;
    const round = (this.#opts.cache ?? false) !== false;
    return { head, out: into ?? (round ? new Uint8Array(n) : new Float32Array(n)) };
  }

  /**
   * Loads one file: from the cache when it holds it (uint8 values), else
   * decoded + resized (see {@linkcode decodeFile}).
   * @returns float32 `h * w * c`, 0-255.
   */
  async loadImage(path: string): Promise<Float32Array> {
    const src = this.#cached(path);
    let px: Float32Array | Uint8Array;
    if (src && "record" in src) {
      px = new Uint8Array(this.diskCache!.recordBytes);
      if (this.diskCache!.read(src.record, 1, px, 0).length) px = await this.decodeFile(path);
    } else px = src ? src.pixels : await this.decodeFile(path);
    return px instanceof Float32Array ? px : toFloat32(px);
  }

  /** The cache's copy of `path`, or null (counted as a miss). */
  #cached(path: string, count = true): Source | null {
    const mode = this.#opts.cache ?? false;
    if (mode === "memory") {
      const m = this.#memory.get(path);
      return m ? { pixels: m } : null;
    }
    if (mode === "disk") {
      const r = this.diskCache!.recordOf(path);
      if (r >= 0 && this.diskCache!.has(r)) return { record: r };
      if (count) this.diskCache!.stats.misses++;
    }
    return null;
  }

  /**
   * Checks every file (see {@linkcode LoadOptions.validate}). Bad files throw
   * (naming the first, with the count) or, with `onBadFile: "skip"`, are
   * removed from `filePaths` / `labels` and listed in `skippedFiles`.
   */
  async validate(mode: "decode" | "header" = "decode"): Promise<SkippedFile[]> {
    const limit = this.#opts.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
    const bad: SkippedFile[] = [];
    if (mode === "decode") {
      // the epoch pipeline (workers, caches filled) over every file, errors collected
      const all = this.filePaths.map((_, i) => i);
      for await (const _ of this.#items(all, (path, e) => bad.push({ path, error: e.message }))) {
        // decoded (and cached when a cache is on)
      }
    } else {
      const limiter = new Limiter(this.#opts.concurrency ?? 4);
      await Promise.all(this.filePaths.map((path) =>
        limiter.run(async () => {
          try {
            let bytes: Uint8Array;
            try {
              bytes = await Deno.readFile(path);
            } catch (e) {
              throw new ImageDecodeError(path, (e as Error).message);
            }
            const { width, height } = await imageHeader(bytes, path);
            if (width * height > limit) {
              throw new ImageDecodeError(
                path,
                `${width}x${height} exceeds the pixel limit ${limit}`,
              );
            }
          } catch (e) {
            bad.push({ path, error: (e as Error).message });
          }
        })
      ));
    }
    if (bad.length === 0) return [];
    bad.sort((a, b) => this.filePaths.indexOf(a.path) - this.filePaths.indexOf(b.path));
    if ((this.#opts.onBadFile ?? "error") === "error") {
      throw new Error(
        `${bad.length} bad image file(s); first: ${bad[0].error}` +
          (bad.length > 1 ? `\nall: ${bad.map((b) => b.path).join(", ")}` : ""),
      );
    }
    const badSet = new Set(bad.map((b) => b.path));
    const keep = this.filePaths.map((p, i) => [p, i] as const).filter(([p]) => !badSet.has(p));
    if (this.labelMode) this.labels = keep.map(([, i]) => this.labels[i]);
    this.filePaths = keep.map(([p]) => p);
    for (const b of bad) this.#recordBad(b.path, b.error);
    return bad;
  }

  #recordBad(path: string, error: string): void {
    if (this.#bad.has(path)) return;
    this.#bad.set(path, error);
    this.skippedFiles.push({ path, error });
    console.warn(`Skipping bad image file: ${error}`);
  }

  /**
   * The images of `order` (indices into `filePaths`) in that order, as cache
   * records or pixels, decoded ahead with bounded concurrency (in a pool of
   * decode workers, started on the first decode). A file that fails goes to
   * `onError` when given (validation), else is skipped (`onBadFile: "skip"`)
   * or thrown.
   */
  async *#items(
    order: number[],
    onError?: (path: string, e: Error) => void,
    slots?: BatchSlots,
  ): AsyncGenerator<{ index: number; source: Source }> {
    const { graph, threads: nWorkers } = this.#decoding(order.length);
    const inFlight = Math.max(1, this.#opts.concurrency ?? (nWorkers > 0 ? 2 * nWorkers : 4));
    const ahead = Math.max(inFlight, (this.batchSize ?? 1) * Math.max(1, this.#opts.prefetch ?? 2));
    const limiter = new Limiter(inFlight);
    const skip = (this.#opts.onBadFile ?? "error") === "skip";
    const paths = this.filePaths;
    const queue: Promise<Loaded>[] = [];
    let pool: DecodePool | undefined;
    let next = 0;
    const fill = () => {
      while (queue.length < ahead && next < order.length) {
        const position = next++;
        const index = order[position];
        const cached = this.#cached(paths[index]);
        if (cached) {
          queue.push(Promise.resolve({ index, source: cached }));
          continue;
        }
        if (!graph && nWorkers > 0 && !pool) {
          pool = DecodePool.shared(nWorkers, DECODE_ADDON);
        }
        const into = slots?.slot(position);
        const via = graph ?? pool;
        queue.push(
          limiter.run(() => this.decodeFile(paths[index], via, nWorkers, into)).then(
            (pixels) => ({ index, source: { pixels } }),
            (error) => ({ index, error }),
          ),
        );
      }
    };
    try {
      fill();
      while (queue.length > 0) {
        const r = await queue.shift()!;
        fill();
        if (r.error) {
          if (onError) onError(paths[r.index], r.error);
          else if (skip) this.#recordBad(paths[r.index], r.error.message);
          else throw r.error;
          continue;
        }
        yield { index: r.index, source: r.source! };
      }
    } finally {
      // stop launching; in-flight decodes settle in the (shared, idle-unref'd) pool
      next = order.length;
    }
  }

  /**
   * One epoch of single images, decoded ahead with bounded concurrency:
   * `{image, label, path}`; `image` is float32 `h*w*c`. Advances `epoch`
   * unless `epoch` is given.
   */
  async *samples(
    epoch?: number,
  ): AsyncGenerator<{ image: Float32Array; label: number | null; path: string; index: number }> {
    const e = epoch ?? this.#epoch++;
    const per = this.imageSize[0] * this.imageSize[1] * this.channels;
    for await (const { index, source } of this.#items(this.order(e))) {
      const path = this.filePaths[index];
      let px: Float32Array | Uint8Array;
      if ("record" in source) {
        px = new Uint8Array(per);
        if (this.diskCache!.read(source.record, 1, px, 0).length) px = await this.decodeFile(path);
      } else px = source.pixels;
      yield {
        image: px instanceof Float32Array ? px : toFloat32(px),
        label: this.labelMode ? this.labels[index] : null,
        path,
        index,
      };
    }
  }

  /**
   * One batch from its images: the batch buffer the decoders wrote into when
   * it holds exactly these images (batch_slots.ts), else float32 pixels
   * copied in; with a cache, uint8 ones, where runs of neighbouring disk
   * records are one read each (a whole unshuffled batch is one read),
   * converted to float32 once for the batch.
   */
  async #makeBatch(
    items: { index: number; source: Source }[],
    scratch?: { bytes: Uint8Array | null },
    spares?: SharedArrayBuffer[],
  ): Promise<Batch> {
    const [h, w] = this.imageSize;
    const c = this.channels;
    const per = h * w * c;
    const n = items.length;
    const shape: [number, number, number, number] = [n, h, w, c];
    const whole = wholeBatch(items.map((it) => "pixels" in it.source ? it.source.pixels : null));
    let x: tf.Tensor4D;
    const mode = this.#opts.cache ?? false;
    // a batch buffer whose pixels are in the tensor goes to a later batch
    // (not with the memory cache, which keeps views of it)
    const spare = (free: boolean) => {
      if (free && whole && spares && mode !== "memory" && spares.length < 2) {
        spares.push(whole.buffer as SharedArrayBuffer);
      }
    };
    if (mode === false) {
      let xs = whole as Float32Array | null;
      if (!xs) {
        xs = new Float32Array(n * per);
        for (let i = 0; i < n; i++) {
          xs.set((items[i].source as { pixels: Float32Array }).pixels, i * per);
        }
      }
      let free: boolean;
      [x, free] = float32Tensor(xs, shape, whole !== null);
      spare(free);
    } else if (whole) {
      x = floatTensor(whole as Uint8Array, shape);
      spare(nativeBackend() !== null);
    } else {
      // one buffer per epoch for the reads: TF's Cast has made the batch from
      // it before the next batch is read, and a fresh 6 MB buffer per batch
      // cost its first writes more than the read itself (page faults)
      let xs: Uint8Array;
      if (scratch) {
        if (!scratch.bytes || scratch.bytes.length < n * per) {
          scratch.bytes = new Uint8Array(n * per);
        }
        xs = scratch.bytes.subarray(0, n * per);
      } else xs = new Uint8Array(n * per);
      const redo: number[] = [];
      for (let i = 0; i < n;) {
        const src = items[i].source;
        if ("pixels" in src) {
          xs.set(src.pixels, i * per);
          i++;
          continue;
        }
        let k = 1;
        while (i + k < n) {
          const s = items[i + k].source;
          if (!("record" in s) || s.record !== src.record + k) break;
          k++;
        }
        for (const bad of this.diskCache!.read(src.record, k, xs, i * per)) {
          redo.push(i + bad - src.record);
        }
        i += k;
      }
      // torn or corrupt records: decode again (and rewrite them)
      for (const i of redo) {
        this.diskCache!.stats.misses++;
        xs.set(await this.decodeFile(this.filePaths[items[i].index]), i * per);
      }
      x = floatTensor(xs, shape);
    }
    return { x, y: this.#labelTensor(items.map((it) => it.index)) };
  }

  /** The labels of the images `indices` (into `filePaths`) as `labelMode` says, or null. */
  #labelTensor(indices: number[]): tf.Tensor | null {
    const labels = indices.map((i) => (this.labelMode ? this.labels[i] : 0));
    if (this.labelMode === "int") return tf.tensor1d(labels, "int32");
    if (this.labelMode === "binary") return tf.tensor2d(labels, [labels.length, 1], "float32");
    if (this.labelMode === "categorical") {
      const k = this.classNames.length;
      const oh = new Float32Array(labels.length * k);
      labels.forEach((l, i) => (oh[i * k + l] = 1));
      return tf.tensor2d(oh, [labels.length, k], "float32");
    }
    return null;
  }

  /**
   * The decoder of whole batches for an epoch of `order`, or null when the
   * epoch goes image by image: no native engine or C API, `workers: 0`,
   * `onBadFile: "skip"` (a skipped image shifts the later batches), a
   * single image.
   */
  #batchDecoder(order: number[]): (() => GraphDecoder | null) | null {
    if ((this.#opts.onBadFile ?? "error") !== "error") return null;
    if (!nativeBackend() || order.length <= 1 || this.#opts.workers === 0) return null;
    // made when a batch first needs decoding: a pass from the cache builds no graph
    let dec: GraphDecoder | null | undefined;
    return () => (dec === undefined ? (dec = this.#decoding(order.length).graph) : dec);
  }

  /**
   * One batch of the images `group` (indices into `filePaths`): read from
   * the cache when it holds all of them; else decoded in graph runs
   * ({@linkcode GraphDecoder.decodeBatch}), filling the cache in use; image
   * by image instead (the per-image pipeline, which names a bad file) when
   * the cache holds some of them, a file cannot be read or is of a format
   * TensorFlow does not decode, or a run fails. Resolves when its images are
   * decoded, to what makes the batch's tensors when the consumer takes it
   * (`take`), or drops it (`drop`, a batch nobody takes). Batches decoded
   * ahead wait as TensorFlow's images, not as float32 tensors (three 25 MB
   * batch tensors alive at once took fresh memory, ~40 ms of page faults in
   * a 240-image pass from the cache); without a cache they are copied into
   * the batch buffer only when taken, so that the next batch's runs start
   * first (the copy kept the decoder's threads waiting, ~8% of a 2-core
   * first pass) and one buffer serves the epoch (each new one cost its page
   * faults, ~35 ms at 256 px).
   */
  async #graphBatch(
    group: number[],
    decoder: () => GraphDecoder | null,
    buffers: (Float32Array | Uint8Array)[],
    scratches: { bytes: Uint8Array | null }[],
  ): Promise<PendingBatch> {
    const paths = this.filePaths;
    const mode = this.#opts.cache ?? false;
    // the read buffer of a batch being made (batches are made concurrently)
    const withScratch = async (items: { index: number; source: Source }[]) => {
      const scratch = scratches.pop() ?? { bytes: null };
      try {
        return await this.#makeBatch(items, scratch);
      } finally {
        scratches.push(scratch);
      }
    };
    const oneByOne = async (): Promise<PendingBatch> => {
      const items: { index: number; source: Source }[] = [];
      for await (const it of this.#items(group)) items.push(it);
      return { take: () => withScratch(items), drop: () => {} };
    };
    if (mode !== false) {
      const cached = group.map((i) => this.#cached(paths[i], false));
      if (cached.every((c) => c !== null)) {
        const items = group.map((index, j) => ({ index, source: cached[j]! }));
        return { take: () => withScratch(items), drop: () => {} };
      }
      if (cached.some((c) => c !== null)) return oneByOne();
    }
    const dec = decoder();
    if (!dec) return oneByOne();
    const images: BatchImage[] = [];
    const limit = this.#spec.limitInputPixels;
    for (const i of group) {
      // the header only (TensorFlow reads the file): format, size, pixel limit;
      // a file that fails goes image by image, which names it
      let dims: { width: number; height: number } | null;
      try {
        const head = readHeader(paths[i]);
        if (!nativeFormat(head)) return oneByOne();
        dims = checkImageBytes(head, limit, paths[i]);
      } catch {
        return oneByOne();
      }
      images.push({ file: paths[i], width: dims?.width, height: dims?.height });
    }
    const decoded = await dec.decodeBatch(images, this.#spec);
    if (!decoded) return oneByOne();
    const [h, w] = this.imageSize;
    const per = h * w * this.channels;
    const shape: [number, number, number, number] = [group.length, h, w, this.channels];
    // a buffer of an earlier batch whose tensor has its own copy, else a new
    // one. New ones are shared buffers, which V8 does not count as its
    // isolate's external memory: a new 25 MB ArrayBuffer (256 px) made it
    // start a memory-reducing mark-compact, ~40 ms of CPU in a 240-image
    // first pass (the epoch keeps at most 2 and drops the rest)
    const buffer = () => {
      const k = buffers.findIndex((b) => b.length === group.length * per);
      return k >= 0
        ? buffers.splice(k, 1)[0]
        : mode === false
        ? new Float32Array(new SharedArrayBuffer(group.length * per * 4))
        : new Uint8Array(new SharedArrayBuffer(group.length * per));
    };
    const labels = () => this.#labelTensor(group);
    if (mode === false) {
      return {
        take: () => {
          const pixels = buffer() as Float32Array;
          decoded.copyTo(pixels);
          const [x, free] = float32Tensor(pixels, shape, true);
          if (free && buffers.length < 2) buffers.push(pixels);
          return { x, y: labels() };
        },
        drop: () => decoded.free(),
      };
    }
    // a cache fills now, from the pixels
    const pixels = buffer() as Uint8Array;
    decoded.copyTo(pixels);
    group.forEach((i, j) => {
      if (mode === "disk") this.diskCache!.stats.misses++;
      const px = pixels.subarray(j * per, (j + 1) * per);
      // the memory cache keeps its pixels: a copy of them
      this.#store(paths[i], mode === "memory" ? px.slice() : px);
    });
    return {
      take: () => {
        const x = floatTensor(pixels, shape);
        if (nativeBackend() !== null && buffers.length < 2) buffers.push(pixels);
        return { x, y: labels() };
      },
      drop: () => {},
    };
  }

  /**
   * The batches of `order` (indices into `filePaths`), each decoded in one
   * graph run ({@linkcode #graphBatch}), `prefetch` of them in flight ahead
   * of the consumer (their tensors made when taken).
   */
  async *#graphBatches(
    order: number[],
    decoder: () => GraphDecoder | null,
  ): AsyncGenerator<Batch> {
    const bs = this.batchSize ?? 1;
    const groups: number[][] = [];
    for (let i = 0; i < order.length; i += bs) groups.push(order.slice(i, i + bs));
    const ahead = Math.max(1, this.#opts.prefetch ?? 2);
    const queue: Promise<PendingBatch>[] = [];
    // batch buffers free again (their tensors hold copies), for later batches
    const buffers: (Float32Array | Uint8Array)[] = [];
    // disk cache read buffers, one per batch being made, reused
    const scratches: { bytes: Uint8Array | null }[] = [];
    let k = 0;
    const start = () => {
      while (queue.length < ahead && k < groups.length) {
        const p = this.#graphBatch(groups[k++], decoder, buffers, scratches);
        p.catch(() => {}); // handled when its turn comes
        queue.push(p);
      }
    };
    try {
      start();
      while (queue.length > 0) {
        const pending = await queue.shift()!;
        start();
        yield await pending.take();
      }
    } finally {
      // batches decoded ahead that nobody will take: no tensors made yet,
      // their images freed once decoded
      k = groups.length;
      for (const p of queue.splice(0)) p.then((b) => b.drop(), () => {});
    }
  }

  /** Iterates one epoch of batches (a new shuffled order on each pass). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const epoch = this.#epoch++;
    const bs = this.batchSize ?? 1;
    const map = this.#opts.map;
    let step = 0;
    // the `map` hook, then the step count
    const mapped = (batch: Batch): Batch => {
      if (map) {
        const input = batch;
        batch = map(input, { epoch, step });
        if (batch.x !== input.x) input.x.dispose();
        if (input.y && batch.y !== input.y) input.y.dispose();
      }
      step++;
      return batch;
    };
    const order = this.order(epoch);
    const dec = this.#batchDecoder(order);
    if (dec) {
      for await (const batch of this.#graphBatches(order, dec)) yield mapped(batch);
      return;
    }
    let pending: { index: number; source: Source }[] = [];
    const scratch = { bytes: null as Uint8Array | null };
    // batch buffers whose tensors were made, for later batches of this epoch
    const spare: SharedArrayBuffer[] = [];
    const emit = async (): Promise<Batch> => {
      const batch = await this.#makeBatch(pending, scratch, spare);
      pending = [];
      return mapped(batch);
    };
    // each decoded image goes straight to its place in its batch
    const [h, w] = this.imageSize;
    const mode = this.#opts.cache ?? false;
    const slots = new BatchSlots(
      h * w * this.channels,
      order.length,
      bs,
      mode === false ? "float32" : "uint8",
      spare,
    );
    for await (const it of this.#items(order, undefined, slots)) {
      pending.push(it);
      if (pending.length === bs) yield await emit();
    }
    if (pending.length > 0) yield await emit();
  }
}

/**
 * A dataset over an explicit list of files (for samplers and custom splits),
 * with the same loading, batching, caching and `map` hook as
 * {@linkcode imageDatasetFromDirectory}. No shuffling unless `shuffle: true`.
 *
 * @param filePaths image files, in the order of `labels`.
 * @param labels integer label per file, or null for images only.
 * @param classNames class names, index = label.
 * @example
 * ```ts
 * const ds = datasetFromFiles(train.filePaths, train.labels, train.classNames, {
 *   batchSize: 8, imageSize: [256, 256], labelMode: "categorical", shuffle: true, seed: 1,
 * });
 * ```
 */
export function datasetFromFiles(
  filePaths: string[],
  labels: number[] | null,
  classNames: string[],
  options: LoadOptions = {},
): ImageDataset {
  checkLabelMode(options.labelMode);
  if (filePaths.length === 0) throw new Error("datasetFromFiles: `filePaths` is empty.");
  const seed = options.seed ?? Math.floor(Math.random() * 1e6);
  return new ImageDataset(filePaths, labels, classNames, { ...options, seed });
}

async function finish(ds: ImageDataset, options: LoadOptions): Promise<ImageDataset> {
  const v = options.validate ?? false;
  if (v) await ds.validate(v === "header" ? "header" : "decode");
  return ds;
}

/**
 * Builds a dataset from a folder of images, like Keras 3's
 * `keras.utils.image_dataset_from_directory` (same arguments, camelCased):
 * class subfolders give the labels, the file list is shuffled with numpy's
 * `RandomState(seed)` and split, images are decoded and resized like TF.
 *
 * @returns one dataset, or `[training, validation]` for `subset: "both"`
 * (then the validation set is not shuffled per epoch, as in Keras; a single
 * `"validation"` subset is, when `shuffle` is true, as in Keras).
 * @example
 * ```ts
 * const [train, valid] = await imageDatasetFromDirectory("data/acmc", {
 *   labelMode: "categorical", validationSplit: 0.2, subset: "both", seed: 123,
 *   batchSize: 8, imageSize: [256, 256],
 * });
 * for await (const { x, y } of train) { x.dispose(); y?.dispose(); }
 * ```
 */
export async function imageDatasetFromDirectory(
  directory: string,
  options: ImageDatasetOptions & { subset: "both" },
): Promise<[ImageDataset, ImageDataset]>;
export async function imageDatasetFromDirectory(
  directory: string,
  options?: ImageDatasetOptions,
): Promise<ImageDataset>;
export async function imageDatasetFromDirectory(
  directory: string,
  options: ImageDatasetOptions = {},
): Promise<ImageDataset | [ImageDataset, ImageDataset]> {
  let labels = options.labels === undefined ? "inferred" : options.labels;
  let labelMode: LabelMode = options.labelMode === undefined ? "int" : options.labelMode;
  const classNamesOpt = options.classNames ?? null;
  if (labels !== "inferred" && labels !== null) {
    if (!Array.isArray(labels)) {
      throw new Error(
        "`labels` argument should be a list of integer labels, of the same size as the number " +
          "of image files in the target directory. If you wish to infer the labels from the " +
          'subdirectory names in the target directory, pass `labels: "inferred"`. If you wish ' +
          "to get a dataset that only contains images (no labels), pass `labels: null`. " +
          `Received: labels=${labels}`,
      );
    }
    if (classNamesOpt && classNamesOpt.length) {
      throw new Error(
        'You can only pass `classNames` if `labels: "inferred"`. ' +
          `Received: labels=${JSON.stringify(labels)}, and classNames=${
            JSON.stringify(classNamesOpt)
          }`,
      );
    }
  }
  checkLabelMode(labelMode);
  if (labels === null || labelMode === null) {
    labels = null;
    labelMode = null;
  }
  channelsOf(options.colorMode);
  const imageSize = normaliseSize(options.imageSize);
  checkInterpolation(options.interpolation);
  const shuffle = options.shuffle ?? true;
  checkValidationSplitArg(options.validationSplit, options.subset, shuffle, options.seed);
  const seed = options.seed ?? Math.floor(Math.random() * 1e6);
  const verbose = options.verbose ?? true;

  const index = await indexDirectory(directory, {
    labels,
    classNames: classNamesOpt,
    shuffle,
    seed,
    followLinks: options.followLinks ?? false,
  });
  const classNames = index.classNames ?? [];
  if (verbose) {
    console.log(
      labels === null
        ? `Found ${index.filePaths.length} files.`
        : `Found ${index.filePaths.length} files belonging to ${classNames.length} classes.`,
    );
  }
  if (labelMode === "binary" && classNames.length !== 2) {
    throw new Error(
      'When passing `labelMode="binary"`, there must be exactly 2 classNames. ' +
        `Received: classNames=${JSON.stringify(classNames)}`,
    );
  }
  if (labels === "inferred" && index.labels && index.filePaths.length > 0) {
    const counts = new Array(classNames.length).fill(0);
    for (const l of index.labels) counts[l]++;
    const empty = classNames.filter((_, i) => counts[i] === 0);
    if (empty.length && !options.allowEmptyClasses) {
      throw new Error(
        `Class folder(s) without images in ${directory}: ${JSON.stringify(empty)} ` +
          `(allowed formats: ${ALLOWLIST_FORMATS.join(" ")}). Remove them, pass \`classNames\` ` +
          "without them, or set `allowEmptyClasses: true`.",
      );
    }
  }
  const common: LoadOptions & { seed: number; datasetDir: string } = {
    ...options,
    labelMode,
    imageSize,
    shuffle,
    seed,
    datasetDir: directory,
  };
  const make = (paths: string[], labs: number[] | null, opts = common) =>
    new ImageDataset(paths, labs, classNames, opts);

  if (options.subset === "both") {
    const train = trainingOrValidationSplit(
      index.filePaths,
      index.labels,
      options.validationSplit,
      "training",
    );
    const val = trainingOrValidationSplit(
      index.filePaths,
      index.labels,
      options.validationSplit,
      "validation",
    );
    if (verbose) {
      console.log(`Using ${train.samples.length} files for training.`);
      console.log(`Using ${val.samples.length} files for validation.`);
    }
    if (!train.samples.length) {
      throw new Error(
        `No training images found in directory ${directory}. Allowed formats: ${ALLOWLIST_FORMATS}`,
      );
    }
    if (!val.samples.length) {
      throw new Error(
        `No validation images found in directory ${directory}. Allowed formats: ${ALLOWLIST_FORMATS}`,
      );
    }
    const trainDs = make(train.samples, train.labels);
    // Keras builds the validation half of "both" without shuffling and without augmentation.
    const valDs = make(val.samples, val.labels, { ...common, shuffle: false, map: undefined });
    await finish(trainDs, options);
    await finish(valDs, options);
    return [trainDs, valDs];
  }
  const split = options.subset
    ? trainingOrValidationSplit(
      index.filePaths,
      index.labels,
      options.validationSplit,
      options.subset,
    )
    : { samples: index.filePaths, labels: index.labels };
  if (verbose && options.subset) {
    console.log(`Using ${split.samples.length} files for ${options.subset}.`);
  }
  if (!split.samples.length) {
    throw new Error(
      `No images found in directory ${directory}. Allowed formats: ${ALLOWLIST_FORMATS}`,
    );
  }
  return await finish(make(split.samples, split.labels), options);
}
