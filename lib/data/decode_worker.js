/**
 * Worker thread entry of DecodePool (decode_pool.ts), the loader's fallback
 * where TensorFlow's C API cannot be reached (graph_decode.ts needs Deno's
 * FFI) or with `ACMC_DECODE_GRAPH=0`: decodes + resizes files with
 * TensorFlow's kernels through its own copy of the native addon's binding
 * (native_decode.js; the ops run synchronously on the calling thread). Plain
 * JavaScript importing only JavaScript, so a worker starts in ~0.1 s even
 * under `deno test` (which type-checks TypeScript worker graphs each time).
 *
 * Messages: `{init: addonPath}` first (reply `{ready: true}` or
 * `{ready: false, error}`), then
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

const port = /** @type {any} */ (parentPort);
/** The binding (RawBinding in native_decode.d.ts), once loaded. */
let binding = null;
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
      binding = createRequire(import.meta.url)(m.init);
      port.postMessage({ ready: true });
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
    if (!binding || !nativeFormat(bytes)) {
      port.postMessage({ id, fallback: true });
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
