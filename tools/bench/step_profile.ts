/**
 * Where a training step's time goes, per TensorFlow op: ResNet50 (lib/models,
 * seed 1, 23 classes, batch 8, Adam) trained on random images; every native
 * op call (`binding.executeOp`, which every kernel of the native engine and
 * every op of lib/engine ends in) is timed by op name over the profiled steps.
 * The rest of the step's wall time is JavaScript: tfjs' layers, tape and
 * gradient bookkeeping, and our own.
 *
 * Usage: `deno run -A tools/bench/step_profile.ts [SIZE] [--steps N] [--warmup N] [--top N]`
 * (SIZE 128, 3 profiled steps after 2 warm-up steps, the 25 costliest ops).
 * Set `ACMC_ONEDNN=0|1|ISA` to compare TensorFlow's kernels with and without
 * oneDNN. Prints one line per op (calls and ms per step, share of the step),
 * then the step's wall time, native total and JS remainder, and the process's
 * CPU time per step (steadier than wall time on a shared machine).
 *
 * @module
 */
import { adam, describeEngine, initEngine, nativeBackend, tf } from "../../lib/engine/mod.ts";
import { resnet50 } from "../../lib/models/mod.ts";
import { parseCommandLine, usageError } from "../cli.ts";
import { cpuUsage } from "node:process";

const USAGE = "deno run -A tools/bench/step_profile.ts [SIZE] [--steps N] [--warmup N] [--top N]";
const { values, positionals } = parseCommandLine("step_profile", USAGE, {
  options: {
    steps: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    top: { type: "string", default: "25" },
  },
  allowPositionals: true,
});
function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    usageError("step_profile", `${name} ${v}: expected >= ${min}`);
  }
  return n;
}
const size = int("SIZE", positionals[0] ?? "128", 32);
const steps = int("--steps", values.steps, 1);
const warmup = int("--warmup", values.warmup, 0);
const top = int("--top", values.top, 1);

await initEngine({ quiet: true });
const backend = nativeBackend();
if (!backend) usageError("step_profile", "needs the native engine (ACMC_ENGINE=cpu)");
console.log(
  describeEngine().split("\n").filter((l) => /^(TensorFlow|oneDNN|allocator)/.test(l)).join("\n"),
);

const model = resnet50({ inputShape: [size, size, 3], classes: 23, seed: 1 });
model.compile({ optimizer: adam(1e-3), loss: "categoricalCrossentropy" });
const x = tf.randomUniform([8, size, size, 3], 0, 1, "float32", 1);
const y = tf.oneHot(tf.tensor1d([0, 7, 14, 21, 5, 12, 19, 3], "int32"), 23).toFloat();
for (let i = 0; i < warmup; i++) await model.trainOnBatch(x, y);

// The addon's binding object is frozen: the backend gets an object inheriting
// from it whose own executeOp is timed.
type Binding = Record<string, unknown> & { executeOp(...args: unknown[]): unknown };
const holder = backend as unknown as { binding: Binding };
const original = holder.binding;
const ops = new Map<string, { calls: number; ms: number }>();
const timed = (name: string, ...rest: unknown[]) => {
  const t0 = performance.now();
  try {
    return original.executeOp(name, ...rest);
  } finally {
    const e = ops.get(name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += performance.now() - t0;
    ops.set(name, e);
  }
};
holder.binding = Object.create(original, { executeOp: { value: timed } });
const walls: number[] = [];
const cpus: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const c0 = cpuUsage();
  await model.trainOnBatch(x, y);
  const c = cpuUsage(c0);
  walls.push(performance.now() - t0);
  cpus.push((c.user + c.system) / 1000);
}
holder.binding = original;

const wall = walls.reduce((a, b) => a + b, 0) / steps;
const native = [...ops.values()].reduce((a, e) => a + e.ms, 0) / steps;
const rows = [...ops.entries()].sort((a, b) => b[1].ms - a[1].ms);
console.log(`${size} px, batch 8, ${steps} profiled steps (ms per step; share of the step)`);
for (const [name, e] of rows.slice(0, top)) {
  console.log(
    `${name.padEnd(28)} ${String(e.calls / steps).padStart(6)} calls ` +
      `${(e.ms / steps).toFixed(1).padStart(8)} ms ${
        (100 * e.ms / steps / wall).toFixed(1).padStart(5)
      }%`,
  );
}
const calls = [...ops.values()].reduce((a, e) => a + e.calls, 0) / steps;
console.log(
  `step ${wall.toFixed(0)} ms (each: ${walls.map((w) => w.toFixed(0)).join(", ")}); ` +
    `native ops ${native.toFixed(0)} ms in ${calls} calls; ` +
    `JavaScript and the rest ${(wall - native).toFixed(0)} ms (${
      (100 * (wall - native) / wall).toFixed(0)
    }%)`,
);
// CPU time (all threads) is less disturbed than wall time by other processes on a shared machine.
console.log(
  `process CPU time per step: ${cpus.map((c) => c.toFixed(0)).join(", ")} ms ` +
    `(min ${Math.min(...cpus).toFixed(0)}); wall min ${Math.min(...walls).toFixed(0)} ms`,
);
