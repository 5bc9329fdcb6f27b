/**
 * Per-shape benchmark of convolution gradients, the measurements behind
 * lib/engine/conv_grads.ts' routes: for each distinct convolution of ResNet50
 * at one image size (batch 8), the time of TensorFlow's default CPU kernels,
 * of its Eigen kernels (`_kernel: "eigen_tensor"`), and of the route this
 * project takes (`convGradientRoute`), for the input and the filter gradient.
 * Re-run it on another CPU before changing the routes' thresholds.
 *
 * Usage: `deno run -A tools/bench/conv_grads.ts [SIZE] [--reps N]`
 * (SIZE 128 by default; N timed calls per kernel after 2 warm-up calls, median
 * reported, default 6). Prints one line per convolution and the totals per step.
 *
 * @module
 */
import { initEngine, nativeBackend, tf } from "../../lib/engine/mod.ts";
import { convGradientRoute, runConvGradKernel } from "../../lib/engine/conv_grads.ts";

import { resnet50 } from "../../lib/models/mod.ts";
import { parseCommandLine, usageError } from "../cli.ts";

const USAGE = "deno run -A tools/bench/conv_grads.ts [SIZE] [--reps N]";
const { values, positionals } = parseCommandLine("conv_grads", USAGE, {
  options: { reps: { type: "string", default: "6" } },
  allowPositionals: true,
});
const size = Number(positionals[0] ?? 128);
const reps = Number(values.reps);
if (!(Number.isInteger(size) && size >= 32)) {
  usageError("conv_grads", `SIZE ${positionals[0]}: expected an integer >= 32`);
}
if (!(Number.isInteger(reps) && reps >= 1)) {
  usageError("conv_grads", `--reps ${values.reps}: expected an integer >= 1`);
}

// The routes measured here are those of the engine without oneDNN (with oneDNN
// on, TensorFlow's oneDNN kernels take every gradient and have no Eigen label).
Deno.env.set("ACMC_ONEDNN", "0");
await initEngine({ quiet: true });
if (tf.getBackend() !== "tensorflow") {
  usageError("conv_grads", "needs the native engine (ACMC_ENGINE=cpu)");
}
const backend = nativeBackend()!;

/** Median ms of `reps` calls of `f` (its results disposed) after 2 warm-up calls. */
function time(f: () => tf.Tensor): number {
  for (let i = 0; i < 2; i++) f().dispose();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = f();
    ms.push(performance.now() - t0);
    r.dispose();
  }
  return ms.sort((a, b) => a - b)[ms.length >> 1];
}

// The distinct convolutions of ResNet50 at this size, with how often each occurs.
const model = resnet50({ inputShape: [size, size, 3], classes: 23, seed: 1 });
type Shape4 = [number, number, number, number];
const convs = new Map<string, { x: Shape4; k: Shape4; stride: number; pad: string; n: number }>();
for (const layer of model.layers) {
  if (layer.getClassName() !== "Conv2D") continue;
  const c = layer.getConfig() as {
    kernelSize: number[];
    strides: number[];
    padding: string;
    filters: number;
  };
  const x = [8, ...(layer.input as tf.SymbolicTensor).shape.slice(1) as number[]] as Shape4;
  const k: Shape4 = [c.kernelSize[0], c.kernelSize[1], x[3], c.filters];
  const key = JSON.stringify([x, k, c.strides[0], c.padding]);
  const seen = convs.get(key);
  if (seen) seen.n++;
  else convs.set(key, { x, k, stride: c.strides[0], pad: c.padding, n: 1 });
}
model.dispose();

const totals = { inDefault: 0, inEigen: 0, inOurs: 0, fDefault: 0, fEigen: 0, fOurs: 0 };
console.log(`ResNet50 convolution gradients at ${size} px, batch 8, ms (median of ${reps}):`);
console.log(
  "count  input  filter  stride pad    | input grad: default eigen ours (route) | filter grad: default eigen ours (route)",
);
for (const { x: xShape, k, stride, pad, n } of convs.values()) {
  const x = tf.randomNormal(xShape) as tf.Tensor4D;
  const w = tf.randomNormal(k) as tf.Tensor4D;
  const dy = tf.tidy(() => tf.randomNormal(tf.conv2d(x, w, stride, pad as "same").shape));
  const padding = pad as "same" | "valid";
  const dx = (label?: string) => () =>
    runConvGradKernel(
      backend,
      "Conv2DBackpropInput",
      w,
      dy,
      xShape,
      [stride, stride],
      padding,
      label,
    );
  const dw = (label?: string) => () =>
    runConvGradKernel(backend, "Conv2DBackpropFilter", x, dy, k, [stride, stride], padding, label);
  const attrs = { strides: [stride, stride], pad, dataFormat: "NHWC", dimRoundingMode: undefined };
  const kernel =
    (name: string, inputs: Record<string, tf.Tensor>, extra: Record<string, unknown>) => () =>
      tf.engine().runKernel(
        name,
        inputs as tf.NamedTensorMap,
        { ...attrs, ...extra } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
  const r = {
    inDefault: time(dx()),
    inEigen: time(dx("eigen_tensor")),
    inOurs: time(kernel("Conv2DBackpropInput", { dy, filter: w }, { inputShape: xShape })),
    fDefault: time(dw()),
    fEigen: time(dw("eigen_tensor")),
    fOurs: time(kernel("Conv2DBackpropFilter", { x, dy }, { filterShape: k })),
  };
  for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += r[key] * n;
  const f1 = (v: number) => v.toFixed(1).padStart(6);
  console.log(
    `${String(n).padStart(5)}  ${xShape.slice(1).join("x").padEnd(11)} ${
      k.join("x").padEnd(13)
    } ${stride}  ${pad.padEnd(5)} |` +
      `${f1(r.inDefault)}${f1(r.inEigen)}${f1(r.inOurs)} (${
        convGradientRoute("input", xShape, k, attrs)
      }) |` +
      `${f1(r.fDefault)}${f1(r.fEigen)}${f1(r.fOurs)} (${
        convGradientRoute("filter", xShape, k, attrs)
      })`,
  );
  tf.dispose([x, w, dy]);
}
const f0 = (v: number) => v.toFixed(0);
console.log(
  `per step: input grad default ${f0(totals.inDefault)}, eigen ${f0(totals.inEigen)}, ours ${
    f0(totals.inOurs)
  } ms; ` +
    `filter grad default ${f0(totals.fDefault)}, eigen ${f0(totals.fEigen)}, ours ${
      f0(totals.fOurs)
    } ms`,
);
