/**
 * A pool of resize Web Workers, so the float32 resize (the CPU-heavy JS part
 * of loading) runs beside decoding and beside the training step instead of on
 * the main thread. A dataset opens one per epoch and closes it after (a live
 * Worker keeps the process from exiting).
 *
 * @module
 */
import type { RawImage } from "./decode.ts";
import type { ResizeOptions } from "./resize.ts";

type Pending = { resolve: (x: Float32Array) => void; reject: (e: Error) => void; w: number };
type Reply = { id: number; out?: Float32Array; error?: string };

/** Resizes images in `n` worker threads, least busy first. */
export class ResizePool {
  #workers: Worker[] = [];
  #busy: number[] = [];
  #pending = new Map<number, Pending>();
  #next = 0;

  /** Starts `n` workers (n >= 1). */
  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL("./resize_worker.ts", import.meta.url).href, {
        type: "module",
      });
      w.onmessage = (e: MessageEvent<Reply>) => {
        const r = e.data;
        const p = this.#pending.get(r.id);
        if (!p) return;
        this.#pending.delete(r.id);
        this.#busy[p.w]--;
        if (r.out) p.resolve(r.out);
        else p.reject(new Error(r.error ?? "resize worker failed"));
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        for (const [id, p] of this.#pending) {
          if (p.w === i) {
            this.#pending.delete(id);
            p.reject(new Error(`resize worker crashed: ${e.message}`));
          }
        }
        this.#busy[i] = Number.POSITIVE_INFINITY; // never pick it again
      };
      this.#workers.push(w);
      this.#busy.push(0);
    }
  }

  /** Threads in the pool. */
  get size(): number {
    return this.#workers.length;
  }

  /** Resizes `img` (its buffer is transferred when it owns it: do not reuse it). */
  resize(img: RawImage, size: [number, number], options: ResizeOptions): Promise<Float32Array> {
    let w = 0;
    for (let i = 1; i < this.#workers.length; i++) if (this.#busy[i] < this.#busy[w]) w = i;
    if (!Number.isFinite(this.#busy[w])) return Promise.reject(new Error("no resize worker left"));
    const id = this.#next++;
    this.#busy[w]++;
    const own = img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength;
    const data = own ? img.data : img.data.slice();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, w });
      this.#workers[w].postMessage(
        { id, data, width: img.width, height: img.height, channels: img.channels, size, options },
        [data.buffer as ArrayBuffer],
      );
    });
  }

  /** Stops the workers; pending resizes are rejected. */
  close(): void {
    for (const p of this.#pending.values()) p.reject(new Error("resize pool closed"));
    this.#pending.clear();
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}
