/**
 * Will a training run fit in memory? An estimate of the memory a training
 * step needs for a (model, image size, batch size), the memory at hand, and a
 * fit/refuse decision, so a notebook refuses a size that would exhaust memory
 * (the study's 1024 px `ResourceExhaustedError`) instead of crashing the kernel.
 *
 * The estimate, in bytes (4 per float32 value):
 * - weights + gradients: 2 x parameters;
 * - optimizer state: Adam keeps 2 slots per trainable parameter (m and v),
 *   RMSprop 1, SGD 0;
 * - activations: the sum of every layer's output size per sample x batch,
 *   times an `activationFactor` for what the backward pass keeps and makes
 *   (activation gradients, BatchNorm intermediates, the engine's copies);
 * - a fixed `baseBytes` for the runtime (Deno, libtensorflow, the data pipeline);
 * - and never less than `floorBytes`, the peak that even the smallest
 *   training step reaches (first-step allocations of the engine).
 *
 * `activationFactor` and `baseBytes` default to {@linkcode CALIBRATION},
 * fitted on peak RSS measured with the native CPU engine (see there).
 *
 * @module
 */
import { engineInfo, tf } from "../engine/mod.ts";

/**
 * Defaults of the estimate, fitted on the peak RSS (Linux `VmHWM`, reset
 * after the model is built) of ResNet50 training steps: 23 classes, Adam,
 * `fit` of lib/train, the native CPU engine (TensorFlow 2.21 via tfjs-node),
 * a fresh process per point, 3 steps of random images. Measured on
 * 2026-11-28 with tools/budget/calibrate.ts (points in
 * `tools/budget/calibration-cpu.json`):
 *
 * | size | batch | peak RSS | estimate |
 * |---|---|---|---|
 * | 64 | 2 / 8 | 2.04 / 2.10 GiB | 2.17 / 2.17 GiB (floor) |
 * | 128 | 2 / 8 | 2.17 / 2.57 GiB | 2.17 / 2.57 GiB |
 * | 160 | 8 | 3.51 GiB | 3.52 GiB |
 * | 192 | 2 / 8 | 2.09 / 4.71 GiB | 2.17 / 4.68 GiB |
 * | 224 | 8 | 6.04 GiB | 6.06 GiB |
 *
 * The line (r^2 = 0.9998 over the 4 points above the floor) predicts 7.7 GiB
 * at 256 px, batch 8; an independent earlier measurement with the same
 * engine saw 7.6 GB there. At 1024 px, batch 8 it predicts ~110 GiB. The
 * factor (4.7 x the forward activations) reflects that tfjs keeps every
 * intermediate of the step as a tensor (Keras needs ~3x less at 256 px); on
 * a GPU the factor is untested.
 */
export const CALIBRATION = {
  /** Multiplier on the forward activations for a training step. */
  activationFactor: 4.68,
  /** Fixed runtime memory, bytes (538 MiB). */
  baseBytes: 538 * 2 ** 20,
  /** The peak any training step reaches, bytes (2.17 GiB). */
  floorBytes: 2_332_594_176,
  /** What the figures were measured on. */
  measuredOn: "ResNet50, Adam, native CPU engine (TF 2.21 via tfjs-node), Deno 2.9.6, 2026-11-28",
} as const;

/** Optimizer state slots per trainable parameter. */
const OPTIMIZER_SLOTS = { adam: 2, adamax: 2, rmsprop: 1, adagrad: 1, sgd: 0, none: 0 } as const;

/** An optimizer name known to {@linkcode estimateTrainingMemory}. */
export type OptimizerName = keyof typeof OPTIMIZER_SLOTS;

/** Options of {@linkcode estimateTrainingMemory}. */
export interface MemoryEstimateOptions {
  /** Images per training step. */
  batchSize: number;
  /** Optimizer whose state is counted (default "adam": 2 values per trainable parameter). */
  optimizer?: OptimizerName;
  /** Bytes per value (default 4, float32). */
  bytesPerValue?: number;
  /** Multiplier on the forward activations (default {@linkcode CALIBRATION}). */
  activationFactor?: number;
  /** Fixed runtime bytes (default {@linkcode CALIBRATION}). */
  baseBytes?: number;
  /** Lowest estimate, bytes (default {@linkcode CALIBRATION}; 0 for none). */
  floorBytes?: number;
}

/** The parts of a training-memory estimate, in bytes. */
export interface MemoryEstimate {
  batchSize: number;
  /** All parameters (trainable and not). */
  params: number;
  trainableParams: number;
  /** Sum of every layer's output values for one sample (input included). */
  activationValuesPerSample: number;
  /** Bytes by part. */
  parts: {
    weights: number;
    gradients: number;
    optimizer: number;
    activations: number;
    base: number;
  };
  /** Sum of the parts, or `floorBytes` when that is more. */
  totalBytes: number;
  /** True when `floorBytes` decided the total. */
  floorApplied: boolean;
  /** The settings used. */
  options: Required<MemoryEstimateOptions>;
}

/**
 * Values of every layer output of a model for one sample (the input layer
 * included). The model must have concrete spatial sizes: build it at the
 * image size you want to estimate (e.g. `inputShape: [256, 256, 3]`).
 */
export function activationValues(model: tf.LayersModel): number {
  let total = 0;
  for (const layer of model.layers) {
    const shapes =
      (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as (
        | number
        | null
      )[][];
    for (const shape of shapes) {
      const dims = shape.slice(1);
      if (dims.some((d) => d === null)) {
        throw new RangeError(
          `activationValues: layer "${layer.name}" has output shape [${
            shape.map(String).join(", ")
          }]: build the model at a fixed image size (inputShape [size, size, 3]) to estimate it`,
        );
      }
      total += (dims as number[]).reduce((a, b) => a * b, 1);
    }
  }
  return total;
}

/**
 * Estimates the memory of training `model` with `batchSize` images per step.
 *
 * @example
 * ```ts
 * const model = resnet50({ inputShape: [512, 512, 3], classes: 23 });
 * const est = estimateTrainingMemory(model, { batchSize: 8 });
 * formatBytes(est.totalBytes);
 * ```
 */
export function estimateTrainingMemory(
  model: tf.LayersModel,
  options: MemoryEstimateOptions,
): MemoryEstimate {
  const opts: Required<MemoryEstimateOptions> = {
    batchSize: options.batchSize,
    optimizer: options.optimizer ?? "adam",
    bytesPerValue: options.bytesPerValue ?? 4,
    activationFactor: options.activationFactor ?? CALIBRATION.activationFactor,
    baseBytes: options.baseBytes ?? CALIBRATION.baseBytes,
    floorBytes: options.floorBytes ?? CALIBRATION.floorBytes,
  };
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new RangeError(
      `estimateTrainingMemory: batchSize must be a positive integer, got ${opts.batchSize}`,
    );
  }
  if (!(opts.optimizer in OPTIMIZER_SLOTS)) {
    throw new RangeError(
      `estimateTrainingMemory: unknown optimizer "${opts.optimizer}" (known: ${
        Object.keys(OPTIMIZER_SLOTS).join(", ")
      })`,
    );
  }
  const count = (ws: tf.LayerVariable[]) =>
    ws.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
  const params = model.countParams();
  const trainableParams = count(model.trainableWeights);
  const perSample = activationValues(model);
  const b = opts.bytesPerValue;
  const parts = {
    weights: params * b,
    gradients: trainableParams * b,
    optimizer: OPTIMIZER_SLOTS[opts.optimizer] * trainableParams * b,
    activations: opts.activationFactor * perSample * opts.batchSize * b,
    base: opts.baseBytes,
  };
  const sum = Object.values(parts).reduce((a, v) => a + v, 0);
  return {
    batchSize: opts.batchSize,
    params,
    trainableParams,
    activationValuesPerSample: perSample,
    parts,
    totalBytes: Math.max(sum, opts.floorBytes),
    floorApplied: opts.floorBytes > sum,
    options: opts,
  };
}

/** Memory at hand for a run. */
export interface AvailableMemory {
  /** Bytes that a run can use. */
  bytes: number;
  /** Where the figure came from. */
  source: "gpu" | "system" | "given";
  /** In words, for the notebook. */
  description: string;
}

/**
 * The memory a training run can use now. On the GPU engine (`engine` "gpu",
 * by default the engine in use): the GPU's free memory plus what this
 * process already holds there, from `nvidia-smi` (TensorFlow keeps the memory
 * it has taken, which a next run in this kernel reuses). Otherwise, or when
 * `nvidia-smi` does not answer: the system's available memory
 * (`Deno.systemMemoryInfo().available`) plus this process's RSS.
 */
export async function availableMemory(engine?: string): Promise<AvailableMemory> {
  let which = engine;
  if (which === undefined) {
    try {
      which = engineInfo().engine;
    } catch {
      which = "cpu"; // engine not loaded yet
    }
  }
  if (which === "gpu") {
    const gpu = await gpuMemory();
    if (gpu) return gpu;
  }
  const info = Deno.systemMemoryInfo();
  const rss = Deno.memoryUsage().rss;
  const bytes = info.available + rss;
  return {
    bytes,
    source: "system",
    description: `system memory: ${formatBytes(info.available)} available of ${
      formatBytes(info.total)
    }, plus ${formatBytes(rss)} this process holds`,
  };
}

async function nvidiaSmi(args: string[]): Promise<string[] | null> {
  try {
    const out = await new Deno.Command("nvidia-smi", { args, stdout: "piped", stderr: "null" })
      .output();
    if (!out.success) return null;
    return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter(Boolean);
  } catch {
    return null; // no nvidia-smi
  }
}

async function gpuMemory(): Promise<AvailableMemory | null> {
  const gpus = await nvidiaSmi([
    "--query-gpu=memory.free,memory.total,name",
    "--format=csv,noheader,nounits",
  ]);
  if (!gpus?.length) return null;
  const [free, total, name] = gpus[0].split(",").map((s) => s.trim());
  const MiB = 2 ** 20;
  if (!(Number(free) >= 0) || !(Number(total) > 0)) return null;
  const apps = await nvidiaSmi([
    "--query-compute-apps=pid,used_memory",
    "--format=csv,noheader,nounits",
  ]) ?? [];
  const mine = apps.map((l) => l.split(",").map((s) => Number(s.trim())))
    .filter(([pid]) => pid === Deno.pid).reduce((a, [, used]) => a + (used || 0), 0);
  const bytes = (Number(free) + mine) * MiB;
  return {
    bytes,
    source: "gpu",
    description: `${name}: ${formatBytes(Number(free) * MiB)} free of ${
      formatBytes(Number(total) * MiB)
    }, plus ${formatBytes(mine * MiB)} this process holds (nvidia-smi)`,
  };
}

/** What {@linkcode checkFits} decides. */
export interface FitCheck {
  /** True when the estimate is within `headroom` x the available memory. */
  fits: boolean;
  estimateBytes: number;
  availableBytes: number;
  /** One line for the notebook: the decision, the estimate and the memory at hand. */
  message: string;
}

/** Options of {@linkcode checkFits}. */
export interface CheckFitsOptions {
  /** Memory at hand in bytes, or as {@linkcode availableMemory} reports it (default: asks it). */
  available?: number | AvailableMemory;
  /** Share of the available memory a run may take (default 0.9). */
  headroom?: number;
  /** What is being checked, for the message (e.g. "ResNet50 at 1024 px, batch 8"). */
  label?: string;
}

/**
 * Decides whether a run with this estimate fits in the memory at hand.
 *
 * @example
 * ```ts
 * const check = await checkFits(estimateTrainingMemory(model, { batchSize: 8 }), {
 *   available: 16 * 2 ** 30, label: "1024 px, batch 8",
 * });
 * if (!check.fits) console.log(check.message); // refused: needs ~... of 14.4 GiB
 * ```
 */
export async function checkFits(
  estimate: MemoryEstimate | number,
  options: CheckFitsOptions = {},
): Promise<FitCheck> {
  const headroom = options.headroom ?? 0.9;
  if (!(headroom > 0 && headroom <= 1)) {
    throw new RangeError(`checkFits: headroom must be in (0, 1], got ${headroom}`);
  }
  const estimateBytes = typeof estimate === "number" ? estimate : estimate.totalBytes;
  const avail = options.available === undefined
    ? await availableMemory()
    : typeof options.available === "number"
    ? { bytes: options.available, source: "given" as const, description: "given" }
    : options.available;
  const limit = avail.bytes * headroom;
  const fits = estimateBytes <= limit;
  const what = options.label ? `${options.label}: ` : "";
  const detail = `estimated ${formatBytes(estimateBytes)}, limit ${formatBytes(limit)} (${
    Math.round(headroom * 100)
  }% of ${formatBytes(avail.bytes)}, ${avail.description})`;
  const message = fits
    ? `${what}fits: ${detail}`
    : `${what}REFUSED, would not fit: ${detail}. Use a smaller image size or batch size.`;
  return { fits, estimateBytes, availableBytes: avail.bytes, message };
}

/** Bytes in binary units, e.g. `formatBytes(3 * 2 ** 30)` -> "3.00 GiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) (v /= 1024, u++);
  return u === 0 ? `${v} B` : `${v.toFixed(2)} ${units[u]}`;
}

/**
 * Peak resident memory of this process so far, bytes: Linux's `VmHWM` (the
 * kernel's high-water mark, exact), else the current RSS.
 */
export function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Not Linux.
  }
  return Deno.memoryUsage().rss;
}

/**
 * Resets this process's peak-RSS high-water mark (`VmHWM`) on Linux (writes
 * 5 to `/proc/self/clear_refs`), so {@linkcode peakRss} then reports the peak
 * of what follows. Returns false where that is not possible.
 */
export function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** A running RSS sampler (see {@linkcode sampleMemory}). */
export interface MemorySampler {
  /** Highest RSS seen so far, bytes. */
  readonly peak: number;
  /** Stops sampling and returns the peak, bytes. */
  stop(): number;
}

/**
 * Samples `Deno.memoryUsage().rss` every `intervalMs` (default 200 ms) and
 * keeps the highest value: the peak memory of a phase (e.g. one training run)
 * even after earlier, larger runs in the same process, which `VmHWM` cannot
 * tell apart. Samples only while the event loop runs between steps.
 */
export function sampleMemory(intervalMs = 200): MemorySampler {
  let peak = Deno.memoryUsage().rss;
  const tick = () => {
    peak = Math.max(peak, Deno.memoryUsage().rss);
  };
  const id = setInterval(tick, intervalMs);
  return {
    get peak() {
      tick();
      return peak;
    },
    stop() {
      clearInterval(id);
      tick();
      return peak;
    },
  };
}
