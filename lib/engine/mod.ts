/**
 * The TensorFlow engine behind every model in this project.
 *
 * `tf` is the tfjs namespace; {@linkcode initEngine} must run (once) before
 * heavy work so that the native TensorFlow backend of
 * `@tensorflow/tfjs-node-gpu` is registered and selected.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import util from "node:util";

export { tf };

let ready: Promise<string> | undefined;

/** Loads the native engine (once) and returns the backend name in use. */
export function initEngine(): Promise<string> {
  ready ??= (async () => {
    // The package's JS still calls helpers that Node removed from node:util.
    const u = util as unknown as Record<string, unknown>;
    u.isNullOrUndefined ??= (x: unknown) => x == null;
    u.isArray ??= Array.isArray;
    // oneDNN makes a ResNet50 training step die with SIGFPE on these CPUs.
    Deno.env.set("TF_ENABLE_ONEDNN_OPTS", "0");
    Deno.env.set("TF_CPP_MIN_LOG_LEVEL", Deno.env.get("TF_CPP_MIN_LOG_LEVEL") ?? "2");
    await import("@tensorflow/tfjs-node-gpu");
    await tf.setBackend("tensorflow");
    return tf.getBackend();
  })();
  return ready;
}
