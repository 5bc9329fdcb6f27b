/**
 * Decode + resize of one image file with TensorFlow's own kernels, called
 * through TensorFlow's C API with Deno's FFI, for the decode workers
 * (decode_worker.js): the same ops, attributes and arithmetic as
 * native_decode.js (Keras' `_load_image_tf`: `DecodeImage`, `smart_resize`'s
 * `Slice`, `ResizeBilinear` / `ResizeNearestNeighbor` with half-pixel
 * centres, `resize_with_pad`'s padding), so the pixels are the same, but the
 * resized image is copied from TensorFlow's memory straight into its place in
 * the batch.
 *
 * Why not the addon's binding here: it hands a tensor out only as a new
 * ArrayBuffer (`tensorDataSync`: a 786 KB allocation, a copy and ~190 page
 * faults per 256 px image, 0.33 ms), which the worker then copied again into
 * the batch; its op calls also convert every attribute from JavaScript
 * objects. Through the C API a worker has its own eager context
 * (`TFE_NewContext`), the file bytes go in as a TF_STRING scalar that views
 * them (no copy), and one memcpy takes the pixels out (docs/loader.md).
 *
 * Plain JavaScript (types in tf_capi.d.ts) so that workers start without a
 * type-check pass.
 *
 * @module
 */
import { aspectPlan, toUint8 } from "./native_decode.js";
import { checkImageBytes, ImageDecodeError } from "./image_format.js";

const TF_FLOAT = 1;
const TF_INT32 = 3;
const TF_UINT8 = 4;
const TF_STRING = 7;

const SYMBOLS = {
  TF_NewStatus: { parameters: [], result: "pointer" },
  TF_GetCode: { parameters: ["pointer"], result: "i32" },
  TF_Message: { parameters: ["pointer"], result: "pointer" },
  TFE_NewContextOptions: { parameters: [], result: "pointer" },
  TFE_DeleteContextOptions: { parameters: ["pointer"], result: "void" },
  TFE_NewContext: { parameters: ["pointer", "pointer"], result: "pointer" },
  TF_AllocateTensor: { parameters: ["i32", "buffer", "i32", "usize"], result: "pointer" },
  TF_DeleteTensor: { parameters: ["pointer"], result: "void" },
  TF_TensorData: { parameters: ["pointer"], result: "pointer" },
  TF_TensorByteSize: { parameters: ["pointer"], result: "usize" },
  TF_StringInit: { parameters: ["pointer"], result: "void" },
  TF_StringAssignView: { parameters: ["pointer", "buffer", "usize"], result: "pointer" },
  TFE_NewTensorHandle: { parameters: ["pointer", "pointer"], result: "pointer" },
  TFE_DeleteTensorHandle: { parameters: ["pointer"], result: "void" },
  TFE_TensorHandleNumDims: { parameters: ["pointer", "pointer"], result: "i32" },
  TFE_TensorHandleDim: { parameters: ["pointer", "i32", "pointer"], result: "i64" },
  TFE_TensorHandleDataType: { parameters: ["pointer"], result: "i32" },
  TFE_TensorHandleResolve: { parameters: ["pointer", "pointer"], result: "pointer" },
  TFE_NewOp: { parameters: ["pointer", "buffer", "pointer"], result: "pointer" },
  TFE_DeleteOp: { parameters: ["pointer"], result: "void" },
  TFE_OpAddInput: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  TFE_OpSetAttrInt: { parameters: ["pointer", "buffer", "i64"], result: "void" },
  TFE_OpSetAttrType: { parameters: ["pointer", "buffer", "i32"], result: "void" },
  TFE_OpSetAttrBool: { parameters: ["pointer", "buffer", "u8"], result: "void" },
  TFE_Execute: { parameters: ["pointer", "buffer", "buffer", "pointer"], result: "void" },
};

/** A NUL-terminated C string. */
const cstr = (s) => new TextEncoder().encode(`${s}\0`);
const ATTR = Object.fromEntries(
  [
    "channels",
    "dtype",
    "expand_animations",
    "T",
    "Index",
    "Tshape",
    "align_corners",
    "half_pixel_centers",
    "SrcT",
    "DstT",
    "Truncate",
  ].map((n) => [n, cstr(n)]),
);
const OP = Object.fromEntries(
  ["DecodeImage", "Slice", "Reshape", "ResizeBilinear", "ResizeNearestNeighbor", "Cast"].map(
    (n) => [n, cstr(n)],
  ),
);

/**
 * TensorFlow's C API in this thread: the library at `libPath` (already
 * loaded by the engine's addon, so this only finds its symbols) and an
 * eager context of this thread's own.
 * @param {string} libPath libtensorflow_cc.so.2 (the one the addon links).
 */
export function openTensorFlow(libPath) {
  const lib = Deno.dlopen(libPath, SYMBOLS);
  const f = lib.symbols;
  const status = f.TF_NewStatus();
  const check = () => {
    if (f.TF_GetCode(status) !== 0) {
      const p = f.TF_Message(status);
      throw new Error(p ? Deno.UnsafePointerView.getCString(p) : "TensorFlow error");
    }
  };
  const opts = f.TFE_NewContextOptions();
  const ctx = f.TFE_NewContext(opts, status);
  f.TFE_DeleteContextOptions(opts);
  check();
  return { lib, f, status, ctx, check };
}

/**
 * Decodes `bytes` and resizes them as Keras does (see native_decode.js), and
 * writes the pixels into `out` (the image's length): float32 0-255, or, for
 * a Uint8Array, rounded to uint8 (the caches' values).
 * @param {ReturnType<typeof openTensorFlow>} tf
 * @param {Uint8Array} bytes
 * @param {import("./native_decode.d.ts").DecodeSpec} spec
 * @param {string} file
 * @param {Float32Array | Uint8Array} out
 * @throws {ImageDecodeError} naming the file.
 */
export function decodeResizeInto(tf, bytes, spec, file, out) {
  checkImageBytes(bytes, spec.limitInputPixels, file);
  const { f, status, ctx, check } = tf;
  /** @type {Deno.PointerValue[]} handles to delete */
  const handles = [];
  const retval = new BigUint64Array(1);
  const count = new Int32Array(1);
  /** A TF_Tensor made into a handle (the handle keeps its buffer). */
  const handleOf = (t) => {
    const h = f.TFE_NewTensorHandle(t, status);
    f.TF_DeleteTensor(t);
    check();
    handles.push(h);
    return h;
  };
  const int32 = (values) => {
    const t = f.TF_AllocateTensor(
      TF_INT32,
      new BigInt64Array([BigInt(values.length)]),
      1,
      4 * values.length,
    );
    new Int32Array(Deno.UnsafePointerView.getArrayBuffer(f.TF_TensorData(t), 4 * values.length))
      .set(values);
    return handleOf(t);
  };
  /**
   * @param {Uint8Array} name
   * @param {Deno.PointerValue[]} inputs
   * @param {(op: Deno.PointerValue) => void} attrs
   */
  const run = (name, inputs, attrs) => {
    const op = f.TFE_NewOp(ctx, name, status);
    check();
    try {
      for (const h of inputs) {
        f.TFE_OpAddInput(op, h, status);
        check();
      }
      attrs(op);
      count[0] = 1;
      f.TFE_Execute(op, retval, count, status);
      check();
    } finally {
      f.TFE_DeleteOp(op);
    }
    const h = Deno.UnsafePointer.create(retval[0]);
    handles.push(h);
    return h;
  };
  const u8type = (op, attr) => f.TFE_OpSetAttrType(op, attr, TF_UINT8);
  try {
    // the file bytes as a TF_STRING scalar viewing them (valid while `bytes` lives)
    const s = f.TF_AllocateTensor(TF_STRING, new BigInt64Array(0), 0, 24);
    const tstr = f.TF_TensorData(s);
    f.TF_StringInit(tstr);
    f.TF_StringAssignView(tstr, bytes, bytes.length);
    const input = handleOf(s);
    let decoded;
    try {
      decoded = run(OP.DecodeImage, [input], (op) => {
        f.TFE_OpSetAttrInt(op, ATTR.channels, BigInt(spec.channels));
        u8type(op, ATTR.dtype);
        f.TFE_OpSetAttrBool(op, ATTR.expand_animations, 0);
      });
    } catch (e) {
      throw new ImageDecodeError(file, String(e?.message ?? e).split("\n")[0]);
    }
    const dim = (i) => {
      const d = Number(f.TFE_TensorHandleDim(decoded, i, status));
      check();
      return d;
    };
    const [height, width, c] = [dim(0), dim(1), dim(2)];
    const plan = aspectPlan(width, height, spec.size, spec);
    let image = decoded;
    if (plan.h !== height || plan.w !== width) {
      image = run(
        OP.Slice,
        [image, int32([plan.y0, plan.x0, 0]), int32([plan.h, plan.w, c])],
        (op) => {
          u8type(op, ATTR.T);
          f.TFE_OpSetAttrType(op, ATTR.Index, TF_INT32);
        },
      );
    }
    const [outH, outW] = spec.size;
    const padded = plan.outH !== outH || plan.outW !== outW;
    if (padded) out.fill(0); // resize_with_pad: zeros around the image
    if (plan.outH <= 0 || plan.outW <= 0) return;
    const batch = run(OP.Reshape, [image, int32([1, plan.h, plan.w, c])], (op) => {
      u8type(op, ATTR.T);
      f.TFE_OpSetAttrType(op, ATTR.Tshape, TF_INT32);
    });
    const nearest = spec.interpolation === "nearest";
    // uint8 input: these kernels run on the CPU, like tf.data's map
    let resized = run(
      nearest ? OP.ResizeNearestNeighbor : OP.ResizeBilinear,
      [batch, int32([plan.outH, plan.outW])],
      (op) => {
        u8type(op, ATTR.T);
        f.TFE_OpSetAttrBool(op, ATTR.align_corners, 0);
        f.TFE_OpSetAttrBool(op, ATTR.half_pixel_centers, 1);
      },
    );
    if (f.TFE_TensorHandleDataType(resized) !== TF_FLOAT) {
      const src = f.TFE_TensorHandleDataType(resized);
      resized = run(OP.Cast, [resized], (op) => {
        f.TFE_OpSetAttrType(op, ATTR.SrcT, src);
        f.TFE_OpSetAttrType(op, ATTR.DstT, TF_FLOAT);
        f.TFE_OpSetAttrBool(op, ATTR.Truncate, 0);
      });
    }
    const t = f.TFE_TensorHandleResolve(resized, status);
    check();
    try {
      const n = plan.outH * plan.outW * c;
      const bytesOut = Number(f.TF_TensorByteSize(t));
      if (bytesOut !== 4 * n) throw new Error(`resize gave ${bytesOut} bytes, expected ${4 * n}`);
      const data = f.TF_TensorData(t);
      if (!padded && out instanceof Float32Array) {
        new Deno.UnsafePointerView(data).copyInto(
          new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
        );
        return;
      }
      const px = new Float32Array(Deno.UnsafePointerView.getArrayBuffer(data, 4 * n));
      const row = plan.outW * c;
      for (let y = 0; y < plan.outH; y++) {
        const at = ((plan.padTop + y) * outW + plan.padLeft) * c;
        const src = px.subarray(y * row, (y + 1) * row);
        if (out instanceof Float32Array) out.set(src, at);
        else toUint8(src, out.subarray(at, at + row));
      }
    } finally {
      f.TF_DeleteTensor(t);
    }
  } finally {
    for (const h of handles) f.TFE_DeleteTensorHandle(h);
  }
}
