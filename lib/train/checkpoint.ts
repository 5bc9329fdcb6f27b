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
import { tf } from "../engine/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
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

async function sha256(parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
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
  const encoded = await tf.io.encodeWeights(named);
  let optimizer: CheckpointInfo["optimizer"] = null;
  let optSpecs: tf.io.WeightsManifestEntry[] = [];
  let optData = new ArrayBuffer(0);
  if (options.optimizer) {
    const opt = options.optimizer;
    const state = await opt.getWeights();
    try {
      const enc = await tf.io.encodeWeights(state);
      optSpecs = enc.specs;
      optData = enc.data;
    } finally {
      // getWeights returns the live accumulators plus a fresh step-count scalar
      for (const s of state) if (!(s.tensor instanceof tf.Variable)) s.tensor.dispose();
    }
    optimizer = {
      className: opt.getClassName(),
      config: opt.getConfig() as Record<string, unknown>,
    };
  }
  const weightBytes = new Uint8Array(encoded.data);
  const optimizerBytes = new Uint8Array(optData);
  const header: Header = {
    format: FORMAT,
    version: VERSION,
    createdAt: new Date().toISOString(),
    epoch: options.epoch ?? null,
    logs: options.logs ?? null,
    monitor: options.monitor ?? null,
    best: options.best ?? null,
    history: options.history ?? null,
    weights: encoded.specs.map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype })),
    optimizer,
    modelTopology: options.includeTopology ? model.toJSON(null, false) : null,
    weightSpecs: encoded.specs,
    optimizerSpecs: optSpecs,
    weightBytes: weightBytes.length,
    optimizerBytes: optimizerBytes.length,
    sha256: await sha256([weightBytes, optimizerBytes]),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(12 + headerBytes.length + weightBytes.length + optimizerBytes.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  out.set(weightBytes, 12 + headerBytes.length);
  out.set(optimizerBytes, 12 + headerBytes.length + weightBytes.length);
  await writeFileAtomic(path, out);
}

async function readCheckpoint(
  path: string,
  verify: boolean,
): Promise<{ header: Header; weights: Uint8Array; optimizer: Uint8Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`checkpoint ${path}: no such file`);
    throw e;
  }
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error(`checkpoint ${path}: not an ${FORMAT} file (bad magic)`);
  }
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + len > bytes.length) throw new Error(`checkpoint ${path}: truncated header`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Header;
  if (header.format !== FORMAT || header.version !== VERSION) {
    throw new Error(`checkpoint ${path}: unsupported format ${header.format} v${header.version}`);
  }
  const start = 12 + len;
  const end = start + header.weightBytes + header.optimizerBytes;
  if (end !== bytes.length) {
    throw new Error(`checkpoint ${path}: expected ${end} bytes, found ${bytes.length}`);
  }
  const weights = bytes.slice(start, start + header.weightBytes);
  const optimizer = bytes.slice(start + header.weightBytes, end);
  if (verify && (await sha256([weights, optimizer])) !== header.sha256) {
    throw new Error(`checkpoint ${path}: checksum mismatch (corrupt file)`);
  }
  return { header, weights, optimizer };
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
  return info((await readCheckpoint(path, false)).header);
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
  const { header, weights, optimizer } = await readCheckpoint(path, true);
  const decoded = tf.io.decodeWeights(weights.buffer as ArrayBuffer, header.weightSpecs);
  try {
    const targets = model.weights;
    const byName = targets.every((w) => decoded[w.originalName] !== undefined);
    let values: tf.Tensor[];
    if (byName) {
      values = targets.map((w) => decoded[w.originalName]);
    } else if (header.weightSpecs.length === targets.length) {
      values = header.weightSpecs.map((s) => decoded[s.name]);
    } else {
      const missing = targets.filter((w) => decoded[w.originalName] === undefined)
        .map((w) => w.originalName);
      throw new Error(
        `checkpoint ${path}: ${header.weightSpecs.length} weights do not fit the model's ` +
          `${targets.length}; missing e.g. ${missing.slice(0, 5).join(", ")}`,
      );
    }
    targets.forEach((w, i) => {
      const a = w.shape.join("x"), b = values[i].shape.join("x");
      if (a !== b) {
        throw new Error(`checkpoint ${path}: weight ${w.originalName} has shape ${b}, model ${a}`);
      }
    });
    model.setWeights(values);
  } finally {
    tf.dispose(Object.values(decoded));
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
    const map = tf.io.decodeWeights(optimizer.buffer as ArrayBuffer, header.optimizerSpecs);
    try {
      await opt.setWeights(
        header.optimizerSpecs.map((s) => ({ name: s.name, tensor: map[s.name] })),
      );
    } finally {
      tf.dispose(Object.values(map));
    }
  }
  return info(header);
}
