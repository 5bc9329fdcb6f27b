/**
 * Batch normalization in training mode as one TensorFlow `FusedBatchNormV3`
 * kernel forward and one `FusedBatchNormGradV3` kernel backward (tfjs builds
 * it from ~10 ops each way, each holding an activation-sized tensor for the
 * gradient), optionally fused with the ReLU that follows. lib/models'
 * BatchNormalization layer trains with it.
 *
 * On the pure-JS backend, or for non-float32 input, the same maths runs with
 * tfjs ops.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

import { type NativeBackend, nativeBackend } from "./native.ts";
import { reluGradKernel, reluKernel } from "./relu.ts";
import { oneDnnInUse } from "./onednn.ts";

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
 * Every returned tensor belongs to the caller's `tf.tidy` scope.
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
  options: { relu?: boolean } = {},
): FusedBatchNormResult {
  const relu = options.relu ?? false;
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
      return {
        y: relu ? tf.relu(y) : y,
        mean: mean as tf.Tensor1D,
        variance: variance as tf.Tensor1D,
      };
    });
  }
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  let mean: tf.Tensor1D | undefined;
  let variance: tf.Tensor1D | undefined;
  const f = tf.customGrad((...args: unknown[]) => {
    const [xi, s, o, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const empty = tf.tensor1d([], "float32");
    // Outputs: y, batch_mean, batch_variance (unbiased), reserve spaces 1..3.
    // With oneDNN on and a ReLU to follow, oneDNN's batch norm applies it in
    // the same pass (`_MklNativeFusedBatchNormEx`, what TensorFlow's graphs
    // use; its reserve spaces feed the same gradient op, results identical).
    const fuse = relu && oneDnnInUse();
    const t = b.binding;
    const [y, bMean, bVarUnbiased, r1, r2, r3] = b.executeMultipleOutputs(
      fuse ? "_MklNativeFusedBatchNormEx" : "FusedBatchNormV3",
      [
        ...bnAttrs(b, epsilon),
        { name: "exponential_avg_factor", type: t.TF_ATTR_FLOAT, value: 1 },
        ...(fuse
          ? [
            { name: "activation_mode", type: t.TF_ATTR_STRING, value: "Relu" },
            { name: "num_side_inputs", type: t.TF_ATTR_INT, value: 0 },
            { name: "_kernel", type: t.TF_ATTR_STRING, value: "MklNameChangeOp" },
          ]
          : []),
      ],
      [xi, s, o, empty, empty],
      6,
    );
    mean = tf.keep(bMean as tf.Tensor1D);
    // TF returns the Bessel-corrected variance; Keras' moving variance uses the biased one.
    variance = tf.keep(tf.mul(bVarUnbiased, n > 1 ? (n - 1) / n : 1) as tf.Tensor1D);
    // With relu, the normalized tensor lives only inside this function: the
    // output (what ReluGrad needs) is all that is kept.
    const out = relu && !fuse ? reluKernel(b, y) : y;
    save(relu ? [xi, s, r1, r2, r3, out] : [xi, s, r1, r2, r3]);
    return {
      value: out as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ss, s1, s2, s3, r] = saved;
        const dn = relu ? reluGradKernel(b, dy, r) : dy;
        const [dx, dScale, dOffset] = b.executeMultipleOutputs(
          "FusedBatchNormGradV3",
          bnAttrs(b, epsilon),
          [dn, sx, ss, s1, s2, s3],
          5,
        );
        if (dn !== dy) dn.dispose();
        return [dx, dScale, dOffset];
      },
    };
  });
  const y = f(x, scale, offset) as tf.Tensor4D;
  // mean/variance were kept to survive customGrad's inner tidy; hand the
  // caller clones (same data) that belong to the caller's scope instead.
  const out = { y, mean: tf.clone(mean!), variance: tf.clone(variance!) };
  mean!.dispose();
  variance!.dispose();
  return out;
}
