/**
 * A pool of decode Web Workers (decode_worker.ts), each with its own copy of
 * the native addon: TensorFlow's decode and resize kernels run synchronously
 * on the thread that calls them, so workers are how a first pass uses every
 * core, as tf.data's parallel map does for Keras. A dataset opens one per
 * epoch that needs decoding and closes it after (a live Worker keeps the
 * process from exiting).
 *
 * @module
 */
// @ts-types="./image_format.d.ts"
import { ImageDecodeError } from "./image_format.js";
// @ts-types="./native_decode.d.ts"
import type { DecodeSpec } from "./native_decode.js";

type Pending = {
  resolve: (x: Float32Array | Uint8Array | null) => void;
  reject: (e: Error) => void;
  w: number;
};
type Reply =
  | { ready: boolean; error?: string }
  | {
    id: number;
    data?: Float32Array | Uint8Array;
    error?: string;
    file?: string;
    fallback?: boolean;
  };

/** Decodes files in `n` worker threads, least busy first. */
export class DecodePool {
  #workers: Worker[] = [];
  #busy: number[] = [];
  #pending = new Map<number, Pending>();
  #next = 0;
  #ready: Promise<void>;

  /**
   * Starts `n` workers (n >= 1) that load the addon at `addonPath`. A worker
   * that cannot load it is dropped; {@linkcode ready} rejects when none can.
   */
  constructor(n: number, addonPath: string) {
    const started: Promise<boolean>[] = [];
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL("./decode_worker.js", import.meta.url).href, {
        type: "module",
      });
      let onReady: (ok: boolean) => void = () => {};
      started.push(new Promise((r) => (onReady = r)));
      w.onmessage = (e: MessageEvent<Reply>) => {
        const r = e.data;
        if ("ready" in r) {
          if (!r.ready) this.#busy[i] = Number.POSITIVE_INFINITY;
          onReady(r.ready);
          return;
        }
        const p = this.#pending.get(r.id);
        if (!p) return;
        this.#pending.delete(r.id);
        this.#busy[p.w]--;
        if (r.data) p.resolve(r.data);
        else if (r.fallback) p.resolve(null);
        else p.reject(new ImageDecodeError(r.file ?? "<unknown>", r.error ?? "decode failed"));
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        onReady(false);
        for (const [id, p] of this.#pending) {
          if (p.w === i) {
            this.#pending.delete(id);
            p.reject(new Error(`decode worker crashed: ${e.message}`));
          }
        }
        this.#busy[i] = Number.POSITIVE_INFINITY; // never pick it again
      };
      w.postMessage({ init: addonPath });
      this.#workers.push(w);
      this.#busy.push(0);
    }
    this.#ready = Promise.all(started).then((ok) => {
      if (!ok.some(Boolean)) throw new Error("no decode worker could load the native addon");
    });
  }

  /** Resolves once the workers have loaded the addon; rejects when none could. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Threads in the pool. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Decodes and resizes `path` per `spec`: float32 pixels, or uint8 rounded
   * ones when `round`; null for a format the workers leave to decode.ts.
   * @throws {ImageDecodeError} naming the file.
   */
  decode(
    path: string,
    spec: DecodeSpec,
    round: boolean,
  ): Promise<Float32Array | Uint8Array | null> {
    let w = 0;
    for (let i = 1; i < this.#workers.length; i++) if (this.#busy[i] < this.#busy[w]) w = i;
    if (!Number.isFinite(this.#busy[w])) return Promise.reject(new Error("no decode worker left"));
    const id = this.#next++;
    this.#busy[w]++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, w });
      this.#workers[w].postMessage({ id, path, spec, round });
    });
  }

  /** Stops the workers; pending decodes are rejected. */
  close(): void {
    for (const p of this.#pending.values()) p.reject(new Error("decode pool closed"));
    this.#pending.clear();
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}
