/**
 * How long a training will take on this machine, measured before it starts:
 * a few real training steps of the model on its own data, timed, then the
 * model's weights put back as they were. A notebook prints the estimate
 * before a long run (ResNet50 at 256 px for 20 epochs takes hours on a CPU).
 *
 * @module
 */
import { engineInfo, tf } from "../engine/mod.ts";
import type { BatchDataset } from "../data/types.ts";
import { fit } from "./fit.ts";
import { keptCompiledStep, releaseCompiledStep } from "./graph_step.ts";

/** Options of {@linkcode estimateTrainingTime}. */
export interface EstimateOptions {
  /** Epochs the real run will take at most. */
  epochs: number;
  /** Validation data scored after every epoch (its batches counted at a third of a step). */
  validationData?: BatchDataset;
  /** Steps timed (default 3), after `warmup` untimed ones (default 1: graph set-up). */
  steps?: number;
  warmup?: number;
  /** Adam's learning rate of the timed steps (default 1e-4; the weights are restored anyway). */
  learningRate?: number;
  /** Above this many seconds per run, on a CPU, the message advises a GPU (default 1800). */
  adviseGpuAbove?: number;
}

/** What {@linkcode estimateTrainingTime} measured. */
export interface TimeEstimate {
  /** Seconds per training step (one batch), measured. */
  secondsPerStep: number;
  /** Training steps per epoch. */
  stepsPerEpoch: number;
  /** Expected seconds per epoch, validation included. */
  secondsPerEpoch: number;
  /** Expected seconds for `epochs` epochs. */
  secondsPerRun: number;
  /** True on a CPU when a run exceeds `adviseGpuAbove`. */
  adviseGpu: boolean;
  /** One line for the notebook. */
  message: string;
}

/** "42 s", "12 min", "3.4 h". */
export function formatTrainingTime(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function firstBatches(ds: BatchDataset, n: number): BatchDataset {
  return {
    ...ds,
    cardinality: Math.min(n, ds.cardinality),
    classNames: ds.classNames,
    filePaths: ds.filePaths,
    labels: ds.labels,
    async *[Symbol.asyncIterator]() {
      let i = 0;
      for await (const batch of ds) {
        yield batch;
        if (++i >= n) break;
      }
    },
  };
}

/**
 * Times `steps` training steps of `model` on the first batches of `train`
 * (after `warmup` steps), restores the model's weights (batch-norm
 * statistics included), and extrapolates to an epoch and to `epochs`
 * epochs. The timed steps include loading their images.
 *
 * @example
 * ```ts
 * const t = await estimateTrainingTime(model, train, { epochs: 20, validationData: valid });
 * console.log(t.message); // "3 steps timed: 1.9 s per batch of 8 -> about 21 min per epoch, ..."
 * ```
 */
export async function estimateTrainingTime(
  model: tf.LayersModel,
  train: BatchDataset,
  options: EstimateOptions,
): Promise<TimeEstimate> {
  const steps = options.steps ?? 3, warmup = options.warmup ?? 1;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`estimateTrainingTime: steps must be a positive integer, got ${steps}`);
  }
  if (!Number.isInteger(options.epochs) || options.epochs < 1) {
    throw new RangeError(
      `estimateTrainingTime: epochs must be a positive integer, got ${options.epochs}`,
    );
  }
  const saved = model.getWeights().map((w) => w.clone());
  let secondsPerStep: number;
  try {
    const fitOpts = { epochs: 1, learningRate: options.learningRate ?? 1e-4, verbose: 0 as const };
    // the warm-up's compiled step is kept for the timed run, and freed after
    // its timing (freeing it copies the weights back: not a training step's cost)
    const kept = { ...fitOpts, keepCompiledStep: true };
    if (warmup > 0) await fit(model, firstBatches(train, warmup), kept);
    const n = Math.min(steps, train.cardinality);
    const t0 = performance.now();
    await fit(model, firstBatches(train, n), kept);
    secondsPerStep = (performance.now() - t0) / 1000 / n;
  } finally {
    const step = keptCompiledStep(model);
    if (step) releaseCompiledStep(step);
    model.setWeights(saved);
    tf.dispose(saved);
  }
  const stepsPerEpoch = train.cardinality;
  const valSteps = options.validationData?.cardinality ?? 0;
  const secondsPerEpoch = secondsPerStep * (stepsPerEpoch + valSteps / 3);
  const secondsPerRun = secondsPerEpoch * options.epochs;
  const info = engineInfo();
  const adviseGpu = info.engine !== "gpu" && secondsPerRun > (options.adviseGpuAbove ?? 1800);
  const message =
    `${steps} steps timed: ${secondsPerStep.toFixed(2)} s per batch of ${
      train.batchSize ?? "?"
    } -> about ${formatTrainingTime(secondsPerEpoch)} per epoch, up to ${
      formatTrainingTime(secondsPerRun)
    } for ${options.epochs} epochs on this machine (${info.engine.toUpperCase()})` +
    (adviseGpu ? "; a GPU is advised for this run (see README.md, GPU)" : "");
  return { secondsPerStep, stepsPerEpoch, secondsPerEpoch, secondsPerRun, adviseGpu, message };
}
