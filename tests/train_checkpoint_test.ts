import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { adam, initEngine, tf } from "../lib/engine/mod.ts";
import {
  fit,
  loadCheckpoint,
  modelCheckpoint,
  readCheckpointInfo,
  saveCheckpoint,
  withSeed,
} from "../lib/train/mod.ts";
import { killDuringSave } from "./_kill_during_save.ts";
import {
  assertRejectsWith,
  bnModel as bnModelOf,
  memoryDataset,
  randomImages,
  tinyModel,
  weightValues,
} from "./_train_data.ts";

await initEngine();

const H = 4, W = 4, C = 1, K = 3;

const bnModel = () => bnModelOf([H, W, C], K);

Deno.test("a checkpoint restores every weight (BatchNorm statistics included) and its metadata", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acmc-ckpt-" });
  try {
    const data = randomImages(12, H, W, C, K, 1);
    const model = withSeed(3, bnModel);
    const ds = memoryDataset(data.images, data.labels, {
      batchSize: 4,
      imageSize: [H, W],
      classes: K,
    });
    await fit(model, ds, { epochs: 1, learningRate: 0.05, verbose: 0 }); // moves the BN statistics
    const path = join(dir, "m.ckpt");
    await saveCheckpoint(model, path, {
      epoch: 4,
      logs: { val_accuracy: 0.5 },
      monitor: "val_accuracy",
      best: 0.5,
    });
    const saved = await weightValues(model);
    const other = withSeed(4, bnModel); // different weights, layers renamed? names are explicit
    assert(JSON.stringify(await weightValues(other)) !== JSON.stringify(saved));
    const info = await loadCheckpoint(other, path);
    assertEquals(await weightValues(other), saved);
    assertEquals(info.epoch, 4);
    assertEquals(info.best, 0.5);
    assertEquals(info.optimizer, null);
    assertEquals(info.weights.map((w) => w.name), model.weights.map((w) => w.originalName));
    assert(info.weights.some((w) => w.name === "bn/moving_variance"));

    // unnamed layers get new names in a second model: loading falls back to position
    const anon = () => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    const a = anon(), b = anon();
    assert(a.weights[0].originalName !== b.weights[0].originalName);
    await saveCheckpoint(a, join(dir, "a.ckpt"));
    await loadCheckpoint(b, join(dir, "a.ckpt"));
    assertEquals(await weightValues(b), await weightValues(a));

    // a model that does not fit, a corrupt file, a missing file: clear errors naming the file
    await assertRejectsWith(() => loadCheckpoint(tinyModel([H, W, C], K), path), "m.ckpt");
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 3] ^= 0xff;
    await Deno.writeFile(join(dir, "bad.ckpt"), bytes);
    await assertRejectsWith(() => loadCheckpoint(other, join(dir, "bad.ckpt")), "checksum");
    await Deno.writeFile(join(dir, "short.ckpt"), bytes.subarray(0, 1000));
    await assertRejectsWith(() => loadCheckpoint(other, join(dir, "short.ckpt")), "short.ckpt");
    await assertRejectsWith(() => loadCheckpoint(other, join(dir, "none.ckpt")), "none.ckpt");
    tf.dispose([model, other, a, b] as unknown as tf.Tensor[]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the file is the format's: header, then tfjs' encodeWeights of the weights and the optimizer, hashed", async () => {
  // saving and loading go weight by weight; the bytes must stay those of the
  // one-buffer layout earlier checkpoints have
  const dir = await Deno.makeTempDir({ prefix: "acmc-ckpt-" });
  try {
    const model = withSeed(5, bnModel);
    const optimizer = adam(0.01);
    const data = randomImages(8, H, W, C, K, 2);
    const ds = memoryDataset(data.images, data.labels, {
      batchSize: 4,
      imageSize: [H, W],
      classes: K,
    });
    await fit(model, ds, { epochs: 1, optimizer, verbose: 0 }); // Adam has moments
    const path = join(dir, "f.ckpt");
    await saveCheckpoint(model, path, { optimizer, epoch: 0 });
    const bytes = await Deno.readFile(path);
    assertEquals(new TextDecoder().decode(bytes.subarray(0, 8)), "ACMCCKP1");
    const len = new DataView(bytes.buffer).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
    const w = await tf.io.encodeWeights(
      model.weights.map((v) => ({ name: v.originalName, tensor: v.read() })),
    );
    const state = await optimizer.getWeights();
    const o = await tf.io.encodeWeights(state);
    const payload = new Uint8Array(w.data.byteLength + o.data.byteLength);
    payload.set(new Uint8Array(w.data), 0);
    payload.set(new Uint8Array(o.data), w.data.byteLength);
    assertEquals(bytes.subarray(12 + len), payload);
    assertEquals(header.weightSpecs, w.specs);
    assertEquals(header.optimizerSpecs, o.specs);
    assertEquals([header.weightBytes, header.optimizerBytes], [
      w.data.byteLength,
      o.data.byteLength,
    ]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", payload));
    assertEquals(
      header.sha256,
      Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
    );
    for (const s of state) if (!(s.tensor instanceof tf.Variable)) s.tensor.dispose();
    model.dispose();
    optimizer.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resuming from a full checkpoint (weights + Adam state + history) equals an uninterrupted run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acmc-resume-" });
  try {
    const data = randomImages(20, H, W, C, K, 2);
    const val = randomImages(6, H, W, C, K, 3);
    const opts = { batchSize: 4, imageSize: [H, W] as [number, number], classes: K };
    const train = () => memoryDataset(data.images, data.labels, opts);
    const valid = () => memoryDataset(val.images, val.labels, opts);
    const fitOpts = { learningRate: 0.02, seed: 9, verbose: 0 as const };

    const full = withSeed(5, () => tinyModel([H, W, C], K, 8, 0.3));
    const fullHistory = await fit(full, train(), {
      ...fitOpts,
      epochs: 4,
      validationData: valid(),
    });

    const first = withSeed(5, () => tinyModel([H, W, C], K, 8, 0.3));
    const path = join(dir, "last.ckpt");
    await fit(first, train(), {
      ...fitOpts,
      epochs: 2,
      validationData: valid(),
      callbacks: [modelCheckpoint({ path, monitor: "val_loss" })],
    });
    const info = await readCheckpointInfo(path);
    assertEquals(info.epoch, 1);
    assertEquals(info.history!.epoch, [0, 1]);
    assertEquals(info.optimizer!.className, "Adam");
    assert(info.modelTopology !== null);
    const sideHistory = JSON.parse(await Deno.readTextFile(`${path}.history.json`));
    assertEquals(sideHistory.epoch, [0, 1]);

    const resumed = withSeed(6, () => tinyModel([H, W, C], K, 8, 0.3));
    // The optimizer fit made for the uninterrupted run (the engine's Adam), its state restored.
    const optimizer = adam(0.02, 0.9, 0.999, 1e-7);
    const state = await loadCheckpoint(resumed, path, { optimizer });
    const history = await fit(resumed, train(), {
      ...fitOpts,
      optimizer,
      epochs: 4,
      initialEpoch: state.epoch! + 1,
      history: state.history!,
      validationData: valid(),
    });
    assertEquals(history.epoch, [0, 1, 2, 3]);
    for (const name of ["loss", "accuracy", "val_loss", "val_accuracy"]) {
      history.history[name].forEach((v, i) =>
        assert(
          Math.abs(v - fullHistory.history[name][i]) < 1e-5,
          `${name}[${i}] ${v} vs ${fullHistory.history[name][i]}`,
        )
      );
    }
    const [a, b] = [await weightValues(full), await weightValues(resumed)];
    a.forEach((w, i) =>
      w.forEach((v, j) =>
        assert(Math.abs(v - b[i][j]) < 1e-5, `weight ${i}[${j}] ${v} vs ${b[i][j]}`)
      )
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a kill during a save leaves the previous checkpoint loadable (subprocess killed mid-write)", async () => {
  await killDuringSave({
    imports: `import { saveCheckpoint } from ${
      JSON.stringify(new URL("../lib/train/checkpoint.ts", import.meta.url).href)
    };`,
    save: "await saveCheckpoint(model, path, { epoch: v });",
    fileName: "model.ckpt",
    load: async (model, path) => (await loadCheckpoint(model, path)).epoch ?? NaN,
    rounds: 4,
  });
});

Deno.test("a failed save removes its temporary file and keeps the previous checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "acmc-fail-" });
  try {
    const model = withSeed(1, () => tinyModel([H, W, C], K));
    const path = join(dir, "x.ckpt");
    await saveCheckpoint(model, path, { epoch: 1 });
    // the target turns into a non-empty folder: the final rename fails
    const blocked = join(dir, "blocked.ckpt");
    await Deno.mkdir(join(blocked, "inner"), { recursive: true });
    await assertRejectsWith(() => saveCheckpoint(model, blocked, { epoch: 2 }), "");
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names.sort(), ["blocked.ckpt", "x.ckpt"]);
    assertEquals((await readCheckpointInfo(path)).epoch, 1);
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
