import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { initEngine, tf } from "../lib/engine/mod.ts";
import type { BatchDataset } from "../lib/data/types.ts";
import { estimateTrainingMemory } from "../lib/budget/mod.ts";
import {
  bestRun,
  checkSize,
  progressiveResizing,
  savePredictionsOf,
  sizeSweep,
} from "../lib/experiments/image_size.ts";
import { bestOf, readPredictions } from "../lib/train/mod.ts";

await initEngine();

/** A tiny in-memory dataset: class = which third of the image is brightest. */
function fakeData(size: number, n: number, batch: number, seed: number): BatchDataset {
  const labels = Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3);
  return {
    classNames: ["a", "b", "c"],
    filePaths: labels.map((_, i) => `f${i}.png`),
    labels,
    batchSize: batch,
    imageSize: [size, size],
    channels: 3,
    cardinality: Math.ceil(n / batch),
    async *[Symbol.asyncIterator]() {
      for (let s = 0; s < n; s += batch) {
        const ys = labels.slice(s, s + batch);
        const x = tf.tidy(() => {
          const cols = tf.range(0, size).div(size).floor().reshape([1, 1, size, 1]);
          return tf.stack(ys.map((c) => {
            const band = tf.range(0, size).mul(3 / size).floor().equal(c).toFloat();
            return band.reshape([1, size, 1]).tile([size, 1, 3]).mul(200).add(cols.squeeze([0]));
          })) as tf.Tensor4D;
        });
        yield { x, y: tf.oneHot(tf.tensor1d(ys, "int32"), 3).toFloat() };
      }
    },
  };
}

function tinyNet(size: number | null): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let x = tf.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    activation: "relu",
    kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
  }).apply(input);
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  x = tf.layers.dense({
    units: 3,
    activation: "softmax",
    kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
  }).apply(x);
  return tf.model({ inputs: input, outputs: x as tf.SymbolicTensor });
}

const loadData = (size: number) =>
  Promise.resolve(
    [fakeData(size, 12, 4, 0), fakeData(size, 6, 3, 1)] as [BatchDataset, BatchDataset],
  );

Deno.test("sizeSweep trains each size with fresh callbacks and refuses one that will not fit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const est = (s: number) => {
      const m = tinyNet(s);
      const e = estimateTrainingMemory(m, { batchSize: 4, floorBytes: 0 }).totalBytes;
      m.dispose();
      return e;
    };
    // Memory at hand between the 16 px and the 600 px estimate.
    const available = (est(16) + est(600)) / 2;
    const lines: string[] = [];
    const runs = await sizeSweep({
      sizes: [8, 16, 600],
      epochs: 3,
      batchSize: 4,
      learningRate: 1e-2,
      patience: 1,
      loadData,
      buildModel: tinyNet,
      checkpointDir: dir,
      available,
      headroom: 1,
      estimate: { floorBytes: 0 },
      verbose: 0,
      log: (l) => lines.push(l),
    });
    assertEquals(runs.map((r) => r.status), ["trained", "trained", "refused"]);
    for (const r of runs.slice(0, 2)) {
      assert(r.epochsRun >= 1 && r.epochsRun <= 3);
      assertEquals(r.bestValAccuracy, Math.max(...r.history!.history.val_accuracy));
      assert(r.secondsPerEpoch! > 0 && r.peakRssBytes! >= r.rssBeforeBytes! * 0.5);
      assert(r.cpuSecondsPerEpoch! > 0);
      assertEquals(r.checkpoint, join(dir, `size-${r.size}.ckpt`));
      assert((await Deno.stat(r.checkpoint!)).size > 0);
    }
    // Fresh callbacks: the second size's early stopping and checkpoint started from scratch
    // (a reused checkpoint would not have saved unless it beat the first run's best).
    assert(runs[1].history!.epoch[0] === 0);
    assertEquals(runs[2].bestValAccuracy, null);
    assert(runs[2].memoryMessage.includes("REFUSED") && runs[2].estimateBytes > available);
    assert(lines.some((l) => l.includes("600 px, batch 4: REFUSED")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("progressive resizing keeps one model through the phases; fixed size gets the same epochs", async () => {
  const res = await progressiveResizing({
    schedule: [{ size: 8, epochs: 1 }, { size: 16, epochs: 2 }],
    batchSize: 4,
    learningRate: 1e-2,
    loadData,
    buildModel: tinyNet,
    available: 64 * 2 ** 30,
    verbose: 0,
    log: () => {},
  });
  assertEquals(res.epochs, 3);
  const p = res.progressive!, f = res.fixed!;
  assertEquals(p.phases.map((x) => [x.size, x.epochs]), [[8, 1], [16, 2]]);
  assertEquals(p.history.epoch, [0, 1, 2]);
  assertEquals(f.phases.map((x) => [x.size, x.epochs]), [[16, 3]]);
  assertEquals(f.history.epoch, [0, 1, 2]);
  assertEquals(p.finalValAccuracy, p.history.history.val_accuracy[2]);
  assertEquals(
    p.bestFinalSizeValAccuracy,
    Math.max(...p.history.history.val_accuracy.slice(1)),
  );
  assert(res.memory.every((m) => m.fits) && res.memory.length === 2);
  assertEquals(
    bestOf({
      epoch: [0, 1, 2],
      history: { val_accuracy: [0.2, 0.5, 0.5] },
      params: { epochs: 3, steps: 1, initialEpoch: 0, samples: 1 },
    }),
    {
      value: 0.5,
      epoch: 2,
    },
  );
});

Deno.test("checkSize refuses without training; bestRun and savePredictionsOf feed notebook 04", async () => {
  const no = await checkSize({
    buildModel: tinyNet,
    size: 64,
    batchSize: 4,
    available: 1000,
    label: "a tiny machine",
    estimate: { floorBytes: 0, baseBytes: 0 },
  });
  assert(!no.fits && no.message.includes("64 px, batch 4 on a tiny machine: REFUSED"));
  assertEquals(no.activationValuesPerSample, 64 * 64 * 3 + 62 * 62 * 4 + 4 + 3);
  const dir = await Deno.makeTempDir();
  try {
    const runs = await sizeSweep({
      sizes: [8, 12],
      epochs: 1,
      batchSize: 4,
      patience: null,
      loadData,
      buildModel: tinyNet,
      checkpointDir: dir,
      available: 64 * 2 ** 30,
      verbose: 0,
      log: () => {},
    });
    const best = bestRun(runs)!;
    assertEquals(best.bestValAccuracy, Math.max(...runs.map((r) => r.bestValAccuracy!)));
    const path = await savePredictionsOf({
      run: best,
      buildModel: tinyNet,
      loadData,
      path: join(dir, "val-predictions.json"),
      model: "tiny",
    });
    const p = await readPredictions(path);
    assertEquals(p.labels, fakeData(best.size, 6, 3, 1).labels);
    assertEquals(p.imageSize, best.size);
    assertEquals(p.classNames, ["a", "b", "c"]);
    // The saved predictions reproduce the logged best val_accuracy of that run.
    const acc = p.labels.filter((l, i) => l === p.predicted[i]).length / p.labels.length;
    assert(Math.abs(acc - best.bestValAccuracy!) < 1e-6, `${acc} vs ${best.bestValAccuracy}`);
    assertEquals(bestRun([]), null);
    // A size reused from elsewhere is not trained again; its peak memory is re-measured here
    // by a few steps; the others save their best epoch's predictions with the dataset's print.
    const lines: string[] = [];
    const again = await sizeSweep({
      sizes: [8, 12],
      epochs: 2,
      batchSize: 4,
      patience: null,
      loadData,
      buildModel: tinyNet,
      checkpointDir: dir,
      predictionsDir: dir,
      dataset: "fp-test",
      learningRateDecay: 0.5,
      reuse: (size) =>
        Promise.resolve(size === 12 ? { ...runs[1], reusedFrom: "notebook 02" } : null),
      memoryProbeSteps: 1,
      available: 64 * 2 ** 30,
      verbose: 0,
      log: (l) => lines.push(l),
    });
    assertEquals(again[1].history, runs[1].history);
    assertEquals(again[1].reusedFrom, "notebook 02");
    assert(again[1].peakRssBytes! > 0 && again[1].peakRssBytes !== runs[1].peakRssBytes);
    assert(lines.some((l) => l.startsWith("12 px: reusing notebook 02")));
    assertEquals(again[0].history!.history.learning_rate, [1e-4, 5e-5]);
    const saved = await readPredictions(again[0].predictionsPath!);
    assertEquals([saved.imageSize, saved.dataset], [8, "fp-test"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
