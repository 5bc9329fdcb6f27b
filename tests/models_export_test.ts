/**
 * Trained models leave in Keras' and tfjs' formats: a ResNet50 trained a few
 * steps here (batch-norm moving statistics moved) and the study's transfer
 * model are saved with `saveKerasWeights`, loaded by Keras 3
 * (`keras.applications.ResNet50(weights=None).load_weights`, and the head on
 * `Model(base.input, ...)`), and must predict what they predict here; and the
 * reverse: Keras saves `.weights.h5`, `loadKerasWeights` reads them, same
 * predictions. Inputs are 0-255 images; our models hold the preprocessing
 * layer, Keras' get `preprocess_input(x)`.
 *
 * Measured (CPU, native engine, Keras 3.15.1 on TF 2.21, 32 px, 3 images):
 * ours -> Keras softmax 4.2e-7, avg_pool features 5.0e-6 (values up to 7.9),
 * transfer softmax 3.6e-9; Keras -> ours softmax 2.2e-5, features 8.5e-4 at
 * 8.2 (1.0e-4 relative: at 32 px the last stage is 1x1, so batch norm there
 * divides by the spread of 16 calibration values and magnifies float32
 * rounding), transfer softmax 2.6e-5.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { runOracle } from "./_python.ts";
import { memoryDataset } from "./_train_data.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import {
  kerasWeightPaths,
  loadKerasWeights,
  resnet50,
  saveKerasWeights,
  transferModel,
} from "../lib/models/mod.ts";
import { fit } from "../lib/train/mod.ts";
import { seededRandom } from "../lib/random/mod.ts";

const SIZE = 32;
const CLASSES = 3;
const HEAD = { dense: 16, dropout: 0.5, pool: 1 };

interface Out {
  preds: number[][];
  features?: number[][];
}
interface RoundTrip {
  keras_version: string;
  scratch: Out;
  transfer: Out;
  keras: Out;
  keras_transfer: Out;
  nested: { sequential: number[][]; functional: number[][] };
}

function maxAbsDiff(a: tf.Tensor, b: number[][]): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, tf.tensor2d(b)))).dataSync()[0]);
}
function maxAbs(b: number[][]): number {
  return Math.max(...b.flat().map(Math.abs));
}

function images(n: number, seed: number): number[][] {
  const rand = seededRandom(seed);
  return Array.from(
    { length: n },
    () => Array.from({ length: SIZE * SIZE * 3 }, () => Math.floor(rand() * 256)),
  );
}

/** The avg_pool features and the softmax of `model` on `x`. */
function outputs(model: tf.LayersModel, x: tf.Tensor): { preds: tf.Tensor; features: tf.Tensor } {
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer("avg_pool").output });
  return { preds: model.predict(x) as tf.Tensor, features: sub.predict(x) as tf.Tensor };
}

/** Layer name -> group path of the layers with arrays in a `.weights.h5` file (its name tags). */
async function h5Paths(path: string): Promise<Map<string, string>> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, "r");
  try {
    const out = new Map<string, string>();
    const layers = f.get("layers") as InstanceType<typeof h5wasm.Group>;
    for (const k of layers.keys()) {
      const vars = f.get(`layers/${k}/vars`) as InstanceType<typeof h5wasm.Group>;
      if (vars.keys().length > 0) out.set(String(vars.attrs["name"].value), `layers/${k}`);
    }
    return out;
  } finally {
    f.close();
  }
}

function transfer(seed: number): tf.LayersModel {
  const base = resnet50({ inputShape: [SIZE, SIZE, 3], includeTop: false, preprocess: true, seed });
  return transferModel({
    base,
    classes: CLASSES,
    dense: HEAD.dense,
    dropout: HEAD.dropout,
    poolSize: HEAD.pool,
    seed,
  });
}

Deno.test("models: saveKerasWeights wants Keras' file name and refuses unknown weighted layers", async () => {
  await initEngine({ quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "acmc-export-" });
  try {
    const input = tf.input({ shape: [4, 2] });
    const out = tf.layers.lstm({ units: 3, name: "rnn" }).apply(input) as tf.SymbolicTensor;
    const rnn = tf.model({ inputs: input, outputs: out });
    await assert.rejects(
      () => saveKerasWeights(rnn, join(dir, "rnn.weights.h5")),
      /layer "rnn" \(LSTM\) has weights whose Keras 3 layout is not known/,
    );
    await assert.rejects(
      () => saveKerasWeights(rnn, join(dir, "rnn.h5")),
      /must end in `\.weights\.h5`/,
    );
    rnn.dispose();
    assertEquals([...Deno.readDirSync(dir)], []); // nothing written, no temporary left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("models: .weights.h5 round trips with Keras 3 (trained here -> Keras, Keras -> here)", async (t) => {
  await initEngine({ quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "acmc-export-" });
  try {
    // A few training steps here: weights and batch-norm moving statistics move.
    const model = resnet50({
      inputShape: [SIZE, SIZE, 3],
      classes: CLASSES,
      preprocess: true,
      seed: 5,
    });
    const train = memoryDataset(images(8, 1), [0, 1, 2, 0, 1, 2, 0, 1], {
      batchSize: 4,
      imageSize: [SIZE, SIZE],
      channels: 3,
      classes: CLASSES,
    });
    await fit(model, train, { epochs: 1, learningRate: 1e-3, verbose: 0, seed: 5 });
    const moved = await model.getLayer("conv1_bn").getWeights()[2].abs().max().data();
    assert(moved[0] > 1e-3, `conv1_bn moving_mean did not move in training (${moved[0]})`);
    const scratchPath = join(dir, "ours.weights.h5");
    const report = await saveKerasWeights(model, scratchPath);
    assertEquals(report.layers, 107); // 53 conv + 53 batch norm + predictions
    assertEquals(report.arrays, 53 * 2 + 53 * 4 + 2);

    // The transfer model gets the trained base (well-scaled features), its head stays random.
    const head = transfer(9);
    for (const layer of head.layers) {
      const twin = model.layers.find((l) => l.name === layer.name);
      if (twin && layer.weights.length > 0) layer.setWeights(twin.getWeights());
    }
    const transferPath = join(dir, "ours_transfer.weights.h5");
    await saveKerasWeights(head, transferPath);

    // Nested models: a Sequential in a Sequential, a functional model in a functional model.
    const seq = tf.sequential({
      layers: [
        tf.sequential({
          layers: [
            tf.layers.dense({ inputShape: [4], units: 3, activation: "relu" }),
            tf.layers.dense({ units: 3 }),
          ],
        }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const j = tf.input({ shape: [4] });
    const sub = tf.model({
      inputs: j,
      outputs: tf.layers.dense({ units: 3 }).apply(j) as tf.SymbolicTensor,
    });
    const i = tf.input({ shape: [4] });
    const fn = tf.model({
      inputs: i,
      outputs: tf.layers.dense({ units: 2 }).apply(
        sub.apply(i) as tf.SymbolicTensor,
      ) as tf.SymbolicTensor,
    });
    const nestedX = [[1, 2, 3, 4], [0.5, -1, 2, 0], [3, -2, 1, 1]];
    await saveKerasWeights(seq, join(dir, "seq.weights.h5"));
    await saveKerasWeights(fn, join(dir, "fn.weights.h5"));

    const xs = images(3, 2);
    const x = tf.tensor4d(xs.flat(), [xs.length, SIZE, SIZE, 3]);
    const o = await runOracle<RoundTrip>("keras_export.py", {
      command: "roundtrip",
      dir,
      size: SIZE,
      classes: CLASSES,
      seed: 11,
      x: xs.map((im) => {
        const rows = [];
        for (let i = 0; i < SIZE; i++) {
          const row = [];
          for (let j = 0; j < SIZE; j++) {
            const p = (i * SIZE + j) * 3;
            row.push(im.slice(p, p + 3));
          }
          rows.push(row);
        }
        return rows;
      }),
      ours_scratch: scratchPath,
      ours_transfer: transferPath,
      transfer: HEAD,
      nested: {
        x: nestedX,
        sequential: join(dir, "seq.weights.h5"),
        functional: join(dir, "fn.weights.h5"),
      },
    });

    const check = (name: string, got: tf.Tensor, want: number[][], rel: number) => {
      if (name.includes("softmax")) {
        // a saturated (one-hot) softmax would hide errors in the last layers
        const top = Math.min(...want.map((row) => Math.max(...row)));
        assert(top < 0.9999, `${name}: the oracle's softmax is saturated (${top})`);
      }
      const d = maxAbsDiff(got, want);
      const scale = Math.max(1, maxAbs(want));
      console.log(
        `  ${name}: max |diff| ${d.toExponential(2)} at scale ${scale.toFixed(2)} ` +
          `(Keras ${o.keras_version})`,
      );
      assert(d / scale < rel, `${name}: max abs diff ${d} at scale ${scale}`);
    };

    await t.step("ours -> Keras: ResNet50 from scratch, trained a few steps", () => {
      const { preds, features } = outputs(model, x);
      check("softmax", preds, o.scratch.preds, 1e-4);
      check("avg_pool features", features, o.scratch.features!, 5e-4);
      tf.dispose([preds, features]);
    });
    await t.step("ours -> Keras: the transfer model (frozen base + head)", () => {
      const preds = head.predict(x) as tf.Tensor;
      check("transfer softmax", preds, o.transfer.preds, 1e-4);
      preds.dispose();
    });
    await t.step(
      "ours -> Keras: nested models (Sequential in Sequential, functional in functional)",
      () => {
        for (const [name, m] of [["sequential", seq], ["functional", fn]] as const) {
          const nx = tf.tensor2d(nestedX);
          const y = m.predict(nx) as tf.Tensor;
          const d = maxAbsDiff(y, o.nested[name]);
          assert(d < 1e-5, `nested ${name}: max abs diff ${d}`);
          tf.dispose([nx, y]);
        }
        seq.dispose();
        fn.dispose();
      },
    );
    await t.step("Keras -> ours: ResNet50 saved by Keras", async () => {
      const back = resnet50({
        inputShape: [SIZE, SIZE, 3],
        classes: CLASSES,
        preprocess: true,
        seed: 1,
      });
      const r = await loadKerasWeights(back, join(dir, "keras.weights.h5"));
      assertEquals(r.format, "keras3-weights-h5");
      assertEquals(r.loaded.length, 107);
      const { preds, features } = outputs(back, x);
      check("Keras' ResNet50 softmax", preds, o.keras.preds, 1e-4);
      check("Keras' ResNet50 features", features, o.keras.features!, 5e-4);
      tf.dispose([preds, features]);
      back.dispose();
    });
    await t.step("Keras -> ours: the transfer model saved by Keras", async () => {
      const back = transfer(3);
      const r = await loadKerasWeights(back, join(dir, "keras_transfer.weights.h5"));
      assertEquals(r.loaded.length, 108); // 53 conv + 53 batch norm + 2 dense
      assertEquals(r.matchedBy, "path"); // the head's tags are Keras' auto-names, not ours
      const preds = back.predict(x) as tf.Tensor;
      // 1.4e-4 measured with lib/random's sfc32 draws (the test's inputs and initial weights):
      // float32 differences through the frozen base and the head.
      check("Keras' transfer softmax", preds, o.keras_transfer.preds, 3e-4);
      preds.dispose();
      back.dispose();
    });
    await t.step("the layout: our paths are the ones Keras wrote for the same layers", async () => {
      for (
        const [file, m] of [["keras.weights.h5", model], [
          "keras_transfer.weights.h5",
          head,
        ]] as const
      ) {
        const keras = await h5Paths(join(dir, file)); // name tag -> path
        const ours = kerasWeightPaths(m).filter((e) => e.layer.weights.length > 0);
        assertEquals(ours.map((e) => e.path).sort(), [...keras.values()].sort());
        // ResNet50's names are fixed; the head's Dense names are Keras' auto-names (dense_2, ...)
        for (const e of ours.filter((e) => e.layer.getClassName() !== "Dense" || m === model)) {
          assertEquals(`${e.name} ${e.path}`, `${e.name} ${keras.get(e.name)}`);
        }
      }
    });
    await t.step("ours -> ours: loadKerasWeights reads what saveKerasWeights wrote", async () => {
      const back = resnet50({
        inputShape: [SIZE, SIZE, 3],
        classes: CLASSES,
        preprocess: true,
        seed: 2,
      });
      const r = await loadKerasWeights(back, scratchPath);
      assertEquals(r.loaded.length, 107);
      const want = model.getWeights();
      const got = back.getWeights();
      for (let i = 0; i < want.length; i++) {
        assertEquals(await got[i].data(), await want[i].data());
      }
      back.dispose();
    });
    x.dispose();
    model.dispose();
    head.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
