import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { initEngine, tf } from "../lib/engine/mod.ts";
import {
  activationValues,
  availableMemory,
  CALIBRATION,
  checkFits,
  estimateTrainingMemory,
  formatBytes,
  peakRss,
  resetPeakRss,
  sampleMemory,
} from "../lib/budget/mod.ts";
import { resnet50 } from "../lib/models/mod.ts";

const GiB = 2 ** 30;
await initEngine();

function tinyModel(trainableConv = true) {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, trainable: trainableConv })
    .apply(input) as tf.SymbolicTensor; // [6, 6, 4] = 144 values, 112 params
  const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor; // 144 values
  const out = tf.layers.dense({ units: 5 }).apply(flat) as tf.SymbolicTensor; // 5 values, 725 params
  return tf.model({ inputs: input, outputs: out });
}

function assertThrowsMsg(fn: () => unknown, includes: string) {
  assert.throws(fn, (e: Error) => e.message.includes(includes));
}

Deno.test("activationValues sums every layer's output size per sample", () => {
  const model = tinyModel();
  assertEquals(activationValues(model), 8 * 8 * 3 + 144 + 144 + 5);
  const sizeFree = tf.input({ shape: [null, null, 3] });
  const m2 = tf.model({
    inputs: sizeFree,
    outputs: tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(sizeFree) as tf.SymbolicTensor,
  });
  assertThrowsMsg(() => activationValues(m2), "build the model at a fixed image size");
});

Deno.test("estimateTrainingMemory adds weights, gradients, Adam state, activations and base", () => {
  const model = tinyModel();
  const est = estimateTrainingMemory(model, {
    batchSize: 10,
    activationFactor: 3,
    baseBytes: 1000,
    floorBytes: 0,
  });
  assertEquals(est.params, 837);
  assertEquals(est.trainableParams, 837);
  assertEquals(est.parts, {
    weights: 837 * 4,
    gradients: 837 * 4,
    optimizer: 2 * 837 * 4,
    activations: 3 * 485 * 10 * 4,
    base: 1000,
  });
  assertEquals(est.totalBytes, 4 * 837 * 4 + 3 * 485 * 10 * 4 + 1000);
  // A frozen layer has no gradients or optimizer state; SGD has no state.
  const frozen = estimateTrainingMemory(tinyModel(false), { batchSize: 1, optimizer: "sgd" });
  assertEquals(frozen.trainableParams, 725);
  assertEquals(frozen.parts.gradients, 725 * 4);
  assertEquals(frozen.parts.optimizer, 0);
  assertEquals(frozen.parts.base, CALIBRATION.baseBytes);
  // The floor: the smallest training step still reaches it.
  assertEquals(frozen.totalBytes, CALIBRATION.floorBytes);
  assert(frozen.floorApplied);
  const floored = estimateTrainingMemory(model, { batchSize: 1, floorBytes: 10 ** 9 });
  assertEquals(floored.totalBytes, 10 ** 9);
  assertThrowsMsg(() => estimateTrainingMemory(model, { batchSize: 0 }), "batchSize");
  assertThrowsMsg(
    () => estimateTrainingMemory(model, { batchSize: 1, optimizer: "lion" as "adam" }),
    "unknown optimizer",
  );
});

Deno.test("ResNet50: activations grow with the image area; 1024 px at batch 8 is refused on 16 GiB", async () => {
  const at = (s: number) => resnet50({ inputShape: [s, s, 3], classes: 23, weights: null });
  const m64 = at(64);
  const a64 = activationValues(m64);
  const e64 = estimateTrainingMemory(m64, { batchSize: 2 });
  m64.dispose();
  const m1024 = at(1024);
  const a1024 = activationValues(m1024);
  const e1024 = estimateTrainingMemory(m1024, { batchSize: 8 });
  m1024.dispose();
  assertEquals(e64.params, 23_634_839);
  // (1024/64)^2 = 256 times the area; "valid" paddings make it a little more than that.
  assert(a1024 / a64 > 250 && a1024 / a64 < 262, `ratio ${a1024 / a64}`);
  const p100 = 16 * GiB;
  const small = await checkFits(e64, { available: p100, label: "64 px, batch 2" });
  assert(small.fits, small.message);
  const big = await checkFits(e1024, { available: p100, label: "1024 px, batch 8" });
  assert(!big.fits, big.message);
  assert(big.message.includes("REFUSED") && big.message.includes("1024 px, batch 8"));
  assert(big.estimateBytes > 2 * p100, formatBytes(big.estimateBytes));
  assertEquals(big.availableBytes, p100);
});

Deno.test("available memory, peak RSS and the sampler report plausible figures", async () => {
  const avail = await availableMemory();
  const { total } = Deno.systemMemoryInfo();
  assert(
    avail.bytes > 64 * 2 ** 20 && avail.bytes <= total + Deno.memoryUsage().rss,
    avail.description,
  );
  assertEquals(avail.source, "system");
  const check = await checkFits(1, {});
  assert(check.fits && check.availableBytes > 0);
  await assert.rejects(() => checkFits(1, { headroom: 0 }), /headroom/);
  const before = peakRss();
  assert(before >= Deno.memoryUsage().rss * 0.5);
  // (Other test files share this process, so only the reset's effect on a quiet process is exact.)
  assertEquals(typeof resetPeakRss(), "boolean");
  assert(peakRss() > 0);
  const sampler = sampleMemory(5);
  const big = new Float64Array(40 * 2 ** 17).fill(1); // 40 MiB touched
  await new Promise((r) => setTimeout(r, 30));
  const rssNow = Deno.memoryUsage().rss;
  const peak = sampler.stop();
  assert(peak >= rssNow && big[0] === 1);
  assertEquals(formatBytes(3 * GiB), "3.00 GiB");
  assertEquals(formatBytes(512), "512 B");
});
