/**
 * ReLU fusion for training: a batch normalization or an `Add` whose only
 * consumer is a ReLU computes the ReLU itself, in one differentiable op that
 * keeps only its output, and the ReLU layer passes that tensor through.
 *
 * Why: the forward pass of a training step keeps every intermediate tensor
 * until it ends (tfjs disposes them when the forward scope closes), so each
 * batch-norm output and each residual sum that a ReLU immediately replaces
 * costs an activation-sized tensor at the step's memory peak. TensorFlow's
 * graph executor frees them as soon as the ReLU has run; fusing does the same
 * here (ResNet50: 33 batch-norm + ReLU pairs and 16 sums).
 *
 * The model's structure, layer names, weights and saved configuration do not
 * change (the layers serialize as plain `Activation` / `Add` / batch norm), and
 * inference is untouched. Only in training mode on the native engine does a
 * flagged layer return the ReLU'd tensor; so a flag may only be set on a layer
 * whose output feeds nothing but a {@linkcode ReLU} layer (the ResNet builder
 * does this). `ACMC_FUSE_RELU=0` turns fusion off (for comparisons).
 *
 * @module
 */
import { addRelu, hasFusedKernels, tf } from "../engine/mod.ts";

const applied = new WeakSet<tf.Tensor>();

/** Records that `t` already went through a ReLU (its consumer passes it through). */
export function markRelu<T extends tf.Tensor>(t: T): T {
  applied.add(t);
  return t;
}

/** True when ReLU fusion may run now: native engine, and not turned off by `ACMC_FUSE_RELU=0`. */
export function reluFusionActive(): boolean {
  return hasFusedKernels() && Deno.env.get("ACMC_FUSE_RELU") !== "0";
}

type Kwargs = { training?: boolean } & Record<string, unknown>;
type LayerClass = new (args: Record<string, unknown>) => tf.layers.Layer;

const ActivationBase = tf.layers.activation({ activation: "relu" }).constructor as LayerClass;

/**
 * `tf.layers.activation({activation: "relu"})` that passes through a tensor a
 * fused producer already rectified. Serializes as a plain `Activation`.
 *
 * @example
 * ```ts
 * const y = new ReLU({ name: "conv1_relu" }).apply(x) as tf.SymbolicTensor;
 * ```
 */
export class ReLU extends ActivationBase {
  constructor(args: { name?: string } = {}) {
    super({ ...args, activation: "relu" });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (applied.has(x)) return x;
    return super.call(inputs, kwargs);
  }
}

const AddBase = tf.layers.add({}).constructor as LayerClass;

/**
 * `tf.layers.add` that, when {@linkcode AddThenReLU.fuseRelu} is set, returns
 * `relu(a + b)` in training mode on the native engine (one op, see
 * {@linkcode addRelu}), marked so that the following {@linkcode ReLU} passes
 * it through. Serializes as a plain `Add`.
 */
export class AddThenReLU extends AddBase {
  /** Set only when this layer's output feeds nothing but a {@linkcode ReLU} layer. */
  fuseRelu = false;

  constructor(args: { name?: string } = {}) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    if (
      this.fuseRelu && kwargs?.training && Array.isArray(inputs) && inputs.length === 2 &&
      reluFusionActive()
    ) {
      return markRelu(addRelu(inputs[0], inputs[1]));
    }
    return super.call(inputs, kwargs);
  }
}
