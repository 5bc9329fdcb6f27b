/**
 * A model's whole training step (forward, loss, gradients, Adam, batch-norm
 * statistics) as one TensorFlow graph, run by a session in one native call.
 *
 * Eager execution through the addon runs a ResNet50 step as ~1,400 native
 * calls one after another; Keras runs the same kernels as a graph
 * (`tf.function`): no per-op overhead, TensorFlow's graph rewrites, and
 * independent ops (shortcut and main branch, input and filter gradients) on
 * both cores at once. {@linkcode GraphTrainStep} compiles a tfjs-layers model
 * layer by layer into such a graph (lib/engine/tf_c.ts: TensorFlow's C API),
 * with the same loss as `fit`'s eager step (categorical cross-entropy from
 * probabilities, Keras' clipping, optional class weights), the same Adam
 * update (`ResourceApplyAdam`) and the same moving-statistics update of
 * lib/models' `BatchNormalization`. The weights and Adam's moments live in
 * the session while it trains; {@linkcode GraphTrainStep.pull} copies them
 * back into the model and the optimizer (fit does so at the end of every
 * epoch, before validation and callbacks).
 *
 * Only models made of the layers below compile; {@linkcode graphStepUnsupported}
 * says why another does not (fit then trains eagerly, as before):
 * InputLayer, ResNetPreprocessInput, Rescaling, ZeroPadding2D, Conv2D, Dense,
 * KerasBatchNormalization, Activation / ReLU (relu, softmax, linear), Add /
 * AddThenReLU, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
 * GlobalMaxPooling2D, Flatten, Dropout with rate 0.
 *
 * @example
 * ```ts
 * const step = GraphTrainStep.create(model, optimizer);
 * const { loss, correct } = step.run(x, yOneHot, optimizer);
 * step.pull(); // weights and Adam state back into model and optimizer
 * step.dispose();
 * ```
 *
 * @module
 */
import {
  type AdamState,
  adamState,
  DT,
  Graph,
  type GraphOutput as Output,
  isNativeAdam,
  materializeAdamState,
  releaseColdPages,
  type Session,
  setAdamState,
  tf,
} from "../engine/mod.ts";

/** Keras' backend epsilon (clipping of probabilities in the loss). */
const EPSILON = 1e-7;

type Layer = tf.layers.Layer;
type Cfg = Record<string, unknown>;

const ACTIVATIONS = new Set(["relu", "softmax", "linear"]);

/** Why `layer` cannot be compiled, or null. */
function layerUnsupported(layer: Layer): string | null {
  const c = layer.getClassName();
  const cfg = layer.getConfig() as Cfg;
  const act = cfg.activation as string | undefined;
  if (act !== undefined && !ACTIVATIONS.has(act)) return `${layer.name}: activation ${act}`;
  switch (c) {
    case "InputLayer":
    case "ResNetPreprocessInput":
    case "Rescaling":
    case "ZeroPadding2D":
    case "KerasBatchNormalization":
    case "Add":
    case "AddThenReLU":
    case "MaxPooling2D":
    case "AveragePooling2D":
    case "GlobalAveragePooling2D":
    case "GlobalMaxPooling2D":
    case "Flatten":
    case "Activation":
    case "ReLU":
    case "Dense":
      break;
    case "Conv2D": {
      const d = cfg.dilationRate as number | number[] | undefined;
      if (d !== undefined && [d].flat().some((x) => x !== 1)) return `${layer.name}: dilation`;
      break;
    }
    case "Dropout":
      if ((cfg.rate as number) !== 0) return `${layer.name}: Dropout (random)`;
      break;
    default:
      return `${layer.name}: layer class ${c}`;
  }
  if (c !== "InputLayer" && c !== "Add" && c !== "AddThenReLU" && layer.inboundNodes.length !== 1) {
    return `${layer.name}: shared layer (${layer.inboundNodes.length} calls)`;
  }
  if ((cfg.dataFormat ?? "channelsLast") !== "channelsLast") return `${layer.name}: channelsFirst`;
  return null;
}

/**
 * Why `model` cannot train as one graph (a sentence naming the layer), or
 * null when it can: every layer of a supported class, one input, one output
 * of rank 2 (class probabilities), float32 weights, the native engine.
 */
export function graphStepUnsupported(model: tf.LayersModel): string | null {
  if (tf.getBackend() !== "tensorflow") return "not on the native engine";
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    return "not one input and one output";
  }
  if (model.outputs[0].shape.length !== 2) return "the output is not [batch, classes]";
  for (const layer of model.layers) {
    const why = layerUnsupported(layer);
    if (why) return why;
    if (layer.weights.some((w) => w.dtype !== "float32")) {
      return `${layer.name}: non-float32 weights`;
    }
  }
  return null;
}

/** The parts of tfjs-node's backend that {@linkcode freeTensorData} touches. */
interface RawBackend {
  tensorMap: {
    get(dataId: object): { id: number; values: unknown; refCount: number } | undefined;
  };
  binding: { deleteTensor(id: number): void };
}

/**
 * Frees `t`'s data (the TensorFlow tensor behind it, or the values tfjs-node
 * still keeps in JavaScript until a first op uses them) when `t` alone holds
 * it, leaving the data id registered with no data (id -1): the next
 * `assign`/`write` of the variable disposes it as usual (tfjs-node's
 * `disposeData` skips id -1); reading it first fails. Returns whether it
 * freed anything.
 */
function freeTensorData(t: tf.Tensor): boolean {
  const backend = tf.backend() as unknown as Partial<RawBackend>;
  const info = backend.tensorMap?.get(dataId(t));
  if (!info || info.refCount !== 1) return false;
  if (info.values != null) info.values = null; // not yet copied into TensorFlow
  else if (info.id >= 0) backend.binding!.deleteTensor(info.id);
  else return false;
  info.id = -1;
  return true;
}

/** Bytes of host copies one load or fetch of session variables holds at most (one weight may exceed it). */
const CHUNK_BYTES = 16 * 2 ** 20;

/** `items` in consecutive groups of about {@linkcode CHUNK_BYTES}. */
function chunks<T>(items: T[], bytes: (x: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [], sum = 0;
  for (const x of items) {
    if (cur.length && sum + bytes(x) > CHUNK_BYTES) {
      out.push(cur);
      cur = [];
      sum = 0;
    }
    cur.push(x);
    sum += bytes(x);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Elements of a tensor of `shape`. */
function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The identity of a tensor's data (changes when a variable is assigned). */
function dataId(t: tf.Tensor): object {
  return (t as unknown as { dataId: object }).dataId;
}

interface GraphVariable {
  /** The model's variable (null for an Adam slot). */
  variable: tf.LayerVariable;
  shape: number[];
  /** Bytes (float32). */
  size: number;
  handle: Output;
  read: Output;
  init: Output;
  assign: Deno.PointerValue;
  /** Sets it to zeros (Adam's moments only). */
  zero?: Deno.PointerValue;
}

/** What one training step returns. */
export interface GraphStepResult {
  /** The batch's mean loss (weighted as fit's eager step). */
  loss: number;
  /** How many of the batch's images were classified right. */
  correct: number;
}

/** Options of {@linkcode GraphTrainStep.create}. */
export interface GraphTrainStepOptions {
  /** Per-class loss weights (length = classes), as fit's `classWeight`. Default none. */
  classWeight?: Float32Array | null;
}

/**
 * A compiled training step of one model with one Adam optimizer (lib/engine's
 * `adam()`). See the module documentation.
 */
export class GraphTrainStep {
  #g: Graph;
  #s: Session;
  #vars: GraphVariable[] = [];
  #trainable: GraphVariable[] = [];
  #slots: { m: GraphVariable; v: GraphVariable }[] = [];
  #x!: Output;
  #y!: Output;
  #lr!: Output;
  #beta1Power!: Output;
  #beta2Power!: Output;
  #loss!: Output;
  #correct!: Output;
  #targets: Deno.PointerValue[] = [];
  #grads: Output[] = [];
  #t = 0;
  #model: tf.LayersModel;
  #optimizer: tf.AdamOptimizer;
  #classes: number;
  #disposed = false;
  /** The tfjs data of each weight when the session last had its value. */
  #seen = new Map<GraphVariable, object>();
  /** Whether the model's own copies of the weights are freed (see {@linkcode park}). */
  #parked = false;
  /** Whether the session's Adam state is the optimizer's (it stepped only here since). */
  #stateKnown = false;
  /** Key of the options the graph was built with (see {@linkcode compiledTrainStep}). */
  key = "";

  private constructor(model: tf.LayersModel, optimizer: tf.AdamOptimizer, classes: number) {
    this.#model = model;
    this.#optimizer = optimizer;
    this.#classes = classes;
    this.#g = new Graph();
    this.#s = undefined as unknown as Session;
  }

  /**
   * Compiles `model`'s training step with `optimizer` (lib/engine's `adam()`)
   * and loads the model's weights and the optimizer's state into it. Throws
   * when {@linkcode graphStepUnsupported} names a reason.
   */
  static create(
    model: tf.LayersModel,
    optimizer: tf.AdamOptimizer,
    options: GraphTrainStepOptions = {},
  ): GraphTrainStep {
    const why = graphStepUnsupported(model);
    if (why) throw new Error(`GraphTrainStep: cannot compile ${model.name}: ${why}`);
    const classes = model.outputs[0].shape[1] as number;
    const step = new GraphTrainStep(model, optimizer, classes);
    try {
      step.#build(options.classWeight ?? null);
      step.sync();
    } catch (e) {
      // nothing was parked or handed to the optimizer yet: just free TensorFlow's side
      step.#disposed = true;
      if (step.#s) step.#s.close();
      step.#g.dispose();
      throw e;
    }
    return step;
  }

  #variable(v: tf.LayerVariable): GraphVariable {
    const g = this.#g;
    const shape = v.shape as number[];
    const handle = g.op("VarHandleOp", [], {
      dtype: { type: DT.FLOAT },
      shape: { shape },
      shared_name: `acmc_graph_${v.id}_${this.#vars.length}`,
    });
    const init = g.placeholder(`init_${this.#vars.length}`, DT.FLOAT, shape);
    const assign = g.addOp("AssignVariableOp", [handle, init], { dtype: { type: DT.FLOAT } });
    const read = g.op("ReadVariableOp", [handle], { dtype: { type: DT.FLOAT } });
    const gv = { variable: v, shape, size: 4 * count(shape), handle, read, init, assign };
    this.#vars.push(gv);
    return gv;
  }

  #slot(shape: number[], name: string): GraphVariable {
    const g = this.#g;
    const handle = g.op("VarHandleOp", [], {
      dtype: { type: DT.FLOAT },
      shape: { shape },
      shared_name: `acmc_graph_slot_${name}_${this.#slots.length}`,
    });
    const init = g.placeholder(`slot_init_${name}_${this.#slots.length}`, DT.FLOAT, shape);
    const assign = g.addOp("AssignVariableOp", [handle, init], { dtype: { type: DT.FLOAT } });
    const read = g.op("ReadVariableOp", [handle], { dtype: { type: DT.FLOAT } });
    const zeros = g.op("Fill", [
      g.constant(DT.INT32, [shape.length], new Int32Array(shape)),
      g.scalar(0),
    ], { T: { type: DT.FLOAT }, index_type: { type: DT.INT32 } });
    const zero = g.addOp("AssignVariableOp", [handle, zeros], { dtype: { type: DT.FLOAT } });
    return {
      variable: null as unknown as tf.LayerVariable,
      shape,
      size: 4 * count(shape),
      handle,
      read,
      init,
      assign,
      zero,
    };
  }

  #build(classWeight: Float32Array | null): void {
    const g = this.#g;
    const f32 = { T: { type: DT.FLOAT } };
    const int32 = (xs: number[]) => g.constant(DT.INT32, [xs.length], new Int32Array(xs));
    const model = this.#model;
    const inShape = model.inputs[0].shape.slice(1).map((d) => d ?? -1) as number[];
    this.#x = g.placeholder("x", DT.FLOAT, [-1, ...inShape]);
    this.#y = g.placeholder("y_true", DT.FLOAT, [-1, this.#classes]);
    this.#lr = g.placeholder("learning_rate", DT.FLOAT, []);
    this.#beta1Power = g.placeholder("beta1_power", DT.FLOAT, []);
    this.#beta2Power = g.placeholder("beta2_power", DT.FLOAT, []);
    const byVar = new Map<tf.LayerVariable, GraphVariable>();
    const v = (w: tf.LayerVariable) => {
      let gv = byVar.get(w);
      if (!gv) byVar.set(w, gv = this.#variable(w));
      return gv;
    };
    const weight = (layer: Layer, suffix: string): GraphVariable => {
      const w = layer.weights.find((x) => x.originalName.endsWith(`/${suffix}`));
      if (!w) throw new Error(`GraphTrainStep: ${layer.name} has no weight ${suffix}`);
      return v(w);
    };
    const relus: Deno.PointerValue[] = [];
    const activation = (x: Output, act: string | undefined): Output => {
      if (act === "relu") {
        const r = g.op("Relu", [x], f32);
        relus.push(r.op);
        return r;
      }
      if (act === "softmax") return g.op("Softmax", [x], f32);
      return x;
    };
    const pair = (x: unknown): [number, number] =>
      Array.isArray(x) ? [x[0], x[1] ?? x[0]] as [number, number] : [x as number, x as number];
    const moving: Deno.PointerValue[] = [];
    const values = new Map<string, Output>(); // symbolic tensor name -> graph output
    values.set(model.inputs[0].name, this.#x);
    for (const layer of model.layers) {
      const c = layer.getClassName();
      if (c === "InputLayer") continue;
      const node = layer.inboundNodes[0];
      const ins = node.inputTensors.map((t) => {
        const o = values.get(t.name);
        if (!o) throw new Error(`GraphTrainStep: ${layer.name}'s input ${t.name} is not computed`);
        return o;
      });
      const x = ins[0];
      const cfg = layer.getConfig() as Cfg;
      let y: Output;
      switch (c) {
        case "ResNetPreprocessInput": {
          const bgr = g.op("ReverseV2", [x, int32([-1])], {
            T: { type: DT.FLOAT },
            Tidx: { type: DT.INT32 },
          });
          const mean = g.constant(DT.FLOAT, [3], new Float32Array([103.939, 116.779, 123.68]));
          y = g.op("Sub", [bgr, mean], f32);
          break;
        }
        case "Rescaling":
          y = g.op("AddV2", [
            g.op("Mul", [x, g.scalar(cfg.scale as number)], f32),
            g.scalar((cfg.offset as number) ?? 0),
          ], f32);
          break;
        case "ZeroPadding2D": {
          const [[t, b], [l, r]] = cfg.padding as [[number, number], [number, number]];
          const pads = g.constant(DT.INT32, [4, 2], new Int32Array([0, 0, t, b, l, r, 0, 0]));
          y = g.op("Pad", [x, pads], { T: { type: DT.FLOAT }, Tpaddings: { type: DT.INT32 } });
          break;
        }
        case "Conv2D": {
          const [sh, sw] = pair(cfg.strides);
          y = g.op("Conv2D", [x, weight(layer, "kernel").read], {
            ...f32,
            strides: { ints: [1, sh, sw, 1] },
            padding: (cfg.padding as string).toUpperCase(),
          });
          if (cfg.useBias) y = g.op("BiasAdd", [y, weight(layer, "bias").read], f32);
          y = activation(y, cfg.activation as string);
          break;
        }
        case "Dense": {
          y = g.op("MatMul", [x, weight(layer, "kernel").read], f32);
          if (cfg.useBias) y = g.op("BiasAdd", [y, weight(layer, "bias").read], f32);
          y = activation(y, cfg.activation as string);
          break;
        }
        case "KerasBatchNormalization": {
          const gamma = weight(layer, "gamma");
          const beta = weight(layer, "beta");
          const mean = weight(layer, "moving_mean");
          const variance = weight(layer, "moving_variance");
          const eps = { float: cfg.epsilon as number };
          const training = layer.trainable && gamma.variable.trainable;
          if (!training) {
            y = g.op("FusedBatchNormV3", [x, gamma.read, beta.read, mean.read, variance.read], {
              ...f32,
              U: { type: DT.FLOAT },
              epsilon: eps,
              is_training: false,
            });
            break;
          }
          const empty = g.constant(DT.FLOAT, [0], new Float32Array(0));
          const bn = g.addOp("FusedBatchNormV3", [x, gamma.read, beta.read, empty, empty], {
            ...f32,
            U: { type: DT.FLOAT },
            epsilon: eps,
            is_training: true,
          });
          y = { op: bn, index: 0 };
          // Keras' moving variance uses the biased batch variance; the kernel
          // returns the Bessel-corrected one: times (n - 1) / n, n = N*H*W.
          const shape = g.op("Shape", [x], { T: { type: DT.FLOAT }, out_type: { type: DT.INT32 } });
          const nhw = g.op("StridedSlice", [shape, int32([0]), int32([3]), int32([1])], {
            T: { type: DT.INT32 },
            Index: { type: DT.INT32 },
          });
          const n = g.op("Cast", [
            g.op("Prod", [nhw, int32([0])], { T: { type: DT.INT32 }, Tidx: { type: DT.INT32 } }),
          ], {
            SrcT: { type: DT.INT32 },
            DstT: { type: DT.FLOAT },
          });
          const ratio = g.op("RealDiv", [g.op("Sub", [n, g.scalar(1)], f32), n], f32);
          const biased = g.op("Mul", [{ op: bn, index: 2 }, ratio], f32);
          const m = cfg.momentum as number;
          const update = (stat: GraphVariable, batch: Output) => {
            const next = g.op("AddV2", [
              g.op("Mul", [stat.read, g.scalar(m)], f32),
              g.op("Mul", [batch, g.scalar(1 - m)], f32),
            ], f32);
            moving.push(
              g.addOp("AssignVariableOp", [stat.handle, next], { dtype: { type: DT.FLOAT } }),
            );
          };
          update(mean, { op: bn, index: 1 });
          update(variance, biased);
          break;
        }
        case "Activation":
        case "ReLU":
          y = activation(x, cfg.activation as string);
          break;
        case "Add":
        case "AddThenReLU":
          y = ins.length === 2
            ? g.op("AddV2", ins, f32)
            : g.op("AddN", [ins], { ...f32, N: ins.length });
          break;
        case "MaxPooling2D":
        case "AveragePooling2D": {
          const [ph, pw] = pair(cfg.poolSize);
          const [sh, sw] = pair(cfg.strides ?? cfg.poolSize);
          y = g.op(c === "MaxPooling2D" ? "MaxPool" : "AvgPool", [x], {
            ...f32,
            ksize: { ints: [1, ph, pw, 1] },
            strides: { ints: [1, sh, sw, 1] },
            padding: (cfg.padding as string).toUpperCase(),
          });
          break;
        }
        case "GlobalAveragePooling2D":
        case "GlobalMaxPooling2D":
          y = g.op(c === "GlobalAveragePooling2D" ? "Mean" : "Max", [x, int32([1, 2])], {
            ...f32,
            Tidx: { type: DT.INT32 },
            keep_dims: false,
          });
          break;
        case "Flatten": {
          const size = (layer.outputShape as number[]).slice(1).reduce((a, b) => a * b, 1);
          y = g.op("Reshape", [x, int32([-1, size])], { ...f32, Tshape: { type: DT.INT32 } });
          break;
        }
        case "Dropout":
          y = x;
          break;
        default:
          throw new Error(`GraphTrainStep: layer class ${c} (${layer.name})`);
      }
      values.set(node.outputTensors[0].name, y);
    }
    const pred = values.get(model.outputs[0].name)!;
    const yTrue = this.#y;
    // fit's loss: p / sum(p), clipped to [eps, 1 - eps], -sum(y log p)
    const sum = (t: Output, axis: number[], keep: boolean) =>
      g.op("Sum", [t, int32(axis)], { ...f32, Tidx: { type: DT.INT32 }, keep_dims: keep });
    const p = g.op("RealDiv", [pred, sum(pred, [-1], true)], f32);
    const clipped = g.op("Maximum", [
      g.op("Minimum", [p, g.scalar(1 - EPSILON)], f32),
      g.scalar(EPSILON),
    ], f32);
    const perSample = g.op("Neg", [
      sum(g.op("Mul", [yTrue, g.op("Log", [clipped], f32)], f32), [-1], false),
    ], f32);
    const batch = g.op("Cast", [g.op("StridedSlice", [
      g.op("Shape", [yTrue], { T: { type: DT.FLOAT }, out_type: { type: DT.INT32 } }),
      int32([0]),
      int32([1]),
      int32([1]),
    ], { T: { type: DT.INT32 }, Index: { type: DT.INT32 }, shrink_axis_mask: 1 })], {
      SrcT: { type: DT.INT32 },
      DstT: { type: DT.FLOAT },
    });
    if (classWeight) {
      const cw = g.constant(DT.FLOAT, [this.#classes, 1], classWeight);
      const sw = g.op("Reshape", [g.op("MatMul", [yTrue, cw], f32), int32([-1])], {
        ...f32,
        Tshape: { type: DT.INT32 },
      });
      this.#loss = g.op(
        "RealDiv",
        [sum(g.op("Mul", [perSample, sw], f32), [0], false), batch],
        f32,
      );
    } else {
      this.#loss = g.op("Mean", [perSample, int32([0])], {
        ...f32,
        Tidx: { type: DT.INT32 },
        keep_dims: false,
      });
    }
    const argmax = (t: Output) =>
      g.op("ArgMax", [t, g.constant(DT.INT32, [], new Int32Array([-1]))], {
        ...f32,
        Tidx: { type: DT.INT32 },
        output_type: { type: DT.INT32 },
      });
    this.#correct = sum(
      g.op("Cast", [g.op("Equal", [argmax(pred), argmax(yTrue)], { T: { type: DT.INT32 } })], {
        SrcT: { type: DT.BOOL },
        DstT: { type: DT.FLOAT },
      }),
      [0],
      false,
    );
    // gradients and Adam
    const trainableSet = new Set(model.trainableWeights.map((w) => w.id));
    this.#trainable = this.#vars.filter((gv) => trainableSet.has(gv.variable.id));
    if (this.#trainable.length === 0) {
      throw new Error("GraphTrainStep: the model has no trainable weights");
    }
    const grads = g.gradients([this.#loss], this.#trainable.map((t) => t.read));
    this.#grads = grads;
    // TensorFlow's C++ gradient of Relu reads the Relu's input (the Python one
    // its output; the same mask): that kept every batch norm's and Add's
    // output alive until the backward pass reached it, one activation-sized
    // tensor per ReLU (ResNet50: 49). Reading the output, which the next
    // layer's gradient keeps anyway, frees them during the forward pass.
    for (const relu of relus) {
      const x = g.input(relu, 0);
      for (const c of g.consumers(x)) {
        if (g.opType(c) !== "ReluGrad") continue;
        const features = g.input(c, 1);
        if (Deno.UnsafePointer.equals(features.op, x.op) && features.index === x.index) {
          g.updateInput(c, 1, { op: relu, index: 0 });
        }
      }
    }
    // Adam updates each weight as soon as its gradient is final and every op
    // that reads the weight has run: in place (a weight still read by a
    // pending gradient op would be copied first, copy-on-write), and its
    // gradient freed at once instead of every gradient living until the last
    // one is computed (94 MB for ResNet50). ACMC_ADAM_EARLY=0: after all
    // gradients, as Keras does.
    const early = Deno.env.get("ACMC_ADAM_EARLY") !== "0";
    const barrier = early ? null : g.addOp("NoOp", [], {}, { control: grads.map((o) => o.op) });
    const after = (i: number) =>
      barrier ? [barrier] : [grads[i].op, ...g.consumers(this.#trainable[i].read)];
    const opt = this.#optimizer as unknown as { beta1: number; beta2: number; epsilon: number };
    this.#slots = this.#trainable.map((t, i) => ({
      m: this.#slot(t.variable.shape as number[], `m${i}`),
      v: this.#slot(t.variable.shape as number[], `v${i}`),
    }));
    const applies = this.#trainable.map((t, i) =>
      g.addOp(
        "ResourceApplyAdam",
        [
          t.handle,
          this.#slots[i].m.handle,
          this.#slots[i].v.handle,
          this.#beta1Power,
          this.#beta2Power,
          this.#lr,
          g.scalar(opt.beta1),
          g.scalar(opt.beta2),
          g.scalar(opt.epsilon),
          grads[i],
        ],
        { ...f32, use_locking: false },
        { control: after(i) },
      )
    );
    this.#targets = [...applies, ...moving];
    // ConfigProto{allow_soft_placement: true}: on a GPU build, ops without a
    // GPU kernel run on the CPU instead of failing (threads: TensorFlow's
    // defaults, or TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS)
    this.#s = this.#g.session(new Uint8Array([0x38, 0x01]));
  }

  /**
   * Brings the session up to date: the model's weights where they changed
   * since the session last saw them (set by hand, restored from a
   * checkpoint), and `optimizer`'s step count and moments when it is another
   * optimizer or has stepped elsewhere since.
   */
  sync(optimizer: tf.AdamOptimizer = this.#optimizer): void {
    // The session is in step with the model and the optimizer when the
    // optimizer is the one it last handed its state to and has not stepped
    // since; otherwise (another optimizer, eager steps in between, a run cut
    // short before its pull) everything is loaded again.
    const iterations = (optimizer as unknown as { iterations: number }).iterations;
    const fresh = optimizer === this.#optimizer && this.#stateKnown && iterations === this.#t;
    // the moments about to be overwritten may still be another optimizer's
    if (optimizer !== this.#optimizer) materializeAdamState(this.#optimizer, this.#loadMoments);
    const loads: [GraphVariable, () => Float32Array][] = [];
    for (const gv of this.#vars) {
      const value = gv.variable.read();
      if (fresh && this.#seen.get(gv) === dataId(value)) continue;
      loads.push([gv, () => value.dataSync() as Float32Array]);
    }
    let moments: AdamState["moments"] = [];
    const zeros: Deno.PointerValue[] = [];
    if (!fresh) {
      const state = adamState(
        optimizer,
        this.#trainable.map((t) => t.variable.read() as tf.Variable),
      );
      this.#t = state.iterations;
      moments = state.moments;
      moments.forEach((mv, i) => {
        const { m, v } = this.#slots[i];
        if (!mv) return void zeros.push(m.zero!, v.zero!);
        loads.push([m, () => mv.m.dataSync() as Float32Array]);
        loads.push([v, () => mv.v.dataSync() as Float32Array]);
      });
    }
    try {
      this.#assignAll(loads);
      if (zeros.length) this.#s.run([], [], zeros);
    } finally {
      for (const mv of moments) if (mv) tf.dispose([mv.m, mv.v]);
    }
    for (const gv of this.#vars) this.#seen.set(gv, dataId(gv.variable.read()));
    this.#optimizer = optimizer;
    this.#stateKnown = true;
  }

  /**
   * Sets session variables, in runs of about {@linkcode CHUNK_BYTES}: the
   * host copies in flight stay small, and each run's signature (TensorFlow
   * prunes and optimizes the graph once per signature, ~50 ms) is not one per
   * variable.
   */
  #assignAll(loads: [GraphVariable, () => Float32Array][]): void {
    const g = this.#g;
    for (const chunk of chunks(loads, ([gv]) => gv.size)) {
      const feeds: [Output, Deno.PointerValue][] = [];
      try {
        for (const [gv, data] of chunk) feeds.push([gv.init, g.tensor(DT.FLOAT, gv.shape, data())]);
        this.#s.run(feeds, [], chunk.map(([gv]) => gv.assign));
      } finally {
        for (const [, t] of feeds) g.deleteTensor(t);
      }
    }
  }

  /** Session variables' values, handed to `use` one by one (fetched in runs of ~16 MB). */
  #values(list: GraphVariable[], use: (gv: GraphVariable, value: Float32Array) => void): void {
    const g = this.#g;
    for (const chunk of chunks(list, (gv) => gv.size)) {
      const out = this.#s.run([], chunk.map((gv) => gv.read));
      try {
        chunk.forEach((gv, i) => use(gv, g.read(out[i], Float32Array)));
      } finally {
        for (const t of out) g.deleteTensor(t);
      }
    }
  }

  /**
   * One training step on images `x` (`[batch, ...input shape]`, already
   * preprocessed as fit's `preprocess` would) and one-hot labels `yTrue`, at
   * the optimizer's current learning rate.
   */
  run(x: tf.Tensor, yTrue: tf.Tensor2D): GraphStepResult {
    if (this.#disposed) throw new Error("GraphTrainStep: disposed");
    const g = this.#g;
    const opt = this.#optimizer as unknown as {
      learningRate: number;
      beta1: number;
      beta2: number;
    };
    this.#t++;
    const feeds: [Output, Deno.PointerValue][] = [
      [this.#x, g.tensor(DT.FLOAT, x.shape, x.dataSync() as Float32Array)],
      [this.#y, g.tensor(DT.FLOAT, yTrue.shape, yTrue.dataSync() as Float32Array)],
      [this.#lr, g.tensor(DT.FLOAT, [], new Float32Array([opt.learningRate]))],
      [this.#beta1Power, g.tensor(DT.FLOAT, [], new Float32Array([Math.pow(opt.beta1, this.#t)]))],
      [this.#beta2Power, g.tensor(DT.FLOAT, [], new Float32Array([Math.pow(opt.beta2, this.#t)]))],
    ];
    let out: Deno.PointerValue[] = [];
    try {
      out = this.#s.run(feeds, [this.#loss, this.#correct], this.#targets);
      if (coldReleases < 2 && Deno.env.get("ACMC_COLD_PAGES") !== "0") {
        // the first runs built, optimized and JIT-compiled the graph's
        // kernels: library pages training never touches again (cold_pages.ts)
        coldReleases++;
        releaseColdPages();
      }
      return { loss: g.read(out[0], Float32Array)[0], correct: g.read(out[1], Float32Array)[0] };
    } finally {
      for (const [, t] of feeds) g.deleteTensor(t);
      for (const t of out) g.deleteTensor(t);
    }
  }

  /**
   * The loss and the gradient of every trainable weight (by the weight's
   * name) on images `x` and one-hot `yTrue`, computed by the graph without
   * updating anything: what the next {@linkcode run} would hand Adam. For
   * checks against other implementations (Adam turns float noise in
   * near-zero gradients into full-size steps, so comparing updated weights
   * says little).
   */
  gradients(
    x: tf.Tensor,
    yTrue: tf.Tensor2D,
  ): { loss: number; gradients: Map<string, Float32Array> } {
    if (this.#disposed) throw new Error("GraphTrainStep: disposed");
    const g = this.#g;
    const feeds: [Output, Deno.PointerValue][] = [
      [this.#x, g.tensor(DT.FLOAT, x.shape, x.dataSync() as Float32Array)],
      [this.#y, g.tensor(DT.FLOAT, yTrue.shape, yTrue.dataSync() as Float32Array)],
    ];
    let out: Deno.PointerValue[] = [];
    try {
      out = this.#s.run(feeds, [this.#loss, ...this.#grads]);
      const gradients = new Map(
        this.#trainable.map((t, i) => [t.variable.name, g.read(out[i + 1], Float32Array)]),
      );
      return { loss: g.read(out[0], Float32Array)[0], gradients };
    } finally {
      for (const [, t] of feeds) g.deleteTensor(t);
      for (const t of out) g.deleteTensor(t);
    }
  }

  /**
   * Frees the model's own copy of its weights while the session holds them
   * (94 MB for ResNet50): until {@linkcode pull} gives them back, nothing may
   * read the model's weights (a predict, a callback at the end of a batch);
   * {@linkcode dispose} pulls first. Only weights whose data nothing else
   * shares are freed. Returns the bytes freed.
   */
  park(): number {
    if (this.#disposed) throw new Error("GraphTrainStep: disposed");
    let bytes = 0;
    for (const gv of this.#vars) {
      if (freeTensorData(gv.variable.read())) bytes += 4 * gv.shape.reduce((a, b) => a * b, 1);
    }
    this.#parked = true;
    // Weights tfjs still kept as JavaScript arrays are garbage now: collected
    // at once where the process allows it (tools/alloc.sh: --expose-gc), so
    // that their memory serves the session's first steps.
    (globalThis as { gc?: () => void }).gc?.();
    return bytes;
  }

  /** Whether the model's weights are parked (see {@linkcode park}). */
  get parked(): boolean {
    return this.#parked;
  }

  /** Steps run so far with this optimizer (Adam's `iterations`). */
  get iterations(): number {
    return this.#t;
  }

  /**
   * Copies the session's weights into the model and Adam's state into the
   * optimizer (one variable at a time).
   */
  pull(): void {
    this.#parked = false;
    this.#values(this.#vars, (gv, value) => {
      const t = tf.tensor(value, gv.shape);
      gv.variable.write(t);
      t.dispose();
      this.#seen.set(gv, dataId(gv.variable.read()));
    });
    // Adam's moments stay in the session until the optimizer needs them
    // (its next eager update, getWeights for a checkpoint): copying them out
    // every epoch would hold a second set of them (188 MB for ResNet50)
    setAdamState(
      this.#optimizer,
      this.#trainable.map((t) => t.variable.read() as tf.Variable),
      this.#t,
      this.#loadMoments,
    );
    this.#stateKnown = true;
  }

  /** The session's Adam moments as new tensors (what the optimizer loads when it needs them). */
  #loadMoments = (): { m: tf.Tensor; v: tf.Tensor }[] => {
    if (this.#disposed) throw new Error("GraphTrainStep: moments asked for after dispose");
    const values = new Map<GraphVariable, Float32Array>();
    this.#values(this.#slots.flatMap((s) => [s.m, s.v]), (gv, v) => values.set(gv, v));
    return this.#slots.map((s, i) => ({
      m: tf.tensor(values.get(s.m)!, this.#trainable[i].shape),
      v: tf.tensor(values.get(s.v)!, this.#trainable[i].shape),
    }));
  };

  /** Frees the session and the graph (the model keeps what {@linkcode pull} gave it). */
  dispose(): void {
    if (this.#disposed) return;
    if (this.#parked) this.pull();
    materializeAdamState(this.#optimizer, this.#loadMoments);
    this.#disposed = true;
    this.#s.close();
    this.#g.dispose();
  }
}

let cached: { model: tf.LayersModel; step: GraphTrainStep } | null = null;
/** Graph runs after which this process released cold library pages (at most 2). */
let coldReleases = 0;

/**
 * Why `fit` trains `model` with `optimizer` eagerly rather than as one graph,
 * or null when it compiles: `runEagerly`, `ACMC_GRAPH_STEP=0`, an optimizer
 * not made by lib/engine's `adam()`, or {@linkcode graphStepUnsupported}.
 */
export function eagerReason(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  runEagerly = false,
): string | null {
  if (runEagerly) return "runEagerly";
  if (Deno.env.get("ACMC_GRAPH_STEP") === "0") return "ACMC_GRAPH_STEP=0";
  if (!isNativeAdam(optimizer)) return "the optimizer is not lib/engine's adam()";
  return graphStepUnsupported(model);
}

/**
 * The compiled training step of `model` (see {@linkcode GraphTrainStep}),
 * synced with `optimizer`: the last one compiled is kept for the next call on
 * the same model with the same options, and freed when another model is
 * compiled or by {@linkcode releaseCompiledStep} (which `fit` calls when it
 * returns unless `keepCompiledStep`: the short runs of `estimateTrainingTime`
 * and `stepCostBySize` compile once).
 */
export function compiledTrainStep(
  model: tf.LayersModel,
  optimizer: tf.AdamOptimizer,
  options: GraphTrainStepOptions = {},
): GraphTrainStep {
  const o = optimizer as unknown as { beta1: number; beta2: number; epsilon: number };
  const key = JSON.stringify([
    options.classWeight ? [...options.classWeight] : null,
    o.beta1,
    o.beta2,
    o.epsilon,
    model.layers.map((l) => l.trainable),
  ]);
  if (cached && cached.model === model && cached.step.key === key) {
    cached.step.sync(optimizer);
    return cached.step;
  }
  releaseCompiledStep();
  const step = GraphTrainStep.create(model, optimizer, options);
  step.key = key;
  cached = { model, step };
  return step;
}

/** The compiled step {@linkcode compiledTrainStep} keeps for `model`, or null. */
export function keptCompiledStep(model: tf.LayersModel): GraphTrainStep | null {
  return cached?.model === model ? cached.step : null;
}

/**
 * Frees the training step {@linkcode compiledTrainStep} keeps, if any (only
 * when it is `step`, when given).
 */
export function releaseCompiledStep(step?: GraphTrainStep): void {
  if (!cached || (step && cached.step !== step)) return;
  const { step: kept } = cached;
  cached = null;
  kept.dispose();
}
