import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { initEngine } from "../lib/engine/mod.ts";
import { epochDecay, fit, learningRateScheduler } from "../lib/train/mod.ts";
import type { Callback } from "../lib/train/mod.ts";
import { assertRejectsWith, memoryDataset, randomImages, tinyModel } from "./_train_data.ts";

await initEngine({ quiet: true });

Deno.test("learningRateScheduler sets the rate before each epoch and logs it, as Keras", async () => {
  const { images, labels } = randomImages(16, 4, 4, 1, 3, 3);
  const train = memoryDataset(images, labels, { batchSize: 8, imageSize: [4, 4], classes: 3 });
  const model = tinyModel([4, 4, 1], 3);
  try {
    const seen: number[] = [];
    const spy: Callback = {
      onBatchEnd: (_b, _l, ctx) => {
        seen.push((ctx.optimizer as unknown as { learningRate: number }).learningRate);
      },
    };
    const history = await fit(model, train, {
      epochs: 3,
      learningRate: 0.01,
      verbose: 0,
      callbacks: [learningRateScheduler({ schedule: (e, lr) => (e === 0 ? lr : lr / 2) }), spy],
    });
    assertEquals(seen, [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]);
    assertEquals(history.history.learning_rate, [0.01, 0.005, 0.0025]);
    const decay = epochDecay(1e-3, 0.5);
    assertEquals([0, 1, 2].map(decay), [1e-3, 5e-4, 2.5e-4]);
    await assertRejectsWith(
      () =>
        fit(model, train, {
          epochs: 1,
          verbose: 0,
          callbacks: [learningRateScheduler({ schedule: () => NaN })],
        }),
      "returned NaN at epoch 0",
    );
    assert.throws(() => epochDecay(1e-3, 2), /factor/);
  } finally {
    model.dispose();
  }
});
