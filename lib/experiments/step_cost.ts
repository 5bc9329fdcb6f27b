/**
 * What a training step costs at each image size, timed side by side in one
 * process: the same size-agnostic model trains a few steps on random images
 * of each size, the sizes in alternating order (small to large, then large to
 * small), and each size keeps its fastest round. Epoch times of runs made at
 * different hours, or by different notebooks, also measure what else the
 * machine was doing; these do not, because every size shares the same minutes.
 *
 * @example
 * ```ts
 * const costs = await stepCostBySize({
 *   sizes: [32, 40, 48], batchSize: 32, classes: 23,
 *   buildModel: (size) => resnet50({ inputShape: [size, size, 3], classes: 23, preprocess: true }),
 * });
 * // [{ size: 32, secondsPerStep: 0.31, cpuSecondsPerStep: 0.58 }, ...]
 * ```
 * @module
 */
import process from "node:process";
import { adam, tf } from "../engine/mod.ts";
import type { BatchDataset } from "../data/types.ts";
import { fit, keptCompiledStep, releaseCompiledStep } from "../train/mod.ts";

/** Options of {@linkcode stepCostBySize}. */
export interface StepCostOptions {
  /** Square image sizes, px. */
  sizes: readonly number[];
  /** Images per step. */
  batchSize: number;
  /** Classes of the model's output. */
  classes: number;
  /**
   * Builds the model; called once with `null`, for a model that takes any
   * image size (ResNet50 ends with global average pooling).
   */
  buildModel: (size: number | null) => tf.LayersModel;
  /** Timed steps per size and round (default 5), after `warmup` untimed ones (default 1). */
  steps?: number;
  warmup?: number;
  /**
   * Rounds (default 3: ascending, descending, ascending sizes); each size keeps
   * its fastest.
   */
  rounds?: number;
  /** Seed of the random images and labels (default 0). */
  seed?: number;
}

/** One size's cost. */
export interface StepCost {
  size: number;
  /** Wall-clock seconds per training step, the fastest round's mean. */
  secondsPerStep: number;
  /** CPU seconds of this process per step in that round (all its threads). */
  cpuSecondsPerStep: number;
}

/** `n` batches of random 0-255 images of `size` px with one-hot labels, seeded. */
function randomBatches(
  size: number,
  n: number,
  batchSize: number,
  classes: number,
  seed: number,
): BatchDataset {
  return {
    classNames: Array.from({ length: classes }, (_, i) => `class ${i}`),
    filePaths: [],
    labels: [],
    batchSize,
    imageSize: [size, size],
    channels: 3,
    cardinality: n,
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < n; i++) {
        const [x, y] = tf.tidy(() => [
          tf.randomUniform([batchSize, size, size, 3], 0, 255, "float32", seed + i) as tf.Tensor4D,
          tf.oneHot(
            tf.randomUniform([batchSize], 0, classes, "int32", seed + 7919 + i) as tf.Tensor1D,
            classes,
          ).toFloat(),
        ]);
        yield { x, y };
      }
    },
  };
}

/**
 * Times training steps of one model at every size in `sizes`, interleaved
 * (see the module doc); returns one {@linkcode StepCost} per size, in the
 * order of `sizes`. The model and its optimizer are disposed.
 */
export async function stepCostBySize(options: StepCostOptions): Promise<StepCost[]> {
  const steps = options.steps ?? 5, warmup = options.warmup ?? 1, rounds = options.rounds ?? 3;
  for (
    const [name, v, min] of [["steps", steps, 1], ["warmup", warmup, 0], [
      "rounds",
      rounds,
      1,
    ]] as const
  ) {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`stepCostBySize: ${name} must be an integer >= ${min}, got ${v}`);
    }
  }
  if (options.sizes.length === 0) throw new RangeError("stepCostBySize: no sizes");
  for (const s of options.sizes) {
    if (!Number.isInteger(s) || s < 1) {
      throw new RangeError(`stepCostBySize: sizes must be positive integers, got ${s}`);
    }
  }
  const seed = options.seed ?? 0;
  const model = options.buildModel(null);
  const optimizer = adam(1e-4, 0.9, 0.999, 1e-7);
  const best = new Map<number, StepCost>();
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [...options.sizes] : [...options.sizes].reverse();
      for (const size of order) {
        const batches = (n: number) =>
          randomBatches(size, n, options.batchSize, options.classes, seed);
        // the compiled step is kept from the warm-up through the timed run and
        // freed after the timing (freeing it copies the weights back into the
        // model and closes its session: not a training step's cost)
        const fitOptions = { epochs: 1, optimizer, verbose: 0 as const, keepCompiledStep: true };
        if (warmup > 0) await fit(model, batches(warmup), fitOptions);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await fit(model, batches(steps), fitOptions);
        const seconds = (performance.now() - t0) / 1000 / steps;
        const cpu = process.cpuUsage(cpu0);
        const cost = {
          size,
          secondsPerStep: seconds,
          cpuSecondsPerStep: (cpu.user + cpu.system) / 1e6 / steps,
        };
        const prev = best.get(size);
        if (!prev || cost.secondsPerStep < prev.secondsPerStep) best.set(size, cost);
      }
    }
  } finally {
    const step = keptCompiledStep(model);
    if (step) releaseCompiledStep(step);
    model.dispose();
    optimizer.dispose();
  }
  return options.sizes.map((s) => best.get(s)!);
}
