/**
 * Exports a model in TensorFlow.js' layers format: a folder with `model.json`
 * (topology + weights manifest) and binary weight shards of at most 4 MiB
 * (`group1-shard1of24.bin`, ..., the `tensorflowjs_converter` layout), which
 * `tf.loadLayersModel("file://dir/model.json")` (tfjs-node) or
 * `tf.loadLayersModel("https://.../model.json")` (browser) open.
 *
 * What the topology holds, and why:
 * - Batch normalization is written as tfjs' standard `BatchNormalization`
 *   (same four weights, same inference maths), not as our
 *   `KerasBatchNormalization`, so plain tfjs loads it. The difference only
 *   matters for training a frozen layer (see batchnorm.ts).
 * - The ReLU-fusion layers already serialize as plain `Activation` / `Add`.
 * - ResNet's `preprocess_input` layer is our registered class
 *   `ResNetPreprocessInput` (no weights). In this project it loads as is
 *   (lib/models registers it). Elsewhere the class must be registered before
 *   loading: the export writes `preprocess_input.js` beside `model.json`, an
 *   ES module whose `registerPreprocessInput(tf)` does that (10 lines, no
 *   dependency but the caller's `tf`).
 *
 * The folder is written under a temporary name beside it and renamed into
 * place (an earlier export there is replaced), so a crash never leaves a
 * `model.json` whose shards are missing or torn.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { tf } from "../engine/mod.ts";
import { IMAGENET_MEAN_BGR, PreprocessInput } from "./preprocess.ts";

/** Largest shard, bytes (tensorflowjs_converter's default `weight_shard_size_bytes`). */
export const TFJS_SHARD_BYTES = 4 * 1024 * 1024;

/** Options of {@linkcode saveTfjsModel}. */
export interface SaveTfjsModelOptions {
  /** Largest weight shard in bytes. Default {@linkcode TFJS_SHARD_BYTES} (4 MiB). */
  shardBytes?: number;
}

/** What {@linkcode saveTfjsModel} wrote. */
export interface SaveTfjsModelReport {
  /** Absolute path of the folder. */
  dir: string;
  /** Absolute path of `model.json`. */
  modelJson: string;
  /** File names of the weight shards, in order. */
  shards: string[];
  /** Bytes of weights. */
  weightBytes: number;
  /** `preprocess_input.js` when the model holds the preprocessing layer, else null. */
  preprocessModule: string | null;
}

/**
 * ES module written beside `model.json` when the model has ResNet's
 * preprocessing layer: registers the class `ResNetPreprocessInput` with the
 * caller's tfjs (RGB -> BGR, then the ImageNet channel means subtracted,
 * exactly as {@linkcode PreprocessInput}).
 */
export const PREPROCESS_INPUT_MODULE =
  `// Registers ResNet's preprocess_input layer (class "ResNetPreprocessInput")
// with your TensorFlow.js, before tf.loadLayersModel(".../model.json").
//   import * as tf from "@tensorflow/tfjs";
//   import { registerPreprocessInput } from "./preprocess_input.js";
//   registerPreprocessInput(tf);
export function registerPreprocessInput(tf) {
  const mean = [${IMAGENET_MEAN_BGR.join(", ")}]; // ImageNet means, BGR order
  class ResNetPreprocessInput extends tf.layers.Layer {
    static className = "ResNetPreprocessInput";
    computeOutputShape(shape) { return shape; }
    call(inputs) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.tidy(() => tf.sub(tf.reverse(tf.cast(x, "float32"), -1), tf.tensor1d(mean)));
    }
  }
  tf.serialization.registerClass(ResNetPreprocessInput);
  return ResNetPreprocessInput;
}
`;

type Json = Record<string, unknown>;

/** Rewrites our layer classes to their standard tfjs equivalents (see the module doc). */
function standardTopology(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(standardTopology);
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) out[k] = standardTopology(v);
  if (out.class_name === "KerasBatchNormalization") out.class_name = "BatchNormalization";
  return out;
}

function hasPreprocess(model: tf.LayersModel): boolean {
  return model.layers.some((l) =>
    l instanceof PreprocessInput ||
    (Array.isArray((l as tf.LayersModel).layers) && hasPreprocess(l as tf.LayersModel))
  );
}

/**
 * Saves `model` in tfjs' layers format into the folder `dir` (created;
 * replaced when it exists): `model.json`, `group1-shard{i}of{n}.bin`, and
 * `preprocess_input.js` when the model has ResNet's preprocessing layer (see
 * the module doc). Weights are the model's current values, batch-norm
 * moving statistics included.
 *
 * @example
 * ```ts
 * const r = await saveTfjsModel(model, "out/models/resnet50-tfjs");
 * const again = await tf.loadLayersModel(`file://${r.modelJson}`);
 * ```
 */
export async function saveTfjsModel(
  model: tf.LayersModel,
  dir: string,
  options: SaveTfjsModelOptions = {},
): Promise<SaveTfjsModelReport> {
  const shardBytes = options.shardBytes ?? TFJS_SHARD_BYTES;
  if (!(Number.isInteger(shardBytes) && shardBytes > 0)) {
    throw new Error(`saveTfjsModel: shardBytes must be a positive integer, got ${shardBytes}`);
  }
  const abs = resolve(dir);
  let artifacts: tf.io.ModelArtifacts | undefined;
  try {
    await model.save(tf.io.withSaveHandler((a) => {
      artifacts = a;
      return Promise.resolve({
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
      });
    }));
  } catch (e) {
    throw new Error(
      `saveTfjsModel: model "${model.name}" cannot be serialised: ${(e as Error).message}`,
    );
  }
  const a = artifacts!;
  const data = new Uint8Array(tf.io.concatenateArrayBuffers(a.weightData ?? new ArrayBuffer(0)));
  const n = Math.max(1, Math.ceil(data.length / shardBytes));
  const shards = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: standardTopology(a.modelTopology) as Json,
    format: "layers-model",
    generatedBy: a.generatedBy,
    convertedBy: "acmc lib/models saveTfjsModel",
    weightsManifest: [{ paths: shards, weights: a.weightSpecs ?? [] }],
  };
  if (a.trainingConfig) modelJson.trainingConfig = a.trainingConfig;
  const preprocess = hasPreprocess(model);

  const parent = dirname(abs);
  await Deno.mkdir(parent, { recursive: true });
  const tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const tmp = join(parent, `.${basename(abs)}.tmp-${tag}`);
  const old = join(parent, `.${basename(abs)}.old-${tag}`);
  try {
    await Deno.mkdir(tmp);
    for (let i = 0; i < n; i++) {
      await writeSynced(join(tmp, shards[i]), data.subarray(i * shardBytes, (i + 1) * shardBytes));
    }
    if (preprocess) await writeSynced(join(tmp, "preprocess_input.js"), PREPROCESS_INPUT_MODULE);
    await writeSynced(join(tmp, "model.json"), JSON.stringify(modelJson));
    let moved = false;
    try {
      await Deno.rename(abs, old);
      moved = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(tmp, abs);
    if (moved) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(`saveTfjsModel: cannot write ${abs}: ${(e as Error).message}`);
  }
  return {
    dir: abs,
    modelJson: join(abs, "model.json"),
    shards,
    weightBytes: data.length,
    preprocessModule: preprocess ? "preprocess_input.js" : null,
  };
}

async function writeSynced(path: string, content: Uint8Array | string): Promise<void> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.syncData();
  } finally {
    f.close();
  }
}
