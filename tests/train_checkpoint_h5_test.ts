/**
 * modelCheckpoint with a `.weights.h5` path writes Keras 3's weights file
 * (what `loadKerasWeights` and Keras' `load_weights` read), atomically: a
 * process killed (SIGKILL) in the middle of a save leaves the previous file
 * whole. Other paths keep our own format (tests/train_checkpoint_test.ts).
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { loadKerasWeights } from "../lib/models/mod.ts";
import {
  fit,
  loadCheckpoint,
  modelCheckpoint,
  readCheckpointInfo,
  withSeed,
} from "../lib/train/mod.ts";
import { ROOT } from "./_python.ts";
import { memoryDataset, randomImages } from "./_train_data.ts";

await initEngine({ quiet: true });

const H = 4, W = 4, C = 1, K = 3;

function bnModel(): tf.LayersModel {
  const input = tf.input({ shape: [H, W, C], name: "image" });
  let x = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: "conv" }).apply(input);
  x = tf.layers.batchNormalization({ name: "bn" }).apply(x);
  x = tf.layers.flatten({ name: "flat" }).apply(x);
  const out = tf.layers.dense({ units: K, activation: "softmax", name: "out" }).apply(x);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
}

async function values(model: tf.LayersModel): Promise<number[][]> {
  return await Promise.all(model.weights.map(async (w) => Array.from(await w.read().data())));
}

Deno.test("modelCheckpoint: a .weights.h5 path gets Keras' weights file with each saved epoch's weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acmc-h5ckpt-" });
  try {
    const { images, labels } = randomImages(12, H, W, C, K, 1);
    const train = memoryDataset(images, labels, { batchSize: 4, imageSize: [H, W], classes: K });
    const model = withSeed(1, bnModel);
    const path = join(dir, "ckpt", "epoch{epoch:02d}.weights.h5");
    const saved: number[][][] = [];
    const ckpt = modelCheckpoint({ path, monitor: "loss" });
    const grab = { onEpochEnd: async () => void saved.push(await values(model)) };
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
      assertEquals(await values(back), saved[e]);
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
    const grab = { onEpochEnd: async () => void saved.push(await values(model)) };
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
    assertEquals(await values(back), saved[best]);
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

const CHILD = `
import { tf } from ${JSON.stringify(new URL("../lib/engine/mod.ts", import.meta.url).href)};
import { saveKerasWeights } from ${
  JSON.stringify(new URL("../lib/models/mod.ts", import.meta.url).href)
};
const input = tf.input({ shape: [500] });
const out = tf.layers.dense({ units: 4000, name: "big" }).apply(input);
const model = tf.model({ inputs: input, outputs: out });
for (let v = 1; ; v++) {
  const vals = model.weights.map((w) => tf.fill(w.shape, v));
  model.setWeights(vals);
  tf.dispose(vals);
  await saveKerasWeights(model, Deno.args[0]);
  console.log("saved " + v);
}
`;

Deno.test("saveKerasWeights: a kill during a save leaves the previous .weights.h5 loadable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acmc-h5kill-" });
  try {
    const script = join(dir, "child.ts");
    await Deno.writeTextFile(script, CHILD);
    const path = join(dir, "ckpt", "model.weights.h5");
    const input = tf.input({ shape: [500] });
    const out = tf.layers.dense({ units: 4000, name: "big" }).apply(input);
    const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
    let midWrite = 0;
    for (let round = 0; round < 3; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", join(ROOT, "deno.json"), script, path],
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let lastSaved = 0;
      const reader = (async () => {
        const dec = new TextDecoder();
        for await (const chunk of child.stdout) {
          for (const m of dec.decode(chunk).matchAll(/saved (\d+)/g)) lastSaved = Number(m[1]);
        }
      })();
      // after a few versions, kill while a temporary file is being written
      const deadline = Date.now() + 120_000;
      let killed = false;
      while (!killed && Date.now() < deadline) {
        if (lastSaved >= 2 + round) {
          let writing = false;
          for await (const e of Deno.readDir(join(dir, "ckpt"))) {
            if (e.name.startsWith(".model.weights.h5.tmp-")) {
              writing ||= await Deno.stat(join(dir, "ckpt", e.name)).then(
                (s) => s.size > 0,
                () => false,
              );
            }
          }
          if (writing) {
            child.kill("SIGKILL");
            killed = true;
            midWrite++;
          }
        }
        if (!killed) await new Promise((r) => setTimeout(r, 1));
      }
      if (!killed) child.kill("SIGKILL");
      await child.status;
      await reader;
      assert(killed, "the child never reached a save in time");
      await loadKerasWeights(model, path);
      const [kernel, bias] = await values(model);
      const v = kernel[0];
      assert(
        v === lastSaved || v === lastSaved + 1,
        `loaded version ${v}, last reported ${lastSaved}`,
      );
      assert(kernel.every((x) => x === v) && bias.every((x) => x === v), `version ${v} is mixed`);
    }
    assert(midWrite >= 1, "no kill landed while a temporary file was being written");
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
