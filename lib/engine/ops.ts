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

import { floatAttr, type NativeBackend, nativeBackend } from "./native.ts";
import { installColumnSums } from "./column_sums.ts";
import { installConvGradients, withUnusedInputGradient } from "./conv_grads.ts";

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
    // With relu, the normalized tensor lives only inside this function: the
    // output (what ReluGrad needs) is all that is kept.
    const out = relu ? reluKernel(b, y) : y;
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

/** TensorFlow's `Relu` kernel (no tape: for use inside a custom gradient). */
function reluKernel(b: NativeBackend, x: tf.Tensor): tf.Tensor {
  return b.executeMultipleOutputs("Relu", floatAttr(b), [x], 1)[0];
}

/** TensorFlow's `ReluGrad(dy, y)`: `dy` where the ReLU's output `y` is positive, else 0. */
function reluGradKernel(b: NativeBackend, dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return b.executeMultipleOutputs("ReluGrad", floatAttr(b), [dy, y], 1)[0];
}

/**
 * `relu(a + b)` for two float32 tensors of the same shape (a ResNet block's
 * shortcut and residual) as one differentiable op that keeps only its output
 * for the gradient: the sum itself is never held, where `tf.relu(tf.add(a, b))`
 * keeps an activation-sized sum alive until the forward pass ends. Off the
 * native backend, or for other shapes or dtypes, it is exactly that composition.
 *
 * @example
 * ```ts
 * const out = addRelu(shortcut, residual);
 * ```
 */
export function addRelu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const be = nativeBackend();
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!be || !same || a.dtype !== "float32" || b.dtype !== "float32") {
    return tf.tidy(() => tf.relu(tf.add(a, b)));
  }
  const f = tf.customGrad((...args: unknown[]) => {
    const [x, y, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const sum = be.executeMultipleOutputs("AddV2", floatAttr(be), [x, y], 1)[0];
    const out = reluKernel(be, sum);
    sum.dispose();
    save([out]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = reluGradKernel(be, dy, saved[0]);
        return [g, g.clone()];
      },
    };
  });
  return f(a, b);
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

// ---------------------------------------------------------------------------
// Relu gradient: one TensorFlow ReluGrad kernel instead of tfjs' five ops.

let reluGradInstalled = false;

/**
 * Makes the gradient of `Relu` one TensorFlow `ReluGrad` kernel on the native
 * backend (tfjs computes `dy * step(x)` with Step = five kernels, two of them
 * filling activation-sized tensors: ~10% of a ResNet50 step). Other backends
 * keep tfjs' formula. Global and idempotent; {@linkcode initEngine} calls it.
 */
export function installFastGradients(): void {
  if (reluGradInstalled) return;
  reluGradInstalled = true;
  installEarlyGradientRelease();
  installConvGradients();
  installColumnSums();
  tf.registerGradient({
    kernelName: "Relu",
    // The output, not the input: the input (a batch-norm output) can then be
    // freed after the forward pass, as TensorFlow's own ReluGrad does.
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [y] = saved;
      const g = dy as tf.Tensor;
      return {
        x: () => {
          const b = nativeBackend();
          if (b && y.dtype === "float32" && g.dtype === "float32") return reluGradKernel(b, g, y);
          return tf.mul(g, tf.cast(tf.step(y), "float32"));
        },
      };
    },
  });
}

// ---------------------------------------------------------------------------
// Backprop memory: free each op's saved tensors and incoming gradients as soon
// as its gradient has been computed.

interface TapeNode {
  kernelName?: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  addTapeNode(...args: unknown[]): void;
  gradients(...args: unknown[]): unknown;
  __acmcEarlyRelease?: boolean;
}

/** The `xs` of the `engine.gradients` calls under way, innermost last, and what depends on them. */
const gradientCalls: { xs: tf.Tensor[]; reach?: Set<number> }[] = [];

/**
 * Ids of the tensors on the tape that are functions of the innermost
 * `gradients` call's `xs` (tfjs prunes every other input from the backward
 * pass: their gradients are never asked for), or null outside such a call.
 */
function reachableFromXs(engine: EngineInternals): Set<number> | null {
  const call = gradientCalls[gradientCalls.length - 1];
  const tape = engine.state.activeTape;
  if (!call || !tape) return null;
  if (!call.reach) {
    const reach = new Set(call.xs.map((x) => x.id));
    for (const node of tape) {
      if (Object.values(node.inputs).some((t) => reach.has(t.id))) {
        for (const o of node.outputs) reach.add(o.id);
      }
    }
    call.reach = reach;
  }
  return call.reach;
}

/** tfjs' scope name for its fused convolution (convolution + bias + activation, one custom gradient). */
const FUSED_CONV = "fusedConv2d__op";

/**
 * tfjs' backprop keeps every op's saved activations and every intermediate
 * gradient alive until the whole backward pass ends, so a training step peaks
 * at about activations + all their gradients (TensorFlow's executor frees
 * each as soon as its last consumer ran). This wraps each tape node's gradient
 * so that, once all its input gradients are computed, its saved tensors and
 * the gradients flowing into it are disposed (never a gradient the caller
 * passed in, never one returned as a result). "All its input gradients"
 * means those tfjs will ask for: the inputs that depend on the `xs` of the
 * `gradients` call (tfjs' own pruning rule; the wrapper of `engine.gradients`
 * records them). A fused convolution whose input depends on none of them
 * (ResNet50's stem and the image) runs its gradient with the input gradient
 * skipped ({@linkcode withUnusedInputGradient}). Only for top-level gradients
 * (not inside a higher-order gradient). Installed by {@linkcode installFastGradients}.
 */
function installEarlyGradientRelease(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.__acmcEarlyRelease) return;
  engine.__acmcEarlyRelease = true;
  const gradients = engine.gradients;
  engine.gradients = function (this: EngineInternals, ...args: unknown[]) {
    gradientCalls.push({ xs: args[1] as tf.Tensor[] });
    try {
      return gradients.apply(this, args);
    } finally {
      gradientCalls.pop();
    }
  };
  const addTapeNode = engine.addTapeNode;
  engine.addTapeNode = function (this: EngineInternals, ...args: unknown[]) {
    addTapeNode.apply(this, args);
    const tape = this.state.activeTape;
    const node = tape?.[tape.length - 1];
    let gradient = node?.gradient;
    if (!node || !gradient) return;
    if (args[0] === "Add" && node.saved?.length) {
      // tfjs saves both inputs of every Add only to know their shapes for
      // broadcasting; without broadcasting the gradient is dy for each, so
      // the saved copies (a whole activation in every ResNet block) can go.
      const out = node.outputs[0];
      const same = Object.values(node.inputs).every((t) =>
        t.shape.length === out.shape.length && t.shape.every((d, i) => d === out.shape[i])
      );
      if (same) {
        for (const t of node.saved) t.dispose();
        node.saved = [];
        const names = Object.keys(node.inputs);
        gradient = (dys) => {
          const dy = dys[0] ?? tf.zeros(out.shape);
          return Object.fromEntries(names.map((n) => [n, () => tf.reshape(dy, out.shape)]));
        };
        node.gradient = gradient;
      }
    }
    node.gradient = (dys) => {
      if (this.state.gradientDepth !== 0) return gradient!(dys);
      // The inputs whose gradients tfjs will ask for: those that depend on the xs.
      const reach = reachableFromXs(this);
      const needed = Object.entries(node.inputs).filter(([, t]) => !reach || reach.has(t.id));
      const x = node.inputs["0"];
      const thunks = node.kernelName === FUSED_CONV && x && reach && !reach.has(x.id)
        ? withUnusedInputGradient(() => gradient!(dys))
        : gradient!(dys);
      let left = needed.length;
      const results: tf.Tensor[] = [];
      const release = () => {
        for (const t of node.saved ?? []) if (!results.includes(t)) t.dispose();
        dys.forEach((dy, i) => {
          // Only gradients made during this backward pass (newer than the
          // output they belong to): a caller's own dy is older.
          const out = node.outputs[i];
          if (dy && out && dy.id > out.id && !results.includes(dy)) dy.dispose();
        });
      };
      const wrapped: Record<string, () => tf.Tensor> = {};
      for (const [name, thunk] of Object.entries(thunks)) {
        wrapped[name] = () => {
          const r = thunk();
          results.push(r);
          if (needed.some(([n]) => n === name) && --left === 0) release();
          return r;
        };
      }
      return wrapped;
    };
  };
}

// ---------------------------------------------------------------------------
// Adam: one ResourceApplyAdam kernel per variable.

let resourceCounter = 0;

/** A tensor with a name (optimizer weights). */
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slot {
  /** Resource handles (tfjs "string" tensors) of the variable, m and v. */
  value: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  /** The tfjs data the resource last gave the variable (else re-sync). */
  synced: object | null;
  shape: number[];
}

/**
 * Adam with Keras 3's update rule, run on the native engine as one TensorFlow
 * `ResourceApplyAdam` kernel per variable (tfjs' Adam runs ~13 kernels per
 * variable, each allocating a parameter-sized tensor: about 0.5 s of CPU per
 * ResNet50 step on 2 cores).
 *
 * Update (Keras 3, TF's kernel): `m = b1*m + (1-b1)*g`, `v = b2*v + (1-b2)*g^2`,
 * `w -= lr * sqrt(1-b2^t) / (1-b1^t) * m / (sqrt(v) + epsilon)`. (tfjs' own
 * Adam scales epsilon by `sqrt(1-b2^t)`; the difference is ~epsilon.)
 *
 * Moments live in TensorFlow resource variables; the model's weights stay
 * tfjs variables (given the updated value after each step; a weight changed
 * from outside, e.g. by loading weights, is re-synced before its next update).
 * On the pure-JS backend the same rule runs with tfjs ops.
 *
 * Drop-in for `tf.train.adam` (same class name "Adam" and config):
 * ```ts
 * model.compile({ optimizer: adam(1e-3), loss: "categoricalCrossentropy" });
 * ```
 * @param learningRate default 0.001 (Keras)
 * @param beta1 default 0.9
 * @param beta2 default 0.999
 * @param epsilon default 1e-7 (Keras)
 */
export function adam(
  learningRate = 0.001,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon = 1e-7,
): tf.AdamOptimizer {
  return new NativeAdam(learningRate, beta1, beta2, epsilon);
}

class NativeAdam extends tf.AdamOptimizer {
  private slots = new Map<string, Slot>();
  private jsSlots = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  private t = 0;
  /** Moments restored by setWeights, waiting for their variable's first update. */
  private pendingByName = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
  private pendingByIndex: { m: tf.Tensor; v: tf.Tensor }[] = [];

  /** Restored moments for the i-th gradient named `name` (by name, else by position). */
  private takePending(name: string, i: number): { m: tf.Tensor; v: tf.Tensor } | undefined {
    const p = this.pendingByName.get(name) ?? this.pendingByIndex[i];
    if (p && p.m.shape.join() !== tf.engine().registeredVariables[name].shape.join()) {
      throw new Error(
        `Adam: restored moments for "${name}" have shape [${p.m.shape}], ` +
          `the variable [${tf.engine().registeredVariables[name].shape}]`,
      );
    }
    return p;
  }

  private clearPending(): void {
    const all = new Set([...this.pendingByName.values(), ...this.pendingByIndex]);
    for (const p of all) tf.dispose([p.m, p.v]);
    this.pendingByName.clear();
    this.pendingByIndex = [];
  }

  constructor(learningRate: number, beta1: number, beta2: number, epsilon: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  private attrsOf(b: NativeBackend) {
    const t = b.binding;
    return {
      dtype: { name: "dtype", type: t.TF_ATTR_TYPE, value: t.TF_FLOAT },
      T: { name: "T", type: t.TF_ATTR_TYPE, value: t.TF_FLOAT },
    };
  }

  private newResource(b: NativeBackend, shape: number[], init: tf.Tensor): tf.Tensor {
    const t = b.binding;
    const [h] = b.executeMultipleOutputs(
      "VarHandleOp",
      [
        { name: "container", type: t.TF_ATTR_STRING, value: "" },
        { name: "shared_name", type: t.TF_ATTR_STRING, value: `acmc_adam_${++resourceCounter}` },
        this.attrsOf(b).dtype,
        { name: "shape", type: t.TF_ATTR_SHAPE, value: shape },
      ],
      [],
      1,
    );
    this.assignResource(b, h, init);
    return tf.keep(h);
  }

  private assignResource(b: NativeBackend, h: tf.Tensor, value: tf.Tensor): void {
    b.executeMultipleOutputs("AssignVariableOp", [this.attrsOf(b).dtype], [h, value], 0);
  }

  private readResource(b: NativeBackend, h: tf.Tensor): tf.Tensor {
    return b.executeMultipleOutputs("ReadVariableOp", [this.attrsOf(b).dtype], [h], 1)[0];
  }

  override applyGradients(
    variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  ): void {
    const items = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    this.t++;
    const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = this as unknown as {
      learningRate: number;
      beta1: number;
      beta2: number;
      epsilon: number;
    };
    const b1p = Math.pow(b1, this.t);
    const b2p = Math.pow(b2, this.t);
    const b = nativeBackend();
    tf.tidy(() => {
      const registered = tf.engine().registeredVariables;
      if (!b) {
        const alpha = (lr * Math.sqrt(1 - b2p)) / (1 - b1p);
        items.forEach(({ name, tensor: g }, i) => {
          if (g == null) return;
          const w = registered[name];
          let s = this.jsSlots.get(name);
          if (!s) {
            const p = this.takePending(name, i);
            s = {
              m: tf.keep(tf.variable(p ? p.m.clone() : tf.zerosLike(w), false)),
              v: tf.keep(tf.variable(p ? p.v.clone() : tf.zerosLike(w), false)),
            };
            this.jsSlots.set(name, s);
          }
          s.m.assign(tf.add(s.m, tf.mul(tf.sub(g, s.m), 1 - b1)));
          s.v.assign(tf.add(s.v, tf.mul(tf.sub(tf.square(g), s.v), 1 - b2)));
          w.assign(tf.sub(w, tf.div(tf.mul(s.m, alpha), tf.add(tf.sqrt(s.v), eps))));
        });
        this.clearPending();
        return;
      }
      const scalars = [b1p, b2p, lr, b1, b2, eps].map((x) => tf.scalar(x, "float32"));
      const t = b.binding;
      const attrs = [
        this.attrsOf(b).T,
        { name: "use_locking", type: t.TF_ATTR_BOOL, value: false },
        { name: "use_nesterov", type: t.TF_ATTR_BOOL, value: false },
      ];
      items.forEach(({ name, tensor: g }, i) => {
        if (g == null) return;
        const w = registered[name];
        let s = this.slots.get(name);
        if (!s) {
          const p = this.takePending(name, i);
          const zeros = p ? null : tf.zerosLike(w);
          s = {
            value: this.newResource(b, w.shape, w),
            m: this.newResource(b, w.shape, p ? p.m : zeros!),
            v: this.newResource(b, w.shape, p ? p.v : zeros!),
            synced: (w as unknown as { dataId: object }).dataId,
            shape: w.shape,
          };
          this.slots.set(name, s);
        } else if (s.synced !== (w as unknown as { dataId: object }).dataId) {
          this.assignResource(b, s.value, w);
        }
        b.executeMultipleOutputs("ResourceApplyAdam", attrs, [s.value, s.m, s.v, ...scalars, g], 0);
        w.assign(this.readResource(b, s.value));
        s.synced = (w as unknown as { dataId: object }).dataId;
      });
      this.clearPending();
    });
    (this as unknown as { incrementIterations(): void }).incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const b = nativeBackend();
    const it = await (this as unknown as { saveIterations(): Promise<NamedTensor> })
      .saveIterations();
    const ms: NamedTensor[] = [];
    const vs: NamedTensor[] = [];
    if (b) {
      for (const [name, s] of this.slots) {
        ms.push({ name: `${name}/m`, tensor: this.readResource(b, s.m) });
        vs.push({ name: `${name}/v`, tensor: this.readResource(b, s.v) });
      }
    } else {
      for (const [name, s] of this.jsSlots) {
        ms.push({ name: `${name}/m`, tensor: s.m });
        vs.push({ name: `${name}/v`, tensor: s.v });
      }
    }
    return [it, ...ms, ...vs];
  }

  /**
   * Restores `[iterations, ...m, ...v]` as {@linkcode getWeights} gives them.
   * Moments are matched to variables by name (`<variable>/m`), else by
   * position among the gradients of the first update (a model rebuilt in the
   * same process gets new variable names).
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await (this as unknown as {
      extractIterations(w: NamedTensor[]): Promise<NamedTensor[]>;
    }).extractIterations(weightValues);
    if (rest.length % 2 !== 0) {
      throw new Error(`Adam.setWeights: expected m and v for each variable, got ${rest.length}`);
    }
    this.t = (this as unknown as { iterations_: number }).iterations_;
    this.clearPending();
    const n = rest.length / 2;
    const b = nativeBackend();
    for (let i = 0; i < n; i++) {
      const name = rest[i].name.replace(/\/m$/, "");
      const [m, v] = [rest[i].tensor, rest[n + i].tensor];
      const s = b ? this.slots.get(name) : undefined;
      const js = b ? undefined : this.jsSlots.get(name);
      if (s && b) {
        this.assignResource(b, s.m, m);
        this.assignResource(b, s.v, v);
      } else if (js) {
        js.m.assign(m);
        js.v.assign(v);
      } else {
        const p = { m: tf.keep(m.clone()), v: tf.keep(v.clone()) };
        this.pendingByIndex.push(p);
        this.pendingByName.set(name, p);
      }
    }
  }

  override dispose(): void {
    super.dispose();
    this.clearPending();
    const b = nativeBackend();
    for (const s of this.slots.values()) {
      for (const h of [s.value, s.m, s.v]) {
        if (b) {
          b.executeMultipleOutputs(
            "DestroyResourceOp",
            [
              { name: "ignore_lookup_error", type: b.binding.TF_ATTR_BOOL, value: true },
            ],
            [h],
            0,
          );
        }
        h.dispose();
      }
    }
    this.slots.clear();
    for (const s of this.jsSlots.values()) tf.dispose([s.m, s.v]);
    this.jsSlots.clear();
  }
}
