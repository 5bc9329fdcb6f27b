/**
 * The compiled training step (lib/train/graph_step.ts, lib/engine/tf_c.ts):
 * fit's graph path against its eager path on the same model, weights and
 * data, and the hand-over of weights and Adam's state between the two.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { adam, DT, Graph, initEngine, tf } from "../lib/engine/mod.ts";
import {
  AddThenReLU,
  BatchNormalization,
  preprocessInputLayer,
  ReLU,
  resnet50,
} from "../lib/models/mod.ts";
import {
  compiledTrainStep,
  fit,
  graphStepUnsupported,
  keptCompiledStep,
  releaseCompiledStep,
  withSeed,
} from "../lib/train/mod.ts";
import { memoryDataset, randomImages } from "./_train_data.ts";

await initEngine();

const S = 12, K = 5;

/** A small ResNet-shaped model of every layer class ResNet50 uses. */
function resnetLike(seed: number, dropout = 0): tf.LayersModel {
  return withSeed(seed, () => {
    const input = tf.input({ shape: [S, S, 3], name: "image" });
    let x = preprocessInputLayer({ name: "pre" }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.rescaling({ scale: 1 / 64, name: "scale" }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: "pad" }).apply(
      x,
    ) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 1, name: "conv1" }).apply(
      x,
    ) as tf.SymbolicTensor;
    x = new BatchNormalization({ name: "bn1", momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
    x = new ReLU({ name: "relu1" }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same", name: "pool" })
      .apply(x) as tf.SymbolicTensor;
    let y = tf.layers.conv2d({ filters: 6, kernelSize: 1, useBias: false, name: "conv2" })
      .apply(x) as tf.SymbolicTensor;
    y = new BatchNormalization({ name: "bn2", epsilon: 1.001e-5 }).apply(y) as tf.SymbolicTensor;
    x = new AddThenReLU({ name: "add" }).apply([x, y]) as tf.SymbolicTensor;
    x = new ReLU({ name: "relu2" }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(x) as tf.SymbolicTensor;
    if (dropout > 0) {
      x = tf.layers.dropout({ rate: dropout, name: "drop" }).apply(x) as tf.SymbolicTensor;
    }
    const out = tf.layers.dense({ units: K, activation: "softmax", name: "out" }).apply(x);
    return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
  });
}

function dataset(n: number, seed: number) {
  const d = randomImages(n, S, S, 3, K, seed);
  return memoryDataset(d.images.map((im) => im.map((v) => v * 255)), d.labels, {
    batchSize: 4,
    imageSize: [S, S],
    channels: 3,
    classes: K,
  });
}

function weightsOf(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

/** Largest |a - b| / (1 + |b|) over every weight of two models. */
function maxDiff(a: tf.LayersModel, b: tf.LayersModel): number {
  const wb = weightsOf(b);
  let worst = 0;
  for (const [name, va] of weightsOf(a)) {
    const vb = wb.get(name)!;
    assertEquals(va.length, vb.length);
    for (let i = 0; i < va.length; i++) {
      worst = Math.max(worst, Math.abs(va[i] - vb[i]) / (1 + Math.abs(vb[i])));
    }
  }
  return worst;
}

async function adamMoments(opt: tf.Optimizer): Promise<{ t: number; values: number[] }> {
  const ws = await opt.getWeights();
  const [t] = await ws[0].tensor.data();
  const values = ws.slice(1).flatMap((w) => [...w.tensor.dataSync()]);
  return { t, values };
}

Deno.test("the compiled step supports a ResNet's layers and names what it does not", () => {
  const m = resnetLike(1);
  assertEquals(graphStepUnsupported(m), null);
  const d = resnetLike(1, 0.5);
  assert(graphStepUnsupported(d)?.includes("Dropout"), String(graphStepUnsupported(d)));
  m.dispose();
  d.dispose();
});

Deno.test("fit as one graph trains as fit op by op: losses, weights, moving statistics, Adam's moments", async () => {
  for (const classWeight of [undefined, [1, 2, 0.5, 1, 3]]) {
    const a = resnetLike(3), b = resnetLike(3);
    assertEquals(maxDiff(a, b), 0);
    const oa = adam(0.01), ob = adam(0.01);
    const train = dataset(18, 4); // 4 full batches and one of 2
    const ha = await fit(a, train, { epochs: 3, optimizer: oa, classWeight, verbose: 0 });
    const hb = await fit(b, train, {
      epochs: 3,
      optimizer: ob,
      classWeight,
      verbose: 0,
      runEagerly: true,
    });
    assertEquals(ha.params.execution, "graph");
    assertEquals(hb.params.execution, "eager: runEagerly");
    for (let e = 0; e < 3; e++) {
      const [la, lb] = [ha.history.loss[e], hb.history.loss[e]];
      assert(Math.abs(la - lb) <= 1e-4 * (1 + lb), `epoch ${e} loss ${la} vs ${lb}`);
      assertEquals(ha.history.accuracy[e], hb.history.accuracy[e]);
    }
    assert(ha.history.loss[2] < ha.history.loss[0], "it learns");
    const d = maxDiff(a, b);
    assert(d < 1e-4, `weights (and moving statistics) differ by ${d}`);
    const [ma, mb] = [await adamMoments(oa), await adamMoments(ob)];
    assertEquals(ma.t, 15);
    assertEquals(mb.t, 15);
    assertEquals(ma.values.length, mb.values.length);
    const worst = ma.values.reduce((w, v, i) => Math.max(w, Math.abs(v - mb.values[i])), 0);
    assert(worst < 1e-5, `Adam moments differ by ${worst}`);
    tf.dispose([a, b] as unknown as tf.Tensor[]);
    oa.dispose();
    ob.dispose();
  }
  releaseCompiledStep();
});

Deno.test("ResNet50 at 64 px: the graph's loss and gradients are the eager step's", () => {
  // Gradients, not updated weights: Adam turns float noise in near-zero
  // gradients (conv biases before batch norm, sums that cancel) into
  // full-size steps, so after one update the two paths (like the eager path
  // with and without oneDNN) differ by several percent in the next loss.
  const d = randomImages(8, 64, 64, 3, K, 12);
  const x = tf.tensor4d(d.images.flat().map((v) => v * 255), [8, 64, 64, 3]);
  const y = tf.oneHot(tf.tensor1d(d.labels, "int32"), K).toFloat() as tf.Tensor2D;
  const model = resnet50({ inputShape: [64, 64, 3], classes: K, weights: null, preprocess: true });
  const optimizer = adam(1e-3);
  const step = compiledTrainStep(model, optimizer);
  const graph = step.gradients(x, y);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const eager = tf.variableGrads(() =>
    tf.tidy(() => {
      const p = model.apply(x, { training: true }) as tf.Tensor;
      const q = p.div(p.sum(-1, true)).clipByValue(1e-7, 1 - 1e-7);
      return y.mul(q.log()).sum(-1).neg().mean() as tf.Scalar;
    }), vars);
  const eagerLoss = eager.value.dataSync()[0];
  assert(
    Math.abs(graph.loss - eagerLoss) <= 1e-4 * eagerLoss,
    `loss ${graph.loss} vs ${eagerLoss}`,
  );
  // each weight's gradient within 1e-3 of the eager one (relative to its
  // norm), or, for gradients that are float noise (conv biases before batch
  // norm), within 1e-5 of the largest gradient's norm
  const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
  const norms = vars.map((v) => norm(eager.grads[v.name].dataSync() as Float32Array));
  const top = Math.max(...norms);
  vars.forEach((v, i) => {
    const a = graph.gradients.get(v.name)!, b = eager.grads[v.name].dataSync() as Float32Array;
    const diff = norm(a.map((x, j) => x - b[j]));
    assert(
      diff <= 1e-3 * norms[i] + 1e-5 * top,
      `${v.name}: |graph - eager| ${diff.toExponential(2)}, |eager| ${norms[i].toExponential(2)}`,
    );
  });
  tf.dispose([x, y, eager.value, ...Object.values(eager.grads)]);
  releaseCompiledStep();
  optimizer.dispose();
  model.dispose();
});

Deno.test("weights and Adam's state pass between graph and eager epochs both ways", async () => {
  const train = dataset(12, 5);
  // reference: three eager epochs
  const ref = resnetLike(6), oRef = adam(0.01);
  await fit(ref, train, { epochs: 3, optimizer: oRef, verbose: 0, runEagerly: true });
  // graph, eager, graph again on one model and optimizer
  const m = resnetLike(6), o = adam(0.01);
  await fit(m, train, { epochs: 1, optimizer: o, verbose: 0 });
  await fit(m, train, { epochs: 2, initialEpoch: 1, optimizer: o, verbose: 0, runEagerly: true });
  await fit(m, train, { epochs: 3, initialEpoch: 2, optimizer: o, verbose: 0 });
  const d = maxDiff(m, ref);
  assert(d < 1e-4, `weights differ by ${d}`);
  assertEquals((await adamMoments(o)).t, 9);
  // weights set by hand between two graph fits reach the session
  const fresh = resnetLike(7);
  m.setWeights(fresh.getWeights());
  const before = await fit(m, train, { epochs: 1, optimizer: adam(0.01), verbose: 0 });
  const again = resnetLike(7);
  const after = await fit(again, train, { epochs: 1, optimizer: adam(0.01), verbose: 0 });
  assert(
    Math.abs(before.history.loss[0] - after.history.loss[0]) < 1e-5,
    `${before.history.loss[0]} vs ${after.history.loss[0]}`,
  );
  releaseCompiledStep();
  tf.dispose([ref, m, fresh, again] as unknown as tf.Tensor[]);
});

Deno.test("fit frees its compiled step when it returns, unless keepCompiledStep", async () => {
  const m = resnetLike(12), o = adam(0.01);
  const train = dataset(8, 13);
  const h = await fit(m, train, { epochs: 1, optimizer: o, verbose: 0, keepCompiledStep: true });
  assertEquals(h.params.execution, "graph");
  const kept = keptCompiledStep(m);
  assert(kept !== null, "keepCompiledStep: true keeps it");
  assertEquals(kept.iterations, 2);
  // the next fit goes on with the kept step (no new compile), then frees it
  await fit(m, train, { epochs: 2, initialEpoch: 1, optimizer: o, verbose: 0 });
  assertEquals(kept.iterations, 4);
  assertEquals(keptCompiledStep(m), null);
  assert.throws(() => kept.run(tf.zeros([1, S, S, 3]), tf.zeros([1, K])), /disposed/);
  // Adam's moments reached the optimizer before the session went away
  assertEquals((await adamMoments(o)).t, 4);
  // a fit that fails half-way frees it too
  const bad = {
    ...train,
    async *[Symbol.asyncIterator]() {
      yield* train;
      throw new Error("broken dataset");
    },
  } as typeof train;
  await assert.rejects(() => fit(m, bad, { epochs: 1, optimizer: o, verbose: 0 }), /broken/);
  assertEquals(keptCompiledStep(m), null);
  m.dispose();
  o.dispose();
});

Deno.test("a frozen batch norm stays in inference mode in the graph, as eagerly", async () => {
  const a = resnetLike(8), b = resnetLike(8);
  for (const m of [a, b]) m.getLayer("bn1").trainable = false;
  const train = dataset(8, 9);
  const mean0 = a.getLayer("bn1").getWeights()[2].dataSync().slice();
  await fit(a, train, { epochs: 2, optimizer: adam(0.01), verbose: 0 });
  await fit(b, train, { epochs: 2, optimizer: adam(0.01), verbose: 0, runEagerly: true });
  assertEquals([...a.getLayer("bn1").getWeights()[2].dataSync()], [...mean0]);
  const d = maxDiff(a, b);
  assert(d < 1e-4, `weights differ by ${d}`);
  releaseCompiledStep();
  tf.dispose([a, b] as unknown as tf.Tensor[]);
});

Deno.test("a model with a random layer trains eagerly and says why", async () => {
  const m = resnetLike(10, 0.5);
  const h = await fit(m, dataset(8, 11), { epochs: 1, optimizer: adam(0.01), verbose: 0 });
  assert(h.params.execution?.startsWith("eager: drop: Dropout"), String(h.params.execution));
  m.dispose();
});

Deno.test("tf_c: a graph runs, differentiates, and names an op without a gradient", () => {
  const g = new Graph();
  const x = g.placeholder("x", DT.FLOAT, [3]);
  const y = g.op("Square", [x], { T: { type: DT.FLOAT } });
  const [dx] = g.gradients([y], [x]);
  const s = g.session();
  const t = g.tensor(DT.FLOAT, [3], new Float32Array([1, -2, 3]));
  const [out, grad] = s.run([[x, t]], [y, dx]);
  assertEquals([...g.read(out, Float32Array)], [1, 4, 9]);
  assertEquals([...g.read(grad, Float32Array)], [2, -4, 6]);
  for (const p of [t, out, grad]) g.deleteTensor(p);
  const labels = g.placeholder("labels", DT.INT32, [3]);
  const logits = g.placeholder("logits", DT.FLOAT, [3, 2]);
  const ce = g.op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels], {
    T: { type: DT.FLOAT },
    Tlabels: { type: DT.INT32 },
  });
  assert.throws(() => g.gradients([ce], [logits]), /SparseSoftmaxCrossEntropyWithLogits/);
  s.close();
  g.dispose();
});
