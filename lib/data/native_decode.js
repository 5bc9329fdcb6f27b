/**
 * Decode + resize of one image file with TensorFlow's own kernels, the ones
 * Keras' `image_dataset_from_directory` runs: `DecodeImage` (`channels`,
 * uint8, `expand_animations=False`), then `ResizeBilinear` /
 * `ResizeNearestNeighbor` with half-pixel centres (`tf.image.resize`,
 * `antialias=False`), after Keras' `smart_resize` crop or before TF's
 * `resize_with_pad` padding, so the float32 pixels are Keras' exactly.
 *
 * It talks to the addon's binding directly (tensor ids, no tfjs engine), so it
 * runs on the main thread's binding and in a worker that loads its own copy
 * of the addon (decode_worker.js). The loader runs the same ops as a
 * TensorFlow graph where Deno's FFI can (graph_decode.ts); this is its
 * fallback. Plain JavaScript (types in native_decode.d.ts) so
 * that workers start without a type-check pass.
 *
 * @module
 */
import { checkImageBytes, ImageDecodeError, sniffFormat } from "./image_format.js";

const f = Math.fround;

/**
 * Where the resize reads and writes for Keras' three modes, in TF's float32
 * arithmetic: the source window (`smart_resize`'s centred crop, else the
 * whole image), the resized size, and its offset in the zero-padded output
 * (`resize_with_pad`).
 * @param {number} width
 * @param {number} height
 * @param {[number, number]} size
 * @param {{cropToAspectRatio?: boolean, padToAspectRatio?: boolean}} options
 */
export function aspectPlan(width, height, size, options) {
  const [outH, outW] = size;
  if (options.cropToAspectRatio && options.padToAspectRatio) {
    throw new Error("Only one of `padToAspectRatio`, `cropToAspectRatio` can be set to `true`.");
  }
  if (options.cropToAspectRatio) {
    // Keras smart_resize (dynamic-shape branch: float32 divisions, truncation)
    let ch = Math.trunc(f(f(width * outH) / outW));
    ch = Math.max(Math.min(height, ch), 1);
    let cw = Math.trunc(f(f(height * outW) / outH));
    cw = Math.max(Math.min(width, cw), 1);
    const y0 = Math.trunc(f(height - ch) / 2);
    const x0 = Math.trunc(f(width - cw) / 2);
    return { y0, x0, h: ch, w: cw, outH, outW, padTop: 0, padLeft: 0 };
  }
  if (options.padToAspectRatio) {
    // TF resize_with_pad: fit inside, floor the size, centre with zero padding
    const ratio = Math.max(f(width / outW), f(height / outH));
    const rhf = f(height / ratio);
    const rwf = f(width / ratio);
    return {
      y0: 0,
      x0: 0,
      h: height,
      w: width,
      outH: Math.floor(rhf),
      outW: Math.floor(rwf),
      padTop: Math.max(0, Math.floor(f(f(outH - rhf) / 2))),
      padLeft: Math.max(0, Math.floor(f(f(outW - rwf) / 2))),
    };
  }
  return { y0: 0, x0: 0, h: height, w: width, outH, outW, padTop: 0, padLeft: 0 };
}

/**
 * Rounds float32 0-255 pixels to uint8 (half away from zero, clamped), into
 * `out` when given (same length).
 * @param {Float32Array} x
 * @param {Uint8Array} [out]
 */
export function toUint8(x, out = new Uint8Array(x.length)) {
  for (let i = 0; i < x.length; i++) out[i] = x[i] + 0.5; // Uint8Array assignment truncates + clamps
  return out;
}

/**
 * False for the bytes decodeResizeNative leaves to decode.ts (WebP, outside
 * Keras' allowed formats); unknown and empty files it refuses by name.
 * @param {Uint8Array} b
 */
export function nativeFormat(b) {
  return sniffFormat(b) !== "webp";
}

/**
 * Decodes `bytes` and resizes them as Keras does, with TensorFlow's kernels.
 * @param {any} b the binding (RawBinding in native_decode.d.ts)
 * @param {Uint8Array} bytes
 * @param {any} spec a DecodeSpec (native_decode.d.ts)
 * @param {string} file
 * @returns {Float32Array}
 */
export function decodeResizeNative(b, bytes, spec, file) {
  checkImageBytes(bytes, spec.limitInputPixels, file);
  /** @type {number[]} */
  const ids = [];
  const type = (name, value) => ({ name, type: b.TF_ATTR_TYPE, value });
  const bool = (name, value) => ({ name, type: b.TF_ATTR_BOOL, value });
  const int32 = (shape, values) => {
    const id = b.createTensor(shape, b.TF_INT32, new Int32Array(values));
    ids.push(id);
    return id;
  };
  const run = (name, attrs, inputs) => {
    const out = b.executeOp(name, attrs, inputs, 1)[0];
    ids.push(out.id);
    return out;
  };
  try {
    const input = b.createTensor([], b.TF_STRING, [bytes]);
    ids.push(input);
    let decoded;
    try {
      decoded = run("DecodeImage", [
        { name: "channels", type: b.TF_ATTR_INT, value: spec.channels },
        type("dtype", b.TF_UINT8),
        bool("expand_animations", false),
      ], [input]);
    } catch (e) {
      throw new ImageDecodeError(file, String(e?.message ?? e).split("\n")[0]);
    }
    const [height, width, c] = decoded.shape;
    const plan = aspectPlan(width, height, spec.size, spec);
    let image = decoded.id;
    if (plan.h !== height || plan.w !== width) {
      image = run("Slice", [type("T", b.TF_UINT8), type("Index", b.TF_INT32)], [
        image,
        int32([3], [plan.y0, plan.x0, 0]),
        int32([3], [plan.h, plan.w, c]),
      ]).id;
    }
    const batch = run("Reshape", [type("T", b.TF_UINT8), type("Tshape", b.TF_INT32)], [
      image,
      int32([4], [1, plan.h, plan.w, c]),
    ]);
    let out = new Float32Array(0);
    if (plan.outH > 0 && plan.outW > 0) {
      // uint8 input: these kernels have no GPU version, so they run on the CPU like tf.data's map
      const resized = run(
        spec.interpolation === "nearest" ? "ResizeNearestNeighbor" : "ResizeBilinear",
        [type("T", b.TF_UINT8), bool("align_corners", false), bool("half_pixel_centers", true)],
        [batch.id, int32([2], [plan.outH, plan.outW])],
      );
      let result = resized.id;
      if (resized.dtype !== b.TF_FLOAT) {
        // nearest keeps uint8, which the binding cannot hand out: widen in TF
        result = run("Cast", [
          type("SrcT", resized.dtype),
          type("DstT", b.TF_FLOAT),
          bool("Truncate", false),
        ], [resized.id]).id;
      }
      out = /** @type {Float32Array} */ (b.tensorDataSync(result));
    }
    const [outH, outW] = spec.size;
    if (plan.outH === outH && plan.outW === outW) return out;
    // resize_with_pad: the resized image centred in zeros
    const padded = new Float32Array(outH * outW * c);
    const row = plan.outW * c;
    for (let y = 0; y < plan.outH; y++) {
      padded.set(
        out.subarray(y * row, (y + 1) * row),
        ((plan.padTop + y) * outW + plan.padLeft) * c,
      );
    }
    return padded;
  } finally {
    for (const id of ids) b.deleteTensor(id);
  }
}
