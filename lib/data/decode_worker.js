/**
 * Worker thread entry of DecodePool (decode_pool.ts): decodes + resizes files
 * with TensorFlow's kernels in an eager context of its own (the ops run
 * synchronously on the calling thread), through TensorFlow's C API with
 * Deno's FFI (tf_capi.js), or, where that cannot load (or
 * `ACMC_DECODE_CAPI=0`), through its own copy of the native addon's binding
 * (native_decode.js). Plain JavaScript importing only JavaScript, so a worker
 * starts in ~0.1 s even under `deno test` (which type-checks TypeScript
 * worker graphs each time).
 *
 * Messages: `{init: addonPath, lib: libtensorflowPath}` first (reply
 * `{ready: true, via: "capi" | "addon"}` or `{ready: false, error}`), then
 * `{id, path, spec, round, into}`; replies
 * `{id, data}` (float32, or uint8 rounded when `round`; transferred), or
 * `{id}` when the pixels went into `into`, `{id, error, file}`, or
 * `{id, fallback: true}` for a format this path does not handle (or when the
 * addon did not load): the main thread decodes it.
 *
 * `into` (`{buffer, byteOffset, length}`) is the image's slot in a batch the
 * main thread makes its tensor from (batch_slots.ts): a SharedArrayBuffer,
 * sent once per batch (`buffer` is left out while it is the one of the
 * previous message). Every message that carried the 25 MB buffer made V8 count
 * it again as this thread's external memory, and the garbage collections that
 * triggered cost ~8 ms of CPU per image.
 *
 * @module
 */
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import { ImageDecodeError } from "./image_format.js";
import { decodeResizeNative, nativeFormat, toUint8 } from "./native_decode.js";
import { decodeResizeInto, openTensorFlow } from "./tf_capi.js";

const port = /** @type {any} */ (parentPort);
/** The binding (RawBinding in native_decode.d.ts), once loaded. */
let binding = null;
/** TensorFlow's C API and this thread's eager context (tf_capi.js), once loaded. */
let capi = null;
/** The SharedArrayBuffer of the batch being filled (see `into` above). */
let batch = null;

/**
 * Frees `x`'s memory now rather than at a later garbage collection
 * (`ArrayBuffer#transfer(0)` detaches it): the next image's buffers of the
 * same size then reuse it while it is still mapped. Under jemalloc (how
 * training processes run) each fresh 786 KB buffer otherwise costs ~190 page
 * faults: `tensorDataSync` took 0.34 ms per 256 px image, 0.23 ms with this.
 * @param {ArrayBufferView} x
 */
function free(x) {
  /** @type {any} */ (x.buffer).transfer?.(0);
}

port.on("message", (/** @type {any} */ m) => {
  if ("init" in m) {
    try {
      if (m.lib && Deno.env.get("ACMC_DECODE_CAPI") !== "0") {
        try {
          capi = openTensorFlow(m.lib);
        } catch {
          capi = null; // no FFI here: the addon's binding
        }
      }
      if (!capi) binding = createRequire(import.meta.url)(m.init);
      port.postMessage({ ready: true, via: capi ? "capi" : "addon" });
    } catch (err) {
      port.postMessage({ ready: false, error: String(err?.message ?? err) });
    }
    return;
  }
  const { id, path, spec, round, into } = m;
  if (into?.buffer) batch = into.buffer;
  try {
    let bytes;
    try {
      bytes = Deno.readFileSync(path);
    } catch (err) {
      throw new ImageDecodeError(path, String(err?.message ?? err));
    }
    if ((!binding && !capi) || !nativeFormat(bytes)) {
      port.postMessage({ id, fallback: true });
      return;
    }
    if (capi) {
      const [h, w] = spec.size;
      const n = h * w * spec.channels;
      const type = round ? Uint8Array : Float32Array;
      const dst = into ? new type(batch, into.byteOffset, into.length) : new type(n);
      decodeResizeInto(capi, bytes, spec, path, dst);
      free(bytes);
      if (into) port.postMessage({ id });
      else port.postMessage({ id, data: dst }, [dst.buffer]);
      return;
    }
    const out = decodeResizeNative(binding, bytes, spec, path);
    free(bytes);
    if (into) {
      if (round) toUint8(out, new Uint8Array(batch, into.byteOffset, into.length));
      else {
        // bytewise: Float32Array#set into shared memory is 5x slower than a memcpy here
        const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        new Uint8Array(batch, into.byteOffset, bytes.length).set(bytes);
      }
      free(out);
      port.postMessage({ id });
      return;
    }
    const data = round ? toUint8(out) : out;
    port.postMessage({ id, data }, [data.buffer]);
  } catch (err) {
    const reason = err instanceof ImageDecodeError ? err.reason : String(err?.message ?? err);
    port.postMessage({ id, error: reason, file: path });
  }
});
