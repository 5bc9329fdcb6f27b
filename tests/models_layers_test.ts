/**
 * ResNet preprocessing against `keras.applications.resnet50.preprocess_input`
 * (function and layer), serialization of the custom layers, and the transfer
 * head's structure.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { runOracle } from "./_python.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import {
  BatchNormalization,
  PreprocessInput,
  preprocessInput,
  resnet50,
  transferModel,
} from "../lib/models/mod.ts";

const maxDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

Deno.test("models: preprocessInput is Keras' ResNet caffe preprocessing", async () => {
  await initEngine({ quiet: true });
  const x = tf.randomUniform([2, 3, 4, 3], 0, 255, "float32", 21);
  const o = await runOracle<{ y: number[][][][] }>("keras_resnet.py", {
    command: "preprocess",
    x: await x.array(),
  });
  const want = tf.tensor4d(o.y);
  const y = preprocessInput(x);
  assert(maxDiff(y, want) < 1e-4, `function: ${maxDiff(y, want)}`);
  const layer = new PreprocessInput({ name: "preprocess_input" });
  const z = layer.apply(x) as tf.Tensor;
  assertEquals(maxDiff(z, y), 0);
  // A white pixel: BGR 255 minus the means.
  const white = preprocessInput(tf.fill([1, 1, 1, 3], 255));
  assertEquals(Array.from(white.dataSync()).map((v) => +v.toFixed(3)), [151.061, 138.221, 131.32]);
  assert.throws(() => preprocessInput(tf.zeros([1, 2, 2, 1])), /3 RGB channels/);
  tf.dispose([x, want, y, z, white]);
});

Deno.test("models: custom layers survive a save/load round trip", async () => {
  await initEngine({ quiet: true });
  const input = tf.input({ shape: [8, 8, 3] });
  let h = new PreprocessInput({ name: "preprocess_input" }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "conv" }).apply(h) as tf.SymbolicTensor;
  h = new BatchNormalization({ epsilon: 1.001e-5, momentum: 0.9, name: "bn" })
    .apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: h });
  const bn = model.getLayer("bn");
  tf.tidy(() => bn.setWeights(bn.getWeights().map((w) => tf.randomUniform(w.shape, 0.5, 2))));
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    saved = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const json = JSON.stringify(saved!.modelTopology);
  assert(json.includes('"KerasBatchNormalization"') && json.includes('"ResNetPreprocessInput"'));
  const back = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  const loadedBn = back.getLayer("bn") as BatchNormalization;
  assert(loadedBn instanceof BatchNormalization);
  assertEquals([loadedBn.epsilon, loadedBn.momentum], [1.001e-5, 0.9]);
  const x = tf.randomUniform([2, 8, 8, 3], 0, 255, "float32", 3);
  const a = model.predict(x) as tf.Tensor;
  const b = back.predict(x) as tf.Tensor;
  assertEquals(maxDiff(a, b), 0);
  tf.dispose([x, a, b]);
  model.dispose();
  back.dispose();
});

Deno.test("models: transferModel is the study's head on a frozen base", async () => {
  await initEngine({ quiet: true });
  const base = resnet50({ inputShape: [256, 256, 3], includeTop: false });
  const model = transferModel({ base, classes: 23 });
  const head = model.layers.slice(-5);
  assertEquals(head.map((l) => l.getClassName()), [
    "AveragePooling2D",
    "Flatten",
    "Dense",
    "Dropout",
    "Dense",
  ]);
  assertEquals(head.map((l) => l.outputShape), [
    [null, 1, 1, 2048],
    [null, 2048],
    [null, 256],
    [null, 256],
    [null, 23],
  ]);
  assertEquals(head[0].getConfig().poolSize, [7, 7]);
  assertEquals(head[3].getConfig().rate, 0.5);
  assertEquals(head[4].getConfig().activation, "softmax");
  // 256 px: 2048*256+256 + 256*23+23 trainable; the base is all frozen.
  const size = (ws: tf.LayerVariable[]) =>
    ws.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  assertEquals(size(model.trainableWeights), 2048 * 256 + 256 + 256 * 23 + 23);
  assertEquals(size(model.nonTrainableWeights), 23_587_712);
  assert(base.layers.every((l) => !l.trainable));
  model.dispose();

  // 512 px with the study's Dense(512): 16x16 -> 2x2 after AvgPool(7).
  const big = resnet50({ inputShape: [512, 512, 3], includeTop: false });
  const m512 = transferModel({ base: big, classes: 23, dense: 512 });
  assertEquals(m512.getLayer("flatten").outputShape, [null, 2 * 2 * 2048]);
  m512.dispose();

  const small = resnet50({ inputShape: [64, 64, 3], includeTop: false });
  assert.throws(() => transferModel({ base: small, classes: 23 }), /smaller than poolSize 7/);
  const pooled = resnet50({ inputShape: [64, 64, 3], includeTop: false, pooling: "avg" });
  assert.throws(() => transferModel({ base: pooled, classes: 23 }), /one 4-D output/);
  small.dispose();
  pooled.dispose();
});
