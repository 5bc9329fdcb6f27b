/** Types of tf_capi.js. @module */
import type { DecodeSpec } from "./native_decode.d.ts";

/** TensorFlow's C API in one thread, with an eager context of its own. */
export interface TensorFlowCApi {
  /** The opened library (closing it is left to the thread's end). */
  lib: Deno.DynamicLibrary<Record<string, Deno.ForeignFunction>>;
}

/** Opens libtensorflow's C API (`libPath`: the libtensorflow_cc.so.2 the addon links) in this thread. */
export declare function openTensorFlow(libPath: string): TensorFlowCApi;

/**
 * Decodes and resizes `bytes` as Keras does into `out` (float32 0-255, or
 * rounded uint8 for a Uint8Array).
 * @throws {ImageDecodeError} naming the file.
 */
export declare function decodeResizeInto(
  tf: TensorFlowCApi,
  bytes: Uint8Array,
  spec: DecodeSpec,
  file: string,
  out: Float32Array | Uint8Array,
): void;
