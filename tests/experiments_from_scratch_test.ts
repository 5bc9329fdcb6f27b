import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { trainFromScratch } from "../lib/experiments/from_scratch.ts";
import { readPredictions } from "../lib/train/mod.ts";
import { memoryDataset, randomImages } from "./_train_data.ts";

await initEngine();

Deno.test("trainFromScratch: a seeded ResNet50 through the recipe, predictions saved, model freed", async () => {
  const S = 32, K = 3;
  const dir = await Deno.makeTempDir({ prefix: "from-scratch-" });
  try {
    const data = randomImages(8, S, S, 3, K, 4);
    const opts = { batchSize: 4, imageSize: [S, S] as [number, number], channels: 3, classes: K };
    const train = memoryDataset(data.images, data.labels, { ...opts, shuffleSeed: 2 });
    const valid = memoryDataset(data.images.slice(0, 4), data.labels.slice(0, 4), opts);
    const lines: string[] = [];
    const tensors = tf.memory().numTensors;
    const run = await trainFromScratch({
      train,
      valid,
      epochs: 2,
      learningRate: 0.01,
      seed: 5,
      verbose: 0,
      inferenceVerbose: 0,
      evaluateBefore: true,
      checkpointDir: dir,
      predictionsPath: join(dir, "val-predictions.json"),
      modelName: "resnet50-scratch",
      log: (l) => lines.push(l),
    });
    assertEquals(tf.memory().numTensors, tensors, "the model and its tensors are freed");
    assertEquals(run.epochsRun, 2);
    assertEquals(run.checkpoint, join(dir, "best.ckpt"));
    assert(run.restored && run.bestEpoch !== null);
    assertEquals(run.after!.accuracy, run.bestLogs!.val_accuracy);
    assert(run.parameters > 23_000_000, `${run.parameters} parameters`);
    assertEquals(
      lines[0],
      `resnet50: ${run.parameters.toLocaleString("en")} parameters, input 32x32x3`,
    );
    assertEquals(lines.slice(1).map((l) => l.split(":")[0]), [
      "before training",
      `best epoch ${run.bestEpoch} of 2`,
      "reloaded",
    ]);
    const saved = await readPredictions(run.predictionsPath!);
    assertEquals(saved.model, "resnet50-scratch");
    assertEquals(saved.labels, data.labels.slice(0, 4));
    assertEquals(saved.bestEpoch, run.bestEpoch);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
