/**
 * The decode worker threads (decode_worker.js), each with its own copy of the
 * native addon: the loader's fallback where graph_decode.ts cannot run (no
 * FFI permission for TensorFlow's C API) or with `ACMC_DECODE_GRAPH=0`. The
 * addon's decode and resize kernels run synchronously on the thread that
 * calls them, so workers are how such a first pass uses every core.
 *
 * One pool per process ({@linkcode DecodePool.shared}), grown on demand and
 * kept between epochs and datasets (starting a worker and its TensorFlow
 * context costs ~0.15-0.4 s). Its threads are `node:worker_threads` workers,
 * unref'd while idle, so an idle pool never keeps the process alive; they are
 * ref'd while decodes are pending.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { NATIVE_PACKAGE_DIR } from "../engine/mod.ts";
// @ts-types="./image_format.d.ts"
import { ImageDecodeError } from "./image_format.js";
// @ts-types="./native_decode.d.ts"
import type { DecodeSpec } from "./native_decode.js";

type Pixels = Float32Array | Uint8Array;
type Pending = {
  resolve: (x: Pixels | null) => void;
  reject: (e: Error) => void;
  w: number;
  into?: Pixels;
};
type Reply =
  | { ready: boolean; error?: string }
  | { id: number; data?: Pixels; error?: string; file?: string; fallback?: boolean };

let shared: DecodePool | null = null;

/** The native addon a decode worker loads where TensorFlow's C API cannot be reached. */
export const DECODE_ADDON: string = join(NATIVE_PACKAGE_DIR, "lib", "napi-v8", "tfjs_binding.node");

/** Decodes files in worker threads, least busy first. */
export class DecodePool {
  #addon: string;
  #workers: Worker[] = [];
  #busy: number[] = [];
  #ready: Promise<boolean>[] = [];
  #pending = new Map<number, Pending>();
  /** The batch buffer each worker last received (decode_worker.js keeps it). */
  #sent: (ArrayBufferLike | null)[] = [];
  #next = 0;
  /** Workers asked for, and the timer that starts the next of them. */
  #target = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** The process' pool, with at least `n` workers loading the addon at `addonPath`. */
  static shared(n: number, addonPath: string): DecodePool {
    if (!shared || shared.#addon !== addonPath) {
      shared?.close();
      shared = new DecodePool(0, addonPath);
    }
    shared.grow(n);
    return shared;
  }

  /** Starts `n` workers (see {@linkcode DecodePool.shared}). */
  constructor(n: number, addonPath: string) {
    this.#addon = addonPath;
    this.grow(n);
  }

  /**
   * Adds workers until there are `n`: the first at once, the others one per
   * macrotask. Creating a `node:worker_threads` worker blocks this thread
   * while it boots (~35 ms of CPU each here), so two created in one go kept
   * every decode waiting ~70 ms; one at a time, the first decodes meanwhile.
   */
  grow(n: number): void {
    this.#target = Math.max(this.#target, n);
    if (this.#workers.length === 0 && n > 0) this.#start();
    this.#startLater();
  }

  #startLater(): void {
    if (this.#timer !== undefined || this.#workers.length >= this.#target) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#start();
      this.#startLater();
    }, 0);
  }

  /** Starts one more worker. */
  #start(): void {
    const i = this.#workers.length;
    const w = new Worker(new URL("./decode_worker.js", import.meta.url));
    let onReady: (ok: boolean) => void = () => {};
    this.#ready.push(new Promise((r) => (onReady = r)));
    w.on("message", (r: Reply) => {
      if ("ready" in r) {
        if (!r.ready) this.#busy[i] = Number.POSITIVE_INFINITY;
        onReady(r.ready);
        return;
      }
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      this.#busy[p.w]--;
      if (this.#busy[p.w] === 0) w.unref();
      if (r.fallback) p.resolve(null);
      else if (r.error !== undefined) {
        p.reject(new ImageDecodeError(r.file ?? "<unknown>", r.error));
      } else p.resolve(r.data ?? p.into ?? null);
    });
    w.on("error", (e: Error) => {
      onReady(false);
      for (const [id, p] of this.#pending) {
        if (p.w === i) {
          this.#pending.delete(id);
          p.reject(new Error(`decode worker crashed: ${e.message}`));
        }
      }
      this.#busy[i] = Number.POSITIVE_INFINITY; // never pick it again
      w.unref();
    });
    w.postMessage({ init: this.#addon });
    w.unref();
    this.#workers.push(w);
    this.#busy.push(0);
    this.#sent.push(null);
  }

  /** Resolves to true once some worker has loaded the addon, false when none could. */
  async ready(): Promise<boolean> {
    return (await Promise.all(this.#ready)).some(Boolean);
  }

  /** Threads in the pool. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Decodes and resizes `path` per `spec` in the least busy of the first
   * `use` workers (default all): float32 pixels, or uint8 rounded ones when
   * `round`; null for a format the workers leave to decode.ts. With `into`
   * (a view of a SharedArrayBuffer, float32 or uint8 as `round` says, the
   * image's length) the worker writes the pixels there and `into` is returned.
   * @throws {ImageDecodeError} naming the file.
   */
  decode(
    path: string,
    spec: DecodeSpec,
    round: boolean,
    use?: number,
    into?: Pixels,
  ): Promise<Pixels | null> {
    const n = Math.min(use ?? this.#workers.length, this.#workers.length);
    let w = 0;
    for (let i = 1; i < n; i++) if (this.#busy[i] < this.#busy[w]) w = i;
    if (n === 0 || !Number.isFinite(this.#busy[w])) {
      return Promise.reject(new Error("no decode worker left"));
    }
    const id = this.#next++;
    if (this.#busy[w]++ === 0) this.#workers[w].ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, w, into });
      let slot;
      if (into) {
        const fresh = this.#sent[w] !== into.buffer;
        this.#sent[w] = into.buffer;
        slot = {
          buffer: fresh ? into.buffer : undefined,
          byteOffset: into.byteOffset,
          length: into.length,
        };
      }
      this.#workers[w].postMessage({ id, path, spec, round, into: slot });
    });
  }

  /** Stops the workers; pending decodes are rejected. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#target = 0;
    for (const p of this.#pending.values()) p.reject(new Error("decode pool closed"));
    this.#pending.clear();
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#busy = [];
    this.#sent = [];
    this.#ready = [];
    if (shared === this) shared = null;
  }
}
