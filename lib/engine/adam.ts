/**
 * Adam as one TensorFlow `ResourceApplyAdam` kernel per variable on the
 * native engine ({@linkcode adam}), with Keras 3's update rule.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

import { type NativeBackend, nativeBackend } from "./native.ts";
import { withGradientSink } from "./tape_release.ts";

let resourceCounter = 0;

/** The parts of tfjs-node's backend and binding the in-place update uses. */
interface RawBackend {
  tensorMap: { get(dataId: object): RawData | undefined };
  getInputTensorIds(tensors: tf.Tensor[]): number[];
}
interface RawData {
  id: number;
  refCount: number;
  values: unknown;
}
interface RawBinding {
  deleteTensor(id: number): void;
  executeOp(name: string, attrs: unknown[], inputs: number[], outputs: number): { id: number }[];
}

/**
 * The backend's record of `w`'s data when `w` alone holds it (no clone shares
 * it) and it lives in a TensorFlow handle; else null. `ACMC_ADAM_IN_PLACE=0`:
 * always null.
 */
function soleHandle(b: NativeBackend, w: tf.Tensor): RawData | null {
  if (Deno.env.get("ACMC_ADAM_IN_PLACE") === "0") return null;
  const map = (b as unknown as Partial<RawBackend>).tensorMap;
  const d = map?.get((w as unknown as { dataId: object }).dataId);
  return d && d.refCount === 1 && d.values == null && d.id >= 0 ? d : null;
}

/** Adam's state for a list of variables (see {@linkcode adamState}). */
export interface AdamState {
  /** Updates applied so far (Adam's `t`). */
  iterations: number;
  /** Each variable's first and second moments, or null where none exist yet. */
  moments: ({ m: tf.Tensor; v: tf.Tensor } | null)[];
}

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

/**
 * The optimizers {@linkcode adam} made (tfjs' `Optimizer` answers
 * `instanceof` by duck typing, so any Adam would pass that test).
 */
const natives = new WeakSet<object>();

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
    natives.add(this);
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

  /** The update under way: its scalars and the variables already updated. */
  private step: { scalars: tf.Tensor[]; applied: Set<string> } | null = null;

  /** Starts an update: t + 1, and on the native engine its six scalar inputs. */
  private beginStep(b: NativeBackend | null): void {
    this.t++;
    const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = this as unknown as {
      learningRate: number;
      beta1: number;
      beta2: number;
      epsilon: number;
    };
    const scalars = b
      ? [Math.pow(b1, this.t), Math.pow(b2, this.t), lr, b1, b2, eps].map((x) =>
        tf.keep(tf.scalar(x, "float32"))
      )
      : [];
    this.step = { scalars, applied: new Set() };
  }

  private endStep(): void {
    if (this.step) tf.dispose(this.step.scalars);
    this.step = null;
  }

  /**
   * Like tfjs' `minimize` (the call behind `model.fit` and `trainOnBatch`),
   * but on the native engine each weight is updated as soon as its gradient is
   * final, while the backward pass goes on, and that gradient is freed at
   * once: tfjs holds all of them (a whole model's size, 94 MB for ResNet50)
   * until the backward pass ends. The same updates, in another order (each
   * touches one variable). Weights read more than once in the step, and
   * everything on the pure-JS backend, are updated at the end as before.
   * `ACMC_ADAM_EARLY=0` turns it off.
   */
  override minimize(
    f: () => tf.Scalar,
    returnCost = false,
    varList?: tf.Variable[],
  ): tf.Scalar | null {
    this.materialize();
    const b = nativeBackend();
    if (!b || this.step || Deno.env.get("ACMC_ADAM_EARLY") === "0") {
      return super.minimize(f, returnCost, varList);
    }
    // Positions as applyGradients would see them (restored moments without a
    // name match go by position).
    const vars = varList ??
      Object.values(tf.engine().registeredVariables).filter((v) => v.trainable);
    const index = new Map(vars.map((v, i) => [v.id, { name: v.name, i }]));
    this.beginStep(b);
    try {
      // Slots in the variables' order, not the backward pass's: getWeights
      // lists the moments in slot order, and setWeights restores by position.
      tf.tidy(() =>
        vars.forEach((v, i) => {
          if (v.trainable && !this.slots.has(v.name)) this.slotOf(b, v.name, i);
        })
      );
      return withGradientSink((x, g) => {
        const v = index.get(x.id);
        if (!v || !this.step || this.step.applied.has(v.name)) return;
        tf.tidy(() => this.applyNative(b, v.name, g, v.i));
        this.step.applied.add(v.name);
        g.dispose();
      }, () => super.minimize(f, returnCost, varList));
    } finally {
      this.endStep();
    }
  }

  /** The variable `name`'s resources (created from its value and zero or restored moments). */
  private slotOf(b: NativeBackend, name: string, i: number): Slot {
    let s = this.slots.get(name);
    if (!s) {
      const w = tf.engine().registeredVariables[name];
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
    }
    return s;
  }

  /** One `ResourceApplyAdam` of the update under way, for the variable `name`. */
  private applyNative(b: NativeBackend, name: string, g: tf.Tensor, i: number): void {
    const w = tf.engine().registeredVariables[name];
    const t = b.binding;
    const attrs = [
      this.attrsOf(b).T,
      { name: "use_locking", type: t.TF_ATTR_BOOL, value: false },
      { name: "use_nesterov", type: t.TF_ATTR_BOOL, value: false },
    ];
    const s = this.slotOf(b, name, i);
    if (s.synced !== (w as unknown as { dataId: object }).dataId) {
      this.assignResource(b, s.value, w);
    }
    const inputs = [s.value, s.m, s.v, ...this.step!.scalars, g];
    const own = soleHandle(b, w);
    if (own) {
      // w's handle shares the resource's buffer (the last ReadVariableOp):
      // with it alive, ResourceApplyAdam would copy the whole weight before
      // updating it (copy-on-write). Without it the update runs in place, and
      // w's data gets a handle on the result: same values, one pass less.
      const ids = (b as unknown as RawBackend).getInputTensorIds(inputs);
      const raw = b.binding as unknown as RawBinding;
      raw.deleteTensor(own.id);
      try {
        raw.executeOp("ResourceApplyAdam", attrs, ids, 0);
      } finally {
        own.id = raw.executeOp("ReadVariableOp", [this.attrsOf(b).dtype], [ids[0]], 1)[0].id;
      }
      return;
    }
    b.executeMultipleOutputs("ResourceApplyAdam", attrs, inputs, 0);
    w.assign(this.readResource(b, s.value));
    s.synced = (w as unknown as { dataId: object }).dataId;
  }

  override applyGradients(
    variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  ): void {
    this.materialize();
    const items = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    const b = nativeBackend();
    const own = this.step === null; // else minimize began this update
    if (own) this.beginStep(b);
    const step = this.step!;
    try {
      tf.tidy(() => {
        const registered = tf.engine().registeredVariables;
        if (!b) {
          const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = this as unknown as {
            learningRate: number;
            beta1: number;
            beta2: number;
            epsilon: number;
          };
          const alpha = (lr * Math.sqrt(1 - Math.pow(b2, this.t))) / (1 - Math.pow(b1, this.t));
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
          return;
        }
        items.forEach(({ name, tensor: g }, i) => {
          if (g == null || step.applied.has(name)) return;
          this.applyNative(b, name, g, i);
        });
      });
      this.clearPending();
    } finally {
      if (own) this.endStep();
    }
    (this as unknown as { incrementIterations(): void }).incrementIterations();
  }

  /**
   * Moments held elsewhere (a compiled training step's session), copied in on
   * first need: {@linkcode materialize}.
   */
  private remote: {
    vars: tf.Variable[];
    load: () => { m: tf.Tensor; v: tf.Tensor }[];
  } | null = null;

  /** Copies in moments held elsewhere, if any (see `setAdamState`). */
  materialize(): void {
    const r = this.remote;
    if (!r) return;
    this.remote = null;
    const moments = r.load();
    try {
      this.restoreState(r.vars, this.t, moments);
    } finally {
      for (const mv of moments) tf.dispose([mv.m, mv.v]);
    }
  }

  /** Whether `load` is where this optimizer's moments are now. */
  holdsRemote(load: unknown): boolean {
    return this.remote?.load === load;
  }

  /**
   * The step count and each of `vars`' moments (new tensors the caller
   * disposes; null for a variable with none yet): from its slot, or from
   * moments restored by `setWeights` and not yet used.
   */
  stateOf(vars: readonly tf.Variable[]): AdamState {
    this.materialize();
    const b = nativeBackend();
    const moments = vars.map((w, i) => {
      const s = b ? this.slots.get(w.name) : undefined;
      if (s && b) return { m: this.readResource(b, s.m), v: this.readResource(b, s.v) };
      const js = this.jsSlots.get(w.name);
      if (js) return { m: js.m.clone(), v: js.v.clone() };
      const p = this.pendingByName.get(w.name) ?? this.pendingByIndex[i];
      return p ? { m: p.m.clone(), v: p.v.clone() } : null;
    });
    return { iterations: this.t, moments };
  }

  /**
   * Sets the step count and `vars`' moments (copied; the caller keeps
   * `moments`), as a training step run elsewhere left them.
   */
  restoreState(
    vars: readonly tf.Variable[],
    iterations: number,
    moments: readonly { m: tf.Tensor; v: tf.Tensor }[] | (() => { m: tf.Tensor; v: tf.Tensor }[]),
  ): void {
    this.t = iterations;
    (this as unknown as { iterations_: number }).iterations_ = iterations;
    if (typeof moments === "function") {
      this.remote = { vars: [...vars], load: moments };
      return;
    }
    this.remote = null;
    this.clearPending();
    const b = nativeBackend();
    vars.forEach((w, i) => {
      const s = b ? this.slots.get(w.name) : undefined;
      const js = this.jsSlots.get(w.name);
      if (s && b) {
        this.assignResource(b, s.m, moments[i].m);
        this.assignResource(b, s.v, moments[i].v);
      } else if (js) {
        js.m.assign(moments[i].m);
        js.v.assign(moments[i].v);
      } else {
        const p = { m: tf.keep(moments[i].m.clone()), v: tf.keep(moments[i].v.clone()) };
        this.pendingByIndex[i] = p;
        this.pendingByName.set(w.name, p);
        // on the native engine the slot is made now (getWeights lists slots)
        if (b && w.trainable) tf.tidy(() => void this.slotOf(b, w.name, i));
      }
    });
    if (b) this.clearPending();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    this.materialize();
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
    this.remote = null;
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
    this.remote = null;
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

/** True when `optimizer` is one made by {@linkcode adam}. */
export function isNativeAdam(optimizer: tf.Optimizer): boolean {
  return natives.has(optimizer);
}

/**
 * The state of an {@linkcode adam} optimizer for `vars`: its step count and
 * each variable's moments (new tensors the caller disposes; null where none
 * yet), e.g. to continue its updates in a compiled training step.
 */
export function adamState(optimizer: tf.Optimizer, vars: readonly tf.Variable[]): AdamState {
  if (!natives.has(optimizer)) {
    throw new Error("adamState: the optimizer was not made by adam() of lib/engine");
  }
  return (optimizer as NativeAdam).stateOf(vars);
}

/**
 * Gives an {@linkcode adam} optimizer the step count and `vars`' moments
 * (copied) that updates run elsewhere reached; its next update goes on from
 * there. `moments` may be a function that returns them (new tensors, disposed
 * here): it is called only when the optimizer first needs them (its next
 * update, `getWeights`, {@linkcode adamState}), so that moments kept
 * elsewhere (a compiled step's session) are not copied every epoch.
 */
export function setAdamState(
  optimizer: tf.Optimizer,
  vars: readonly tf.Variable[],
  iterations: number,
  moments: readonly { m: tf.Tensor; v: tf.Tensor }[] | (() => { m: tf.Tensor; v: tf.Tensor }[]),
): void {
  if (!natives.has(optimizer)) {
    throw new Error("setAdamState: the optimizer was not made by adam() of lib/engine");
  }
  (optimizer as NativeAdam).restoreState(vars, iterations, moments);
}

/**
 * Copies in the moments an {@linkcode adam} optimizer was told to fetch later
 * (see {@linkcode setAdamState}), if any, and only when they come from `load`
 * (when given): before their source goes away.
 */
export function materializeAdamState(optimizer: tf.Optimizer, load?: unknown): void {
  if (!natives.has(optimizer)) return;
  const o = optimizer as NativeAdam;
  if (load === undefined || o.holdsRemote(load)) o.materialize();
}
