/**
 * modelCheckpoint with a `.weights.h5` path writes Keras 3's weights file
 * (what `loadKerasWeights` and Keras' `load_weights` read), atomically: a
 * process killed (SIGKILL) in the middle of a save leaves the previous file
 * whole. Other paths keep our own format (tests/train_checkpoint_test.ts).
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { loadKerasWeights } from "../lib/models/mod.ts";
import {
  fit,
  loadCheckpoint,
  modelCheckpoint,
  readCheckpointInfo,
  withSeed,
} from "../lib/train/mod.ts";
import { killDuringSave } from "./_kill_during_save.ts";
import { bnModel as bnModelOf, memoryDataset, randomImages, weightValues } from "./_train_data.ts";

await initEngine({ quiet: true });

const H = 4, W = 4, C = 1, K = 3;

const bnModel = () => bnModelOf([H, W, C], K);

Deno.test("modelCheckpoint: a .weights.h5 path gets Keras' weights file with each saved epoch's weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acmc-h5ckpt-" });
  try {
    const { images, labels } = randomImages(12, H, W, C, K, 1);
    const train = memoryDataset(images, labels, { batchSize: 4, imageSize: [H, W], classes: K });
    const model = withSeed(1, bnModel);
    const path = join(dir, "ckpt", "epoch{epoch:02d}.weights.h5");
    const saved: number[][][] = [];
    const ckpt = modelCheckpoint({ path, monitor: "loss" });
    const grab = { onEpochEnd: async () => void saved.push(await weightValues(model)) };
    await fit(model, train, { epochs: 3, verbose: 0, callbacks: [ckpt, grab], seed: 1 });
    assertEquals(ckpt.savedEpochs, [0, 1, 2]);
    assertEquals(ckpt.lastPath, join(dir, "ckpt", "epoch03.weights.h5"));
    for (let e = 0; e < 3; e++) {
      const back = withSeed(9, bnModel);
      const file = join(dir, "ckpt", `epoch0${e + 1}.weights.h5`);
      const r = await loadKerasWeights(back, file);
      assertEquals(r.format, "keras3-weights-h5");
      assertEquals(r.loaded.sort(), ["bn", "conv", "out"]);
      // every array, the batch norm's moving statistics included, is that epoch's
      assertEquals(await weightValues(back), saved[e]);
      back.dispose();
    }
    assert(Deno.statSync(join(dir, "ckpt", "epoch03.weights.h5.history.json")).isFile);
    assert.throws(
      () => modelCheckpoint({ path: join(dir, "x.weights.h5"), saveWeightsOnly: false }),
      /x\.weights\.h5 is a Keras weights file \(\.weights\.h5\), which holds weights only/,
    );
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCheckpoint reads a best-only .weights.h5 checkpoint: the best epoch's weights and logs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acmc-h5ckpt-" });
  try {
    const { images, labels } = randomImages(12, H, W, C, K, 2);
    const train = memoryDataset(images, labels, { batchSize: 4, imageSize: [H, W], classes: K });
    const model = withSeed(2, bnModel);
    const path = join(dir, "best.weights.h5");
    const saved: number[][][] = [];
    const ckpt = modelCheckpoint({ path, monitor: "loss", saveBestOnly: true });
    const grab = { onEpochEnd: async () => void saved.push(await weightValues(model)) };
    const history = await fit(model, train, {
      epochs: 4,
      learningRate: 0.05,
      verbose: 0,
      callbacks: [ckpt, grab],
      seed: 2,
    });
    const best = ckpt.savedEpochs[ckpt.savedEpochs.length - 1];
    const back = withSeed(8, bnModel);
    const info = await loadCheckpoint(back, path);
    assertEquals(info.format, "keras3-weights-h5");
    assertEquals(info.epoch, best);
    assertEquals(info.logs!.loss, history.history.loss[best]);
    assertEquals(info.history!.epoch, history.epoch.slice(0, best + 1));
    assertEquals(await weightValues(back), saved[best]);
    assertEquals((await readCheckpointInfo(path)).epoch, best);
    await assert.rejects(
      () => loadCheckpoint(back, path, { optimizer: tf.train.adam() }),
      /best\.weights\.h5: a Keras \.weights\.h5 file holds no optimizer state/,
    );
    await assert.rejects(
      () => loadCheckpoint(back, join(dir, "none.weights.h5")),
      /none\.weights\.h5: no such file/,
    );
    model.dispose();
    back.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveKerasWeights: a kill during a save leaves the previous .weights.h5 loadable", async () => {
  await killDuringSave({
    imports: `import { saveKerasWeights } from ${
      JSON.stringify(new URL("../lib/models/mod.ts", import.meta.url).href)
    };`,
    save: "await saveKerasWeights(model, path);",
    fileName: "model.weights.h5",
    load: async (model, path) => void await loadKerasWeights(model, path),
    rounds: 3,
  });
});
