/**
 * Batch normalization with Keras 3 semantics, as a tfjs layer.
 *
 * tfjs-layers' own `BatchNormalization` normalizes with the batch statistics
 * and updates its moving mean/variance whenever it is called in training mode,
 * even when the layer is frozen. Keras 3 does not: a BatchNormalization layer
 * whose `trainable` is false always runs in inference mode (moving statistics,
 * no update). {@linkcode BatchNormalization} here does what Keras does, so a
 * frozen ResNet50 base behaves in `fit` exactly as in Keras.
 *
 * The maths sits in two small functions ({@linkcode BatchNormKernels}); by
 * default training uses the engine's fused native kernel, and
 * {@linkcode setBatchNormKernels} swaps them without touching the layer.
 *
 * @module
 */
import { fusedBatchNormTraining, tf } from "../engine/mod.ts";
import { markRelu, reluFusionActive } from "./relu_fusion.ts";

/** What a training-mode kernel returns. */
export interface BatchNormTrainingResult {
  /** `(x - mean) / sqrt(variance + epsilon) * gamma + beta` with the batch's statistics. */
  y: tf.Tensor;
  /** Per-channel batch mean, shape `[channels]`. */
  mean: tf.Tensor;
  /** Per-channel biased batch variance (divided by N, as Keras' `ops.moments`), `[channels]`. */
  variance: tf.Tensor;
}

/**
 * The two computations of the layer, channels on the last axis.
 * - `training(x, gamma, beta, epsilon)`: normalize with the batch's own
 *   statistics; differentiable w.r.t. `x`, `gamma`, `beta`. Every returned
 *   tensor belongs to the caller's `tf.tidy` scope (none kept): the layer
 *   calls it inside a tidy and never disposes `mean`/`variance` itself, since
 *   a gradient tape may still need them.
 * - `inference(x, mean, variance, gamma, beta, epsilon)`: normalize with given
 *   statistics.
 */
export interface BatchNormKernels {
  training(
    x: tf.Tensor,
    gamma: tf.Tensor,
    beta: tf.Tensor,
    epsilon: number,
  ): BatchNormTrainingResult;
  inference(
    x: tf.Tensor,
    mean: tf.Tensor,
    variance: tf.Tensor,
    gamma: tf.Tensor,
    beta: tf.Tensor,
    epsilon: number,
  ): tf.Tensor;
}

/** The tfjs-op kernels: `tf.moments` + `tf.batchNorm` (any backend). */
export const tfjsBatchNormKernels: BatchNormKernels = {
  training(x, gamma, beta, epsilon) {
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, beta, gamma, epsilon);
    return { y, mean, variance };
  },
  inference(x, mean, variance, gamma, beta, epsilon) {
    return tf.batchNorm(x, mean, variance, beta, gamma, epsilon);
  },
};

/**
 * The default kernels: training on 4-D float32 input runs the engine's fused
 * `FusedBatchNormV3` forward / `FusedBatchNormGradV3` backward
 * (`fusedBatchNormTraining` of lib/engine/batch_norm.ts, one kernel each way instead of
 * ~10 tfjs ops; it falls back to tfjs ops off the native backend); other ranks
 * and inference use {@linkcode tfjsBatchNormKernels}.
 */
export const defaultBatchNormKernels: BatchNormKernels = {
  training(x, gamma, beta, epsilon) {
    if (x.rank !== 4 || x.dtype !== "float32") {
      return tfjsBatchNormKernels.training(x, gamma, beta, epsilon);
    }
    const r = fusedBatchNormTraining(
      x as tf.Tensor4D,
      gamma as tf.Tensor1D,
      beta as tf.Tensor1D,
      epsilon,
    );
    // The fused op returns its statistics kept (outside any tidy): hand back
    // scoped copies so the caller's tidy frees them, as with the tfjs kernel.
    const mean = r.mean.clone();
    const variance = r.variance.clone();
    r.mean.dispose();
    r.variance.dispose();
    return { y: r.y, mean, variance };
  },
  inference: tfjsBatchNormKernels.inference,
};

let kernels: BatchNormKernels = defaultBatchNormKernels;

/**
 * Replaces the kernels every {@linkcode BatchNormalization} layer uses (all
 * layers, from their next call). Pass only what changes; returns the previous
 * kernels so they can be put back.
 *
 * @example
 * ```ts
 * // Plain tfjs ops everywhere (e.g. to compare with the fused kernels):
 * const previous = setBatchNormKernels(tfjsBatchNormKernels);
 * // ... later
 * setBatchNormKernels(previous);
 * ```
 */
export function setBatchNormKernels(next: Partial<BatchNormKernels>): BatchNormKernels {
  const previous = kernels;
  kernels = { ...kernels, ...next };
  return previous;
}

/** The kernels in use. */
export function batchNormKernels(): BatchNormKernels {
  return kernels;
}

/** Options of {@linkcode BatchNormalization} (Keras names, camelCased). */
export interface BatchNormalizationArgs {
  /** Layer name (Keras ResNet50: `conv1_bn`, `conv2_block1_1_bn`...). */
  name?: string;
  /** The channel axis; only the last axis (-1) is supported. Default -1. */
  axis?: number;
  /** Moving-average momentum: `moving = moving * momentum + batch * (1 - momentum)`. Default 0.99. */
  momentum?: number;
  /** Added to the variance. Default 1e-3 (ResNet50 uses 1.001e-5). */
  epsilon?: number;
  /** Whether the layer's weights are trained (false = frozen: always inference mode). Default true. */
  trainable?: boolean;
  /** Input shape when this is the first layer. */
  inputShape?: (number | null)[];
  /** Batch input shape when this is the first layer. */
  batchInputShape?: (number | null)[];
  /** Data type of the weights. Default float32. */
  dtype?: tf.DataType;
}

type Kwargs = { training?: boolean } & Record<string, unknown>;

/**
 * Keras 3 BatchNormalization (center and scale on, channels last).
 *
 * - `call(x, {training: true})` on a trainable layer: normalizes with the
 *   batch's mean and biased variance and updates
 *   `moving_mean`/`moving_variance` with `momentum`.
 * - Otherwise (inference, or the layer frozen): normalizes with the moving
 *   statistics and changes nothing.
 *
 * The layer counts as frozen when `trainable` is false or when its gamma and
 * beta variables are marked non-trainable (what tfjs' `model.trainable =
 * false` does to the layers inside a model).
 *
 * Weights, in Keras order: `gamma`, `beta` (trainable), `moving_mean`,
 * `moving_variance` (non-trainable). Registered for serialization as
 * `KerasBatchNormalization`.
 *
 * @example
 * ```ts
 * const bn = new BatchNormalization({ epsilon: 1.001e-5, name: "conv1_bn" });
 * const y = bn.apply(x) as tf.SymbolicTensor;
 * ```
 */
export class BatchNormalization extends tf.layers.Layer {
  /** Name under which the class is registered with tfjs serialization. */
  static className = "KerasBatchNormalization";
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  /**
   * Set only when this layer's output feeds nothing but a ReLU layer of
   * lib/models/relu_fusion.ts: training on the native engine (default
   * kernels) then returns `relu(y)` from one fused op (see relu_fusion.ts).
   * Not part of the saved configuration. Default false.
   */
  fuseRelu = false;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;
  private movingMean?: tf.LayerVariable;
  private movingVariance?: tf.LayerVariable;

  constructor(args: BatchNormalizationArgs = {}) {
    const { axis = -1, momentum = 0.99, epsilon = 1e-3, ...base } = args;
    super(base);
    if (!Number.isInteger(axis)) {
      throw new Error(`BatchNormalization: axis ${axis} is not an integer`);
    }
    if (!(momentum >= 0 && momentum <= 1)) {
      throw new Error(`BatchNormalization: momentum ${momentum} is not in [0, 1]`);
    }
    if (!(epsilon > 0)) throw new Error(`BatchNormalization: epsilon ${epsilon} must be > 0`);
    this.axis = axis;
    this.momentum = momentum;
    this.epsilon = epsilon;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const axis = this.axis < 0 ? this.axis + shape.length : this.axis;
    if (axis !== shape.length - 1) {
      throw new Error(
        `BatchNormalization ${this.name}: only the last axis is supported (channels_last), ` +
          `got axis ${this.axis} for input shape [${shape}]`,
      );
    }
    const dim = shape[axis];
    if (dim == null) {
      throw new Error(
        `BatchNormalization ${this.name}: the channel axis of [${shape}] is undefined`,
      );
    }
    const s = [dim];
    this.gamma = this.addWeight("gamma", s, "float32", tf.initializers.ones(), undefined, true);
    this.beta = this.addWeight("beta", s, "float32", tf.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight(
      "moving_mean",
      s,
      "float32",
      tf.initializers.zeros(),
      undefined,
      false,
    );
    this.movingVariance = this.addWeight(
      "moving_variance",
      s,
      "float32",
      tf.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  /** True when the layer runs in inference mode whatever `training` says (Keras' frozen BN). */
  get frozen(): boolean {
    if (!this.trainable) return true;
    const own = [this.gamma, this.beta].filter((v): v is tf.LayerVariable => v != null);
    return own.length > 0 && own.every((v) => !v.trainable);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const gamma = this.gamma!.read();
      const beta = this.beta!.read();
      if (!kwargs?.training || this.frozen) {
        return kernels.inference(
          x,
          this.movingMean!.read(),
          this.movingVariance!.read(),
          gamma,
          beta,
          this.epsilon,
        );
      }
      if (
        this.fuseRelu && kernels.training === defaultBatchNormKernels.training && x.rank === 4 &&
        x.dtype === "float32" && reluFusionActive()
      ) {
        const r = fusedBatchNormTraining(
          x as tf.Tensor4D,
          gamma as tf.Tensor1D,
          beta as tf.Tensor1D,
          this.epsilon,
          { relu: true },
        );
        this.updateMoving(this.movingMean!, r.mean);
        this.updateMoving(this.movingVariance!, r.variance);
        r.mean.dispose();
        r.variance.dispose();
        return markRelu(r.y);
      }
      const { y, mean, variance } = kernels.training(x, gamma, beta, this.epsilon);
      this.updateMoving(this.movingMean!, mean);
      this.updateMoving(this.movingVariance!, variance);
      return y;
    });
  }

  private updateMoving(variable: tf.LayerVariable, batch: tf.Tensor): void {
    tf.tidy(() => {
      const old = variable.read();
      const next = tf.add(tf.mul(old, this.momentum), tf.mul(batch, 1 - this.momentum));
      variable.write(next);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
    };
  }
}

tf.serialization.registerClass(BatchNormalization);
