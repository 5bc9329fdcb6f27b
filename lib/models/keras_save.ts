/**
 * Writes a tfjs model's weights as a Keras 3 `.weights.h5` file (what
 * `model.save_weights("x.weights.h5")` writes), with the `h5wasm` npm package,
 * so that `keras.applications.ResNet50(weights=None, ...).load_weights(path)`
 * and {@linkcode loadKerasWeights} both read it.
 *
 * ## Layout (keras/src/saving/saving_lib.py, `save_weights_only` + `H5IOStore`)
 *
 * - `/vars`: the model's own variables (none), attribute `name` = model name.
 * - `/layers/<class>[_n]/vars/<i>`: one group per layer of `model.layers`, in
 *   order, named by the layer's Keras class in snake case (`conv2d`,
 *   `batch_normalization`, ...) and numbered per class in order of appearance
 *   (`conv2d`, `conv2d_1`, `conv2d_2`, ...); its variables as float32 datasets
 *   `0`, `1`, ... in Keras' order (trainable first: `kernel`, `bias`; batch
 *   norm `gamma`, `beta`, `moving_mean`, `moving_variance`); attribute `name`
 *   = the layer's name. A nested model gets `/layers/functional/...` with its
 *   own `layers/` inside.
 *
 * Keras loads by these class-and-order paths, not by layer names, so a file
 * fits a Keras model whose layers of each class with weights come in the same
 * order (ResNet50 built by lib/models and by `keras.applications` do; so do the
 * transfer model and Keras' `Model(base.input, head(base.output))`). Weightless
 * layers (the `preprocess_input` layer, activations, pooling) do not shift the
 * numbering of layers with weights, so a model with the preprocessing layer
 * loads into Keras' ResNet50 without it. Our own reader matches by the `name`
 * tags instead.
 *
 * The file is written to a temporary file in the target folder, flushed to
 * disk, then renamed over `path`: a crash leaves the previous file or the new
 * one, never a torn file.
 *
 * @module
 */
import { resolve } from "node:path";
import { tf } from "../engine/mod.ts";
import { writeAtomically } from "../io/mod.ts";
import { hdf5 } from "./hdf5.ts";

/**
 * Keras 3 class of each tfjs layer class that holds weights, when the names
 * differ (ours: {@linkcode BatchNormalization} registers as
 * `KerasBatchNormalization`; tfjs calls a functional model `Model`).
 */
const KERAS_CLASS: Record<string, string> = {
  KerasBatchNormalization: "BatchNormalization",
  Model: "Functional",
};

/**
 * Layer classes whose Keras 3 variables are the layer's own and in the order
 * tfjs keeps them (others, e.g. recurrent layers whose Keras weights live in a
 * `cell`, are refused rather than written in a layout Keras would misread).
 */
const SUPPORTED_WITH_WEIGHTS = new Set([
  "BatchNormalization",
  "Conv1D",
  "Conv2D",
  "Conv3D",
  "Conv2DTranspose",
  "DepthwiseConv2D",
  "SeparableConv2D",
  "Dense",
  "Embedding",
  "LayerNormalization",
  "PReLU",
]);

/** Keras' `naming.to_snake_case`. */
function snakeCase(name: string): string {
  return name.replace(/(.)([A-Z][a-z]+)/g, "$1_$2").replace(/([a-z])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

/** The Keras 3 class name a tfjs layer stands for. */
export function kerasClassName(layer: tf.layers.Layer): string {
  const c = layer.getClassName();
  return KERAS_CLASS[c] ?? c;
}

/** One layer's entry in a `.weights.h5` file. */
export interface KerasWeightsEntry {
  /** Group path, e.g. `layers/conv2d_3` (its arrays are in `<path>/vars/0..n`). */
  path: string;
  /** The layer's name, e.g. `conv2_block1_0_conv`. */
  name: string;
  /** The layer (or nested model). */
  layer: tf.layers.Layer;
}

function isModel(layer: tf.layers.Layer): layer is tf.LayersModel {
  return Array.isArray((layer as { layers?: unknown }).layers);
}

/**
 * The group paths Keras 3 gives `model`'s layers in a `.weights.h5` file
 * (`layers/conv2d`, `layers/conv2d_1`, ...), nested models expanded, in
 * `model.layers` order.
 *
 * @example
 * ```ts
 * const paths = kerasWeightPaths(resnet50({ inputShape: [64, 64, 3] }));
 * paths.find((p) => p.name === "conv1_conv")!.path; // "layers/conv2d"
 * ```
 */
export function kerasWeightPaths(model: tf.LayersModel, prefix = ""): KerasWeightsEntry[] {
  const used = new Map<string, number>();
  const out: KerasWeightsEntry[] = [];
  let layers = model.layers;
  // Keras' Sequential.layers leaves out its InputLayer.
  if (model.getClassName() === "Sequential" && layers[0]?.getClassName() === "InputLayer") {
    layers = layers.slice(1);
  }
  for (const layer of layers) {
    const base = snakeCase(kerasClassName(layer));
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    const path = `${prefix}layers/${n === undefined ? base : `${base}_${n + 1}`}`;
    out.push({ path, name: layer.name, layer });
    if (isModel(layer)) out.push(...kerasWeightPaths(layer, `${path}/`));
  }
  return out;
}

/** What {@linkcode saveKerasWeights} wrote. */
export interface SaveKerasWeightsReport {
  /** The absolute path of the file. */
  path: string;
  /** Layers whose weights were written. */
  layers: number;
  /** Arrays written. */
  arrays: number;
  /** Bytes of the file. */
  bytes: number;
}

/**
 * Saves `model`'s weights (trainable and not: batch-norm moving statistics
 * included) as a Keras 3 `.weights.h5` file (see the module doc for the
 * layout), atomically. `path` must end in `.weights.h5`, as Keras requires.
 * Throws, naming the layer, for a layer with weights whose Keras layout is not
 * known (e.g. recurrent layers).
 *
 * @example
 * ```ts
 * await saveKerasWeights(model, "out/models/resnet50.weights.h5");
 * // Python: keras.applications.ResNet50(weights=None, classes=23,
 * //   input_shape=(256, 256, 3)).load_weights("out/models/resnet50.weights.h5")
 * ```
 */
export async function saveKerasWeights(
  model: tf.LayersModel,
  path: string,
): Promise<SaveKerasWeightsReport> {
  const abs = resolve(path);
  if (!abs.endsWith(".weights.h5")) {
    throw new Error(
      `saveKerasWeights: the file name must end in \`.weights.h5\` (as Keras requires), got ${abs}`,
    );
  }
  const entries = kerasWeightPaths(model);
  for (const e of entries) {
    if (isModel(e.layer) || e.layer.weights.length === 0) continue;
    const cls = kerasClassName(e.layer);
    if (!SUPPORTED_WITH_WEIGHTS.has(cls)) {
      throw new Error(
        `saveKerasWeights: layer "${e.name}" (${cls}) has weights whose Keras 3 layout ` +
          `is not known here; supported: ${[...SUPPORTED_WITH_WEIGHTS].join(", ")}`,
      );
    }
  }
  // Read every array first (async, off the HDF5 handle).
  const values = await Promise.all(
    entries.map((e) =>
      isModel(e.layer) ? [] : Promise.all(
        e.layer.weights.map(async (w) => ({
          shape: w.shape as number[],
          data: new Float32Array(await w.read().data()),
        })),
      )
    ),
  );
  const h5wasm = await hdf5();
  let arrays = 0, layers = 0;
  await writeAtomically(abs, (tmp) => {
    const file = new h5wasm.File(tmp, "w");
    try {
      file.create_group("vars").create_attribute("name", model.name);
      file.create_group("layers");
      entries.forEach((e, i) => {
        const group = file.create_group(e.path);
        const vars = group.create_group("vars");
        vars.create_attribute("name", e.name);
        if (isModel(e.layer)) {
          group.create_group("layers");
          return;
        }
        values[i].forEach((v, k) => {
          vars.create_dataset({ name: String(k), data: v.data, shape: v.shape, dtype: "<f" });
          arrays++;
        });
        if (values[i].length > 0) layers++;
      });
    } finally {
      file.close();
    }
  });
  return { path: abs, layers, arrays, bytes: (await Deno.stat(abs)).size };
}
