/**
 * Read + decode + resize of image files in TensorFlow's own threads: a small
 * TensorFlow graph per image (`ReadFile`, `DecodeImage`, `smart_resize`'s
 * `Slice`, `ResizeBilinear` / `ResizeNearestNeighbor` with half-pixel
 * centres, `resize_with_pad`'s `Pad`), a batch's images (up to 8 per run)
 * run together through TensorFlow's C API, on a thread of Deno's blocking
 * pool, in a session with a thread pool of its own. The main thread only
 * checks each file's header, starts the runs and copies the resized pixels
 * into the batch; the decoding itself runs on as many of TensorFlow's
 * threads as `threads` allows, as tf.data's parallel map does for Keras, with
 * no JavaScript worker to start (a `node:worker_threads` worker cost ~35 ms of
 * main-thread CPU to start, which a first pass of a few hundred images felt;
 * docs/loader.md). A single image is a batch of one.
 *
 * The ops, attributes and arithmetic are those of the eager paths
 * (native_decode.js), so the pixels are Keras' exactly; uint8
 * output (the caches' values) is rounded as `toUint8` does (`x + 0.5`,
 * truncated, in float64).
 *
 * @example
 * ```ts
 * const dec = GraphDecoder.shared({ channels: 3, interpolation: "bilinear", round: false }, 2);
 * const out = new Float32Array(256 * 256 * 3);
 * const ok = await dec?.decode(await Deno.readFile("a.png"), spec, "a.png", out);
 * ```
 *
 * @module
 */
import { DT, Graph, type GraphOutput, nativeBackend, type Session } from "../engine/mod.ts";
// @ts-types="./image_format.d.ts"
import { checkImageBytes, ImageDecodeError } from "./image_format.js";
// @ts-types="./native_decode.d.ts"
import { aspectPlan, type DecodeSpec } from "./native_decode.js";

/** What a decode graph is built for. */
export interface GraphDecodeKind {
  /** Channels of the output (`DecodeImage`'s `channels`). */
  channels: 1 | 3 | 4;
  /** `"bilinear"` or `"nearest"`. */
  interpolation: string;
  /** uint8 output rounded as the caches store it, instead of float32. */
  round: boolean;
}

const decoders = new Map<string, GraphDecoder | null>();

/**
 * Images per graph run of a batch; a batch's runs are in flight together. A
 * graph of a whole batch of 32 cost ~30 ms to build and prepare at its first
 * run, once for the full and once for the last, shorter batch: ~0.25 ms per
 * image of a 240-image pass.
 */
const CHUNK = 8;

/**
 * A serialized `ConfigProto` (hand-encoded: five fields do not call for a
 * protobuf library):
 * - `device_count {"GPU": 0}`: decoding stays on the CPU, as tf.data's map
 *   does (these kernels have no uint8 GPU version);
 * - `inter_op_parallelism_threads: threads` with `use_per_session_threads`:
 *   a pool of its own, so `threads` is how many images decode at once;
 * - `graph_options {optimizer_options {opt_level: L0} rewrite_options
 *   {disable_meta_optimizer: true}}`: Grappler's passes have nothing to gain
 *   on these graphs and cost ~15 ms per batch size at its first run.
 */
function sessionConfig(threads: number): Uint8Array {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const len = (tag: number, body: number[]) => [tag, body.length, ...body];
  const deviceCount = len(0x0a, [...len(0x0a, [0x47, 0x50, 0x55]), 0x10, 0x00]); // field 1
  const interOp = [0x28, ...varint(threads)]; // field 5
  const perSession = [0x48, 0x01]; // field 9
  const l0 = [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // opt_level -1
  const graphOptions = len(0x52, [
    ...len(0x1a, l0), // optimizer_options (3)
    ...len(0x52, [0x98, 0x01, 0x01]), // rewrite_options (10) {disable_meta_optimizer (19)}
  ]); // field 10
  return new Uint8Array([...deviceCount, ...interOp, ...perSession, ...graphOptions]);
}

/** One run's feeds and fetches (see `GraphDecoder`'s `#job`). */
interface Job {
  /** What TensorFlow caches the run's executors by: its images per run, with or without plans. */
  signature: string;
  feeds: [GraphOutput, Deno.PointerValue][];
  fetches: GraphOutput[];
  /** Frees what the run was fed (after a failed run). */
  free(): void;
  /** Frees the feeds and checks the outputs: each image's tensor, or null (then all freed). */
  finish(fetched: Deno.PointerValue[]): Deno.PointerValue[] | null;
}

const utf8 = new TextEncoder();

/** A failed single-image run as an ImageDecodeError: TensorFlow's reason, without the node it names. */
function decodeError(file: string, e: unknown): ImageDecodeError {
  const reason = String((e as Error)?.message ?? e).replace(/^Session\.run: /, "");
  return new ImageDecodeError(file, reason.split("\n")[0].trim());
}

/** The placeholders and outputs of a batch of `n` images. */
interface BatchOps {
  files: GraphOutput;
  begin: GraphOutput;
  size: GraphOutput;
  resize: GraphOutput;
  paddings: GraphOutput;
  /** Each image, `[1, h, w, c]`. */
  out: GraphOutput[];
  shapes: GraphOutput;
}

/**
 * A batch's decoded images ({@linkcode GraphDecoder.decodeBatch}), held in
 * TensorFlow's memory until copied or freed; exactly one of the two must
 * happen.
 */
export interface DecodedBatch {
  /** How many images. */
  readonly images: number;
  /**
   * Copies the images into `into` (`[n, h, w, c]` values: float32, or uint8
   * for a decoder built with `round`) and frees them.
   */
  copyTo(into: Float32Array | Uint8Array): void;
  /** Frees them uncopied (a batch nobody takes). */
  free(): void;
}

/**
 * One image of a batch (see {@linkcode GraphDecoder.decodeBatch}): its file,
 * and the size its header gives (needed to crop or pad).
 */
export interface BatchImage {
  /** The image file, read by TensorFlow. */
  file: string;
  /** Width from the header, in pixels. */
  width?: number;
  /** Height from the header, in pixels. */
  height?: number;
}

/** Decodes image files in TensorFlow graph runs, a batch (or one image) per run (see the module doc). */
export class GraphDecoder {
  readonly #graph: Graph;
  readonly #session: Session;
  readonly #kind: GraphDecodeKind;
  /** The plan tensors of batches decoded without crop or pad, per batch size and image size. */
  readonly #fixed = new Map<string, Deno.PointerValue[]>();
  /** The ops of each batch size decoded so far (see {@linkcode decodeBatch}). */
  readonly #batches = new Map<number, BatchOps>();
  /**
   * Per run signature (images per run, with or without crop and pad): the
   * first run, which the others wait for. TensorFlow builds a signature's
   * executors at its first run (graph passes, kernel lookups: ~20 ms for 8
   * images with oneDNN's layout pass), and every run that starts before one
   * is cached builds its own: a first batch's runs and the batches decoded
   * ahead all did, ~0.35 ms of CPU per image of a 240-image pass. The first run alone still decodes its images on every thread.
   * `true` once it is over.
   */
  readonly #built = new Map<string, Promise<unknown> | true>();
  /**
   * Images this decoder decoded, those it left to another path (failed runs
   * and the like), and those decoded but neither copied nor freed yet
   * ({@linkcode DecodedBatch}).
   */
  readonly stats: { decoded: number; declined: number; held: number } = {
    decoded: 0,
    declined: 0,
    held: 0,
  };

  /**
   * The process' decoder of `kind` running on `threads` TensorFlow threads,
   * built on first use; null without the native engine or where TensorFlow's
   * C API cannot be reached (no FFI permission): the callers then decode
   * another way.
   */
  static shared(kind: GraphDecodeKind, threads: number): GraphDecoder | null {
    const key = `${kind.channels}/${kind.interpolation}/${kind.round}/${threads}`;
    if (!decoders.has(key)) {
      let d: GraphDecoder | null = null;
      if (nativeBackend()) {
        try {
          d = new GraphDecoder(kind, threads);
        } catch {
          d = null;
        }
      }
      decoders.set(key, d);
    }
    return decoders.get(key)!;
  }

  /** Images decoded and declined by every decoder of this process, summed. */
  static totals(): { decoded: number; declined: number } {
    const t = { decoded: 0, declined: 0 };
    for (const d of decoders.values()) {
      t.decoded += d?.stats.decoded ?? 0;
      t.declined += d?.stats.declined ?? 0;
    }
    return t;
  }

  /** Builds the graph and its session (see {@linkcode GraphDecoder.shared}). */
  constructor(kind: GraphDecodeKind, threads: number) {
    if (!(Number.isInteger(threads) && threads > 0)) {
      throw new Error(`GraphDecoder: threads must be a positive integer, received: ${threads}`);
    }
    this.#kind = kind;
    const g = new Graph();
    this.#graph = g;
    try {
      // ops are added per batch size at first use (#batchOps); the session
      // takes them in at its next run
      this.#session = g.session(sessionConfig(threads));
    } catch (e) {
      g.dispose();
      throw e;
    }
  }

  /**
   * One image's ops: `DecodeImage`, `Slice` (`begin`, `size`), `ExpandDims`,
   * the resize to `resize`, a `Cast` to float32 where the resize keeps uint8,
   * `Pad` (`paddings`), and with `round` the caches' rounding to uint8.
   * Returns the [1, h, w, c] output and the decoded image's shape.
   */
  #image(
    contents: GraphOutput,
    begin: GraphOutput,
    size: GraphOutput,
    resize: GraphOutput,
    paddings: GraphOutput,
  ): { out: GraphOutput; shape: GraphOutput } {
    const g = this.#graph;
    const kind = this.#kind;
    const u8 = { type: DT.UINT8 };
    const decoded = g.op("DecodeImage", [contents], {
      channels: kind.channels,
      dtype: u8,
      expand_animations: false,
    });
    const shape = g.op("Shape", [decoded], { T: u8, out_type: { type: DT.INT32 } });
    const cropped = g.op("Slice", [decoded, begin, size], { T: u8, Index: { type: DT.INT32 } });
    const batch = g.op("ExpandDims", [cropped, g.constant(DT.INT32, [], new Int32Array([0]))], {
      T: u8,
      Tdim: { type: DT.INT32 },
    });
    const nearest = kind.interpolation === "nearest";
    let resized = g.op(nearest ? "ResizeNearestNeighbor" : "ResizeBilinear", [batch, resize], {
      T: u8,
      align_corners: false,
      half_pixel_centers: true,
    });
    if (nearest) {
      resized = g.op("Cast", [resized], { SrcT: u8, DstT: { type: DT.FLOAT }, Truncate: false });
    }
    let out = g.op("Pad", [resized, paddings], {
      T: { type: DT.FLOAT },
      Tpaddings: { type: DT.INT32 },
    });
    if (kind.round) {
      // toUint8: x + 0.5 in float64, truncated (the values are 0-255)
      const f64 = { type: DT.DOUBLE };
      const wide = g.op("Cast", [out], { SrcT: { type: DT.FLOAT }, DstT: f64, Truncate: false });
      const half = g.constant(DT.DOUBLE, [], new Float64Array([0.5]));
      const floored = g.op("Floor", [g.op("AddV2", [wide, half], { T: f64 })], { T: f64 });
      out = g.op("Cast", [floored], { SrcT: f64, DstT: u8, Truncate: false });
    }
    return { out, shape };
  }

  /**
   * Decodes the file `file` (`bytes`: its start, at least its header, which
   * is checked here; TensorFlow reads the file itself) and resizes it as `spec` says into `out` (the image's length;
   * Float32Array, or Uint8Array for a decoder built with `round`), in one
   * graph run on the decoder's threads while this thread is free. Resolves
   * true when done, false when this path cannot do it (a crop or pad whose
   * header gives no size, an image that pads to nothing): the caller then
   * decodes it another way.
   * @throws {ImageDecodeError} naming the file: empty, unknown format, over
   * the pixel limit, or TensorFlow could not read or decode it.
   */
  async decode(
    bytes: Uint8Array,
    spec: DecodeSpec,
    file: string,
    out: Float32Array | Uint8Array,
  ): Promise<boolean> {
    const job = this.#single(bytes, spec, file);
    if (!job) return this.#declined(1);
    let fetched: Deno.PointerValue[];
    try {
      fetched = await this.#runAsync(job);
    } catch (e) {
      job.free();
      throw decodeError(file, e);
    }
    return this.#copyOne(job, fetched, out);
  }

  /**
   * Like {@linkcode decode}, on this thread (it waits for the run): for a
   * single image, where starting a run elsewhere gains nothing.
   * @throws {ImageDecodeError} as {@linkcode decode} does.
   */
  decodeSync(
    bytes: Uint8Array,
    spec: DecodeSpec,
    file: string,
    out: Float32Array | Uint8Array,
  ): boolean {
    const job = this.#single(bytes, spec, file);
    if (!job) return this.#declined(1);
    let fetched: Deno.PointerValue[];
    try {
      fetched = this.#session.run(job.feeds, job.fetches);
    } catch (e) {
      job.free();
      throw decodeError(file, e);
    }
    return this.#copyOne(job, fetched, out);
  }

  /** The run of one image (a batch of one) after its header checks; null where it cannot plan. */
  #single(bytes: Uint8Array, spec: DecodeSpec, file: string): Job | null {
    const dims = checkImageBytes(bytes, spec.limitInputPixels, file);
    if (!(spec.cropToAspectRatio || spec.padToAspectRatio)) {
      return this.#job([{ file }], null, spec);
    }
    if (!dims) return null;
    const plan = aspectPlan(dims.width, dims.height, spec.size, spec);
    if (plan.outH <= 0 || plan.outW <= 0) return null;
    return this.#job([{ file, ...dims }], [plan], spec);
  }

  /** Copies a single image's run output into `out` (false: not the header's size). */
  #copyOne(job: Job, fetched: Deno.PointerValue[], out: Float32Array | Uint8Array): boolean {
    const images = job.finish(fetched);
    if (!images) return this.#declined(1);
    try {
      this.#graph.copyTensor(images[0], out);
      this.stats.decoded++;
      return true;
    } finally {
      this.#graph.deleteTensor(images[0]);
    }
  }

  /** The ops decoding a batch of `n` images (added to the graph on first use). */
  #batchOps(n: number): BatchOps {
    let ops = this.#batches.get(n);
    if (ops) return ops;
    const g = this.#graph;
    const files = g.placeholder(`files_${n}`, DT.STRING, [n]);
    const begin = g.placeholder(`begin_${n}`, DT.INT32, [n, 3]);
    const size = g.placeholder(`size_${n}`, DT.INT32, [n, 3]);
    const resize = g.placeholder(`resize_${n}`, DT.INT32, [n, 2]);
    const paddings = g.placeholder(`paddings_${n}`, DT.INT32, [n, 4, 2]);
    const unpack = (x: GraphOutput, type: number) => {
      const op = g.addOp("Unpack", [x], { num: n, T: { type }, axis: 0 });
      return Array.from({ length: n }, (_, index) => ({ op, index }));
    };
    const [f, b, s, r, p] = [
      unpack(files, DT.STRING),
      unpack(begin, DT.INT32),
      unpack(size, DT.INT32),
      unpack(resize, DT.INT32),
      unpack(paddings, DT.INT32),
    ];
    // the files are read by TensorFlow's threads too: no JavaScript buffer of
    // every file's bytes (~200 KB each) for V8's garbage collector to count
    const images = f.map((file, i) => {
      const contents = g.op("ReadFile", [file]);
      return this.#image(contents, b[i], s[i], r[i], p[i]);
    });
    // no ConcatV2: it made a third copy of every batch (a fresh 25 MB at
    // 256 px, page faults and all); each image is copied into place instead
    const out = images.map((im) => im.out);
    const shapes = g.op("Pack", [images.map((im) => im.shape)], {
      N: n,
      T: { type: DT.INT32 },
      axis: 0,
    });
    ops = { files, begin, size, resize, paddings, out, shapes };
    this.#batches.set(n, ops);
    return ops;
  }

  /** The plan of every image of a batch as the four stacked host tensors its ops take. */
  #batchPlans(plans: ReturnType<typeof aspectPlan>[], [outH, outW]: [number, number]) {
    const g = this.#graph;
    const n = plans.length;
    return [
      g.tensor(DT.INT32, [n, 3], new Int32Array(plans.flatMap((p) => [p.y0, p.x0, 0]))),
      g.tensor(DT.INT32, [n, 3], new Int32Array(plans.flatMap((p) => [p.h, p.w, -1]))),
      g.tensor(DT.INT32, [n, 2], new Int32Array(plans.flatMap((p) => [p.outH, p.outW]))),
      g.tensor(
        DT.INT32,
        [n, 4, 2],
        new Int32Array(plans.flatMap((p) => [
          0,
          0,
          p.padTop,
          outH - p.outH - p.padTop,
          p.padLeft,
          outW - p.outW - p.padLeft,
          0,
          0,
        ])),
      ),
    ];
  }

  /**
   * Reads, decodes and resizes a batch of image files in graph runs: the
   * images are read and decoded in parallel on the decoder's threads while
   * this thread is free. The caller has checked each file's header (format,
   * pixel limit: checkImageBytes). Resolves to the decoded images, held in
   * TensorFlow's memory until {@linkcode DecodedBatch.copyTo} copies them
   * into the caller's buffer (or {@linkcode DecodedBatch.free} drops them);
   * or null when the batch cannot be done this way (a file fails to read or
   * decode, a crop or pad without the header's size, an image that pads to
   * nothing): decode its images one by one then, which names the bad file.
   *
   * Why a copy rather than a view of TensorFlow's memory: every new
   * JavaScript view of a 25 MB batch counted as new external memory for V8,
   * whose extra garbage collections cost ~0.8 ms of CPU per 256 px image.
   */
  async decodeBatch(images: readonly BatchImage[], spec: DecodeSpec): Promise<DecodedBatch | null> {
    const n = images.length;
    const aspect = !!(spec.cropToAspectRatio || spec.padToAspectRatio);
    const plans: ReturnType<typeof aspectPlan>[] = [];
    if (aspect) {
      for (const { width, height } of images) {
        const plan = width && height ? aspectPlan(width, height, spec.size, spec) : null;
        if (!plan || plan.outH <= 0 || plan.outW <= 0) {
          this.#declined(n);
          return null;
        }
        plans.push(plan);
      }
    }
    // runs of at most CHUNK images, all in flight at once
    const runs: Promise<Deno.PointerValue[] | null>[] = [];
    for (let i = 0; i < n; i += CHUNK) {
      const part = images.slice(i, i + CHUNK);
      runs.push(this.#run(part, aspect ? plans.slice(i, i + CHUNK) : null, spec));
    }
    const done = await Promise.all(runs);
    const g = this.#graph;
    let outs = done.flatMap((d) => d ?? []);
    const free = () => {
      for (const t of outs) g.deleteTensor(t);
      this.stats.held -= outs.length;
      outs = [];
    };
    this.stats.held += outs.length;
    if (done.some((d) => d === null)) {
      free();
      this.#declined(n);
      return null;
    }
    this.stats.decoded += n;
    const per = spec.size[0] * spec.size[1] * this.#kind.channels;
    return {
      images: n,
      copyTo: (into) => {
        try {
          if (outs.length !== n) throw new Error("GraphDecoder: the batch was copied or freed");
          if (into.length !== n * per) {
            throw new Error(`GraphDecoder: into holds ${into.length} values, expected ${n * per}`);
          }
          outs.forEach((t, i) => g.copyTensor(t, into.subarray(i * per, (i + 1) * per)));
        } finally {
          free();
        }
      },
      free,
    };
  }

  /** One graph run over `images` (their plans when cropping or padding), asynchronously. */
  async #run(
    images: readonly BatchImage[],
    plans: ReturnType<typeof aspectPlan>[] | null,
    spec: DecodeSpec,
  ): Promise<Deno.PointerValue[] | null> {
    const job = this.#job(images, plans, spec);
    let fetched: Deno.PointerValue[];
    try {
      fetched = await this.#runAsync(job);
    } catch {
      job.free();
      return null;
    }
    return job.finish(fetched);
  }

  /** Runs `job` on the decoder's threads, after the first run of its signature (see `#built`). */
  #runAsync(job: Job): Promise<Deno.PointerValue[]> {
    const first = this.#built.get(job.signature);
    // once the first run is over, a run starts now, not after a microtask:
    // the caller may have a batch to copy before it yields again, which the
    // decoder's threads would otherwise wait for
    if (first === true) return this.#session.runAsync(job.feeds, job.fetches);
    if (first) return first.then(() => this.#session.runAsync(job.feeds, job.fetches));
    const run = this.#session.runAsync(job.feeds, job.fetches);
    const signature = job.signature;
    this.#built.set(
      signature,
      run.then(() => {}, () => {}).then(() => this.#built.set(signature, true)),
    );
    return run;
  }

  /**
   * The feeds and fetches of one run over `images` (their plans when cropping
   * or padding). `finish` takes the run's outputs and gives each image's
   * `[1, h, w, c]` host tensor (the caller deletes them), or null when a
   * decoded size is not its header's; it, or `free` after a failed run,
   * frees what the run was fed.
   */
  #job(
    images: readonly BatchImage[],
    plans: ReturnType<typeof aspectPlan>[] | null,
    spec: DecodeSpec,
  ): Job {
    const n = images.length;
    const [outH, outW] = spec.size;
    const g = this.#graph;
    const ops = this.#batchOps(n);
    // the plan's tensors: the same for every image without crop or pad, made once
    const key = `${n}:${outH}x${outW}`;
    let planTensors = this.#fixed.get(key);
    if (plans || !planTensors) {
      const plain = { y0: 0, x0: 0, h: -1, w: -1, outH, outW, padTop: 0, padLeft: 0 };
      planTensors = this.#batchPlans(plans ?? images.map(() => plain), spec.size);
      if (!plans) this.#fixed.set(key, planTensors);
    }
    const own = plans ? planTensors : [];
    const names = images.map((im) => utf8.encode(im.file));
    const input = g.stringViews(names);
    const free = () => {
      g.deleteTensor(input);
      for (const t of own) g.deleteTensor(t);
      // the names were viewed by `input` until here
      names.length;
    };
    return {
      signature: `${n}:${plans ? "plan" : "plain"}`,
      feeds: [
        [ops.files, input],
        [ops.begin, planTensors[0]],
        [ops.size, planTensors[1]],
        [ops.resize, planTensors[2]],
        [ops.paddings, planTensors[3]],
      ],
      fetches: plans ? [...ops.out, ops.shapes] : ops.out,
      free,
      finish: (fetched) => {
        free();
        if (!plans) return fetched;
        const shapes = g.read(fetched[n], Int32Array);
        g.deleteTensor(fetched.pop()!);
        for (let i = 0; i < n; i++) {
          if (shapes[3 * i] !== images[i].height || shapes[3 * i + 1] !== images[i].width) {
            for (const t of fetched) g.deleteTensor(t);
            return null;
          }
        }
        return fetched;
      },
    };
  }

  #declined(n: number): false {
    this.stats.declined += n;
    return false;
  }
}
