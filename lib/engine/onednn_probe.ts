/**
 * The oneDNN probe's workload (see onednn.ts), in a module of its own: it
 * needs the whole engine, which imports onednn.ts, so onednn.ts runs it in a
 * child process by URL instead of importing it.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { adam } from "./adam.ts";
import { initEngine } from "./engine.ts";
import { PROBE_PX, PROBE_VERSION, REPORT } from "./onednn.ts";

/**
 * The probe's workload, run in a child process: a training step of one
 * projection and one identity bottleneck block of each ResNet50 stage (every
 * distinct convolution shape of ResNet50: the 7x7/2 stem, strided and plain
 * 1x1, 3x3 at 64 to 512 channels, down to 2x2 images), with tfjs'
 * batch norm and the engine's native Adam, 96 px (down to 3x3 images), batch 8. Two
 * warm-up steps, then prints `{"acmc-onednn-probe": 2, "stepMs": <median of 3>}`.
 */
export async function probeStep(): Promise<void> {
  await initEngine({ quiet: true, engine: "cpu" });
  const L = tf.layers;
  type Sym = tf.SymbolicTensor;
  // tfjs' own batch-norm layer: the engine keeps no layer of its own (lib/models' BatchNormalization,
  // a layer above the engine, is the project's); both oneDNN settings run the same workload.
  const bn = (x: Sym) => L.batchNormalization({ axis: 3, epsilon: 1.001e-5 }).apply(x) as Sym;
  const relu = (x: Sym) => L.activation({ activation: "relu" }).apply(x) as Sym;
  const conv = (x: Sym, f: number, k: number, s = 1) =>
    L.conv2d({ filters: f, kernelSize: k, strides: s, padding: k === 3 ? "same" : "valid" })
      .apply(x) as Sym;
  const block = (x: Sym, f: number, s: number, project: boolean) => {
    const short = project ? bn(conv(x, 4 * f, 1, s)) : x;
    let y = relu(bn(conv(x, f, 1, s)));
    y = relu(bn(conv(y, f, 3)));
    y = bn(conv(y, 4 * f, 1));
    return relu(L.add().apply([short, y]) as Sym);
  };
  const input = tf.input({ shape: [PROBE_PX, PROBE_PX, 3] });
  let x = L.zeroPadding2d({ padding: 3 }).apply(input) as Sym;
  x = relu(bn(conv(x, 64, 7, 2)));
  x = L.zeroPadding2d({ padding: 1 }).apply(x) as Sym;
  x = L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as Sym;
  for (const [f, s] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    x = block(block(x, f, s, true), f, 1, false);
  }
  x = L.globalAveragePooling2d({}).apply(x) as Sym;
  const out = L.dense({ units: 23, activation: "softmax" }).apply(x) as Sym;
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: adam(1e-3), loss: "categoricalCrossentropy" });
  const xs = tf.randomUniform([8, PROBE_PX, PROBE_PX, 3], 0, 1, "float32", 1);
  const ys = tf.oneHot(tf.tensor1d([0, 7, 14, 21, 5, 12, 19, 3], "int32"), 23).toFloat();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const loss = await model.trainOnBatch(xs, ys);
    const dt = performance.now() - t0;
    if (!Number.isFinite(Array.isArray(loss) ? loss[0] : loss)) throw new Error("loss not finite");
    if (i >= 2) times.push(dt);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ [REPORT]: PROBE_VERSION, stepMs: times[times.length >> 1] }));
}
