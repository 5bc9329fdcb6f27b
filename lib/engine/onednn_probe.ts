/**
 * The oneDNN probe's workload (see onednn.ts), in a module of its own: it
 * needs the whole engine, which imports onednn.ts, so onednn.ts runs it in a
 * child process by URL instead of importing it.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { adam } from "./adam.ts";
import { fusedBatchNormTraining } from "./batch_norm.ts";
import { initEngine } from "./engine.ts";
import { addRelu } from "./relu.ts";
import { PROBE_PX, PROBE_VERSION, REPORT } from "./onednn.ts";

/**
 * The probe's workload, run in a child process: a training step of one
 * projection and one identity bottleneck block of each ResNet50 stage (every
 * distinct convolution shape of ResNet50: the 7x7/2 stem, strided and plain
 * 1x1, 3x3 at 64 to 512 channels, down to 3x3 images) on the kernels our
 * training runs: convolutions with bias, the engine's fused batch norm
 * (+ ReLU) and `addRelu`, its convolution gradients and native Adam; 96 px,
 * batch 8. Written as plain ops on variables, without layers (the project's
 * batch-norm layer lives in lib/models, above the engine). Two warm-up steps,
 * then prints `{"acmc-onednn-probe": <version>, "stepMs": <median of 3>}`.
 */
export async function probeStep(): Promise<void> {
  await initEngine({ quiet: true, engine: "cpu" });
  let seed = 0;
  const vars: tf.Variable[] = [];
  const variable = (t: tf.Tensor) => {
    const v = tf.variable(t);
    vars.push(v);
    return v;
  };
  /** A convolution with bias (He-initialised) and the batch norm after it. */
  const convBn = (cin: number, cout: number, k: number, stride: number) => {
    const w = variable(
      tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cin)), "float32", ++seed),
    );
    const b = variable(tf.zeros([cout]));
    const gamma = variable(tf.ones([cout]));
    const beta = variable(tf.zeros([cout]));
    return (x: tf.Tensor4D, relu: boolean): tf.Tensor4D => {
      // tfjs' fused convolution + bias, as the layers run it (FusedConv2D; conv_bias.ts).
      const y = tf.fused.conv2d({
        x,
        filter: w as tf.Tensor4D,
        strides: stride,
        pad: k === 3 ? "same" : "valid",
        bias: b,
      });
      return fusedBatchNormTraining(
        y as tf.Tensor4D,
        gamma as tf.Tensor1D,
        beta as tf.Tensor1D,
        1.001e-5,
        { relu },
      ).y;
    };
  };
  const block = (cin: number, f: number, s: number, project: boolean) => {
    const short = project ? convBn(cin, 4 * f, 1, s) : null;
    const [a, b, c] = [convBn(cin, f, 1, s), convBn(f, f, 3, 1), convBn(f, 4 * f, 1, 1)];
    return (x: tf.Tensor4D) =>
      addRelu(short ? short(x, false) : x, c(b(a(x, true), true), false)) as tf.Tensor4D;
  };
  const stem = convBn(3, 64, 7, 2);
  const blocks: ((x: tf.Tensor4D) => tf.Tensor4D)[] = [];
  let cin = 64;
  for (const [f, s] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    blocks.push(block(cin, f, s, true), block(4 * f, f, 1, false));
    cin = 4 * f;
  }
  const dense = variable(tf.randomNormal([cin, 23], 0, Math.sqrt(1 / cin), "float32", ++seed));
  const denseBias = variable(tf.zeros([23]));
  const xs = tf.randomUniform([8, PROBE_PX, PROBE_PX, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const ys = tf.oneHot(tf.tensor1d([0, 7, 14, 21, 5, 12, 19, 3], "int32"), 23).toFloat();
  const loss = () => {
    let x = stem(tf.pad(xs, [[0, 0], [3, 3], [3, 3], [0, 0]]) as tf.Tensor4D, true);
    x = tf.maxPool(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D, 3, 2, "valid");
    for (const b of blocks) x = b(x);
    const logits = tf.add(tf.matMul(tf.mean(x, [1, 2]), dense), denseBias);
    return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
  };
  const optimizer = adam(1e-3);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const value = optimizer.minimize(loss, true, vars)!;
    const [l] = await value.data();
    value.dispose();
    const dt = performance.now() - t0;
    if (!Number.isFinite(l)) throw new Error("loss not finite");
    if (i >= 2) times.push(dt);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ [REPORT]: PROBE_VERSION, stepMs: times[times.length >> 1] }));
}
