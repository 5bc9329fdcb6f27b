/**
 * Checkpoints: a model's weights (and optionally its optimizer's state and
 * topology) in one file, written atomically.
 *
 * ## File format (`acmc-checkpoint`, version 1)
 *
 * | bytes | content |
 * |---|---|
 * | 0-7 | ASCII magic `ACMCCKP1` |
 * | 8-11 | header length `H`, uint32 little-endian |
 * | 12 .. 12+H | UTF-8 JSON header ({@linkcode CheckpointInfo} plus the tfjs weight specs and a SHA-256 of the payload) |
 * | 12+H .. | payload: the model's weights, then the optimizer's, each as tfjs' `tf.io.encodeWeights` lays them out (the specs say name, shape, dtype) |
 *
 * Weights are named by their Keras/tfjs layer path (`conv1_conv/kernel`),
 * so a checkpoint loads into any model built with the same layer names.
 *
 * ## Atomicity
 * A save writes a temporary file in the same folder, flushes it to disk
 * (`fsync`), renames it over the checkpoint (atomic on POSIX file systems),
 * then flushes the folder. A crash or kill at any moment leaves either the
 * previous complete checkpoint or the new one, never a torn file; the
 * header's SHA-256 is checked on every load.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { tf } from "../engine/mod.ts";
import { writeAtomically } from "../io/mod.ts";
import type { History, Logs } from "./types.ts";
import { loadKerasWeights } from "../models/mod.ts";
import { isKerasWeightsPath, kerasCheckpointMeta } from "./keras_checkpoint.ts";

const MAGIC = "ACMCCKP1";
const FORMAT = "acmc-checkpoint";
const VERSION = 1;

/** What a checkpoint says about itself (its header, without the weight specs). */
export interface CheckpointInfo {
  /** `"acmc-checkpoint"`, or `"keras3-weights-h5"` for Keras' weights file (keras_checkpoint.ts). */
  format: string;
  /** Format version (1). */
  version: number;
  /** ISO time of the save. */
  createdAt: string;
  /** 0-based epoch after which it was saved, or null. */
  epoch: number | null;
  /** That epoch's logs (`loss`, `val_accuracy`, ...), or null. */
  logs: Logs | null;
  /** The monitored quantity of the callback that saved it, or null. */
  monitor: string | null;
  /** The best monitored value so far (pass it back as `initialValueThreshold` on resume), or null. */
  best: number | null;
  /** The training history up to and including `epoch`, or null. */
  history: History | null;
  /** The model's weights: name, shape and dtype, in `model.weights` order. */
  weights: { name: string; shape: number[]; dtype: string }[];
  /** The optimizer whose state is stored, or null (weights-only checkpoint). */
  optimizer: { className: string; config: Record<string, unknown> } | null;
  /** The model's tfjs topology (`model.toJSON`), when saved; null for weights-only. */
  modelTopology: unknown | null;
}

interface Header extends CheckpointInfo {
  weightSpecs: tf.io.WeightsManifestEntry[];
  optimizerSpecs: tf.io.WeightsManifestEntry[];
  weightBytes: number;
  optimizerBytes: number;
  sha256: string;
}

/** Options of {@linkcode saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Also store this optimizer's state (Adam's moments and step count). */
  optimizer?: tf.Optimizer;
  /** Also store the model's topology (`model.toJSON`); needs every layer to be serialisable. */
  includeTopology?: boolean;
  /** 0-based epoch, for resuming. */
  epoch?: number;
  /** The epoch's logs. */
  logs?: Logs;
  /** The monitored quantity. */
  monitor?: string;
  /** Best monitored value so far. */
  best?: number | null;
  /** Training history up to this checkpoint. */
  history?: History;
}

/*
 * Saving and loading go one weight at a time: the payload of a ResNet50
 * checkpoint is 94 MB, and the whole of it in one buffer (tfjs'
 * `encodeWeights`, then a copy for the hash, then the file's bytes; on load
 * the file, then its payload sliced out) made each save and restore raise
 * the process's peak resident memory by ~270 MB: a fresh buffer that large
 * finds no free block of its size among the allocator's, so it takes new
 * pages. No single weight is larger than ~9 MB.
 */

type Named = { name: string; tensor: tf.Tensor };

/** One tensor's bytes and spec, exactly as `tf.io.encodeWeights` lays it out among others. */
async function encodeOne(
  w: Named,
): Promise<{ spec: tf.io.WeightsManifestEntry; bytes: Uint8Array }> {
  const e = await tf.io.encodeWeights([w]);
  return { spec: e.specs[0], bytes: new Uint8Array(e.data) };
}

/** Bytes per element of the dtypes `encodeWeights` writes unquantized, as fixed-size values. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** Bytes a spec's tensor takes in the payload, or null where that is not fixed (strings, quantized). */
function specBytes(spec: tf.io.WeightsManifestEntry): number | null {
  const per = DTYPE_BYTES[spec.dtype];
  if (per === undefined || spec.quantization) return null;
  return spec.shape.reduce((a, b) => a * b, 1) * per;
}

const hex = (digest: Uint8Array) =>
  Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** Reads exactly `n` bytes at the file's position (fewer only at its end). */
async function readExactly(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await file.read(out.subarray(off));
    if (got === null) return out.subarray(0, off);
    off += got;
  }
  return out;
}

function modelWeights(model: tf.LayersModel): { name: string; tensor: tf.Tensor }[] {
  return model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }));
}

/**
 * Saves `model`'s weights (all of them, trainable or not, e.g. BatchNorm
 * statistics) to the single file `path`, atomically (see the module doc).
 *
 * @example
 * ```ts
 * await saveCheckpoint(model, "out/checkpoints/02-scratch/best.ckpt", { epoch: 3, logs });
 * ```
 */
export async function saveCheckpoint(
  model: tf.LayersModel,
  path: string,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  const named = modelWeights(model);
  let optimizer: CheckpointInfo["optimizer"] = null;
  let state: Named[] = [];
  if (options.optimizer) {
    const opt = options.optimizer;
    state = await opt.getWeights();
    optimizer = {
      className: opt.getClassName(),
      config: opt.getConfig() as Record<string, unknown>,
    };
  }
  try {
    // first pass: specs, sizes and the payload's hash; the second writes it
    const hash = createHash("sha256");
    const specs = async (list: Named[]) => {
      const out: tf.io.WeightsManifestEntry[] = [];
      let bytes = 0;
      for (const w of list) {
        const e = await encodeOne(w);
        hash.update(e.bytes);
        out.push(e.spec);
        bytes += e.bytes.length;
      }
      return { specs: out, bytes };
    };
    const weights = await specs(named);
    const opt = await specs(state);
    const sha256 = hex(hash.digest());
    const header: Header = {
      format: FORMAT,
      version: VERSION,
      createdAt: new Date().toISOString(),
      epoch: options.epoch ?? null,
      logs: options.logs ?? null,
      monitor: options.monitor ?? null,
      best: options.best ?? null,
      history: options.history ?? null,
      weights: weights.specs.map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype })),
      optimizer,
      modelTopology: options.includeTopology ? model.toJSON(null, false) : null,
      weightSpecs: weights.specs,
      optimizerSpecs: opt.specs,
      weightBytes: weights.bytes,
      optimizerBytes: opt.bytes,
      sha256,
    };
    const headerBytes = new TextEncoder().encode(JSON.stringify(header));
    const head = new Uint8Array(12 + headerBytes.length);
    head.set(new TextEncoder().encode(MAGIC), 0);
    new DataView(head.buffer).setUint32(8, headerBytes.length, true);
    head.set(headerBytes, 12);
    await writeAtomically(path, async (tmp) => {
      const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
      try {
        await writeAll(file, head);
        const again = createHash("sha256");
        for (const w of [...named, ...state]) {
          const { bytes } = await encodeOne(w);
          again.update(bytes);
          await writeAll(file, bytes);
        }
        // nothing may change the weights between the passes (the header's hash would lie)
        if (hex(again.digest()) !== sha256) {
          throw new Error(`checkpoint ${path}: the weights changed while they were being saved`);
        }
      } finally {
        file.close();
      }
    });
  } finally {
    // getWeights returns the live accumulators plus a fresh step-count scalar
    for (const s of state) if (!(s.tensor instanceof tf.Variable)) s.tensor.dispose();
  }
}

/** An open checkpoint: its header, where its payload starts, and the file (the caller closes it). */
interface OpenCheckpoint {
  file: Deno.FsFile;
  header: Header;
  /** Byte offset of the payload (the model's weights, then the optimizer's). */
  start: number;
}

/**
 * Opens checkpoint `path` and reads its header, checking the magic, format
 * and total size; with `verify`, also the payload's SHA-256 (read in pieces
 * of 4 MB).
 */
async function openCheckpoint(path: string, verify: boolean): Promise<OpenCheckpoint> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`checkpoint ${path}: no such file`);
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    const first = await readExactly(file, 12);
    if (first.length < 12 || new TextDecoder().decode(first.subarray(0, 8)) !== MAGIC) {
      throw new Error(`checkpoint ${path}: not an ${FORMAT} file (bad magic)`);
    }
    const len = new DataView(first.buffer, first.byteOffset).getUint32(8, true);
    if (12 + len > size) throw new Error(`checkpoint ${path}: truncated header`);
    const header = JSON.parse(new TextDecoder().decode(await readExactly(file, len))) as Header;
    if (header.format !== FORMAT || header.version !== VERSION) {
      throw new Error(`checkpoint ${path}: unsupported format ${header.format} v${header.version}`);
    }
    const start = 12 + len;
    const end = start + header.weightBytes + header.optimizerBytes;
    if (end !== size) {
      throw new Error(`checkpoint ${path}: expected ${end} bytes, found ${size}`);
    }
    if (verify) {
      const hash = createHash("sha256");
      for (let off = start; off < end;) {
        const piece = await readExactly(file, Math.min(4 * 2 ** 20, end - off));
        if (piece.length === 0) throw new Error(`checkpoint ${path}: truncated payload`);
        hash.update(piece);
        off += piece.length;
      }
      if (hex(hash.digest()) !== header.sha256) {
        throw new Error(`checkpoint ${path}: checksum mismatch (corrupt file)`);
      }
    }
    return { file, header, start };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** Reads `length` payload bytes at `offset` (from the payload's start). */
async function readPayload(
  c: OpenCheckpoint,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  await c.file.seek(c.start + offset, Deno.SeekMode.Start);
  return await readExactly(c.file, length);
}

function info(h: Header): CheckpointInfo {
  const {
    weightSpecs: _w,
    optimizerSpecs: _o,
    weightBytes: _wb,
    optimizerBytes: _ob,
    sha256: _s,
    ...rest
  } = h;
  return rest;
}

/** The info of a `.weights.h5` checkpoint (weights only; epoch and logs from its history file). */
async function kerasInfo(path: string, model?: tf.LayersModel): Promise<CheckpointInfo> {
  const meta = await kerasCheckpointMeta(path);
  const weights = (model?.weights ?? []).map((w) => ({
    name: w.originalName,
    shape: w.shape as number[],
    dtype: w.dtype as string,
  }));
  return {
    format: "keras3-weights-h5",
    version: 1,
    ...meta,
    monitor: null,
    best: null,
    weights,
    optimizer: null,
    modelTopology: null,
  };
}

/** Reads a checkpoint's header (epoch, logs, best value, history) without loading weights. */
export async function readCheckpointInfo(path: string): Promise<CheckpointInfo> {
  if (isKerasWeightsPath(path)) return await kerasInfo(path);
  const c = await openCheckpoint(path, false);
  c.file.close();
  return info(c.header);
}

/** Options of {@linkcode loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /**
   * A fresh optimizer (no step taken yet) of the saved class to receive the
   * saved state (for resuming); an error if the checkpoint holds none.
   */
  optimizer?: tf.Optimizer;
}

/**
 * Loads the weights of checkpoint `path` into `model` (e.g. the best weights
 * after training) and returns the checkpoint's info. Weights are matched by
 * name (`conv1_conv/kernel`); when the names differ (tfjs renames layers
 * without explicit names) but the list of shapes is the same, by position.
 * Throws, naming the file, on a corrupt file or a model that does not fit.
 * A `.weights.h5` path is read as Keras' weights file (what
 * {@linkcode modelCheckpoint} writes for it: weights only, with `loadKerasWeights`;
 * epoch and logs from the history file beside it; no optimizer state).
 *
 * @example
 * ```ts
 * const { epoch, logs } = await loadCheckpoint(model, path);
 * console.log(`best epoch ${epoch! + 1}: val_accuracy ${logs!.val_accuracy}`);
 * ```
 */
export async function loadCheckpoint(
  model: tf.LayersModel,
  path: string,
  options: LoadCheckpointOptions = {},
): Promise<CheckpointInfo> {
  if (isKerasWeightsPath(path)) {
    if (options.optimizer) {
      throw new Error(`checkpoint ${path}: a Keras .weights.h5 file holds no optimizer state`);
    }
    const info = await kerasInfo(path, model);
    await loadKerasWeights(model, path);
    return info;
  }
  const c = await openCheckpoint(path, true);
  const { header } = c;
  try {
    const targets = model.weights;
    // where each saved weight's bytes lie (the last of a repeated name wins, as in decodeWeights)
    const offsets = new Map<string, { spec: tf.io.WeightsManifestEntry; offset: number }>();
    const bySpec: { spec: tf.io.WeightsManifestEntry; offset: number }[] = [];
    let offset = 0, fixed = true;
    for (const spec of header.weightSpecs) {
      const n = specBytes(spec);
      if (n === null) fixed = false;
      const at = { spec, offset };
      offsets.set(spec.name, at);
      bySpec.push(at);
      offset += n ?? 0;
    }
    const byName = targets.every((w) => offsets.has(w.originalName));
    let sources: { spec: tf.io.WeightsManifestEntry; offset: number }[];
    if (byName) {
      sources = targets.map((w) => offsets.get(w.originalName)!);
    } else if (header.weightSpecs.length === targets.length) {
      sources = bySpec.map((s) => offsets.get(s.spec.name)!);
    } else {
      const missing = targets.filter((w) => !offsets.has(w.originalName))
        .map((w) => w.originalName);
      throw new Error(
        `checkpoint ${path}: ${header.weightSpecs.length} weights do not fit the model's ` +
          `${targets.length}; missing e.g. ${missing.slice(0, 5).join(", ")}`,
      );
    }
    targets.forEach((w, i) => {
      const a = w.shape.join("x"), b = sources[i].spec.shape.join("x");
      if (a !== b) {
        throw new Error(`checkpoint ${path}: weight ${w.originalName} has shape ${b}, model ${a}`);
      }
    });
    if (fixed) {
      // one weight at a time: no payload-sized buffer
      for (const [i, w] of targets.entries()) {
        const { spec, offset } = sources[i];
        const bytes = await readPayload(c, offset, specBytes(spec)!);
        const t = tf.io.decodeWeights(bytes.buffer as ArrayBuffer, [spec])[spec.name];
        try {
          w.write(t);
        } finally {
          t.dispose();
        }
      }
    } else {
      const bytes = await readPayload(c, 0, header.weightBytes);
      const decoded = tf.io.decodeWeights(bytes.buffer as ArrayBuffer, header.weightSpecs);
      try {
        model.setWeights(sources.map((s) => decoded[s.spec.name]));
      } finally {
        tf.dispose(Object.values(decoded));
      }
    }
    if (options.optimizer) {
      if (!header.optimizer) {
        throw new Error(`checkpoint ${path}: holds no optimizer state (saved weights only)`);
      }
      const opt = options.optimizer;
      if (opt.getClassName() !== header.optimizer.className) {
        throw new Error(
          `checkpoint ${path}: optimizer state is ${header.optimizer.className}, got ${opt.getClassName()}`,
        );
      }
      const bytes = await readPayload(c, header.weightBytes, header.optimizerBytes);
      const map = tf.io.decodeWeights(bytes.buffer as ArrayBuffer, header.optimizerSpecs);
      try {
        await opt.setWeights(
          header.optimizerSpecs.map((s) => ({ name: s.name, tensor: map[s.name] })),
        );
      } finally {
        tf.dispose(Object.values(map));
      }
    }
  } finally {
    c.file.close();
  }
  return info(header);
}
