/**
 * Backprop memory: frees each op's saved tensors and incoming gradients as
 * soon as its gradient has been computed, as TensorFlow's executor does (tfjs
 * keeps them all until the backward pass ends).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

import { withUnusedInputGradient } from "./conv_grads.ts";

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

/**
 * Takes the gradient of one of the `xs` of a top-level gradient computation as
 * soon as it is final, during the backward pass; it owns the gradient from
 * then on (e.g. applies it and disposes it; tfjs then returns that disposed
 * tensor among the results).
 */
export type GradientSink = (x: tf.Tensor, gradient: tf.Tensor) => void;

let currentSink: GradientSink | null = null;

/**
 * Runs `fn` with `sink` receiving, during each top-level `engine.gradients`
 * call in it, the gradient of every `xs` tensor that exactly one op on the tape
 * consumed, right after that op's gradient has run (its gradient is then
 * final: nothing is added to it later). Other `xs` keep tfjs' way (their
 * gradients are returned at the end). Needs {@linkcode installEarlyGradientRelease};
 * lib/engine's `adam` uses it to update each weight while the backward pass
 * goes on, instead of holding every gradient (94 MB for ResNet50) until it
 * ends.
 */
export function withGradientSink<T>(sink: GradientSink, fn: () => T): T {
  const outer = currentSink;
  currentSink = sink;
  try {
    return fn();
  } finally {
    currentSink = outer;
  }
}

/** The `xs` of the `engine.gradients` calls under way, innermost last, and what depends on them. */
const gradientCalls: {
  xs: tf.Tensor[];
  reach?: Set<number>;
  sink: GradientSink | null;
  /** What `f` returned (the tensor whose gradient is taken). */
  y?: tf.Tensor;
  /** Ids of the xs that exactly one node on the backward pass consumes. */
  single?: Set<number>;
}[] = [];

/**
 * Ids of the innermost call's `xs` that exactly one tape node leading to its
 * `y` consumes, once (tfjs' backward pass runs only the nodes leading to y:
 * e.g. not the `Identity` nodes of the copies an op saves for its gradient).
 */
function singleUseXs(engine: EngineInternals): Set<number> {
  const call = gradientCalls[gradientCalls.length - 1];
  if (!call.single) {
    const uses = new Map(call.xs.map((x) => [x.id, 0]));
    const tape = engine.state.activeTape ?? [];
    const toY = new Set(call.y ? [call.y.id] : []);
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i];
      if (!node.outputs.some((o) => toY.has(o.id))) continue;
      for (const t of Object.values(node.inputs)) {
        toY.add(t.id);
        const n = uses.get(t.id);
        if (n !== undefined) uses.set(t.id, n + 1);
      }
    }
    call.single = new Set([...uses].filter(([, n]) => n === 1).map(([id]) => id));
  }
  return call.single;
}

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
 * (not inside a higher-order gradient). Global and idempotent;
 * `installFastGradients` (./fast_gradients.ts) calls it.
 */
export function installEarlyGradientRelease(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.__acmcEarlyRelease) return;
  engine.__acmcEarlyRelease = true;
  const gradients = engine.gradients;
  engine.gradients = function (this: EngineInternals, ...args: unknown[]) {
    const call: (typeof gradientCalls)[number] = {
      xs: args[1] as tf.Tensor[],
      sink: this.state.gradientDepth === 0 ? currentSink : null,
    };
    if (call.sink) {
      const f = args[0] as () => tf.Tensor;
      args[0] = () => (call.y = f());
    }
    gradientCalls.push(call);
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
      const byName = new Map<string, tf.Tensor>();
      const sink = gradientCalls[gradientCalls.length - 1]?.sink;
      const release = () => {
        for (const t of node.saved ?? []) if (!results.includes(t)) t.dispose();
        dys.forEach((dy, i) => {
          // Only gradients made during this backward pass (newer than the
          // output they belong to): a caller's own dy is older.
          const out = node.outputs[i];
          if (dy && out && dy.id > out.id && !results.includes(dy)) dy.dispose();
        });
        if (sink) {
          // Variables this node alone consumed: their gradients are final
          // (and the copies saved of them are gone).
          const single = singleUseXs(this);
          for (const [name, t] of needed) {
            const g = byName.get(name);
            if (g && single.has(t.id)) sink(t, g);
          }
        }
      };
      const wrapped: Record<string, () => tf.Tensor> = {};
      for (const [name, thunk] of Object.entries(thunks)) {
        wrapped[name] = () => {
          const r = thunk();
          results.push(r);
          byName.set(name, r);
          if (needed.some(([n]) => n === name) && --left === 0) release();
          return r;
        };
      }
      return wrapped;
    };
  };
}
