/**
 * `deno task bench`: our engine vs Keras and PyTorch on the same machine.
 *
 * - train: ResNet50 training step (23 classes, batch 8, Adam) at 64, 128 and
 *   256 px, ours in Deno vs Keras 3 and PyTorch (NCHW and channels_last) in
 *   the venv (tools/bench/train.ts, tools/bench/peers.ts).
 * - loader: image loading throughput (tools/bench/loader.ts, when present).
 *
 * Flags: `--only train|loader`, `--sizes 64,128,256`, `--steps 10`,
 * `--warmup 2`, `--batch 8`, `--bn fused|tfjs`, `--opt native|tfjs`,
 * `--side ours,keras,torch_cl,torch` (the sides to run, default all), `--repeats 2` (runs per side
 * and size, ABBA order; best speed and highest memory count), `--baseline` (ours with the engine's
 * own kernels switched off: the "before" figures), `--json FILE` (write the runs).
 * Quick run: `deno task bench --only train --sizes 64 --steps 3 --warmup 1 --repeats 1`.
 *
 * Figures are noisy on a shared machine: compare sides from the same run.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { parseCommandLine, usageError } from "./cli.ts";
import { benchTrain } from "./bench/train.ts";
import { parseSides } from "./bench/peers.ts";

const { values } = parseCommandLine(
  "bench",
  "deno task bench [--only train|loader] [--sizes 64,128,256] [--steps N] [--warmup N] " +
    "[--side ours,keras,torch_cl,torch] [--repeats N] [--baseline] [--json FILE]",
  {
    options: {
      only: { type: "string" },
      sizes: { type: "string", default: "64,128,256" },
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      batch: { type: "string", default: "8" },
      bn: { type: "string", default: "fused" },
      opt: { type: "string", default: "native" },
      side: { type: "string" },
      repeats: { type: "string", default: "2" },
      baseline: { type: "boolean", default: false },
      json: { type: "string" },
    },
  },
);

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    usageError("bench", `--${name} ${v}: expected an integer >= ${min}`);
  }
  return n;
}
function oneOf<const T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    usageError("bench", `--${name} ${v}: expected one of ${allowed.join(", ")}`);
  }
  return v as T;
}

function sides(list: string) {
  try {
    return parseSides(list);
  } catch (e) {
    usageError("bench", (e as Error).message);
  }
}

const only = values.only === undefined
  ? undefined
  : oneOf("only", values.only, ["train", "loader"]);
const sizes = values.sizes.split(",").map((s) => int("sizes", s.trim(), 32));

if (only === undefined || only === "train") {
  console.log(
    `== train: ResNet50, ${values.batch} images/step, Adam, sizes ${sizes.join(", ")} px, ` +
      `median of ${values.steps} steps after ${values.warmup} warm-up ==`,
  );
  const runs = await benchTrain({
    sizes,
    steps: int("steps", values.steps, 1),
    warmup: int("warmup", values.warmup, 0),
    batch: int("batch", values.batch, 1),
    bn: oneOf("bn", values.bn, ["fused", "tfjs"]),
    opt: oneOf("opt", values.opt, ["native", "tfjs"]),
    baseline: values.baseline,
    sides: values.side ? sides(values.side) : undefined,
    repeats: int("repeats", values.repeats, 1),
  });
  if (values.json) {
    await Deno.writeTextFile(values.json, JSON.stringify({ date: new Date(), runs }, null, 2));
  }
}

if (only === undefined || only === "loader") {
  const loader = new URL("./bench/loader.ts", import.meta.url);
  if (existsSync(loader)) {
    console.log("== loader ==");
    const mod = await import(loader.href);
    await mod.benchLoader();
  } else if (only === "loader") {
    console.error("tools/bench/loader.ts does not exist yet (the loader's benchmark)");
    Deno.exit(1);
  } else {
    console.log("== loader: skipped (tools/bench/loader.ts not present) ==");
  }
}
