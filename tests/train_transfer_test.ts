import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { resnet50, transferModel } from "../lib/models/mod.ts";
import { evaluate, fit } from "../lib/train/mod.ts";
import { memoryDataset, randomImages } from "./_train_data.ts";

await initEngine();

Deno.test("fit on the study's transfer model trains the head only; the frozen base and its BatchNorm statistics stay put", async () => {
  const S = 32, K = 3;
  const base = resnet50({ includeTop: false, inputShape: [S, S, 3], preprocess: true, seed: 1 });
  const model = transferModel({ base, classes: K, dense: 8, poolSize: 1, seed: 2 });
  const trainable = new Set(model.trainableWeights.map((w) => w.originalName));
  assertEquals([...trainable].sort(), [
    "dense/bias",
    "dense/kernel",
    "dense_1/bias",
    "dense_1/kernel",
  ]);
  const snapshot = async () =>
    new Map(
      await Promise.all(
        model.weights.map(async (w) =>
          [w.originalName, Array.from(await w.read().data())] as const
        ),
      ),
    );
  const before = await snapshot();
  const data = randomImages(8, S, S, 3, K, 1);
  const ds = memoryDataset(data.images, data.labels, {
    batchSize: 4,
    imageSize: [S, S],
    channels: 3,
    classes: K,
  });
  const count = tf.memory().numTensors;
  const h = await fit(model, ds, {
    epochs: 2,
    learningRate: 0.01,
    seed: 3,
    validationData: ds,
    verbose: 0,
  });
  assertEquals(h.epoch, [0, 1]);
  assert(h.history.val_loss.every(Number.isFinite));
  const after = await snapshot();
  let changed = 0;
  for (const [name, values] of before) {
    const same = JSON.stringify(values) === JSON.stringify(after.get(name));
    if (trainable.has(name)) {
      if (!same) changed++;
    } else {
      assert(same, `frozen weight ${name} changed during training`);
    }
  }
  assertEquals(changed, 4, "every head weight moved");
  assert(
    [...before.keys()].some((n) => n.endsWith("moving_mean")),
    "the base has BatchNorm statistics",
  );
  const ev = await evaluate(model, ds, { verbose: 0 });
  assert(Number.isFinite(ev.loss));
  // fit frees the optimizer it made (its moments included): nothing is left over
  assert(
    tf.memory().numTensors - count <= 0,
    `${tf.memory().numTensors - count} tensors left`,
  );
  model.dispose();
});
