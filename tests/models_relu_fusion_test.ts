/**
 * ReLU fusion (lib/models/relu_fusion.ts): a ResNet50 training step computes
 * the same loss and gradients with and without it, runs no separate ReLU
 * kernel when it is on, and leaves the model's structure and inference alone.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { resnet50 } from "../lib/models/mod.ts";

// This test compares two orders of the same float math (fused and separate ReLU) at a
// tolerance of 1e-4, so it pins TensorFlow's own (Eigen) kernels: with oneDNN on, one
// loaded CI run saw conv1's kernel gradient 1.6% apart (batch 2, 2x2 maps in the last
// stage amplify any change of summation order). A process loads one libtensorflow, and
// the first load decides oneDNN for all (lib/engine), so this file runs in a process of
// its own (OWN_PROCESS in tools/test.ts, behind `deno task test` and `test:unit`), not in
// deno test --parallel's shared one, where another file's engine (and its environment
// switches) came first and the same 1.6% came back. tests/engine_onednn_test.ts compares
// oneDNN's step with these kernels.
Deno.env.set("ACMC_ONEDNN", "0");
await initEngine({ quiet: true });

function step(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) {
  return tf.variableGrads(() =>
    tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar
  );
}

async function withFusion<T>(on: boolean, f: () => Promise<T> | T): Promise<T> {
  const old = Deno.env.get("ACMC_FUSE_RELU");
  Deno.env.set("ACMC_FUSE_RELU", on ? "1" : "0");
  try {
    return await f();
  } finally {
    if (old === undefined) Deno.env.delete("ACMC_FUSE_RELU");
    else Deno.env.set("ACMC_FUSE_RELU", old);
  }
}

Deno.test("ReLU fusion: same ResNet50 loss and gradients, no separate Relu kernels, same structure", async () => {
  const model = resnet50({ inputShape: [48, 48, 3], classes: 5, seed: 3 });
  const x = tf.randomUniform([2, 48, 48, 3], -1, 1, "float32", 4);
  const y = tf.oneHot(tf.tensor1d([1, 3], "int32"), 5);
  const runs = [];
  for (const on of [false, true]) {
    runs.push(
      await withFusion(on, async () => {
        const info = await tf.profile(() => tf.dispose(step(model, x, y).grads));
        const { value, grads } = step(model, x, y);
        const out = {
          loss: value.dataSync()[0],
          grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync()])),
          relus: info.kernels.filter((k) => k.name === "Relu").length,
        };
        tf.dispose([value, grads]);
        return out;
      }),
    );
  }
  const [off, on] = runs;
  assertEquals(off.relus, 49, "without fusion every ReLU layer runs a Relu kernel");
  assertEquals(on.relus, 0, "with fusion the batch norms and sums apply it");
  assert(Math.abs(off.loss - on.loss) < 1e-5, `loss ${off.loss} vs ${on.loss}`);
  assertEquals(Object.keys(on.grads).sort(), Object.keys(off.grads).sort());
  for (const [k, g] of Object.entries(off.grads)) {
    const h = on.grads[k];
    let worst = 0, scale = 0;
    for (let i = 0; i < g.length; i++) {
      worst = Math.max(worst, Math.abs(g[i] - h[i]));
      scale = Math.max(scale, Math.abs(g[i]));
    }
    assert(
      worst <= 1e-4 * Math.max(1, scale),
      `${k}: gradients differ by ${worst} (scale ${scale})`,
    );
  }
  // Structure and configuration are Keras' (the layers serialize as Activation / Add).
  const classes = new Set(model.layers.map((l) => l.getClassName()));
  for (const c of ["Activation", "Add"]) assert(classes.has(c), `no ${c} layer`);
  const relu = model.getLayer("conv2_block1_out").getConfig();
  assertEquals(relu.activation, "relu");
  // Inference is untouched: predictions equal with fusion on and off.
  const p = await Promise.all(
    [false, true].map((on) => withFusion(on, () => (model.predict(x) as tf.Tensor).dataSync())),
  );
  assertEquals(Array.from(p[0]), Array.from(p[1]));
  tf.dispose([x, y]);
  model.dispose();
});
