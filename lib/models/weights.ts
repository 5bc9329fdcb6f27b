/**
 * Keras weight files (HDF5) into tfjs models, read with the `h5wasm` npm
 * package (no Python at run time). Two layouts:
 *
 * - legacy `.h5` (Keras 2 / tf.keras, and Keras 3's legacy writer): a
 *   `layer_names` attribute at the root or in `model_weights/`, one group per
 *   layer with a `weight_names` attribute listing its datasets in order
 *   (`conv1_conv/kernel:0`, ...). Keras' official
 *   `resnet50_weights_tf_dim_ordering_tf_kernels(_notop).h5` are of this kind.
 * - Keras 3 `.weights.h5`: `layers/<class_name>[_n]/vars/0..n`, each `vars`
 *   group tagged with the layer's name (attribute `name`); groups without a
 *   tag, or whose tag names no layer of the model (another session's
 *   auto-names such as `dense_7`), are matched by Keras' own class-and-order
 *   path.
 *
 * Weights are matched by layer name (legacy files whose names all differ but
 * whose layer count agrees: in order, as Keras does); shapes are checked.
 *
 * @module
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { ROOT } from "../config/mod.ts";
import { tf } from "../engine/mod.ts";
import { type H5wasm, hdf5 } from "./hdf5.ts";
import { kerasWeightPaths } from "./keras_save.ts";

/** Where Keras downloads its ResNet weight files from (`BASE_WEIGHTS_PATH` in keras/src/applications/resnet.py). */
export const KERAS_RESNET_WEIGHTS_URL =
  "https://storage.googleapis.com/tensorflow/keras-applications/resnet/";

/** Folder the official weight files are looked for in: `<root>/data/weights/`. */
export const WEIGHTS_DIR: string = join(ROOT, "data", "weights");

/** MD5 of Keras' official files (`WEIGHTS_HASHES["resnet50"]` in keras/src/applications/resnet.py). */
export const RESNET50_WEIGHTS_MD5 = {
  top: "2cb95161c43110f7111970584f804107",
  notop: "4d473c1dd8becc155b73f8504c6f6626",
} as const;

/** File name of Keras' official ImageNet ResNet50 weights, with or without the top. */
export function resnet50WeightsFileName(includeTop: boolean): string {
  return `resnet50_weights_tf_dim_ordering_tf_kernels${includeTop ? "" : "_notop"}.h5`;
}

/**
 * Path of Keras' official ImageNet ResNet50 weight file in `data/weights/`;
 * throws an error saying where to download it and where to put it when the
 * file is not there, or when its MD5 is not Keras' (`verify`, default true:
 * a truncated download fails here, not deep inside HDF5).
 */
export function imagenetWeightsPath(includeTop: boolean, verify = true): string {
  const name = resnet50WeightsFileName(includeTop);
  const path = join(WEIGHTS_DIR, name);
  if (!existsSync(path)) {
    throw new Error(
      `ImageNet weights for ResNet50 not found: ${path}\n` +
        `Download ${KERAS_RESNET_WEIGHTS_URL}${name}\n` +
        `and put it in ${WEIGHTS_DIR}/ (see data.README.md), e.g.\n` +
        `  mkdir -p data/weights && curl -L -o data/weights/${name} ${KERAS_RESNET_WEIGHTS_URL}${name}`,
    );
  }
  if (verify) {
    const want = RESNET50_WEIGHTS_MD5[includeTop ? "top" : "notop"];
    const got = md5File(path);
    if (got !== want) {
      throw new Error(
        `${path} is not Keras' official file: MD5 ${got}, expected ${want} ` +
          `(incomplete download?). Download it again from ${KERAS_RESNET_WEIGHTS_URL}${name}`,
      );
    }
  }
  return path;
}

function md5File(path: string): string {
  const hash = createHash("md5");
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(1 << 22);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** One layer's arrays as stored in the file, in the layer's weight order. */
interface FileLayer {
  values: { name: string; shape: number[]; data: Float32Array }[];
}

/** What {@linkcode loadKerasWeights} did. */
export interface LoadWeightsReport {
  /** The layout found: `"legacy-h5"` or `"keras3-weights-h5"`. */
  format: "legacy-h5" | "keras3-weights-h5";
  /**
   * `"name"`; `"order"` when a legacy file's layer names differ from the
   * model's but both have as many layers with weights (Keras' legacy rule);
   * `"path"` when some layers of a `.weights.h5` file were found by Keras'
   * class-and-order path (`layers/dense_1`) because the file has no name tags
   * or tags that name no layer of the model (Keras' own rule for this format).
   */
  matchedBy: "name" | "order" | "path";
  /** Names of the model's layers whose weights were set. */
  loaded: string[];
  /** Model layers with weights that the file lacks (only with `skipMissing`). */
  missing: string[];
  /** Layers with weights in the file that the model does not have. */
  unused: string[];
}

/** Options of {@linkcode loadKerasWeights}. */
export interface LoadWeightsOptions {
  /**
   * Leave model layers the file lacks as they are (Keras' `by_name` with a
   * no-top file) instead of failing. Default false.
   */
  skipMissing?: boolean;
}

type H5File = InstanceType<H5wasm["File"]>;
type H5Group = InstanceType<H5wasm["Group"]>;
type H5Dataset = InstanceType<H5wasm["Dataset"]>;

/** The loaded `h5wasm` (set before any file is opened, see {@linkcode loadKerasWeights}). */
let h5wasm: H5wasm;

function isGroup(e: unknown): e is H5Group {
  return e instanceof h5wasm.Group;
}
function isDataset(e: unknown): e is H5Dataset {
  return e instanceof h5wasm.Dataset;
}

function stringList(value: unknown): string[] {
  if (value == null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.map((v) => String(v));
  // Empty lists are stored as empty float arrays.
  if (ArrayBuffer.isView(value) && (value as Float64Array).length === 0) return [];
  throw new Error(`expected a list of names, got ${String(value)}`);
}

function attrString(g: H5Group, key: string): string | undefined {
  const a = g.attrs[key];
  if (!a) return undefined;
  const v = a.value;
  return typeof v === "string" ? v : Array.isArray(v) && v.length === 1 ? String(v[0]) : undefined;
}

function readDataset(d: H5Dataset, where: string, path: string): FileLayer["values"][number] {
  const v = d.value;
  if (!ArrayBuffer.isView(v) || v instanceof DataView) {
    throw new Error(`${path}: ${where} is not a numeric array (dtype ${JSON.stringify(d.dtype)})`);
  }
  if (d.dtype !== "<f" && d.dtype !== "<d" && d.dtype !== ">f" && d.dtype !== ">d") {
    throw new Error(`${path}: ${where} has dtype ${JSON.stringify(d.dtype)}, expected float32/64`);
  }
  const data = v instanceof Float32Array ? v : Float32Array.from(v as Float64Array);
  return { name: where, shape: d.shape ?? [], data };
}

function readLegacy(root: H5Group, path: string): Map<string, FileLayer> {
  const layers = new Map<string, FileLayer>();
  for (const layerName of stringList(root.attrs["layer_names"].value)) {
    const g = root.get(layerName);
    if (!isGroup(g)) throw new Error(`${path}: layer group "${layerName}" is missing`);
    const names = stringList(g.attrs["weight_names"]?.value);
    if (names.length === 0) continue;
    const values = names.map((n) => {
      const d = g.get(n);
      if (!isDataset(d)) throw new Error(`${path}: dataset "${layerName}/${n}" is missing`);
      return readDataset(d, `${layerName}/${n}`, path);
    });
    layers.set(layerName, { values });
  }
  return layers;
}

/**
 * Reads a Keras 3 `.weights.h5` file by layer name: a group's `name` tag when
 * it names a layer of the model, else Keras' own rule, the group's
 * class-and-order path (`layers/conv2d_3`), which is what untagged files and
 * files whose tags are another session's auto-names (`dense_7`) need.
 */
function readKeras3(
  file: H5File,
  path: string,
  model: tf.LayersModel,
): { layers: Map<string, FileLayer>; byPath: number } {
  // Keras' own paths for the model's layers (nested models included).
  const byPath = new Map(kerasWeightPaths(model).map((e) => [e.path, e.name]));
  const names = new Set(byPath.values());
  const tagged = new Map<string, FileLayer>();
  const untagged = new Map<string, FileLayer>();
  const walk = (g: H5Group, at: string) => {
    for (const key of g.keys()) {
      const child = g.get(key);
      if (!isGroup(child)) continue;
      const here = `${at}/${key}`;
      const vars = child.get("vars");
      if (isGroup(vars)) {
        const keys = vars.keys().filter((k) => /^\d+$/.test(k)).sort((a, b) => +a - +b);
        const tag = attrString(vars, "name");
        const atPath = byPath.get(here.slice(1));
        if (keys.length > 0 && (tag !== undefined || atPath !== undefined)) {
          const values = keys.map((k) => {
            const d = vars.get(k);
            if (!isDataset(d)) throw new Error(`${path}: ${here}/vars/${k} is not a dataset`);
            return readDataset(d, `${here.slice(1)}/vars/${k}`, path);
          });
          if (tag !== undefined && names.has(tag)) tagged.set(tag, { values });
          else if (atPath !== undefined) untagged.set(atPath, { values });
          else if (tag !== undefined) tagged.set(tag, { values });
        }
      }
      const inner = child.get("layers");
      if (isGroup(inner)) walk(inner, `${here}/layers`);
    }
  };
  const top = file.get("layers");
  if (isGroup(top)) walk(top, "/layers");
  let fromPath = 0;
  for (const [name, entry] of untagged) {
    if (!tagged.has(name)) {
      tagged.set(name, entry);
      fromPath++;
    }
  }
  return { layers: tagged, byPath: fromPath };
}

/** The model's layers, nested models expanded. */
function flatLayers(model: tf.LayersModel | tf.layers.Layer): tf.layers.Layer[] {
  const inner = (model as { layers?: tf.layers.Layer[] }).layers;
  if (!Array.isArray(inner)) return [model as tf.layers.Layer];
  return inner.flatMap((l) => flatLayers(l));
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when the file starts with the HDF5 signature (at byte 0, 512, 1024, ...). */
function isHdf5(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const buf = new Uint8Array(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      readSync(fd, buf, 0, 8, at);
      if (buf.every((b, i) => b === HDF5_SIGNATURE[i])) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a Keras weight file into a tfjs model, matching layers by name
 * (Keras layer names, as {@linkcode resnet50} uses). Reads the legacy `.h5`
 * layout (Keras' official ResNet50 files, `model.save("x.h5")`) and Keras 3's
 * `.weights.h5` (`model.save_weights`).
 *
 * Throws, naming the file and the layer, when the file does not exist, is not
 * a Keras weight file, lacks a layer of the model (unless `skipMissing`), or
 * holds an array whose shape differs from the model's.
 *
 * @param model a tfjs model whose layer names follow Keras'.
 * @param path the `.h5` file.
 * @example
 * ```ts
 * const model = resnet50({ inputShape: [224, 224, 3] });
 * const report = await loadKerasWeights(model, "data/weights/resnet50_weights_tf_dim_ordering_tf_kernels.h5");
 * console.log(report.loaded.length); // 107 layers with weights
 * ```
 */
export async function loadKerasWeights(
  model: tf.LayersModel,
  path: string,
  options: LoadWeightsOptions = {},
): Promise<LoadWeightsReport> {
  const abs = resolve(path);
  if (!existsSync(abs)) {
    const official = abs.endsWith("_notop.h5") || abs.endsWith("_kernels.h5");
    throw new Error(
      `Keras weight file not found: ${abs}` +
        (official
          ? `\nDownload it from ${KERAS_RESNET_WEIGHTS_URL}${
            abs.split("/").pop()
          }\nand put it in ${WEIGHTS_DIR}/ (see data.README.md)`
          : ""),
    );
  }
  if (!isHdf5(abs)) {
    throw new Error(`${abs} is not an HDF5 file (Keras .h5 / .weights.h5 expected)`);
  }
  h5wasm = await hdf5();
  let file: H5File;
  try {
    file = new h5wasm.File(abs, "r");
  } catch (e) {
    throw new Error(`${abs} is not a readable HDF5 file: ${(e as Error).message}`);
  }
  const layers = flatLayers(model).filter((l) => l.weights.length > 0);
  let format: LoadWeightsReport["format"];
  let matchedBy: LoadWeightsReport["matchedBy"] = "name";
  let stored: Map<string, FileLayer>;
  try {
    const mw = file.get("model_weights");
    if (file.attrs["layer_names"]) {
      format = "legacy-h5";
      stored = readLegacy(file, abs);
    } else if (isGroup(mw) && mw.attrs["layer_names"]) {
      format = "legacy-h5";
      stored = readLegacy(mw, abs);
    } else if (isGroup(file.get("layers"))) {
      format = "keras3-weights-h5";
      const read = readKeras3(file, abs, model);
      stored = read.layers;
      if (read.byPath > 0) matchedBy = "path";
    } else {
      throw new Error(
        `${abs} is not a Keras weight file: no "layer_names" attribute (legacy .h5) ` +
          `and no "layers" group (Keras 3 .weights.h5)`,
      );
    }
  } finally {
    file.close();
  }

  if (
    format === "legacy-h5" && layers.some((l) => !stored.has(l.name)) &&
    stored.size === layers.length
  ) {
    // Names differ but the counts agree: Keras' own legacy load_weights
    // matches layers with weights in order; do the same (shapes still checked).
    const renamed = new Map<string, FileLayer>();
    [...stored.values()].forEach((entry, i) => renamed.set(layers[i].name, entry));
    stored = renamed;
    matchedBy = "order";
  }
  const missing = layers.filter((l) => !stored.has(l.name)).map((l) => l.name);
  if (missing.length > 0 && !options.skipMissing) {
    throw new Error(
      `${abs} has no weights for ${missing.length} layer(s) of model "${model.name}": ` +
        `${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", ..." : ""} ` +
        `(a no-top file for a model with a top? pass skipMissing, or build with includeTop: false)`,
    );
  }
  // Check every shape before changing anything.
  const plan: [tf.layers.Layer, FileLayer][] = [];
  for (const layer of layers) {
    const entry = stored.get(layer.name);
    if (!entry) continue;
    const ws = layer.weights;
    if (ws.length !== entry.values.length) {
      throw new Error(
        `${abs}: layer "${layer.name}" has ${entry.values.length} arrays in the file ` +
          `(${entry.values.map((v) => v.name).join(", ")}) but ${ws.length} weights in the model`,
      );
    }
    ws.forEach((w, i) => {
      const v = entry.values[i];
      if (w.shape.join(",") !== v.shape.join(",")) {
        throw new Error(
          `${abs}: shape mismatch in layer "${layer.name}": weight ${w.originalName ?? w.name} ` +
            `is [${w.shape}] in the model but ${v.name} is [${v.shape}] in the file`,
        );
      }
    });
    plan.push([layer, entry]);
  }
  for (const [layer, entry] of plan) {
    const tensors = entry.values.map((v) => tf.tensor(v.data, v.shape, "float32"));
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
  const names = new Set(layers.map((l) => l.name));
  return {
    format,
    matchedBy,
    loaded: plan.map(([l]) => l.name),
    missing,
    unused: [...stored.keys()].filter((n) => !names.has(n)),
  };
}
