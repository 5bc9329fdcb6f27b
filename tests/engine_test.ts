/**
 * The native engine: really loaded (no silent fallback to pure JS), agrees
 * with the pure-JS backend, trains, and reports itself.
 */
import assert, {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  describeEngine,
  engineInfo,
  initEngine,
  nativeTensorCount,
  tf,
} from "../lib/engine/mod.ts";
import { adam, addRelu, fusedBatchNormTraining } from "../lib/engine/mod.ts";
import { withGradientSink } from "../lib/engine/tape_release.ts";
import { BatchNormalization } from "../lib/models/mod.ts";
import {
  convGradientCounts,
  convGradientRoute,
  runConvGradKernel,
} from "../lib/engine/conv_grads.ts";
import { nativeBackend } from "../lib/engine/native.ts";
import { oneDnnInUse } from "../lib/engine/onednn.ts";
import { fusedConvBiasCount } from "../lib/engine/conv_bias.ts";
import { isColumnSum } from "../lib/engine/column_sums.ts";
import { ROOT } from "./_python.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Runs `fn` on the native backend and on the pure-JS "cpu" backend; returns both results. */
async function onBoth(
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<[Float32Array[], Float32Array[]]> {
  await initEngine({ quiet: true });
  const run = () =>
    tf.tidy(() => {
      const out = fn();
      return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
    });
  assertEquals(tf.getBackend(), "tensorflow");
  const native = run();
  await tf.setBackend("cpu");
  try {
    return [native, run()];
  } finally {
    await tf.setBackend("tensorflow");
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function assertClose(native: Float32Array[], js: Float32Array[], tol: number, what: string) {
  assertEquals(native.length, js.length);
  native.forEach((n, i) => {
    const d = maxAbsDiff(n, js[i]);
    assert(d <= tol, `${what}[${i}]: native and pure-JS differ by ${d} (> ${tol})`);
  });
}

Deno.test(
  "the native TensorFlow backend is loaded (no silent fallback to pure JS)",
  opts,
  async () => {
    const backend = await initEngine({ quiet: true });
    assertEquals(backend, "tensorflow", "initEngine() fell back to pure JS: see its warning");
    const info = engineInfo();
    assert(info.native);
    assert(info.engine === "cpu" || info.engine === "gpu");
    assertMatch(info.tfVersion ?? "", /^2\.\d+\.\d+/);
    assert(info.devices.some((d) => d.includes("CPU:0")), `devices: ${info.devices}`);
    assert(info.libtensorflow && info.libtensorflow.libraries.length >= 1);
    for (const l of info.libtensorflow.libraries) assert(existsSync(l.path), l.path);
    assert(existsSync(info.libtensorflow.addon));
    // oneDNN as this machine's probe decided (lib/engine/onednn.ts), said in describeEngine().
    const dnn = info.onednn.enabled ? "1" : "0";
    assertEquals(info.env.TF_ENABLE_ONEDNN_OPTS, dnn);
    assertEquals(Deno.env.get("TF_ENABLE_ONEDNN_OPTS"), dnn);
    assertEquals(
      info.env.ONEDNN_MAX_CPU_ISA,
      info.onednn.enabled ? info.onednn.isa ?? undefined : undefined,
    );
    assertMatch(
      describeEngine(),
      new RegExp(`^oneDNN: ${info.onednn.enabled ? "on" : "off"}\\b.* \\(.+\\)$`, "m"),
    );
    assert(info.threads.cores >= 1);
    assertMatch(describeEngine(), /TensorFlow: 2\./);
    // A second call returns the same engine; asking for another one is refused.
    assertEquals(await initEngine(), "tensorflow");
    await assertRejects(() => initEngine({ engine: "js" }), /already/);
  },
);

Deno.test("matMul agrees with the pure-JS backend to 1e-4", opts, async () => {
  const [n, j] = await onBoth(() =>
    tf.matMul(
      tf.randomUniform([33, 64], -1, 1, "float32", 1),
      tf.randomUniform([64, 17], -1, 1, "float32", 2),
    )
  );
  assertClose(n, j, 1e-4, "matMul");
});

Deno.test("conv2d and its gradients agree with the pure-JS backend to 1e-4", opts, async () => {
  const [n, j] = await onBoth(() => {
    const x = tf.randomUniform([2, 9, 9, 3], -1, 1, "float32", 3) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 3, 4], -0.5, 0.5, "float32", 4) as tf.Tensor4D;
    const dy = tf.randomUniform([2, 5, 5, 4], -1, 1, "float32", 5);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same").mul(dy).sum();
    const [gx, gw] = tf.grads(f)([x, w]);
    return [tf.conv2d(x, w, 2, "same"), gx, gw];
  });
  assertClose(n, j, 1e-4, "conv2d");
});

Deno.test("batchNorm (inference) agrees with the pure-JS backend to 1e-4", opts, async () => {
  const [n, j] = await onBoth(() =>
    tf.batchNorm4d(
      tf.randomUniform([2, 4, 4, 5], -2, 2, "float32", 6) as tf.Tensor4D,
      tf.tensor1d([0.1, -0.2, 0.3, 0, 1]),
      tf.tensor1d([1, 2, 0.5, 1.5, 0.25]),
      tf.tensor1d([0, 0.1, 0.2, 0.3, 0.4]),
      tf.tensor1d([1, 0.5, 2, 1, 3]),
      1e-3,
    )
  );
  assertClose(n, j, 1e-4, "batchNorm");
});

/** `[y, mean, variance, dx, dgamma, dbeta]` of fusedBatchNormTraining on fixed data. */
function fusedBnCase(epsilon: number, relu: boolean): tf.Tensor[] {
  const x = tf.randomUniform([3, 5, 5, 4], -2, 3, "float32", 7) as tf.Tensor4D;
  const g = tf.tensor1d([1.5, 0.5, 2, 1]);
  const b = tf.tensor1d([0.1, -0.2, 0.3, 0]);
  const dy = tf.randomUniform([3, 5, 5, 4], -1, 1, "float32", 8);
  const bn = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
    fusedBatchNormTraining(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, epsilon, {
      relu,
    });
  const r = bn(x, g, b);
  return [
    r.y,
    r.mean,
    r.variance,
    ...tf.grads((a, c, d) => bn(a, c, d).y.mul(dy).sum())([x, g, b]),
  ];
}

Deno.test(
  "fused training batch norm (native kernels) agrees with tfjs ops to 1e-4",
  opts,
  async () => {
    const [n, j] = await onBoth(() => fusedBnCase(1.001e-5, false));
    assertClose(n, j, 1e-4, "fusedBatchNorm [y, mean, variance, dx, dgamma, dbeta]");
  },
);

Deno.test(
  "fused batch norm + ReLU and addRelu (native) agree with tfjs' relu compositions to 1e-4",
  opts,
  async () => {
    const [n, j] = await onBoth(() => {
      const bn = fusedBnCase(1e-3, true);
      const u = tf.randomUniform([2, 3, 3, 4], -1, 1, "float32", 9);
      const v = tf.randomUniform([2, 3, 3, 4], -1, 1, "float32", 10);
      const dz = tf.randomUniform([2, 3, 3, 4], -1, 1, "float32", 11);
      const h = (a: tf.Tensor, c: tf.Tensor) => addRelu(a, c).mul(dz).sum();
      return [
        ...bn,
        addRelu(u, v),
        ...tf.grads(h)([u, v]),
      ];
    });
    assertClose(n, j, 1e-4, "[bn+relu y, mean, variance, dx, dgamma, dbeta, add+relu, da, db]");
    assert(n[0].every((v) => v >= 0) && n[0].some((v) => v === 0), "rectified, some zeros");
  },
);

Deno.test(
  "fused ops keep only their output: no activation-sized tensor outlives the step",
  opts,
  async () => {
    await initEngine({ quiet: true });
    const x = tf.randomUniform([2, 8, 8, 3], -1, 1, "float32", 1) as tf.Tensor4D;
    const g = tf.ones([3]) as tf.Tensor1D;
    const b = tf.zeros([3]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    const grads = tf.grads((xx: tf.Tensor) => {
      const y = fusedBatchNormTraining(xx as tf.Tensor4D, g, b, 1e-3, { relu: true }).y;
      return addRelu(y, xx).sum();
    })([x]);
    assertEquals(grads[0].shape, [2, 8, 8, 3]);
    tf.dispose(grads);
    assertEquals(tf.memory().numTensors, before, "tensors leaked by the fused ops");
  },
);

Deno.test("convGradientRoute: the measured choice for each of ResNet50's convolutions", () => {
  const same = { strides: 1, pad: "same" };
  const valid = (s: number) => ({ strides: s, pad: "valid" });
  const cases: [string, "input" | "filter", number[], number[], Record<string, unknown>][] = [
    ["eigen", "input", [8, 4, 4, 512], [3, 3, 512, 512], same],
    ["eigen", "input", [8, 64, 64, 64], [3, 3, 64, 64], same],
    ["tensorflow", "filter", [8, 8, 8, 256], [3, 3, 256, 256], same],
    ["eigen", "filter", [8, 16, 16, 128], [3, 3, 128, 128], same],
    ["eigen", "input", [8, 8, 8, 256], [1, 1, 256, 1024], valid(1)],
    ["pointwise", "input", [8, 4, 4, 512], [1, 1, 512, 2048], valid(1)],
    ["pointwise", "input", [8, 32, 32, 256], [1, 1, 256, 512], valid(2)],
    ["pointwise", "filter", [8, 4, 4, 2048], [1, 1, 2048, 512], valid(1)],
    ["tensorflow", "filter", [8, 32, 32, 256], [1, 1, 256, 512], valid(2)],
    // The 7x7 stride-2 stem: the Eigen kernels were 30x slower there.
    ["tensorflow", "input", [8, 134, 134, 3], [7, 7, 3, 64], valid(2)],
    ["tensorflow", "filter", [8, 134, 134, 3], [7, 7, 3, 64], valid(2)],
    // Not routed: dilated, NCHW, even filters.
    ["tensorflow", "input", [8, 16, 16, 8], [3, 3, 8, 8], { ...same, dilations: 2 }],
    ["tensorflow", "input", [8, 16, 16, 8], [3, 3, 8, 8], { ...same, dataFormat: "NCHW" }],
    ["tensorflow", "input", [8, 16, 16, 8], [2, 2, 8, 8], same],
  ];
  for (const [want, which, x, f, attrs] of cases) {
    assertEquals(
      convGradientRoute(which, x, f, attrs, false),
      want,
      `${which} ${x} ${f} ${JSON.stringify(attrs)}`,
    );
    // With oneDNN on, TensorFlow's (oneDNN's) kernels do every gradient.
    assertEquals(convGradientRoute(which, x, f, attrs, true), "tensorflow");
  }
});

Deno.test(
  "convolution gradients agree with the pure-JS backend to 1e-4 on every route",
  opts,
  async () => {
    // [x shape, filter shape, stride, padding]: each route of convGradientRoute, both gradients.
    const cases: [[number, number, number, number], [number, number], number, "valid" | "same"][] =
      [
        [[2, 6, 7, 4], [3, 3], 1, "same"], // input: eigen; filter: tensorflow (small image)
        [[2, 16, 16, 4], [3, 3], 1, "same"], // both eigen
        [[2, 16, 17, 3], [5, 3], 1, "same"], // odd, non-square filter: both eigen
        [[2, 8, 8, 6], [1, 1], 1, "valid"], // input: eigen; filter: pointwise
        [[1, 2, 2, 16], [1, 1], 1, "valid"], // input: pointwise, few rows (W dy^T, transposed)
        [[2, 6, 6, 5], [1, 1], 1, "same"], // input: pointwise (dy W^T)
        [[2, 7, 5, 4], [1, 1], 2, "valid"], // input: pointwise, spread and cropped; filter: tensorflow
        [[1, 7, 7, 3], [1, 1], 2, "same"],
        [[2, 5, 9, 6], [1, 1], 3, "same"],
        [[2, 13, 13, 3], [7, 7], 2, "valid"], // the stem: tensorflow
      ];
    for (const [shape, [kh, kw], stride, pad] of cases) {
      const [n, j] = await onBoth(() => {
        const x = tf.randomUniform(shape, -1, 1, "float32", 3) as tf.Tensor4D;
        const w = tf.randomUniform([kh, kw, shape[3], 7], -1, 1, "float32", 4) as tf.Tensor4D;
        const y = tf.conv2d(x, w, stride, pad);
        const dy = tf.randomUniform(y.shape, -1, 1, "float32", 5);
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad).mul(dy).sum();
        return tf.grads(f)([x, w]);
      });
      assertClose(n, j, 1e-4, `${kh}x${kw} conv grads ${shape} stride ${stride} ${pad}`);
    }
    // On the native CPU engine the pointwise route ran (a matrix product), and
    // TensorFlow honours the kernel label the Eigen route asks for: an unknown
    // label is refused, "eigen_tensor" is found. With oneDNN on (this machine's
    // probe chose it) neither route runs: the agreement above was oneDNN's.
    await initEngine({ quiet: true });
    if (oneDnnInUse()) return;
    const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
    const w = tf.ones([1, 1, 2, 3]) as tf.Tensor4D;
    const info = await tf.profile(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "valid").sum()
      )([x, w])
    );
    assert(info.kernelNames.includes("BatchMatMul"), `no BatchMatMul in ${info.kernelNames}`);
    const b = nativeBackend()!;
    const w3 = tf.ones([3, 3, 2, 3]);
    const dy = tf.ones([1, 4, 4, 3]);
    const dxOf = (label: string) =>
      runConvGradKernel(b, "Conv2DBackpropInput", w3, dy, [1, 4, 4, 2], [1, 1], "same", label);
    const before = tf.memory().numTensors;
    assertThrows(() => dxOf("no_such_label"));
    assertEquals(tf.memory().numTensors, before, "the sizes tensor leaked on error");
    const dx = dxOf("eigen_tensor");
    // Corners see 4 filter taps, edges 6, the middle 9, each summing 3 output channels.
    assertEquals(Array.from(dx.dataSync()).slice(0, 8), [12, 12, 18, 18, 18, 18, 12, 12]);
    tf.dispose([x, w, w3, dy, dx]);
  },
);

Deno.test(
  "convolution + bias (one oneDNN kernel when oneDNN is on) agrees with the pure-JS backend",
  opts,
  async () => {
    const before = fusedConvBiasCount();
    for (const [stride, pad] of [[1, "same"], [2, "valid"], [2, "same"]] as const) {
      const [n, j] = await onBoth(() => {
        const x = tf.randomUniform([2, 9, 9, 4], -1, 1, "float32", 11) as tf.Tensor4D;
        const w = tf.randomUniform([3, 3, 4, 5], -1, 1, "float32", 12) as tf.Tensor4D;
        const b = tf.randomUniform([5], -1, 1, "float32", 13) as tf.Tensor1D;
        const f = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
          tf.fused.conv2d({
            x: a as tf.Tensor4D,
            filter: k as tf.Tensor4D,
            bias: c,
            strides: stride,
            pad,
          })
            .square().sum();
        const y = tf.fused.conv2d({ x, filter: w, bias: b, strides: stride, pad });
        return [y, ...tf.grads(f)([x, w, b])];
      });
      assertClose(n, j, 1e-4, `conv + bias, stride ${stride} ${pad}`);
    }
    // The fused kernel ran exactly when libtensorflow runs oneDNN (3 forward + 3 in the gradients).
    assertEquals(fusedConvBiasCount() - before, oneDnnInUse() ? 6 : 0);
  },
);

Deno.test(
  "column sums (BiasAddGrad) agree with the pure-JS backend; other sums unchanged",
  opts,
  async () => {
    assert(isColumnSum([0, 1, 2], 4) && isColumnSum([2, 0, 1], 4) && isColumnSum([0, -2], 3));
    assert(isColumnSum(0, 2) && !isColumnSum([0, 1], 4) && !isColumnSum([1, 2, 3], 4));
    assert(!isColumnSum([0, 0, 1], 4) && !isColumnSum([0], 1) && !isColumnSum(undefined, 3));
    const [n, j] = await onBoth(() => {
      const x = tf.randomUniform([3, 5, 6, 7], -1, 1, "float32", 11);
      return [
        tf.sum(x, [0, 1, 2]), // column sum: BiasAddGrad on the native engine
        tf.sum(x.reshape([90, 7]), 0),
        tf.sum(x, [0, 1, 2], true), // keepDims: the generic kernel
        tf.sum(x, [1, 2]),
        tf.sum(x),
        tf.sum(tf.cast(x.mul(10), "int32"), [0, 1, 2]).cast("float32"),
        // The bias gradient of a fused convolution.
        tf.grad((b: tf.Tensor) =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: tf.ones([1, 1, 7, 2]),
            bias: b,
            strides: 1,
            pad: "same",
          }).square()
            .sum()
        )(tf.tensor1d([0.5, -0.25])),
      ];
    });
    assertClose(n, j, 1e-4, "sums");
    assertEquals(n[0].length, 7);
    assertEquals(n[2].length, 7);
  },
);

Deno.test("the Relu gradient (native ReluGrad) agrees with the pure-JS backend", opts, async () => {
  const [n, j] = await onBoth(() => {
    const x = tf.tensor2d([[-2, -0.5, 0, 0.5], [3, -1, 1e-3, -1e-3]]);
    const dy = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]);
    return tf.grad((a: tf.Tensor) => tf.relu(a).mul(dy).sum())(x);
  });
  assertClose(n, j, 0, "relu grad");
  assertEquals(Array.from(n[0]), [0, 0, 0, 4, 5, 0, 7, 0]);
});

Deno.test("backprop frees saved tensors early and still gives exact gradients", opts, async () => {
  await initEngine({ quiet: true });
  const x = tf.tensor2d([[-1, 0.5], [2, -0.25]]);
  const w = tf.tensor2d([[1, 2], [3, 4]]);
  const dy = tf.scalar(2);
  // d/dx sum(relu(x + 2x) * w) = 3 * w * (x > 0); scaled by the caller's dy = 2.
  const gx = tf.grad((a: tf.Tensor) => tf.relu(tf.add(a, tf.mul(a, 2))).mul(w).sum())(x, dy);
  assertEquals(Array.from(gx.dataSync()), [0, 12, 18, 0]);
  assert(!dy.isDisposed, "the caller's dy was disposed");
  // Broadcasting add keeps tfjs' gradient (sum over the broadcast axis).
  const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const b = tf.tensor1d([1, 1, 1]);
  const c = tf.tensor2d([[1, 2, 3], [10, 20, 30]]);
  const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.add(p, q).mul(c).sum())([a, b]);
  assertEquals(Array.from(ga.dataSync()), [1, 2, 3, 10, 20, 30]);
  assertEquals(Array.from(gb.dataSync()), [11, 22, 33]);
  // No tensor leaks across repeated gradient calls.
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.dispose(
      tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.relu(tf.add(p, q)).mul(c).sum())([a, b]),
    );
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test(
  "a fused convolution's input gradient is skipped only when nothing asks for it",
  opts,
  async () => {
    // Two fused convolutions (conv + bias): the first sees the image, which is
    // no function of the weights; the second sees the first's output.
    const run = (wrt: "weights" | "image") => {
      const img = tf.randomUniform([2, 9, 9, 3], -1, 1, "float32", 21) as tf.Tensor4D;
      const w1 = tf.variable(tf.randomUniform([3, 3, 3, 4], -1, 1, "float32", 22)) as tf.Variable<
        tf.Rank.R4
      >;
      const b1 = tf.variable(tf.tensor1d([0.1, -0.2, 0.3, 0]));
      const w2 = tf.variable(tf.randomUniform([3, 3, 4, 2], -1, 1, "float32", 23)) as tf.Variable<
        tf.Rank.R4
      >;
      const b2 = tf.variable(tf.tensor1d([0.05, -0.05]));
      const net = (x: tf.Tensor4D) => {
        const h = tf.fused.conv2d({ x, filter: w1, bias: b1, strides: 1, pad: "same" });
        return tf.fused.conv2d({ x: h, filter: w2, bias: b2, strides: 1, pad: "same" }).square()
          .mean() as tf.Scalar;
      };
      const before = convGradientCounts();
      let grads: tf.Tensor[];
      if (wrt === "weights") {
        const r = tf.variableGrads(() => net(img), [w1, b1, w2, b2]);
        grads = [w1, b1, w2, b2].map((v) => r.grads[v.name]);
      } else {
        grads = [tf.grad((x: tf.Tensor) => net(x as tf.Tensor4D))(img)];
      }
      const after = convGradientCounts();
      const out = grads.map((g) => g.dataSync() as Float32Array);
      tf.dispose([img, w1, b1, w2, b2, ...grads]);
      return { out, unused: after.unused - before.unused };
    };
    await initEngine({ quiet: true });
    const nativeWeights = run("weights");
    const nativeImage = run("image");
    await tf.setBackend("cpu");
    let jsWeights, jsImage;
    try {
      jsWeights = run("weights");
      jsImage = run("image");
    } finally {
      await tf.setBackend("tensorflow");
    }
    assertEquals(nativeWeights.unused, 1, "the image's gradient was computed");
    assertEquals(nativeImage.unused, 0, "the gradient asked for was skipped");
    assertClose(nativeWeights.out, jsWeights.out, 1e-4, "weight gradients");
    assertClose(nativeImage.out, jsImage.out, 1e-4, "image gradient");
    assert(nativeImage.out[0].some((v) => v !== 0));
  },
);

Deno.test(
  "native Adam follows Keras' update rule and agrees with the pure-JS backend",
  opts,
  async () => {
    await initEngine({ quiet: true });
    const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    const gs = [[0.5, -2, 1e-3], [0.25, 1, -4]];
    const run = async () => {
      const w = tf.variable(
        tf.tensor1d([1, 2, 3]),
        true,
        `adam_w_${tf.getBackend()}_${Math.random()}`,
      );
      const opt = adam(lr, b1, b2, eps);
      for (const g of gs) opt.applyGradients([{ name: w.name, tensor: tf.tensor1d(g) }]);
      const weights = await opt.getWeights();
      assertEquals(weights.map((x) => x.name), ["iter", `${w.name}/m`, `${w.name}/v`]);
      const out = w.dataSync() as Float32Array;
      opt.dispose();
      w.dispose();
      return out;
    };
    // Keras 3: m, v moments; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps).
    const want = [1, 2, 3];
    const m = [0, 0, 0], v = [0, 0, 0];
    gs.forEach((g, t) => {
      const alpha = lr * Math.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1));
      for (let i = 0; i < 3; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
        want[i] -= alpha * m[i] / (Math.sqrt(v[i]) + eps);
      }
    });
    assertEquals(tf.getBackend(), "tensorflow");
    const native = await run();
    await tf.setBackend("cpu");
    let js: Float32Array;
    try {
      js = await run();
    } finally {
      await tf.setBackend("tensorflow");
    }
    assertClose([native], [Float32Array.from(want)], 1e-5, "native Adam vs Keras rule");
    assertClose([js], [Float32Array.from(want)], 1e-5, "pure-JS Adam vs Keras rule");
  },
);

Deno.test("native Adam state round-trips through getWeights/setWeights", opts, async () => {
  await initEngine({ quiet: true });
  const g = (k: number) => [{ name: "", tensor: tf.tensor1d([0.5 * k, -1, 2]) }];
  const w1 = tf.variable(tf.tensor1d([1, 2, 3]), true, `rt_w1_${Math.random()}`);
  const o1 = adam(0.1);
  for (const k of [1, 2]) o1.applyGradients(g(k).map((x) => ({ ...x, name: w1.name })));
  const state = await o1.getWeights();
  // A rebuilt model: same values, another variable name; restored by position.
  const w2 = tf.variable(w1.clone(), true, `rt_w2_${Math.random()}`);
  const o2 = adam(0.1);
  await o2.setWeights(state);
  o1.applyGradients(g(3).map((x) => ({ ...x, name: w1.name })));
  o2.applyGradients(g(3).map((x) => ({ ...x, name: w2.name })));
  assertClose(
    [w2.dataSync() as Float32Array],
    [w1.dataSync() as Float32Array],
    1e-6,
    "restored Adam",
  );
  // A fresh optimizer (no state) would have moved differently.
  const w3 = tf.variable(tf.tensor1d([1, 2, 3]), true, `rt_w3_${Math.random()}`);
  const o3 = adam(0.1);
  for (const k of [1, 2, 3]) o3.applyGradients(g(k).map((x) => ({ ...x, name: w3.name })));
  assertClose([w3.dataSync() as Float32Array], [w1.dataSync() as Float32Array], 1e-6, "same path");
  for (const o of [o1, o2, o3]) o.dispose();
});

Deno.test(
  "a small model trains a few steps with falling loss, without leaking tensors",
  opts,
  async () => {
    await initEngine({ quiet: true });
    const n = 16;
    // Two classes: bright top half vs bright bottom half (plus noise).
    const xs = tf.tidy(() => {
      const noise = tf.randomUniform([n, 8, 8, 1], 0, 0.3, "float32", 11);
      const top = tf.concat([tf.ones([n / 2, 4, 8, 1]), tf.zeros([n / 2, 4, 8, 1])], 1);
      const bottom = tf.concat([tf.zeros([n / 2, 4, 8, 1]), tf.ones([n / 2, 4, 8, 1])], 1);
      return tf.concat([top, bottom], 0).add(noise);
    });
    const ys = tf.oneHot(
      tf.tensor1d([...Array(n).keys()].map((i) => (i < n / 2 ? 0 : 1)), "int32"),
      2,
    )
      .toFloat();
    const inp = tf.input({ shape: [8, 8, 1] });
    let h = tf.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: "same",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    })
      .apply(inp) as tf.SymbolicTensor;
    // lib/models' layer: training runs the engine's fused batch-norm kernels.
    h = new BatchNormalization({}).apply(h) as tf.SymbolicTensor;
    h = tf.layers.activation({ activation: "relu" }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten({}).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({
      units: 2,
      activation: "softmax",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    })
      .apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    model.compile({ optimizer: adam(0.05), loss: "categoricalCrossentropy" });
    const losses: number[] = [];
    let tensorsAfterFirst = 0;
    for (let i = 0; i < 12; i++) {
      losses.push(await model.trainOnBatch(xs, ys) as number);
      if (i === 1) tensorsAfterFirst = nativeTensorCount();
    }
    assert(losses.every(Number.isFinite), `losses: ${losses}`);
    assert(
      losses.at(-1)! < 0.5 * losses[0],
      `loss did not fall: ${losses.map((l) => l.toFixed(3))}`,
    );
    assertEquals(nativeTensorCount(), tensorsAfterFirst, "native tensors grow across steps");
    model.dispose();
  },
);

Deno.test(
  "ACMC_ENGINE=js selects pure JS; a native engine that cannot load falls back loudly",
  opts,
  async () => {
    const script = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(
      script,
      `import { initEngine, engineInfo } from "${ROOT}lib/engine/mod.ts";
    const backend = await initEngine({ quiet: true });
    console.log(JSON.stringify({ backend, engine: engineInfo().engine }));`,
    );
    const td = new TextDecoder();
    const run = (env: Record<string, string>, perms: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--config", `${ROOT}deno.json`, ...perms, script],
        cwd: ROOT,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const result = (out: Deno.CommandOutput) => {
      assert(out.success, td.decode(out.stderr));
      return JSON.parse(td.decode(out.stdout).trim().split("\n").pop()!);
    };
    try {
      assertEquals(result(await run({ ACMC_ENGINE: "js" }, ["-A"])), {
        backend: "cpu",
        engine: "js",
      });
      // Without FFI permission the addon cannot load: "auto" falls back, naming cause and fix.
      const noFfi = ["--allow-read", "--allow-env", "--allow-sys", "--allow-run"];
      const denied = await run({ ACMC_ENGINE: "auto" }, noFfi);
      assertEquals(result(denied).backend, "cpu");
      const err = td.decode(denied.stderr);
      assertMatch(err, /native TensorFlow engine did NOT load/);
      assertMatch(err, /fix: +run Deno with --allow-ffi/);
      // Forcing the native engine without it is an error, not a fallback.
      const forced = await run({ ACMC_ENGINE: "cpu" }, noFfi);
      assert(!forced.success);
      assertMatch(
        td.decode(forced.stderr),
        /ACMC_ENGINE=cpu: the native TensorFlow engine did not load/,
      );
    } finally {
      await Deno.remove(script);
    }
  },
);

Deno.test("allocator: tools/alloc.sh preloads jemalloc when installed, ACMC_ALLOCATOR=glibc opts out; engineInfo says which", async () => {
  const preload = async (env: Record<string, string>) => {
    const out = await new Deno.Command("bash", {
      args: [join(ROOT, "tools", "alloc.sh"), "sh", "-c", 'printf %s "$LD_PRELOAD|$MALLOC_CONF"'],
      env,
    }).output();
    assert(out.success);
    return new TextDecoder().decode(out.stdout);
  };
  const installed = ["x86_64-linux-gnu", "aarch64-linux-gnu"].some((d) =>
    existsSync(`/usr/lib/${d}/libjemalloc.so.2`)
  );
  const on = await preload({ ACMC_ALLOCATOR: "jemalloc", LD_PRELOAD: "", MALLOC_CONF: "" });
  if (installed) assert(/libjemalloc\.so\.2\|dirty_decay_ms:-1/.test(on), on);
  else assertEquals(on, "|");
  assertEquals(await preload({ ACMC_ALLOCATOR: "glibc", LD_PRELOAD: "", MALLOC_CONF: "" }), "|");
  await initEngine({ quiet: true });
  const here = /jemalloc/.test(Deno.env.get("LD_PRELOAD") ?? "");
  assertEquals(engineInfo().allocator.startsWith("jemalloc"), here, engineInfo().allocator);
});

Deno.test("tools/alloc.sh caps Deno's heap growth and exposes gc() unless DENO_V8_FLAGS is set; set and empty, V8's defaults", async () => {
  const flags = async (env: Record<string, string | undefined>) => {
    const out = await new Deno.Command("bash", {
      args: [
        "-c",
        `${
          Object.entries(env).map(([k, v]) =>
            v === undefined ? `unset ${k};` : `export ${k}='${v}';`
          ).join(" ")
        } ` +
        `bash "${join(ROOT, "tools", "alloc.sh")}" sh -c 'printf %s "\${DENO_V8_FLAGS-unset}"'`,
      ],
    }).output();
    assert(out.success);
    return new TextDecoder().decode(out.stdout);
  };
  assertEquals(await flags({ DENO_V8_FLAGS: undefined }), "--optimize-for-size,--expose-gc");
  assertEquals(
    await flags({ DENO_V8_FLAGS: "--max-semi-space-size=2" }),
    "--max-semi-space-size=2",
  );
  assertEquals(await flags({ DENO_V8_FLAGS: "" }), "unset");
});

Deno.test(
  "withGradientSink: single-use variables' gradients arrive during the backward pass, exact",
  opts,
  async () => {
    await initEngine({ quiet: true });
    const x = tf.randomNormal([4, 3], 0, 1, "float32", 21);
    const w1 = tf.variable(
      tf.randomNormal([3, 5], 0, 1, "float32", 22),
      true,
      `sink_w1_${Math.random()}`,
    );
    const w2 = tf.variable(
      tf.randomNormal([5, 2], 0, 1, "float32", 23),
      true,
      `sink_w2_${Math.random()}`,
    );
    const w3 = tf.variable(
      tf.randomNormal([2], 0, 1, "float32", 24),
      true,
      `sink_w3_${Math.random()}`,
    );
    // w3 is read twice (by one Mul): its gradient is only final at the end.
    const f = () => tf.relu(x.matMul(w1)).matMul(w2).sum().add(w3.mul(w3).sum()) as tf.Scalar;
    const want = tf.variableGrads(f, [w1, w2, w3]);
    const got = new Map<number, number[]>();
    const result = withGradientSink((v, g) => {
      got.set(v.id, Array.from(g.dataSync()));
      g.dispose();
    }, () => tf.variableGrads(f, [w1, w2, w3]));
    assertEquals([...got.keys()].sort(), [w1.id, w2.id].sort());
    assertEquals(got.get(w1.id), Array.from(want.grads[w1.name].dataSync()));
    assertEquals(got.get(w2.id), Array.from(want.grads[w2.name].dataSync()));
    assert(result.grads[w1.name].isDisposed && result.grads[w2.name].isDisposed);
    assertEquals(
      Array.from(result.grads[w3.name].dataSync()),
      Array.from(want.grads[w3.name].dataSync()),
    );
    tf.dispose([x, w1, w2, w3, want.value, result.value, ...Object.values(want.grads)]);
    tf.dispose(Object.values(result.grads));
  },
);

Deno.test(
  "Adam updating each weight during the backward pass gives the same weights (ACMC_ADAM_EARLY)",
  opts,
  async () => {
    await initEngine({ quiet: true });
    const xs = tf.randomUniform([6, 8, 8, 2], 0, 1, "float32", 31);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], "int32"), 3).toFloat();
    const train = async (early: boolean) => {
      if (early) Deno.env.delete("ACMC_ADAM_EARLY");
      else Deno.env.set("ACMC_ADAM_EARLY", "0");
      try {
        const inp = tf.input({ shape: [8, 8, 2] });
        let h = tf.layers.conv2d({
          filters: 4,
          kernelSize: 3,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }).apply(inp) as tf.SymbolicTensor;
        h = new BatchNormalization({}).apply(h) as tf.SymbolicTensor;
        h = tf.layers.flatten({}).apply(h) as tf.SymbolicTensor;
        const out = tf.layers.dense({
          units: 3,
          activation: "softmax",
          kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
        }).apply(h) as tf.SymbolicTensor;
        const model = tf.model({ inputs: inp, outputs: out });
        model.compile({ optimizer: adam(0.01), loss: "categoricalCrossentropy" });
        // How many weights were already updated when the gradient computation returned.
        const engine = tf.engine() as unknown as { gradients(...a: unknown[]): unknown };
        const gradients = engine.gradients;
        let updatedInBackward = 0;
        const values = () => model.trainableWeights.map((w) => Array.from(w.read().dataSync()));
        engine.gradients = function (this: unknown, ...a: unknown[]) {
          const before = values();
          try {
            return gradients.apply(this, a);
          } finally {
            updatedInBackward += values().filter((v, i) => v.some((x, k) => x !== before[i][k]))
              .length;
          }
        };
        const losses: number[] = [];
        try {
          for (let i = 0; i < 4; i++) losses.push(await model.trainOnBatch(xs, ys) as number);
        } finally {
          engine.gradients = gradients;
        }
        const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
        model.dispose();
        return { losses, weights, updatedInBackward };
      } finally {
        Deno.env.delete("ACMC_ADAM_EARLY");
      }
    };
    const late = await train(false);
    const early = await train(true);
    Deno.env.set("ACMC_ADAM_IN_PLACE", "0");
    const copied = await train(true).finally(() => Deno.env.delete("ACMC_ADAM_IN_PLACE"));
    assertEquals(copied, early);
    assert(late.losses.every(Number.isFinite), `${late.losses}`);
    assertEquals(late.updatedInBackward, 0);
    // Conv kernel and bias, gamma, beta, dense kernel and bias: 6 per step.
    assertEquals(early.updatedInBackward, 6 * 4);
    assertEquals(early.losses, late.losses);
    assertEquals(early.weights, late.weights);
  },
);

Deno.test(
  "native Adam updates a weight in place only when nothing else holds its data",
  opts,
  async () => {
    await initEngine({ quiet: true });
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, `inplace_w_${Math.random()}`);
    const opt = adam(0.1);
    const step = () => {
      const g = tf.tensor1d([0.5, -1, 2]);
      opt.applyGradients([{ name: w.name, tensor: g }]);
      g.dispose();
    };
    step(); // creates the slots
    const before = Array.from(w.dataSync());
    const dataId = () => (w as unknown as { dataId: object }).dataId;
    const held = w.clone(); // shares w's data: that data must not change
    const shared = dataId();
    step();
    assertEquals(Array.from(held.dataSync()), before);
    assert(dataId() !== shared, "a shared weight was not given new data");
    const after2 = Array.from(w.dataSync());
    assert(after2.every((v, i) => v !== before[i]), `${before} -> ${after2}`);
    held.dispose();
    step(); // now in place: w changes, no tensor is added or lost
    const n = nativeTensorCount();
    const own = dataId();
    step();
    assertEquals(nativeTensorCount(), n);
    assert(dataId() === own, "an unshared weight was not updated in place");
    assert(Array.from(w.dataSync()).every((v, i) => v !== after2[i]));
    opt.dispose();
    w.dispose();
  },
);
