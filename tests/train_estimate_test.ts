import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { initEngine } from "../lib/engine/mod.ts";
import { estimateTrainingTime, formatTrainingTime } from "../lib/train/mod.ts";
import { assertRejectsWith, memoryDataset, randomImages, tinyModel } from "./_train_data.ts";

await initEngine({ quiet: true });

Deno.test("estimateTrainingTime times real steps, extrapolates, and leaves the weights as they were", async () => {
  const { images, labels } = randomImages(40, 4, 4, 1, 3, 7);
  const train = memoryDataset(images, labels, { batchSize: 4, imageSize: [4, 4], classes: 3 });
  const valid = memoryDataset(images.slice(0, 12), labels.slice(0, 12), {
    batchSize: 4,
    imageSize: [4, 4],
    classes: 3,
  });
  const model = tinyModel([4, 4, 1], 3);
  try {
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    const t = await estimateTrainingTime(model, train, {
      epochs: 20,
      validationData: valid,
      steps: 2,
      learningRate: 0.5, // large: the steps would visibly move the weights
    });
    assertEquals(model.getWeights().map((w) => Array.from(w.dataSync())), before);
    assert(t.secondsPerStep > 0);
    assertEquals(t.stepsPerEpoch, 10);
    // 10 training steps + 3 validation batches at a third of a step each.
    assert(Math.abs(t.secondsPerEpoch - t.secondsPerStep * 11) < 1e-9);
    assert(Math.abs(t.secondsPerRun - 20 * t.secondsPerEpoch) < 1e-9);
    assertEquals(t.adviseGpu, false);
    assert(t.message.startsWith("2 steps timed:"), t.message);
    assert(t.message.includes("for 20 epochs"), t.message);
    const slow = await estimateTrainingTime(model, train, { epochs: 20, adviseGpuAbove: 0 });
    assert(slow.adviseGpu && slow.message.includes("a GPU is advised"), slow.message);
    await assertRejectsWith(() => estimateTrainingTime(model, train, { epochs: 0 }), "epochs");
  } finally {
    model.dispose();
  }
});

Deno.test("formatTrainingTime: seconds, minutes, hours", () => {
  assertEquals(formatTrainingTime(42), "42 s");
  assertEquals(formatTrainingTime(720), "12 min");
  assertEquals(formatTrainingTime(3.4 * 3600), "3.4 h");
});
