/**
 * Fast ops on the native engine, for layers that tfjs would otherwise expand
 * into many small ops.
 *
 * - {@linkcode fusedBatchNormTraining}: batch normalization in training mode as
 *   one TensorFlow `FusedBatchNormV3` kernel forward and one
 *   `FusedBatchNormGradV3` kernel backward (tfjs builds it from ~10 ops each
 *   way, each holding an activation-sized tensor for the gradient).
 * - {@linkcode batchNormalization}: a drop-in for `tf.layers.batchNormalization`
 *   (same class, weights, names and config, so Keras weights load unchanged)
 *   whose training path uses it. Inference is unchanged (already fused).
 *
 * On the pure-JS backend, or for inputs that are not NHWC with the channel
 * axis last, everything falls back to the tfjs implementation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

interface AttrBinding {
  TF_ATTR_TYPE: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_STRING: number;
  TF_ATTR_BOOL: number;
  TF_FLOAT: number;
}
interface NativeBackend {
  binding: AttrBinding;
  executeMultipleOutputs(
    name: string,
    attrs: { name: string; type: number; value: unknown }[],
    inputs: tf.Tensor[],
    numOutputs: number,
  ): tf.Tensor[];
}

function nativeBackend(): NativeBackend | null {
  if (tf.getBackend() !== "tensorflow") return null;
  const b = tf.backend() as unknown as Partial<NativeBackend>;
  return typeof b.executeMultipleOutputs === "function" ? b as NativeBackend : null;
}

/** True when the fused kernels of this module run natively (backend "tensorflow"). */
export function hasFusedKernels(): boolean {
  return nativeBackend() !== null;
}

function bnAttrs(b: NativeBackend, epsilon: number) {
  const t = b.binding;
  return [
    { name: "T", type: t.TF_ATTR_TYPE, value: t.TF_FLOAT },
    { name: "U", type: t.TF_ATTR_TYPE, value: t.TF_FLOAT },
    { name: "epsilon", type: t.TF_ATTR_FLOAT, value: epsilon },
    { name: "data_format", type: t.TF_ATTR_STRING, value: "NHWC" },
    { name: "is_training", type: t.TF_ATTR_BOOL, value: true },
  ];
}

/** What {@linkcode fusedBatchNormTraining} returns. */
export interface FusedBatchNormResult {
  /** The normalized, scaled and shifted input (differentiable w.r.t. x, scale, offset). */
  y: tf.Tensor4D;
  /** Per-channel batch mean (not differentiable). */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance (divided by N*H*W, as Keras' moments). */
  variance: tf.Tensor1D;
}

/**
 * Batch normalization of an NHWC float32 batch with the batch's own statistics
 * (training mode): `y = (x - mean) / sqrt(variance + epsilon) * scale + offset`.
 *
 * On the native backend the forward pass is TensorFlow's `FusedBatchNormV3`
 * and the gradient (for x, scale and offset) `FusedBatchNormGradV3`; on other
 * backends the same maths is done with tfjs ops (moments + batchNorm).
 *
 * @param x input, shape `[batch, height, width, channels]`.
 * @param scale gamma, shape `[channels]`.
 * @param offset beta, shape `[channels]`.
 * @param epsilon added to the variance (Keras ResNet50 uses 1.001e-5). Default 1e-3.
 * @example
 * ```ts
 * const { y, mean, variance } = fusedBatchNormTraining(x, gamma, beta, 1.001e-5);
 * ```
 */
export function fusedBatchNormTraining(
  x: tf.Tensor4D,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  epsilon = 1e-3,
): FusedBatchNormResult {
  if (x.rank !== 4) {
    throw new Error(`fusedBatchNormTraining: x must be 4-D NHWC, got shape [${x.shape}]`);
  }
  const channels = x.shape[3];
  if (scale.size !== channels || offset.size !== channels) {
    throw new Error(
      `fusedBatchNormTraining: scale/offset must have ${channels} values (x's last axis), ` +
        `got ${scale.size} and ${offset.size}`,
    );
  }
  const b = nativeBackend();
  if (!b || x.dtype !== "float32") {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const y = tf.batchNorm4d(
        x,
        mean as tf.Tensor1D,
        variance as tf.Tensor1D,
        offset,
        scale,
        epsilon,
      );
      return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
    });
  }
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const f = tf.customGrad((...args: unknown[]) => {
    const [xi, s, o, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const empty = tf.tensor1d([], "float32");
    // Outputs: y, batch_mean, batch_variance (unbiased), reserve spaces 1..3.
    const [y, bMean, bVarUnbiased, r1, r2, r3] = b.executeMultipleOutputs(
      "FusedBatchNormV3",
      [...bnAttrs(b, epsilon), {
        name: "exponential_avg_factor",
        type: b.binding.TF_ATTR_FLOAT,
        value: 1,
      }],
      [xi, s, o, empty, empty],
      6,
    );
    mean = tf.keep(bMean as tf.Tensor1D);
    // TF returns the Bessel-corrected variance; Keras' moving variance uses the biased one.
    variance = tf.keep(tf.mul(bVarUnbiased, n > 1 ? (n - 1) / n : 1) as tf.Tensor1D);
    save([xi, s, r1, r2, r3]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ss, s1, s2, s3] = saved;
        const [dx, dScale, dOffset] = b.executeMultipleOutputs(
          "FusedBatchNormGradV3",
          bnAttrs(b, epsilon),
          [dy, sx, ss, s1, s2, s3],
          5,
        );
        return [dx, dScale, dOffset];
      },
    };
  });
  const y = f(x, scale, offset) as tf.Tensor4D;
  return { y, mean: mean!, variance: variance! };
}

/** The tfjs-layers BatchNormalization class (not exported by tfjs by name). */
type LayerCtor = new (
  args: tf.layers.Layer["getConfig"] extends () => infer C ? C : never,
) => tf.layers.Layer;

interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}
interface WritableVariable {
  read(): tf.Tensor;
  write(v: tf.Tensor): void;
}

let fusedClass: LayerCtor | undefined;

function fusedBatchNormClass(): LayerCtor {
  if (fusedClass) return fusedClass;
  const Base = tf.layers.batchNormalization({}).constructor as unknown as LayerCtor;
  // Same className as the base (serialization and Keras weights stay as they are).
  class FusedBatchNormalization extends Base {
    // deno-lint-ignore no-explicit-any
    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: any): tf.Tensor | tf.Tensor[] {
      const input = Array.isArray(inputs) ? inputs[0] : inputs;
      const self = this as unknown as BatchNormInternals;
      const training = kwargs?.training ?? false;
      const lastAxis = self.axis === -1 || self.axis === input.rank - 1;
      if (
        !training || input.rank !== 4 || !lastAxis || !self.center || !self.scale ||
        !hasFusedKernels()
      ) {
        return super.call(inputs, kwargs);
      }
      return tf.tidy(() => {
        const { y, mean, variance } = fusedBatchNormTraining(
          input as tf.Tensor4D,
          self.gamma.read() as tf.Tensor1D,
          self.beta.read() as tf.Tensor1D,
          self.epsilon,
        );
        const decay = 1 - self.momentum;
        for (
          const [v, batch] of [[self.movingMean, mean], [self.movingVariance, variance]] as [
            tf.LayerVariable,
            tf.Tensor,
          ][]
        ) {
          const w = v as unknown as WritableVariable;
          tf.tidy(() => {
            const old = w.read();
            w.write(tf.sub(old, tf.mul(tf.sub(old, batch), decay)));
          });
        }
        mean.dispose();
        variance.dispose();
        return y;
      });
    }
  }
  fusedClass = FusedBatchNormalization as unknown as LayerCtor;
  return fusedClass;
}

/**
 * `tf.layers.batchNormalization` whose training step runs TensorFlow's fused
 * batch-norm kernels (forward and gradient) on the native engine. Same
 * arguments, weights (`gamma`, `beta`, `moving_mean`, `moving_variance`),
 * className and inference behaviour as the tfjs layer; moving statistics are
 * updated as in Keras (`moving = moving * momentum + batch * (1 - momentum)`,
 * biased batch variance).
 *
 * @example
 * ```ts
 * x = batchNormalization({ axis: 3, epsilon: 1.001e-5, name: "conv1_bn" }).apply(x);
 * ```
 */
export function batchNormalization(
  args: Parameters<typeof tf.layers.batchNormalization>[0] = {},
): tf.layers.Layer {
  const C = fusedBatchNormClass();
  return new C(args as never);
}
