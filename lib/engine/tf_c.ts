/**
 * TensorFlow's C API (graphs and sessions) through Deno's FFI, on the same
 * libtensorflow the native engine loaded.
 *
 * The tfjs-node addon only runs eager ops, one native call each; a training
 * step built as one TensorFlow graph runs in one call, with TensorFlow's graph
 * optimizations and independent ops on several cores at once (what Keras'
 * `tf.function` gets). No library wraps this C API for Deno, so this module
 * declares the few functions it needs (`tensorflow/c/c_api.h`) and nothing
 * more: building ops, symbolic gradients (`TF_AddGradients`, the C++ gradient
 * registry), sessions, and host tensors.
 *
 * @example
 * ```ts
 * const g = new Graph(); // the engine's libtensorflow (after initEngine)
 * const x = g.placeholder("x", DT.FLOAT, [2]);
 * const y = g.op("Square", [x], { T: DT.FLOAT });
 * const s = g.session();
 * const [out] = s.run([[x, g.tensor(DT.FLOAT, [2], new Float32Array([1, 2]))]], [y]);
 * console.log(g.read(out, Float32Array)); // Float32Array [1, 4]
 * ```
 *
 * @module
 */

import { capiLibrary, engineInfo } from "./engine.ts";

/**
 * The file of the libtensorflow the native engine loaded
 * (`libtensorflow_cc.so.2` of the pip wheel, or the package's own). Throws
 * on the pure-JS engine.
 */
export function libtensorflowPath(): string {
  const path = capiLibrary(engineInfo().libtensorflow);
  if (!path) throw new Error("libtensorflowPath: the native engine is not loaded");
  return path;
}

/** TensorFlow data types (`TF_DataType`) used here. */
export const DT = {
  FLOAT: 1,
  DOUBLE: 2,
  INT32: 3,
  UINT8: 4,
  STRING: 7,
  INT64: 9,
  BOOL: 10,
  RESOURCE: 20,
} as const;

/** One output of a graph operation (`TF_Output`). */
export interface Output {
  op: Deno.PointerValue;
  index: number;
}

/** An attribute value, tagged with its kind. */
export type AttrValue =
  | number
  | boolean
  | string
  | { type: number }
  | { shape: number[] }
  | { ints: number[] }
  | { float: number }
  | { tensor: Deno.PointerValue };

const OUTPUT = { struct: ["pointer", "i32"] } as const;

const SYMBOLS = {
  TF_NewGraph: { parameters: [], result: "pointer" },
  TF_DeleteGraph: { parameters: ["pointer"], result: "void" },
  TF_NewStatus: { parameters: [], result: "pointer" },
  TF_DeleteStatus: { parameters: ["pointer"], result: "void" },
  TF_GetCode: { parameters: ["pointer"], result: "i32" },
  TF_Message: { parameters: ["pointer"], result: "pointer" },
  TF_NewOperation: { parameters: ["pointer", "buffer", "buffer"], result: "pointer" },
  TF_AddInput: { parameters: ["pointer", OUTPUT], result: "void" },
  TF_AddInputList: { parameters: ["pointer", "buffer", "i32"], result: "void" },
  TF_AddControlInput: { parameters: ["pointer", "pointer"], result: "void" },
  TF_SetAttrType: { parameters: ["pointer", "buffer", "i32"], result: "void" },
  TF_SetAttrShape: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "void" },
  TF_SetAttrIntList: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "void" },
  TF_SetAttrInt: { parameters: ["pointer", "buffer", "i64"], result: "void" },
  TF_SetAttrFloat: { parameters: ["pointer", "buffer", "f32"], result: "void" },
  TF_SetAttrBool: { parameters: ["pointer", "buffer", "u8"], result: "void" },
  TF_SetAttrString: { parameters: ["pointer", "buffer", "buffer", "usize"], result: "void" },
  TF_SetAttrTensor: { parameters: ["pointer", "buffer", "pointer", "pointer"], result: "void" },
  TF_FinishOperation: { parameters: ["pointer", "pointer"], result: "pointer" },
  TF_AddGradients: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "buffer", "pointer", "buffer"],
    result: "void",
  },
  TF_OperationOutputNumConsumers: { parameters: [OUTPUT], result: "i32" },
  TF_OperationOutputConsumers: { parameters: [OUTPUT, "buffer", "i32"], result: "i32" },
  TF_OperationOpType: { parameters: ["pointer"], result: "pointer" },
  TF_OperationInput: { parameters: [OUTPUT], result: OUTPUT },
  TF_UpdateEdge: { parameters: ["pointer", OUTPUT, OUTPUT, "pointer"], result: "void" },
  TF_NewSessionOptions: { parameters: [], result: "pointer" },
  TF_DeleteSessionOptions: { parameters: ["pointer"], result: "void" },
  TF_SetConfig: { parameters: ["pointer", "buffer", "usize", "pointer"], result: "void" },
  TF_NewSession: { parameters: ["pointer", "pointer", "pointer"], result: "pointer" },
  TF_CloseSession: { parameters: ["pointer", "pointer"], result: "void" },
  TF_DeleteSession: { parameters: ["pointer", "pointer"], result: "void" },
  TF_SessionRun: {
    parameters: [
      "pointer",
      "pointer",
      "buffer",
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "pointer",
      "pointer",
    ],
    result: "void",
    nonblocking: false,
  },
  // the same function on a thread of Deno's blocking pool: the calling
  // thread stays free while TensorFlow runs the graph
  TF_SessionRunAsync: {
    name: "TF_SessionRun",
    parameters: [
      "pointer",
      "pointer",
      "pointer",
      "pointer",
      "i32",
      "pointer",
      "pointer",
      "i32",
      "pointer",
      "i32",
      "pointer",
      "pointer",
    ],
    result: "void",
    nonblocking: true,
  },
  TF_StringInit: { parameters: ["pointer"], result: "void" },
  TF_StringAssignView: { parameters: ["pointer", "buffer", "usize"], result: "pointer" },
  TF_AllocateTensor: { parameters: ["i32", "buffer", "i32", "usize"], result: "pointer" },
  TF_TensorData: { parameters: ["pointer"], result: "pointer" },
  TF_TensorByteSize: { parameters: ["pointer"], result: "usize" },
  TF_DeleteTensor: { parameters: ["pointer"], result: "void" },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;
const libs = new Map<string, Lib>();

function open(path: string): Lib {
  let lib = libs.get(path);
  if (!lib) {
    lib = Deno.dlopen(path, SYMBOLS);
    libs.set(path, lib);
  }
  return lib;
}

const enc = new TextEncoder();
const cstr = (s: string) => enc.encode(s + "\0");
const addr = (p: Deno.PointerValue) => BigInt(Deno.UnsafePointer.value(p));

/** `TF_Output` structs, 16 bytes each (pointer, int, padding). */
function outputs(list: readonly Output[]): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(16 * Math.max(1, list.length));
  const v = new DataView(b.buffer);
  list.forEach((o, i) => {
    v.setBigUint64(16 * i, addr(o.op), true);
    v.setInt32(16 * i + 8, o.index, true);
  });
  return b;
}

function pointers(list: readonly Deno.PointerValue[]): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array(list.length ? list.map(addr) : [0n]);
}

/** A TensorFlow graph being built, and the sessions that run it. */
export class Graph {
  readonly #lib: Lib;
  readonly #s: Lib["symbols"];
  readonly #status: Deno.PointerValue;
  readonly handle: Deno.PointerValue;
  #uid = 0;

  /**
   * A new empty graph in the libtensorflow at `libraryPath` (default the
   * engine's, {@linkcode libtensorflowPath}; each file is opened once).
   */
  constructor(libraryPath: string = libtensorflowPath()) {
    this.#lib = open(libraryPath);
    this.#s = this.#lib.symbols;
    this.#status = this.#s.TF_NewStatus();
    this.handle = this.#s.TF_NewGraph();
  }

  #check(what: string): void {
    if (this.#s.TF_GetCode(this.#status) !== 0) {
      const msg = Deno.UnsafePointerView.getCString(this.#s.TF_Message(this.#status)!);
      throw new Error(`${what}: ${msg}`);
    }
  }

  /**
   * Adds an operation of `type`: inputs (a list for list-valued inputs),
   * attributes, control inputs; returns the operation. `name` defaults to a
   * unique `<type>_<n>`.
   */
  addOp(
    type: string,
    inputs: readonly (Output | readonly Output[])[],
    attrs: Record<string, AttrValue> = {},
    options: { name?: string; control?: readonly Deno.PointerValue[] } = {},
  ): Deno.PointerValue {
    const s = this.#s;
    const name = options.name ?? `${type}_${this.#uid++}`;
    const d = s.TF_NewOperation(this.handle, cstr(type), cstr(name));
    for (const i of inputs) {
      if (Array.isArray(i)) s.TF_AddInputList(d, outputs(i as Output[]), i.length);
      else s.TF_AddInput(d, outputs([i as Output]));
    }
    for (const c of options.control ?? []) s.TF_AddControlInput(d, c);
    for (const [k, v] of Object.entries(attrs)) {
      const n = cstr(k);
      if (typeof v === "number") s.TF_SetAttrInt(d, n, BigInt(v));
      else if (typeof v === "boolean") s.TF_SetAttrBool(d, n, v ? 1 : 0);
      else if (typeof v === "string") {
        const b = enc.encode(v);
        s.TF_SetAttrString(d, n, b, BigInt(b.length));
      } else if ("type" in v) s.TF_SetAttrType(d, n, v.type);
      else if ("shape" in v) {
        s.TF_SetAttrShape(d, n, new BigInt64Array(v.shape.map(BigInt)), v.shape.length);
      } else if ("ints" in v) {
        s.TF_SetAttrIntList(d, n, new BigInt64Array(v.ints.map(BigInt)), v.ints.length);
      } else if ("float" in v) s.TF_SetAttrFloat(d, n, v.float);
      else {
        s.TF_SetAttrTensor(d, n, v.tensor, this.#status);
        this.#check(`${type} attribute ${k}`);
      }
    }
    const op = s.TF_FinishOperation(d, this.#status);
    this.#check(`${type} (${name})`);
    return op;
  }

  /** Like {@linkcode addOp}, returning the operation's output `index` (default 0). */
  op(
    type: string,
    inputs: readonly (Output | readonly Output[])[],
    attrs: Record<string, AttrValue> = {},
    index = 0,
  ): Output {
    return { op: this.addOp(type, inputs, attrs), index };
  }

  /** A placeholder of `dtype` and `shape` (-1 = unknown dimension). */
  placeholder(name: string, dtype: number, shape: number[]): Output {
    return {
      op: this.addOp("Placeholder", [], { dtype: { type: dtype }, shape: { shape } }, { name }),
      index: 0,
    };
  }

  /** A constant from host data. */
  constant(dtype: number, dims: number[], data: ArrayBufferView): Output {
    const t = this.tensor(dtype, dims, data);
    try {
      return this.op("Const", [], { dtype: { type: dtype }, value: { tensor: t } });
    } finally {
      this.deleteTensor(t);
    }
  }

  /** A float32 scalar constant. */
  scalar(x: number): Output {
    return this.constant(DT.FLOAT, [], new Float32Array([x]));
  }

  /**
   * Symbolic gradients of `sum(ys)` with respect to `xs` (C++ gradient
   * registry), starting from `dys` (the gradients of `ys`) when given, else
   * ones. Throws naming the op when one has no registered gradient.
   */
  gradients(ys: readonly Output[], xs: readonly Output[], dys?: readonly Output[]): Output[] {
    const out = new Uint8Array(16 * xs.length);
    this.#s.TF_AddGradients(
      this.handle,
      outputs(ys),
      ys.length,
      outputs(xs),
      xs.length,
      dys ? outputs(dys) : null,
      this.#status,
      out,
    );
    this.#check("gradients");
    const v = new DataView(out.buffer);
    return xs.map((_, i) => ({
      op: Deno.UnsafePointer.create(v.getBigUint64(16 * i, true)),
      index: v.getInt32(16 * i + 8, true),
    }));
  }

  /** The operations that take `o` as an input. */
  consumers(o: Output): Deno.PointerValue[] {
    const n = this.#s.TF_OperationOutputNumConsumers(outputs([o]));
    if (n === 0) return [];
    const buf = new Uint8Array(16 * n);
    const got = this.#s.TF_OperationOutputConsumers(outputs([o]), buf, n);
    const v = new DataView(buf.buffer);
    return Array.from(
      { length: got },
      (_, i) => Deno.UnsafePointer.create(v.getBigUint64(16 * i, true)),
    );
  }

  /** The op type of an operation (`"Conv2D"`, ...). */
  opType(op: Deno.PointerValue): string {
    return Deno.UnsafePointerView.getCString(this.#s.TF_OperationOpType(op)!);
  }

  /** What feeds input `index` of `op`. */
  input(op: Deno.PointerValue, index: number): Output {
    const r = this.#s.TF_OperationInput(outputs([{ op, index }]));
    const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
    return { op: Deno.UnsafePointer.create(v.getBigUint64(0, true)), index: v.getInt32(8, true) };
  }

  /** Makes input `index` of `op` read `source` instead (`TF_UpdateEdge`). */
  updateInput(op: Deno.PointerValue, index: number, source: Output): void {
    this.#s.TF_UpdateEdge(this.handle, outputs([source]), outputs([{ op, index }]), this.#status);
    this.#check(`update input ${index} of ${this.opType(op)}`);
  }

  /** A host tensor (`TF_AllocateTensor`) holding a copy of `data`; the caller deletes it. */
  tensor(dtype: number, dims: number[], data: ArrayBufferView): Deno.PointerValue {
    const t = this.#s.TF_AllocateTensor(
      dtype,
      new BigInt64Array(dims.map(BigInt)),
      dims.length,
      BigInt(data.byteLength),
    );
    if (data.byteLength > 0) {
      const p = this.#s.TF_TensorData(t)!;
      new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, data.byteLength)).set(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
    }
    return t;
  }

  /** A copy of a host tensor's data as `kind` (e.g. `Float32Array`). */
  read<T extends Float32Array | Int32Array>(
    t: Deno.PointerValue,
    kind: { new (b: ArrayBuffer): T },
  ): T {
    const n = Number(this.#s.TF_TensorByteSize(t));
    if (n === 0) return new kind(new ArrayBuffer(0));
    const view = Deno.UnsafePointerView.getArrayBuffer(this.#s.TF_TensorData(t)!, n);
    return new kind(view.slice(0));
  }

  /**
   * A TF_STRING host tensor of `list.length` elements, element i viewing
   * `list[i]` (no copy; each must stay alive, unchanged, until the tensor is
   * deleted; the caller deletes it).
   */
  stringViews(list: readonly Uint8Array[]): Deno.PointerValue {
    const t = this.#s.TF_AllocateTensor(
      DT.STRING,
      new BigInt64Array([BigInt(list.length)]),
      1,
      BigInt(24 * list.length),
    );
    const base = this.#s.TF_TensorData(t);
    list.forEach((bytes, i) => {
      const str = Deno.UnsafePointer.offset(base!, 24 * i);
      this.#s.TF_StringInit(str);
      this.#s.TF_StringAssignView(str, bytes as Uint8Array<ArrayBuffer>, BigInt(bytes.length));
    });
    return t;
  }

  /**
   * Copies a host tensor's bytes into `into` (whose byte length must be the
   * tensor's) with one memcpy.
   */
  copyTensor(t: Deno.PointerValue, into: ArrayBufferView): void {
    const n = Number(this.#s.TF_TensorByteSize(t));
    if (n !== into.byteLength) {
      throw new Error(`copyTensor: the tensor has ${n} bytes, the destination ${into.byteLength}`);
    }
    if (n === 0) return;
    new Deno.UnsafePointerView(this.#s.TF_TensorData(t)!).copyInto(
      new Uint8Array(into.buffer as ArrayBuffer, into.byteOffset, n),
    );
  }

  /** Frees a host tensor. */
  deleteTensor(t: Deno.PointerValue): void {
    this.#s.TF_DeleteTensor(t);
  }

  /**
   * A session on this graph. `config` is a serialized `ConfigProto`
   * (optional).
   */
  session(config?: Uint8Array): Session {
    const s = this.#s;
    const opts = s.TF_NewSessionOptions();
    try {
      if (config) {
        s.TF_SetConfig(
          opts,
          config as Uint8Array<ArrayBuffer>,
          BigInt(config.length),
          this.#status,
        );
        this.#check("session config");
      }
      const handle = s.TF_NewSession(this.handle, opts, this.#status);
      this.#check("new session");
      return new Session(this, s, handle, this.#status);
    } finally {
      s.TF_DeleteSessionOptions(opts);
    }
  }

  /** Frees the graph (after every session on it is closed). */
  dispose(): void {
    this.#s.TF_DeleteGraph(this.handle);
    this.#s.TF_DeleteStatus(this.#status);
  }
}

/** A session running one {@linkcode Graph}. */
export class Session {
  #closed = false;
  constructor(
    readonly graph: Graph,
    private readonly s: Lib["symbols"],
    private readonly handle: Deno.PointerValue,
    private readonly status: Deno.PointerValue,
  ) {}

  /**
   * Runs the graph: `feeds` (placeholder, host tensor), `fetches` (returned as
   * new host tensors the caller deletes), `targets` (operations run for their
   * effects). Feed tensors stay the caller's.
   */
  run(
    feeds: readonly [Output, Deno.PointerValue][],
    fetches: readonly Output[],
    targets: readonly Deno.PointerValue[] = [],
  ): Deno.PointerValue[] {
    if (this.#closed) throw new Error("Session.run: the session is closed");
    const values = new BigUint64Array(Math.max(1, fetches.length));
    this.s.TF_SessionRun(
      this.handle,
      null,
      outputs(feeds.map(([o]) => o)),
      pointers(feeds.map(([, t]) => t)),
      feeds.length,
      outputs(fetches),
      values,
      fetches.length,
      pointers(targets),
      targets.length,
      null,
      this.status,
    );
    if (this.s.TF_GetCode(this.status) !== 0) {
      const msg = Deno.UnsafePointerView.getCString(this.s.TF_Message(this.status)!);
      throw new Error(`Session.run: ${msg}`);
    }
    return [...values.subarray(0, fetches.length)].map((v) => Deno.UnsafePointer.create(v));
  }

  /**
   * Like {@linkcode run} without targets, on another thread: this thread is
   * free while TensorFlow runs the graph, and several runs may be in flight
   * at once (a TensorFlow session is thread-safe). Feed tensors must stay
   * alive until the promise settles.
   */
  async runAsync(
    feeds: readonly [Output, Deno.PointerValue][],
    fetches: readonly Output[],
  ): Promise<Deno.PointerValue[]> {
    if (this.#closed) throw new Error("Session.runAsync: the session is closed");
    const s = this.s;
    // everything the call reads stays referenced here until it returns
    const feedOuts = outputs(feeds.map(([o]) => o));
    const feedValues = pointers(feeds.map(([, t]) => t));
    const fetchOuts = outputs(fetches);
    const values = new BigUint64Array(Math.max(1, fetches.length));
    const status = s.TF_NewStatus();
    try {
      await s.TF_SessionRunAsync(
        this.handle,
        null,
        Deno.UnsafePointer.of(feedOuts),
        Deno.UnsafePointer.of(feedValues),
        feeds.length,
        Deno.UnsafePointer.of(fetchOuts),
        Deno.UnsafePointer.of(values),
        fetches.length,
        null,
        0,
        null,
        status,
      );
      if (s.TF_GetCode(status) !== 0) {
        const msg = Deno.UnsafePointerView.getCString(s.TF_Message(status)!);
        throw new Error(`Session.run: ${msg}`);
      }
      return [...values.subarray(0, fetches.length)].map((v) => Deno.UnsafePointer.create(v));
    } finally {
      s.TF_DeleteStatus(status);
    }
  }

  /** Closes and frees the session (its variables go with it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.s.TF_CloseSession(this.handle, this.status);
    this.s.TF_DeleteSession(this.handle, this.status);
  }
}
