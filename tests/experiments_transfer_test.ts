import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { imagenetTransfer, transferPoolSize } from "../lib/experiments/transfer.ts";
import { bestOf } from "../lib/train/recipe.ts";
import { memoryDataset, randomImages } from "./_train_data.ts";

await initEngine();

Deno.test("transferPoolSize: the study's 7 from 224 px, the feature-map size below", () => {
  assertEquals([32, 63, 64, 128, 224, 256, 512].map(transferPoolSize), [1, 1, 2, 4, 7, 7, 7]);
});

Deno.test("imagenetTransfer evaluates, trains with best-only checkpoint, reloads the best epoch, frees the model", async () => {
  const S = 32, K = 3;
  const dir = await Deno.makeTempDir({ prefix: "imagenet-transfer-" });
  try {
    const data = randomImages(8, S, S, 3, K, 1);
    const opts = { batchSize: 4, imageSize: [S, S] as [number, number], channels: 3, classes: K };
    const train = memoryDataset(data.images, data.labels, { ...opts, shuffleSeed: 5 });
    const valid = memoryDataset(data.images, data.labels, opts);
    const lines: string[] = [];
    const tensors = tf.memory().numTensors;
    const r = await imagenetTransfer({
      weights: null,
      imageSize: S,
      classes: K,
      train,
      valid,
      epochs: 3,
      learningRate: 0.01,
      patience: 5,
      dense: 8,
      seed: 2,
      verbose: 0,
      checkpointDir: dir,
      log: (l) => lines.push(l),
    });
    assertEquals(Object.keys(r), ["before", "history", "bestEpoch", "after", "checkpoint"]);
    assertEquals(r.history.epoch, [0, 1, 2]);
    assertEquals(r.checkpoint, join(dir, "best.ckpt"));
    assert(existsSync(r.checkpoint), "the checkpoint was written");
    const best = bestOf(r.history)!;
    assertEquals(r.bestEpoch, best.epoch);
    assert(
      Math.abs(r.after.accuracy - best.value) < 1e-6,
      `reloaded accuracy ${r.after.accuracy} is the logged best ${best.value}`,
    );
    assert(Number.isFinite(r.before.loss) && r.before.accuracy >= 0 && r.before.accuracy <= 1);
    assertEquals(lines.length, 2);
    // The head's Dense(8) + Dense(3): 2048*8 + 8 + 8*3 + 3 trainable weights (1x1 pool at 32 px).
    assert(lines[0].startsWith("trainable parameters: 16,419 of "), lines[0]);
    assert(lines[1].startsWith(`best epoch ${r.bestEpoch}: val_accuracy `), lines[1]);
    assertEquals(tf.memory().numTensors, tensors, "no tensor left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("imagenetTransfer refuses bad sizes and a missing weight file, naming them", async () => {
  const data = randomImages(2, 32, 32, 3, 2, 1);
  const ds = memoryDataset(data.images, data.labels, {
    batchSize: 2,
    imageSize: [32, 32],
    channels: 3,
    classes: 2,
  });
  const base = {
    weights: null,
    classes: 2,
    train: ds,
    valid: ds,
    epochs: 1,
    checkpointDir: "/nonexistent",
  };
  await assert.rejects(() => imagenetTransfer({ ...base, imageSize: 16 }), /imageSize/);
  await assert.rejects(() => imagenetTransfer({ ...base, imageSize: 32, epochs: 0 }), /epochs/);
  await assert.rejects(
    () => imagenetTransfer({ ...base, imageSize: 32, weights: "/nonexistent/w.h5" }),
    /\/nonexistent\/w\.h5/,
  );
});
