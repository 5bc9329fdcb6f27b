import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { initEngine, tf } from "../lib/engine/mod.ts";
import {
  bestOf,
  earlyStopping,
  evaluate,
  fit,
  loadCheckpoint,
  modelCheckpoint,
  predict,
  readPredictions,
  savePredictions,
  trainAndEvaluate,
  withSeed,
} from "../lib/train/mod.ts";
import { memoryDataset, randomImages, tinyModel } from "./_train_data.ts";

await initEngine();

const S = 4, K = 3;
const data = randomImages(24, S, S, 1, K, 3);
const opts = { batchSize: 8, imageSize: [S, S] as [number, number], classes: K };
const train = () => memoryDataset(data.images, data.labels, { ...opts, shuffleSeed: 1 });
const valid = () => memoryDataset(data.images.slice(0, 12), data.labels.slice(0, 12), opts);
const model = () => withSeed(7, () => tinyModel([S, S, 1], K, 8, 0.25));

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "train-recipe-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("trainAndEvaluate equals the recipe written out by hand (same calls, same numbers)", async () => {
  await withTempDir(async (dir) => {
    // By hand, as the notebooks did: fresh callbacks, fit, reload, evaluate, predict.
    const a = model();
    const ckpt = join(dir, "hand.ckpt");
    const stop = earlyStopping({ monitor: "val_accuracy", patience: 2 });
    const beforeA = await evaluate(a, valid(), { verbose: 0 });
    const historyA = await fit(a, train(), {
      epochs: 6,
      learningRate: 0.05,
      validationData: valid(),
      seed: 11,
      verbose: 0,
      callbacks: [
        stop,
        modelCheckpoint({
          path: ckpt,
          monitor: "val_accuracy",
          saveBestOnly: true,
          saveWeightsOnly: true,
        }),
      ],
    });
    const info = await loadCheckpoint(a, ckpt);
    const afterA = await evaluate(a, valid(), { verbose: 0 });
    const predsA = await predict(a, valid(), { verbose: 0 });
    a.dispose();

    const b = model();
    const lines: string[] = [];
    const tensors = tf.memory().numTensors;
    const run = await trainAndEvaluate(b, train(), {
      epochs: 6,
      learningRate: 0.05,
      validationData: valid(),
      patience: 2,
      seed: 11,
      verbose: 0,
      inferenceVerbose: 0,
      checkpointPath: join(dir, "recipe.ckpt"),
      evaluateBefore: true,
      predictionsPath: join(dir, "preds", "val-predictions.json"),
      modelName: "tiny",
      measureMemory: true,
      log: (l) => lines.push(l),
    });
    assertEquals(tf.memory().numTensors, tensors, "the recipe leaves no tensor behind");
    b.dispose();

    const drop = (h: typeof historyA) => ({ ...h.history, seconds: undefined });
    assertEquals(drop(run.history), drop(historyA));
    assertEquals(run.history.epoch, historyA.epoch);
    assertEquals(run.before, beforeA);
    assertEquals(run.after, afterA);
    assertEquals(run.predictions, predsA);
    assertEquals(run.bestEpoch, info.epoch! + 1);
    assertEquals(run.bestEpoch, bestOf(historyA)!.epoch);
    assertEquals(run.best, bestOf(historyA)!.value);
    assertEquals(run.bestLogs!.val_accuracy, info.logs!.val_accuracy);
    assertEquals(run.stoppedEpoch, stop.stoppedEpoch ? stop.stoppedEpoch + 1 : null);
    assertEquals(run.epochsRun, historyA.epoch.length);
    assert(run.restored);
    assertEquals(run.checkpoint, join(dir, "recipe.ckpt"));
    assert(existsSync(run.checkpoint!));
    assert(run.fitSeconds > 0 && run.secondsPerEpoch! > 0);
    // CPU seconds of this process per epoch: the run's cost, whatever else the machine runs.
    assert(run.cpuSecondsPerEpoch! > 0 && run.cpuSecondsPerEpoch! < 60 * run.fitSeconds);
    assert(run.peakRssBytes! >= run.rssBeforeBytes! && run.rssBeforeBytes! > 0);
    assertEquals(lines.length, 3);
    assert(lines[0].startsWith("before training: loss "), lines[0]);
    assert(
      lines[1].startsWith(`best epoch ${run.bestEpoch} of ${run.epochsRun}: logged val_accuracy`),
    );
    assert(lines[2].startsWith("reloaded: loss "), lines[2]);

    const saved = await readPredictions(run.predictionsPath!);
    assertEquals(saved.model, "tiny");
    assertEquals(saved.imageSize, S);
    assertEquals(saved.bestEpoch, run.bestEpoch);
    assertEquals(saved.checkpoint, join(dir, "recipe.ckpt"));
    assertEquals(saved.filePaths, valid().filePaths);
    assertEquals(saved.labels, data.labels.slice(0, 12));
    assertEquals(saved.predicted, predsA.predicted);
  });
});

Deno.test("trainAndEvaluate without early stopping or checkpoint keeps the last weights", async () => {
  const m = model();
  try {
    const run = await trainAndEvaluate(m, train(), {
      epochs: 3,
      learningRate: 0.05,
      validationData: valid(),
      patience: null,
      verbose: 0,
      inferenceVerbose: 0,
      evaluate: false,
      predict: false,
    });
    assertEquals(run.epochsRun, 3);
    assertEquals(run.restored, false);
    assertEquals(run.checkpoint, null);
    assertEquals(run.stoppedEpoch, null);
    assertEquals([run.after, run.before, run.predictions, run.predictionsPath], [
      null,
      null,
      null,
      null,
    ]);
    assertEquals(run.bestEpoch, bestOf(run.history)!.epoch);
    assertEquals([run.peakRssBytes, run.rssBeforeBytes], [null, null]);
  } finally {
    m.dispose();
  }
});

Deno.test("bestOf: first best; min for losses; null when the quantity is missing", () => {
  const h = {
    epoch: [0, 1, 2, 3],
    history: { val_accuracy: [0.2, 0.5, 0.5, 0.4], val_loss: [2, 1, 1, 3] },
    params: { epochs: 4, steps: 1, initialEpoch: 0, samples: 1 },
  };
  assertEquals(bestOf(h), { value: 0.5, epoch: 2 });
  assertEquals(bestOf(h, "val_loss"), { value: 1, epoch: 2 });
  assertEquals(bestOf(h, "accuracy"), null);
});

Deno.test("savePredictions refuses predictions that are not in the file order", async () => {
  await withTempDir(async (dir) => {
    const m = model();
    try {
      const shuffled = memoryDataset(data.images, data.labels, { ...opts, shuffleSeed: 3 });
      const path = join(dir, "p.json");
      await assert.rejects(
        () => savePredictions(m, shuffled, path, { modelName: "tiny", verbose: 0 }),
        (e: Error) => e.message.includes(path) && e.message.includes("file order"),
      );
      assert(!existsSync(path), "nothing written");
      const ok = await savePredictions(m, valid(), path, { modelName: "tiny", verbose: 0 });
      assertEquals((await readPredictions(ok.path)).labels, data.labels.slice(0, 12));
    } finally {
      m.dispose();
    }
  });
});
