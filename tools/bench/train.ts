/**
 * Training-step benchmark: ResNet50 (Keras architecture, 23 classes, Adam,
 * batch 8) on our engine in Deno vs `keras.applications.ResNet50(weights=None)`
 * in Python on the same TensorFlow wheel, and vs the same network in PyTorch
 * (NCHW and channels_last; tools/bench/torch_train.py, sides in peers.ts).
 * Each (engine, size) runs in its own process, one after the other, so that
 * peak RSS is that run's alone.
 *
 * As a library: {@linkcode benchTrain}. As a script (one worker run):
 * `deno run -A tools/bench/train.ts --worker --size 128 --steps 10`
 * prints one JSON line.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseCommandLine } from "../cli.ts";
import { adam, engineInfo, initEngine, tf } from "../../lib/engine/mod.ts";
import { resnet50, setBatchNormKernels, tfjsBatchNormKernels } from "../../lib/models/mod.ts";
import { compiledTrainStep, eagerReason } from "../../lib/train/mod.ts";
import {
  abbaOrder,
  peerCommand,
  PYTHON,
  ratioLines,
  type Side,
  SIDE_NAMES,
  SIDES,
  sizeLines,
  summarize,
  torchEnv,
} from "./peers.ts";

/** Options of {@linkcode benchTrain}. */
export interface TrainBenchOptions {
  /** Image sizes (pixels, square). Default [64, 128, 256]. */
  sizes?: number[];
  /** Timed steps per run (median reported). Default 10. */
  steps?: number;
  /** Untimed warm-up steps. Default 2. */
  warmup?: number;
  /** Images per step. Default 8. */
  batch?: number;
  /** Classes of the softmax head. Default 23. */
  classes?: number;
  /**
   * The kernels of lib/models' BatchNormalization in our ResNet50: "fused"
   * (the engine's FusedBatchNormV3, the default) or "tfjs" (tfjs' moments +
   * batchNorm ops, `setBatchNormKernels(tfjsBatchNormKernels)`).
   */
  bn?: "fused" | "tfjs";
  /** Our optimizer: "native" (lib/engine adam, ResourceApplyAdam) or "tfjs" (tf.train.adam). */
  opt?: "native" | "tfjs";
  /**
   * Our side with the engine's own kernels switched off: the "before"
   * figures. Same model (lib/models' ResNet50), with tfjs-op batch norm
   * (`bn: "tfjs"`), tfjs Adam (`opt: "tfjs"`), no training-step fixes
   * (`ACMC_FAST_GRADIENTS=0`) and no ReLU fusion (`ACMC_FUSE_RELU=0`).
   * Default false.
   */
  baseline?: boolean;
  /** Which sides to run. Default all: ours, Keras, PyTorch channels_last, PyTorch NCHW. */
  sides?: Side[];
  /**
   * Runs of each side per size, in ABBA order (ours, Keras, ..., Keras, ours, ...)
   * so that a drift in the machine's speed hits both sides alike. The summary
   * takes each side's best images/s and its highest peak RSS. Default 2.
   */
  repeats?: number;
}

/** One worker's measurement. */
export interface TrainRun {
  side: Side;
  size: number;
  batch: number;
  steps: number;
  /** Median seconds per training step. */
  medianStepS: number;
  /** All timed steps, seconds. */
  stepS: number[];
  imgPerS: number;
  /** Peak resident memory of the process (VmHWM), bytes. */
  peakRssBytes: number;
  /** Loss of the first and last step (to see it train). */
  firstLoss: number;
  lastLoss: number;
  /** What ran (engine, model builder, batch norm, TF version). */
  detail: string;
  /**
   * Ours only: the highest oneDNN instruction set this machine's probe found
   * safe (null: none or not probed). The Keras peer then runs with TensorFlow's
   * default, oneDNN on, capped there; else with oneDNN off (it would crash).
   */
  onednnSafe?: string | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Peak resident set size of this process (VmHWM), bytes. */
export function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** lib/models' ResNet50 (Keras' architecture) with the batch-norm kernels asked for. */
function buildOurs(
  size: number,
  classes: number,
  bn: "fused" | "tfjs",
): { model: tf.LayersModel; detail: string } {
  if (bn === "tfjs") setBatchNormKernels(tfjsBatchNormKernels);
  const model = resnet50({ inputShape: [size, size, 3], classes, includeTop: true, weights: null });
  return {
    model,
    detail: `lib/models resnet50 (${bn === "fused" ? "fused" : "tfjs-op"} batch norm)`,
  };
}

/** Runs one measurement of our engine in this process. */
export async function runOurs(
  size: number,
  o: Required<
    Pick<TrainBenchOptions, "steps" | "warmup" | "batch" | "classes" | "bn" | "opt">
  >,
): Promise<TrainRun> {
  await initEngine({ quiet: true });
  const { model, detail } = buildOurs(size, o.classes, o.bn);
  const optimizer = o.opt === "native" ? adam(1e-3) : tf.train.adam(1e-3);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  const x = tf.randomUniform([o.batch, size, size, 3], 0, 1, "float32", 1);
  const labels = tf.tensor1d(
    Array.from({ length: o.batch }, (_, i) => (i * 7) % o.classes),
    "int32",
  );
  const y = tf.oneHot(labels, o.classes).toFloat();
  const losses: number[] = [];
  const times: number[] = [];
  // As fit runs it: the whole step as one TensorFlow graph where the model
  // and optimizer allow (ACMC_GRAPH_STEP=0, --opt tfjs and --baseline run
  // tfjs' trainOnBatch op by op)
  const eager = eagerReason(model, optimizer);
  const graph = eager ? null : compiledTrainStep(model, optimizer);
  graph?.park(); // as fit does during an epoch
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const t0 = performance.now();
    const loss = graph ? graph.run(x, y as tf.Tensor2D).loss : await model.trainOnBatch(x, y);
    const dt = (performance.now() - t0) / 1000;
    losses.push(Array.isArray(loss) ? loss[0] : loss);
    if (i >= o.warmup) times.push(dt);
  }
  const med = median(times);
  return {
    side: "ours",
    size,
    batch: o.batch,
    steps: o.steps,
    medianStepS: med,
    stepS: times,
    imgPerS: o.batch / med,
    peakRssBytes: peakRssBytes(),
    firstLoss: losses[0],
    lastLoss: losses[losses.length - 1],
    onednnSafe: engineInfo().onednn.survived ??
      (engineInfo().onednn.enabled ? engineInfo().onednn.isa : null),
    detail: `Deno ${Deno.version.deno}, tfjs-node backend "${tf.getBackend()}", ${detail}, ` +
      `${graph ? "one graph per step" : `eager (${eager})`}, ` +
      `${o.opt} Adam, ${
        Deno.env.get("ACMC_FAST_GRADIENTS") === "0" ? "tfjs" : "native"
      } ReluGrad, ` +
      `oneDNN ${
        engineInfo().onednn.enabled ? `on (${engineInfo().onednn.isa ?? "no cap"})` : "off"
      }`,
  };
}

/**
 * The environment for Keras' (Python) side: this process's, without the
 * allocator tools/alloc.sh preloads for our side (users run Keras on glibc).
 */
export function kerasEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  const keep = (env.LD_PRELOAD ?? "").split(":").filter((l) => l && !/jemalloc/.test(l));
  if (keep.length) env.LD_PRELOAD = keep.join(":");
  else delete env.LD_PRELOAD;
  delete env.MALLOC_CONF;
  return env;
}

/**
 * Keras' oneDNN: TensorFlow's default (on) where this machine's probe found an
 * instruction set that survives, capped there; off where none does (a ResNet50
 * step would die with SIGFPE) or where ours did not run to tell.
 */
export function kerasOneDnnEnv(safe: string | null): Record<string, string> {
  return safe
    ? { TF_ENABLE_ONEDNN_OPTS: "1", ONEDNN_MAX_CPU_ISA: safe }
    : { TF_ENABLE_ONEDNN_OPTS: "0" };
}

async function worker(
  args: string[],
  parse: (s: string) => TrainRun,
  env: Record<string, string> = {},
): Promise<TrainRun> {
  const [cmd, ...rest] = args;
  const out = await new Deno.Command(cmd, {
    args: rest,
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {
      ...(cmd === PYTHON ? kerasEnv() : Deno.env.toObject()),
      TF_CPP_MIN_LOG_LEVEL: "2",
      ...env,
    },
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${args.slice(0, 3).join(" ")} failed (exit ${out.code}):\n` +
        new TextDecoder().decode(out.stderr).slice(-3000),
    );
  }
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!line) throw new Error(`no JSON result from ${args.slice(0, 3).join(" ")}:\n${stdout}`);
  return parse(line);
}

const gb = (b: number) => (b / 2 ** 30).toFixed(2);

function line(r: TrainRun): string {
  const who = SIDE_NAMES[r.side].padEnd(Math.max(...SIDES.map((s) => SIDE_NAMES[s].length)));
  return `train ${r.size}px ${who}: ${r.imgPerS.toFixed(2)} img/s ` +
    `(median ${(r.medianStepS * 1000).toFixed(0)} ms/step of ${r.steps}, ` +
    `min ${(Math.min(...r.stepS) * 1000).toFixed(0)}), ` +
    `peak RSS ${gb(r.peakRssBytes)} GiB, loss ${r.firstLoss.toFixed(3)} -> ` +
    `${r.lastLoss.toFixed(3)}  [${r.detail}]`;
}

/**
 * Runs the training benchmark (each side and size in its own process) and
 * prints one line per run, one summary line per size, then the ratio lines of
 * peers.ts' `ratioLines` (`train_img_per_s_ratio_vs_best_peer_<N>px`, ...,
 * `train_img_per_s_ratio_vs_keras`). Returns all runs.
 */
export async function benchTrain(options: TrainBenchOptions = {}): Promise<TrainRun[]> {
  const o = {
    sizes: options.sizes ?? [64, 128, 256],
    steps: options.steps ?? 10,
    warmup: options.warmup ?? 2,
    batch: options.batch ?? 8,
    classes: options.classes ?? 23,
    bn: options.baseline ? "tfjs" : options.bn ?? "fused",
    opt: options.baseline ? "tfjs" : options.opt ?? "native",
    sides: options.sides ?? [...SIDES],
    repeats: Math.max(1, options.repeats ?? 2),
  };
  const self = fileURLToPath(import.meta.url);
  const deno = Deno.execPath();
  const runs: TrainRun[] = [];
  for (const size of o.sizes) {
    for (const side of abbaOrder(o.sides, o.repeats)) {
      const common = [
        "--size",
        String(size),
        "--steps",
        String(o.steps),
        "--warmup",
        String(o.warmup),
        "--batch",
        String(o.batch),
        "--classes",
        String(o.classes),
      ];
      const args = side === "ours"
        ? [
          deno,
          "run",
          "-A",
          self,
          "--worker",
          ...common,
          "--bn",
          o.bn,
          "--opt",
          o.opt,
        ]
        : peerCommand(side, common);
      const env: Record<string, string> = side === "ours" && options.baseline
        ? { ACMC_FAST_GRADIENTS: "0", ACMC_FUSE_RELU: "0" }
        : side === "keras"
        ? kerasOneDnnEnv(runs.find((r) => r.side === "ours")?.onednnSafe ?? null)
        : side === "ours"
        ? {}
        : torchEnv();
      const r = await worker(args, (s) => JSON.parse(s) as TrainRun, env);
      runs.push(r);
      console.log(line(r));
    }
  }
  if (o.repeats > 1) {
    console.log(`(best images/s and highest peak RSS of ${o.repeats} runs per side and size)`);
  }
  const summary = summarize(runs, o.sizes);
  for (const l of [...sizeLines(summary), ...ratioLines(summary)]) console.log(l);
  return runs;
}

if (import.meta.main) {
  const { values } = parseCommandLine(
    "bench/train",
    "deno run -A tools/bench/train.ts --worker [--size PX] [--steps N] [--warmup N] [--batch N] " +
      "[--classes N] [--bn fused|tfjs] [--opt native|tfjs]",
    {
      options: {
        worker: { type: "boolean", default: false },
        size: { type: "string", default: "128" },
        steps: { type: "string", default: "10" },
        warmup: { type: "string", default: "2" },
        batch: { type: "string", default: "8" },
        classes: { type: "string", default: "23" },
        bn: { type: "string", default: "fused" },
        opt: { type: "string", default: "native" },
      },
    },
  );
  if (!values.worker) {
    console.error(
      "tools/bench/train.ts is run by tools/bench.ts (deno task bench); " +
        "pass --worker to run one measurement",
    );
    Deno.exit(2);
  }
  const r = await runOurs(Number(values.size), {
    steps: Number(values.steps),
    warmup: Number(values.warmup),
    batch: Number(values.batch),
    classes: Number(values.classes),
    bn: values.bn as "fused" | "tfjs",
    opt: values.opt as "native" | "tfjs",
  });
  console.log(JSON.stringify(r));
}
