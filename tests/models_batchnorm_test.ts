/**
 * BatchNormalization with Keras 3 semantics: the same outputs and moving
 * statistics as Keras' layer called with `training=True` (trainable and
 * frozen), tfjs' `fit` really trains it (momentum 0.99 update), and a frozen
 * ResNet50 base under the transfer head keeps every weight and statistic
 * through a training step while the head learns.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { runOracle } from "./_python.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { BatchNormalization, resnet50, transferModel } from "../lib/models/mod.ts";

const maxDiff = (a: tf.Tensor | number[], b: tf.Tensor | number[]) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

interface BnOracle {
  trainable: { y: number[]; moving_mean: number[]; moving_variance: number[] };
  frozen: { y: number[]; moving_mean: number[]; moving_variance: number[] };
}

Deno.test("models: BatchNormalization matches Keras 3 in training mode, trainable and frozen", async () => {
  await initEngine({ quiet: true });
  const shape: [number, number, number, number] = [2, 3, 3, 4];
  const x = tf.randomUniform(shape, -3, 5, "float32", 11);
  const params = {
    gamma: [0.5, 1.5, 1, 2],
    beta: [0.1, -0.2, 0.3, 0],
    mean: [0.2, -0.1, 0.5, 1],
    variance: [1.5, 0.7, 2, 0.9],
  };
  const o = await runOracle<BnOracle>("keras_resnet.py", {
    command: "bn",
    x: await x.array(),
    ...params,
    momentum: 0.99,
    epsilon: 1.001e-5,
  });
  for (const mode of ["trainable", "frozen"] as const) {
    const bn = new BatchNormalization({ momentum: 0.99, epsilon: 1.001e-5 });
    tf.dispose(bn.apply(tf.zeros(shape)) as tf.Tensor); // builds; inference changes nothing
    bn.setWeights(
      [params.gamma, params.beta, params.mean, params.variance].map((v) => tf.tensor1d(v)),
    );
    bn.trainable = mode === "trainable";
    assertEquals(bn.frozen, mode === "frozen");
    const y = bn.apply(x, { training: true }) as tf.Tensor;
    const [, , mm, mv] = bn.getWeights();
    const dy = maxDiff(y, tf.tensor(o[mode].y).reshape(shape));
    const dm = maxDiff(mm, o[mode].moving_mean);
    const dv = maxDiff(mv, o[mode].moving_variance);
    assert(dy < 1e-5 && dm < 1e-6 && dv < 1e-6, `${mode}: y ${dy}, mean ${dm}, var ${dv}`);
    if (mode === "frozen") {
      assertEquals(Array.from(mm.dataSync()), Array.from(Float32Array.from(params.mean)));
      const inference = bn.apply(x) as tf.Tensor;
      assertEquals(maxDiff(inference, y), 0);
      inference.dispose();
    } else {
      assert(maxDiff(mm, params.mean) > 1e-3, "trainable: the moving mean must move");
    }
    y.dispose();
    bn.dispose();
  }
  x.dispose();
});

Deno.test("models: tfjs fit trains BatchNormalization (batch statistics, momentum 0.99)", async () => {
  await initEngine({ quiet: true });
  const input = tf.input({ shape: [4, 4, 3] });
  const conv = tf.layers.conv2d({
    filters: 5,
    kernelSize: 1,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    name: "conv",
  }).apply(input) as tf.SymbolicTensor;
  const bn = new BatchNormalization({ epsilon: 1.001e-5, name: "bn" });
  let y = bn.apply(conv) as tf.SymbolicTensor;
  y = tf.layers.flatten().apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 2, activation: "softmax" }).apply(y) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: "categoricalCrossentropy" });
  const x = tf.randomUniform([2, 4, 4, 3], 0, 10, "float32", 5);
  const labels = tf.tensor2d([[1, 0], [0, 1]]);
  // The batch statistics BN sees in the step: conv output before the update.
  const features = tf.model({ inputs: input, outputs: conv }).predict(x) as tf.Tensor;
  const { mean, variance } = tf.moments(features, [0, 1, 2]);
  await model.fit(x, labels, { epochs: 1, batchSize: 2, shuffle: false, verbose: 0 });
  const [, , mm, mv] = bn.getWeights();
  const dm = maxDiff(mm, tf.mul(mean, 0.01));
  const dv = maxDiff(mv, tf.add(0.99, tf.mul(variance, 0.01)));
  assert(dm < 1e-5 && dv < 1e-5, `moving mean off by ${dm}, variance by ${dv}`);
  assert(maxDiff(mm, tf.zerosLike(mm)) > 1e-3, "the moving mean must have moved");
  // No tensor leaks per step (the fused kernel's kept statistics are freed).
  const count = tf.memory().numTensors;
  await model.fit(x, labels, { epochs: 3, batchSize: 1, verbose: 0 });
  assertEquals(tf.memory().numTensors, count);
  tf.dispose([x, labels, features, mean, variance]);
  model.dispose();
});

Deno.test("models: a frozen ResNet50 base keeps weights and BN statistics through fit; the head trains", async () => {
  await initEngine({ quiet: true });
  const base = resnet50({ inputShape: [32, 32, 3], includeTop: false, seed: 1 });
  const model = transferModel({ base, classes: 3, dense: 8, poolSize: 1, seed: 2 });
  assertEquals(
    model.layers.slice(-5).map((l) => l.name),
    ["average_pooling2d", "flatten", "dense", "dropout", "dense_1"],
  );
  assertEquals(model.trainableWeights.length, 4); // the two Dense layers only
  const bns = base.layers.filter((l) => l instanceof BatchNormalization) as BatchNormalization[];
  assert(bns.length === 53 && bns.every((l) => l.frozen));

  const x = tf.randomUniform([2, 32, 32, 3], 0, 255, "float32", 9);
  const labels = tf.tensor2d([[1, 0, 0], [0, 0, 1]]);
  // Training-mode forward of the frozen base equals inference.
  const train = base.apply(x, { training: true }) as tf.Tensor;
  const infer = base.predict(x) as tf.Tensor;
  assertEquals(maxDiff(train, infer), 0);
  tf.dispose([train, infer]);

  const before = base.getWeights().map((w) => w.clone());
  const headBefore = model.getLayer("dense").getWeights()[0].clone();
  model.compile({ optimizer: tf.train.adam(1e-2), loss: "categoricalCrossentropy" });
  await model.fit(x, labels, { epochs: 2, batchSize: 2, verbose: 0 });
  const after = base.getWeights();
  const changed = after.filter((w, i) => maxDiff(w, before[i]) !== 0).length;
  assertEquals(changed, 0, `${changed} base weights changed`);
  assert(maxDiff(model.getLayer("dense").getWeights()[0], headBefore) > 0, "head must train");
  tf.dispose([...before, headBefore, x, labels]);
  model.dispose();
});

Deno.test("models: unfrozen ResNet50 BN statistics move in fit; tfjs' model.trainable=false freezes them", async () => {
  await initEngine({ quiet: true });
  const m = resnet50({ inputShape: [32, 32, 3], classes: 3, seed: 4 });
  // Learning rate 0: the step only runs the forward pass in training mode (a
  // random ResNet50 on 2 images of 32 px has near-constant channels whose
  // batch-statistics gradients are huge; any real step overflows inference).
  m.compile({ optimizer: tf.train.sgd(0), loss: "categoricalCrossentropy" });
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 1);
  const labels = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
  const stats = () => m.getLayer("conv1_bn").getWeights()[2].clone();
  const s0 = stats();
  await m.fit(x, labels, { epochs: 1, batchSize: 2, verbose: 0 });
  const s1 = stats();
  assert(maxDiff(s0, s1) > 1e-3, "conv1_bn moving mean must move when trainable");
  // tfjs' container-level switch marks the inner weights non-trainable only;
  // our BN reads that as frozen (Keras: trainable=False propagates).
  m.trainable = false;
  const bn = m.getLayer("conv1_bn") as BatchNormalization;
  assert(bn.frozen);
  const t = m.apply(x, { training: true }) as tf.Tensor;
  const i = m.predict(x) as tf.Tensor;
  assert(Number.isFinite(t.sum().dataSync()[0]));
  assertEquals(maxDiff(t, i), 0);
  assertEquals(maxDiff(stats(), s1), 0);
  tf.dispose([x, labels, s0, s1, t, i]);
  m.dispose();
});
