/**
 * Architecture parity with `keras.applications.ResNet50` (Keras 3 in the
 * venv): layer names in order, layer classes, output shapes, per-layer,
 * total, trainable and non-trainable parameter counts, at 128, 256 and 512 px,
 * with the top (23 classes) and without (no pooling, avg, max). Models are
 * only built, never run.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { runOracle } from "./_python.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { BatchNormalization, resnet50, RESNET_BN_EPSILON } from "../lib/models/mod.ts";

interface Variant {
  classes?: number;
  include_top?: boolean;
  pooling?: "avg" | "max" | null;
}
interface ArchOracle {
  size: number;
  variant: Variant;
  layers: { name: string; class: string; output_shape: (number | null)[]; params: number }[];
  total: number;
  trainable: number;
  non_trainable: number;
}

const SIZES = [128, 256, 512];
const VARIANTS: Variant[] = [
  { classes: 23, include_top: true },
  { include_top: false, pooling: null },
  { include_top: false, pooling: "avg" },
  { include_top: false, pooling: "max" },
];

const count = (ws: tf.LayerVariable[]) =>
  ws.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);

/** Our class names in Keras' words. */
const kerasClass = (l: tf.layers.Layer) =>
  l.getClassName() === "KerasBatchNormalization" ? "BatchNormalization" : l.getClassName();

Deno.test("models: resnet50 matches Keras 3's ResNet50 layer by layer at 128, 256, 512 px", async () => {
  await initEngine({ quiet: true });
  const oracle = await runOracle<ArchOracle[]>("keras_resnet.py", {
    command: "arch",
    sizes: SIZES,
    variants: VARIANTS,
  });
  assertEquals(oracle.length, SIZES.length * VARIANTS.length);
  for (const k of oracle) {
    const what = `${k.size}px ${JSON.stringify(k.variant)}`;
    const m = resnet50({
      inputShape: [k.size, k.size, 3],
      classes: k.variant.classes ?? 1000,
      includeTop: k.variant.include_top,
      pooling: k.variant.pooling,
    });
    try {
      assertEquals(m.layers.map((l) => l.name), k.layers.map((l) => l.name), what);
      assertEquals(m.layers.map(kerasClass), k.layers.map((l) => l.class), what);
      assertEquals(
        m.layers.map((l) => l.outputShape),
        k.layers.map((l) => l.output_shape),
        `${what}: output shapes`,
      );
      assertEquals(m.layers.map((l) => l.countParams()), k.layers.map((l) => l.params), what);
      assertEquals(m.countParams(), k.total, what);
      assertEquals(count(m.trainableWeights), k.trainable, what);
      assertEquals(count(m.nonTrainableWeights), k.non_trainable, what);
    } finally {
      m.dispose();
    }
  }
  // The figure the study quotes, independent of the oracle.
  const withTop = oracle.find((k) => k.variant.include_top && k.size === 128)!;
  assertEquals(withTop.total, 23_634_839);
  assertEquals(withTop.non_trainable, 53_120);
});

Deno.test("models: resnet50 details Keras relies on", async () => {
  await initEngine({ quiet: true });
  const m = resnet50({ inputShape: [64, 64, 3], classes: 23, seed: 1 });
  try {
    const bns = m.layers.filter((l) => l instanceof BatchNormalization) as BatchNormalization[];
    assertEquals(bns.length, 53);
    assert(bns.every((l) => l.epsilon === RESNET_BN_EPSILON && l.momentum === 0.99));
    const cfg = (name: string) => m.getLayer(name).getConfig();
    // Stride on the first 1x1 conv of a stage and on its projection shortcut.
    assertEquals(cfg("conv3_block1_1_conv").strides, [2, 2]);
    assertEquals(cfg("conv3_block1_0_conv").strides, [2, 2]);
    assertEquals(cfg("conv3_block1_2_conv").strides, [1, 1]);
    assertEquals(cfg("conv2_block1_1_conv").strides, [1, 1]);
    assertEquals(cfg("conv3_block1_2_conv").padding, "same");
    assertEquals(cfg("conv1_pad").padding, [[3, 3], [3, 3]]);
    assertEquals(cfg("predictions").activation, "softmax");
    // Same seed, same initial weights; another seed, other weights.
    const again = resnet50({ inputShape: [64, 64, 3], classes: 23, seed: 1 });
    const other = resnet50({ inputShape: [64, 64, 3], classes: 23, seed: 2 });
    const first = (x: tf.LayersModel) => x.getLayer("conv4_block2_2_conv").getWeights()[0];
    assertEquals(first(again).dataSync(), first(m).dataSync());
    assert(
      tf.tidy(() => tf.max(tf.abs(tf.sub(first(other), first(m)))).dataSync()[0]) > 0.01,
    );
    again.dispose();
    other.dispose();
  } finally {
    m.dispose();
  }
  assert.throws(() => resnet50({ inputShape: [16, 16, 3] }), /integers >= 32/);
  assert.throws(() => resnet50({ inputShape: [64, 64, 1] }), /\[height, width, 3\]/);
  assert.throws(() => resnet50({ classes: 0 }), /classes/);
  assert.throws(() => resnet50({ batchNormMomentum: 1.5 }), /batchNormMomentum/);
  const fast = resnet50({ inputShape: [32, 32, 3], classes: 3, batchNormMomentum: 0.9 });
  const moms = fast.layers.filter((l) => l instanceof BatchNormalization)
    .map((l) => (l as BatchNormalization).momentum);
  fast.dispose();
  assertEquals(new Set(moms), new Set([0.9]));
});
