import assert, {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
} from "node:assert/strict";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { evaluate, fit, predict, withSeed } from "../lib/train/mod.ts";
import type { Callback } from "../lib/train/mod.ts";
import type { ProgressReporter } from "../lib/io/mod.ts";
import { runOracle } from "./_python.ts";
import {
  assertClose as assertAlmostEquals,
  assertRejectsWith,
  memoryDataset,
  randomImages,
  tinyModel,
} from "./_train_data.ts";

await initEngine();

const H = 4, W = 4, C = 1, K = 3, HIDDEN = 6;

interface KerasFit {
  history: Record<string, number[]>;
  evaluate: { loss: number; accuracy: number };
  probs: number[][];
}

async function weightsOf(model: tf.LayersModel): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const w of model.weights) out[w.originalName] = await w.read().array();
  return out;
}

for (const variant of ["categorical", "int"] as const) {
  Deno.test(`fit matches Keras 3 (Adam, class weights, running means, validation; ${variant} labels)`, async () => {
    const train = randomImages(22, H, W, C, K, 1);
    const val = randomImages(9, H, W, C, K, 2);
    const model = withSeed(7, () => tinyModel([H, W, C], K, HIDDEN));
    const classWeight = [1, 2.5, 0.5];
    const batchSize = 4; // 22 = 5 full batches + a batch of 2: checks the partial-batch weighting
    const keras = await runOracle<KerasFit>("keras_fit.py", {
      shape: [H, W, C],
      classes: K,
      hidden: HIDDEN,
      weights: await weightsOf(model),
      x: train.images,
      y: train.labels,
      val_x: val.images,
      val_y: val.labels,
      batch_size: batchSize,
      epochs: 3,
      learning_rate: 0.01,
      class_weight: classWeight,
      sparse: variant === "int",
    });
    const opts = {
      batchSize,
      imageSize: [H, W] as [number, number],
      classes: K,
      labelMode: variant,
    };
    const history = await fit(model, memoryDataset(train.images, train.labels, opts), {
      epochs: 3,
      learningRate: 0.01,
      classWeight,
      validationData: memoryDataset(val.images, val.labels, opts),
      verbose: 0,
    });
    assertEquals(history.epoch, [0, 1, 2]);
    for (const name of ["loss", "accuracy", "val_loss", "val_accuracy"]) {
      const ours = history.history[name], theirs = keras.history[name];
      assertEquals(ours.length, 3, name);
      ours.forEach((v, i) =>
        assertAlmostEquals(v, theirs[i], 2e-5, `${name}[${i}]: ${v} vs ${theirs[i]}`)
      );
    }
    assertEquals(history.history.seconds.length, 3);
    const ev = await evaluate(model, memoryDataset(val.images, val.labels, opts), { verbose: 0 });
    assertAlmostEquals(ev.loss, keras.evaluate.loss, 2e-5);
    assertAlmostEquals(ev.accuracy, keras.evaluate.accuracy, 1e-6);
    const pr = await predict(model, memoryDataset(val.images, val.labels, opts), { verbose: 0 });
    assertEquals(pr.labels, val.labels);
    pr.probs.forEach((row, i) =>
      row.forEach((p, j) => assertAlmostEquals(p, keras.probs[i][j], 2e-5))
    );
    assertEquals(pr.predicted, pr.probs.map((r) => r.indexOf(Math.max(...r))));
    assertEquals(JSON.parse(JSON.stringify(history)), history);
    model.dispose();
  });
}

Deno.test("the same seeds give the same initial weights, batch order and first-epoch loss", async () => {
  const data = randomImages(40, H, W, C, K, 3);
  const run = async (modelSeed: number) => {
    const model = withSeed(modelSeed, () => tinyModel([H, W, C], K, 16, 0.5));
    const initial = await model.weights[0].read().data();
    const ds = memoryDataset(data.images, data.labels, {
      batchSize: 4,
      imageSize: [H, W],
      classes: K,
      shuffleSeed: 123,
    });
    const h = await fit(model, ds, { epochs: 2, learningRate: 0.01, seed: 5, verbose: 0 });
    model.dispose();
    return { initial: Array.from(initial), loss: h.history.loss };
  };
  const a = await run(11), b = await run(11), c = await run(12);
  assertEquals(a.initial, b.initial);
  assertNotEquals(a.initial, c.initial);
  // stated in the issue: two runs give the same first-epoch loss to 1e-5 on CPU
  assertAlmostEquals(a.loss[0], b.loss[0], 1e-5);
  assertAlmostEquals(a.loss[1], b.loss[1], 1e-5);
  assertNotEquals(a.loss[0], c.loss[0]);
});

Deno.test("fit, evaluate and predict leak no tensors across epochs", async () => {
  const data = randomImages(24, H, W, C, K, 4);
  const model = withSeed(1, () => tinyModel([H, W, C], K, 8, 0.25));
  const ds = memoryDataset(data.images, data.labels, {
    batchSize: 5,
    imageSize: [H, W],
    classes: K,
  });
  const counts: number[] = [];
  const bytes: number[] = [];
  const probe: Callback = {
    onEpochEnd() {
      counts.push(tf.memory().numTensors);
      bytes.push(tf.memory().numBytes);
    },
  };
  const optimizer = tf.train.adam(0.01);
  await fit(model, ds, {
    epochs: 5,
    optimizer,
    validationData: ds,
    classWeight: { 0: 2 },
    callbacks: [probe],
    verbose: 0,
  });
  assertEquals(new Set(counts).size, 1, `tensor count per epoch: ${counts}`);
  assertEquals(new Set(bytes).size, 1, `bytes per epoch: ${bytes}`);
  const before = tf.memory().numTensors;
  await evaluate(model, ds, { verbose: 0 });
  await predict(model, ds, { verbose: 0 });
  assertEquals(tf.memory().numTensors, before);
  optimizer.dispose();
  model.dispose();
});

Deno.test("fit, evaluate and predict report progress to the reporter they are given", async () => {
  const data = randomImages(10, H, W, C, K, 5);
  const model = withSeed(2, () => tinyModel([H, W, C], K, 4));
  const ds = memoryDataset(data.images, data.labels, {
    batchSize: 4,
    imageSize: [H, W],
    classes: K,
  });
  const seen: string[] = [];
  const progress: ProgressReporter = (total, title) => ({
    update: (n) => void seen.push(`${title} ${n}/${total}`),
    finish: () => Promise.resolve(void seen.push(`${title} done`)),
  });
  const optimizer = tf.train.adam(0.01);
  await fit(model, ds, { epochs: 2, optimizer, progress });
  await evaluate(model, ds, { progress });
  await fit(model, ds, { epochs: 1, optimizer, progress, verbose: 0 });
  assertEquals(seen, [
    "Epoch 1/2 1/3",
    "Epoch 1/2 2/3",
    "Epoch 1/2 3/3",
    "Epoch 1/2 done",
    "Epoch 2/2 1/3",
    "Epoch 2/2 2/3",
    "Epoch 2/2 3/3",
    "Epoch 2/2 done",
    "Evaluating 1/3",
    "Evaluating 2/3",
    "Evaluating 3/3",
    "Evaluating done",
  ]);
  optimizer.dispose();
  model.dispose();
});

Deno.test("fit checks its arguments", async () => {
  const model = withSeed(1, () => tinyModel([H, W, C], K));
  const data = randomImages(4, H, W, C, K, 5);
  const ds = memoryDataset(data.images, data.labels, {
    batchSize: 2,
    imageSize: [H, W],
    classes: K,
  });
  await assertRejectsWith(() => fit(model, ds, { classWeight: { 7: 1 }, verbose: 0 }), "class 7");
  await assertRejectsWith(() => fit(model, ds, { epochs: -1, verbose: 0 }), "epochs");
  await assertRejectsWith(() => fit(model, {} as never, { verbose: 0 }), "BatchDataset");
  const h = await fit(model, ds, { epochs: 3, initialEpoch: 2, verbose: 0 });
  assertEquals(h.epoch, [2]);
  assert(h.history.loss[0] > 0);
  model.dispose();
});
