/**
 * Keras-faithful training, evaluation and prediction over a
 * {@linkcode BatchDataset}: `fit`, `evaluate`, `predict`.
 *
 * Semantics (Keras 3, `model.compile(optimizer=Adam(lr),
 * loss="categorical_crossentropy", metrics=["accuracy"])`):
 * - loss per sample: categorical cross-entropy on the softmax output,
 *   probabilities clipped to `[1e-7, 1 - 1e-7]`; integer labels are one-hot
 *   encoded first (sparse categorical cross-entropy).
 * - class weights: sample weight `classWeight[label]` (1 for classes not
 *   listed); the batch loss is `sum(w * loss) / batchSize` (Keras'
 *   `"sum_over_batch_size"` reduction); the logged accuracy stays unweighted
 *   (Keras passes sample weights only to `weighted_metrics`, checked against
 *   Keras in the tests). Validation is never weighted.
 * - logged `loss`/`accuracy` are running means over the epoch's batches
 *   (loss weighted by batch size), `val_*` are over the whole validation set.
 *
 * ## Reproducibility contract
 * - split and batch order: the dataset's job (its `seed`, e.g.
 *   `imageDatasetFromDirectory(dir, { seed: 123 })`);
 * - initial weights: build the model under {@linkcode withSeed};
 * - random ops during training (dropout): `fit`'s `seed` seeds every step
 *   from `(seed, epoch, step)`, so a resumed run draws the same masks.
 * With all three, two runs on CPU give the same losses (to float rounding of
 * multi-threaded kernels, ~1e-6).
 *
 * @module
 */
import { adam, tf } from "../engine/mod.ts";
import { defaultProgress, type Progress, type ProgressReporter } from "../io/mod.ts";
import type { BatchDataset } from "../data/types.ts";
import { mixSeed } from "../random/mod.ts";
import { withSeed } from "./seed.ts";
import {
  compiledTrainStep,
  eagerReason,
  type GraphTrainStep,
  releaseCompiledStep,
} from "./graph_step.ts";
import type { Callback, History, Logs, TrainingContext } from "./types.ts";

const EPSILON = 1e-7;

/** Class index -> weight, as a record (`{ 0: 1, 3: 2.5 }`) or an array (index = class). */
export type ClassWeight = Record<number, number> | readonly number[];

/** Options of {@linkcode fit}. */
export interface FitOptions {
  /** Index of the last epoch, exclusive (Keras' `epochs`; default 1). */
  epochs?: number;
  /** Epoch to start at (Keras' `initial_epoch`, for resuming; default 0). */
  initialEpoch?: number;
  /** `"adam"` (default) or an optimizer instance (e.g. one restored by `loadCheckpoint`). */
  optimizer?: "adam" | tf.Optimizer;
  /** Learning rate of `"adam"` (default 1e-3 like Keras; the study used 1e-4). */
  learningRate?: number;
  /** Evaluated at the end of every epoch, logged as `val_loss`, `val_accuracy`. */
  validationData?: BatchDataset;
  /** Per-class loss weights (Keras' `class_weight`). */
  classWeight?: ClassWeight;
  /** Callbacks, called in order (e.g. `earlyStopping`, `modelCheckpoint`). */
  callbacks?: Callback[];
  /** Seeds random ops in each training step (dropout), from `(seed, epoch, step)`. */
  seed?: number;
  /** 0 silent, 1 a progress line per epoch updated in place (default), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /**
   * Draws `verbose: 1`'s progress line (default: lib/io's `defaultProgress()`,
   * the bar lib/display installs when loaded).
   */
  progress?: ProgressReporter;
  /** Applied to each batch's images before the model (inside the step; default none). */
  preprocess?: (x: tf.Tensor4D) => tf.Tensor;
  /** History of earlier epochs to continue (resume); the new epochs are appended to a copy. */
  history?: History;
  /**
   * Run each training step eagerly, op by op (Keras' `run_eagerly`). Default
   * false: a model whose layers all compile trains with the whole step as one
   * TensorFlow graph (lib/train/graph_step.ts; ~2x faster on a CPU), its
   * weights and the optimizer's state copied back into `model` and the
   * optimizer at the end of every epoch, before validation and callbacks.
   * Other models, optimizers not made by `adam()`, and `ACMC_GRAPH_STEP=0`
   * run eagerly.
   */
  runEagerly?: boolean;
  /**
   * Keep the compiled training step (its TensorFlow session, which holds the
   * weights and Adam's moments: 282 MB for ResNet50) when `fit` returns, for
   * the next `fit` of the same model with the same options, which then skips
   * compiling: timing runs (a warm-up `fit`, then the timed one). Default
   * false: freed when `fit` returns, so that it does not sit next to what
   * runs after training (restoring a checkpoint, `evaluate`, `predict`, the
   * next model). `releaseCompiledStep()` frees a kept one; compiling another
   * model's step does too.
   */
  keepCompiledStep?: boolean;
}

/** `{ loss, accuracy }` over a dataset. */
export interface EvaluateResult {
  /** Mean cross-entropy per image. */
  loss: number;
  /** Fraction of images whose arg-max prediction is their label. */
  accuracy: number;
}

/** Options of {@linkcode evaluate} and {@linkcode predict}. */
export interface InferenceOptions {
  /** 0 silent, 1 a progress line (default). */
  verbose?: 0 | 1;
  /** Draws `verbose: 1`'s progress line (default: lib/io's `defaultProgress()`). */
  progress?: ProgressReporter;
  /** Applied to each batch's images before the model (default none). */
  preprocess?: (x: tf.Tensor4D) => tf.Tensor;
}

/** Predictions over a dataset, in the order its batches came. */
export interface Predictions {
  /** Softmax probabilities, one row per image. */
  probs: number[][];
  /** True label index of each image (from the batches themselves, so always paired with `probs`). */
  labels: number[];
  /** Arg-max predicted label of each image. */
  predicted: number[];
}

function numClasses(model: tf.LayersModel): number {
  const shape = model.outputs[0].shape;
  const k = shape[shape.length - 1];
  if (typeof k !== "number" || shape.length !== 2) {
    throw new Error(`model output must be [batch, classes] softmax, got ${JSON.stringify(shape)}`);
  }
  return k;
}

/** Labels as one-hot float32 `[b, k]` (int labels `[b]` or `[b, 1]` are encoded). */
function oneHotLabels(y: tf.Tensor, k: number): tf.Tensor2D {
  if (y.rank === 2 && y.shape[1] === k && k > 1) return y.toFloat() as tf.Tensor2D;
  if (y.rank === 1 || (y.rank === 2 && y.shape[1] === 1)) {
    return tf.oneHot(y.reshape([-1]).toInt() as tf.Tensor1D, k).toFloat() as tf.Tensor2D;
  }
  throw new Error(`labels of shape ${JSON.stringify(y.shape)} do not fit ${k} classes`);
}

/** Per-sample categorical cross-entropy of softmax `pred` against one-hot `yTrue` (Keras, from probabilities). */
function crossentropy(yTrue: tf.Tensor2D, pred: tf.Tensor): tf.Tensor1D {
  const p = pred.div(pred.sum(-1, true)).clipByValue(EPSILON, 1 - EPSILON);
  return yTrue.mul(p.log()).sum(-1).neg() as tf.Tensor1D;
}

function classWeightVector(cw: ClassWeight, k: number): Float32Array {
  const w = new Float32Array(k).fill(1);
  for (const [key, value] of Object.entries(cw)) {
    const c = Number(key);
    if (!Number.isInteger(c) || c < 0 || c >= k) {
      throw new Error(`classWeight: class ${key} is not in 0..${k - 1}`);
    }
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`classWeight: weight of class ${key} must be a number >= 0, got ${value}`);
    }
    w[c] = value;
  }
  return w;
}

function checkDataset(ds: BatchDataset, what: string): void {
  if (!ds || typeof ds[Symbol.asyncIterator] !== "function") {
    throw new Error(`${what}: expected a BatchDataset`);
  }
}

const fmt = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3));

function logText(logs: Logs): string {
  return Object.entries(logs).map(([k, v]) => `${k} ${fmt(v)}`).join("  ");
}

/**
 * Trains `model` on `trainDs` for epochs `initialEpoch..epochs-1`, like
 * Keras' `model.fit` (see the module doc for the exact loss, class-weight,
 * logging and reproducibility semantics). Every tensor of a step is freed
 * before the next, and each batch of the dataset is disposed after use.
 *
 * @returns the {@linkcode History} (per-epoch `loss`, `accuracy`,
 *   `val_loss`, `val_accuracy`, `seconds`), JSON-serialisable.
 *
 * @example
 * ```ts
 * await initEngine();
 * const history = await fit(model, train, {
 *   epochs: 20, learningRate: 1e-4, validationData: valid,
 *   callbacks: [earlyStopping({ monitor: "val_accuracy", patience: 5 })],
 * });
 * ```
 */
export async function fit(
  model: tf.LayersModel,
  trainDs: BatchDataset,
  options: FitOptions = {},
): Promise<History> {
  checkDataset(trainDs, "fit: trainDs");
  if (options.validationData) checkDataset(options.validationData, "fit: validationData");
  const epochs = options.epochs ?? 1;
  const initialEpoch = options.initialEpoch ?? 0;
  if (!Number.isInteger(epochs) || epochs < 0) {
    throw new Error(`fit: epochs must be an integer >= 0, got ${epochs}`);
  }
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0) {
    throw new Error(`fit: initialEpoch must be an integer >= 0, got ${initialEpoch}`);
  }
  const verbose = options.verbose ?? 1;
  const k = numClasses(model);
  const optimizer = typeof options.optimizer === "object"
    ? options.optimizer
    : adam(options.learningRate ?? 1e-3, 0.9, 0.999, EPSILON);
  if (options.optimizer !== undefined && typeof options.optimizer !== "object") {
    if (options.optimizer !== "adam") {
      throw new Error(`fit: unknown optimizer ${options.optimizer}`);
    }
  }
  const cw = options.classWeight ? classWeightVector(options.classWeight, k) : null;
  const callbacks = options.callbacks ?? [];
  const steps = trainDs.cardinality;
  const samples = trainDs.filePaths?.length ?? 0;
  const prev = options.history;
  const history: History = prev
    ? {
      epoch: [...prev.epoch],
      history: Object.fromEntries(Object.entries(prev.history).map(([n, v]) => [n, [...v]])),
      params: { ...prev.params, epochs, steps, samples },
    }
    : { epoch: [], history: {}, params: { epochs, steps, initialEpoch, samples } };
  const ctx: TrainingContext = {
    model,
    optimizer,
    history,
    stopTraining: false,
    params: { epochs, steps, initialEpoch },
  };
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (vars.length === 0) throw new Error("fit: the model has no trainable weights");
  const preprocess = options.preprocess;

  // An optimizer fit made itself is fit's to free (its moments are resource
  // tensors nobody else can reach); one passed in stays the caller's.
  const ownOptimizer = typeof options.optimizer !== "object";
  let graph: GraphTrainStep | null = null;
  try {
    return await trainLoop();
  } finally {
    // the optimizer first: disposed, it no longer asks the step for the
    // moments the session holds (a 188 MB copy for ResNet50 when freed)
    if (ownOptimizer) optimizer.dispose();
    if (graph && !options.keepCompiledStep) releaseCompiledStep(graph);
  }

  /** One step as one TensorFlow graph (random preprocessing seeded as the eager step's). */
  function graphStep(
    graph: GraphTrainStep,
    x: tf.Tensor4D,
    y: tf.Tensor,
    seeded: <T>(f: () => T) => T,
  ): { loss: number; correct: number } {
    const [input, yTrue] = tf.tidy(() => [
      seeded(() => preprocess ? preprocess(x) : x.clone()),
      oneHotLabels(y, k),
    ]);
    try {
      return graph.run(input, yTrue as tf.Tensor2D);
    } finally {
      tf.dispose([input, yTrue]);
    }
  }

  /** One step op by op (tfjs' tape, lib/engine's gradients and Adam). */
  async function eagerStep(
    x: tf.Tensor4D,
    y: tf.Tensor,
    b: number,
    seeded: <T>(f: () => T) => T,
  ): Promise<{ loss: number; correct: number }> {
    let stats: tf.Tensor | null = null;
    const lossT = seeded(() =>
      optimizer.minimize(
        () => {
          const input = preprocess ? preprocess(x) : x;
          const pred = model.apply(input, { training: true }) as tf.Tensor;
          const yTrue = oneHotLabels(y, k);
          const perSample = crossentropy(yTrue, pred);
          const correct = tf.equal(tf.argMax(pred, -1), tf.argMax(yTrue, -1)).toFloat();
          stats = tf.keep(correct.sum());
          if (cw) {
            const sw = yTrue.matMul(tf.tensor2d(cw, [k, 1])).reshape([-1]);
            return perSample.mul(sw).sum().div(b) as tf.Scalar;
          }
          return perSample.mean() as tf.Scalar;
        },
        true,
        vars,
      )
    );
    const [loss] = await lossT!.data();
    const [correct] = await stats!.data();
    tf.dispose([lossT!, stats!]);
    return { loss, correct };
  }

  async function trainLoop(): Promise<History> {
    for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
    let eager = eagerReason(model, optimizer, options.runEagerly);
    if (initialEpoch < epochs && !eager) {
      try {
        graph = compiledTrainStep(model, optimizer as tf.AdamOptimizer, {
          classWeight: cw,
        });
      } catch (e) {
        // e.g. a libtensorflow whose C API refuses an op: train as before
        eager = `compiling the step failed: ${(e as Error).message}`;
        console.warn(`fit: ${eager}; training op by op instead`);
      }
    }
    history.params.execution = eager ? `eager: ${eager}` : "graph";
    // the model's own copy of the weights is freed during each epoch unless a
    // callback may look at it between batches
    const park = graph !== null && !callbacks.some((cb) => cb.onBatchEnd);
    try {
      return await epochLoop(graph, park);
    } finally {
      if (graph?.parked) graph.pull(); // a run cut short keeps its last weights, as eagerly
    }
  }

  async function epochLoop(graph: GraphTrainStep | null, park: boolean): Promise<History> {
    for (let epoch = initialEpoch; epoch < epochs && !ctx.stopTraining; epoch++) {
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
      // callbacks may have set weights or stepped the optimizer
      if (graph && epoch > initialEpoch) graph.sync(optimizer as tf.AdamOptimizer);
      if (park) graph!.park();
      const t0 = performance.now();
      const bar: Progress | null = verbose === 1
        ? (options.progress ?? defaultProgress())(
          Math.max(1, steps),
          `Epoch ${epoch + 1}/${epochs}`,
        )
        : null;
      let lossSum = 0, seen = 0, correctSum = 0, step = 0;
      let logs: Logs = {};
      for await (const batch of trainDs) {
        const { x, y } = batch;
        try {
          if (!y) throw new Error("fit: the training dataset yields no labels");
          const b = x.shape[0];
          const seeded = <T>(f: () => T): T =>
            options.seed === undefined ? f() : withSeed(mixSeed(options.seed, epoch, step), f);
          const r = graph ? graphStep(graph, x, y, seeded) : await eagerStep(x, y, b, seeded);
          lossSum += r.loss * b;
          seen += b;
          correctSum += r.correct;
        } finally {
          x.dispose();
          y?.dispose();
        }
        logs = { loss: lossSum / seen, accuracy: correctSum / seen };
        const secs = (performance.now() - t0) / 1000;
        bar?.update(step + 1, `${logText(logs)}  ${(seen / secs).toFixed(1)} img/s`);
        for (const cb of callbacks) await cb.onBatchEnd?.(step, logs, ctx);
        step++;
      }
      if (step === 0) throw new Error("fit: the training dataset yielded no batches");
      graph?.pull(); // weights and Adam's state back into model and optimizer
      if (options.validationData) {
        bar?.update(step, `${logText(logs)}  validating...`);
        const v = await evaluate(model, options.validationData, { verbose: 0, preprocess });
        logs = { ...logs, val_loss: v.loss, val_accuracy: v.accuracy };
      }
      const seconds = (performance.now() - t0) / 1000;
      history.epoch.push(epoch);
      for (const [name, value] of Object.entries({ ...logs, seconds })) {
        (history.history[name] ??= []).push(value);
      }
      const line = `${logText(logs)}  ${seconds.toFixed(0)}s ${(seen / seconds).toFixed(1)} img/s`;
      if (bar) await bar.finish(line);
      else if (verbose === 2) console.log(`Epoch ${epoch + 1}/${epochs}  ${line}`);
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, ctx);
    }
    for (const cb of callbacks) await cb.onTrainEnd?.(ctx);
    return history;
  }
}

async function infer(
  model: tf.LayersModel,
  ds: BatchDataset,
  options: InferenceOptions,
  title: string,
  onBatch: (probs: tf.Tensor2D, y: tf.Tensor2D) => Promise<void>,
): Promise<void> {
  const k = numClasses(model);
  const bar = (options.verbose ?? 1) === 1
    ? (options.progress ?? defaultProgress())(Math.max(1, ds.cardinality), title)
    : null;
  let step = 0;
  for await (const { x, y } of ds) {
    try {
      if (!y) throw new Error(`${title}: the dataset yields no labels`);
      const [probs, yTrue] = tf.tidy(() => {
        const input = options.preprocess ? options.preprocess(x) : x;
        const p = model.apply(input, { training: false }) as tf.Tensor2D;
        return [p, oneHotLabels(y, k)];
      });
      try {
        await onBatch(probs, yTrue);
      } finally {
        tf.dispose([probs, yTrue]);
      }
    } finally {
      x.dispose();
      y?.dispose();
    }
    bar?.update(++step);
  }
  await bar?.finish();
}

/**
 * Loss and accuracy of `model` over `ds` (Keras' `model.evaluate`: means
 * over all images, unweighted).
 *
 * @example
 * ```ts
 * const { loss, accuracy } = await evaluate(model, valid);
 * ```
 */
export async function evaluate(
  model: tf.LayersModel,
  ds: BatchDataset,
  options: InferenceOptions = {},
): Promise<EvaluateResult> {
  checkDataset(ds, "evaluate: ds");
  let lossSum = 0, correct = 0, n = 0;
  await infer(model, ds, options, "Evaluating", async (probs, yTrue) => {
    const t = tf.tidy(() =>
      tf.stack([
        crossentropy(yTrue, probs).sum(),
        tf.equal(tf.argMax(probs, -1), tf.argMax(yTrue, -1)).toFloat().sum(),
      ])
    );
    const [l, c] = await t.data();
    t.dispose();
    lossSum += l;
    correct += c;
    n += probs.shape[0];
  });
  if (n === 0) throw new Error("evaluate: the dataset yielded no images");
  return { loss: lossSum / n, accuracy: correct / n };
}

/**
 * Class probabilities, true labels and predicted labels of every image of
 * `ds`, paired batch by batch from one pass (in the dataset's iteration
 * order, which is its `filePaths` order when it is not shuffled).
 *
 * @example
 * ```ts
 * const { labels, predicted } = await predict(model, valid);
 * ```
 */
export async function predict(
  model: tf.LayersModel,
  ds: BatchDataset,
  options: InferenceOptions = {},
): Promise<Predictions> {
  checkDataset(ds, "predict: ds");
  const out: Predictions = { probs: [], labels: [], predicted: [] };
  await infer(model, ds, options, "Predicting", async (probs, yTrue) => {
    const labels = yTrue.argMax(-1);
    const [p, y] = await Promise.all([probs.array(), labels.array()]);
    labels.dispose();
    for (let i = 0; i < p.length; i++) {
      out.probs.push(p[i]);
      out.labels.push((y as number[])[i]);
      let best = 0;
      for (let j = 1; j < p[i].length; j++) if (p[i][j] > p[i][best]) best = j;
      out.predicted.push(best);
    }
  });
  return out;
}
