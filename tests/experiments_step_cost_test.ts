import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { stepCostBySize } from "../lib/experiments/step_cost.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { withSeed } from "../lib/train/mod.ts";

await initEngine();

/** A small size-agnostic convnet; its step cost grows with the pixels. */
function tinyModel(classes: number): tf.LayersModel {
  return withSeed(1, () => {
    const input = tf.input({ shape: [null, null, 3] });
    let x = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: classes, activation: "softmax" }).apply(
      x,
    ) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  });
}

Deno.test("stepCostBySize times every size in one model, in the order given, and frees its tensors", async () => {
  const before = tf.memory().numTensors;
  const built: (number | null)[] = [];
  const costs = await stepCostBySize({
    sizes: [96, 16, 48],
    batchSize: 4,
    classes: 3,
    steps: 2,
    rounds: 2,
    buildModel: (size) => {
      built.push(size);
      return tinyModel(3);
    },
  });
  assertEquals(built, [null], "one size-agnostic model");
  assertEquals(costs.map((c) => c.size), [96, 16, 48]);
  for (const c of costs) {
    assert(c.secondsPerStep > 0 && Number.isFinite(c.secondsPerStep), JSON.stringify(c));
    assert(c.cpuSecondsPerStep >= 0, JSON.stringify(c));
  }
  // 36x the pixels of 16 px: slower whatever else the machine does in those seconds.
  assert(costs[0].secondsPerStep > costs[1].secondsPerStep, JSON.stringify(costs));
  assertEquals(tf.memory().numTensors, before, "model, optimizer and batches disposed");
});

Deno.test("stepCostBySize names a bad argument", async () => {
  const buildModel = () => tinyModel(2);
  await assert.rejects(
    () => stepCostBySize({ sizes: [], batchSize: 2, classes: 2, buildModel }),
    /no sizes/,
  );
  await assert.rejects(
    () => stepCostBySize({ sizes: [8, 0], batchSize: 2, classes: 2, buildModel }),
    /sizes must be positive integers, got 0/,
  );
  await assert.rejects(
    () => stepCostBySize({ sizes: [8], batchSize: 2, classes: 2, buildModel, steps: 0 }),
    /steps must be an integer >= 1, got 0/,
  );
});
