/**
 * The batches of an epoch as shared memory that the decoders write each image
 * into, at its place in its batch: the decode workers (decode_pool.ts) fill a
 * batch directly, so the main thread neither allocates a zeroed batch nor
 * copies the images in (both measured at ~0.75 ms of main-thread CPU per
 * 256 px image when every image came back in its own buffer; docs/loader.md).
 *
 * @module
 */

/** Float32 pixels (0-255) or uint8 ones (the caches' rounded values). */
export type Pixels = Float32Array | Uint8Array;

/**
 * Hands out, for each position of an epoch's order, the image's slot in its
 * batch: a view of one SharedArrayBuffer per batch, taken when the batch's
 * first slot is asked for from `spare` (buffers of earlier batches whose
 * tensors no longer need them) when one has the size, else allocated. A
 * fresh buffer costs its first writes a page fault per 4 KB (~1.7 us each
 * here: ~0.3 ms of CPU per 256 px float32 image).
 *
 * @example
 * ```ts
 * const slots = new BatchSlots(2 * 2 * 3, 5, 2, "float32");
 * const a = slots.slot(0), b = slots.slot(1); // batch 0, slots 0 and 1
 * wholeBatch([a, b])?.length; // 24: one float32 batch of 2 images
 * ```
 */
export class BatchSlots {
  #per: number;
  #total: number;
  #batchSize: number;
  #dtype: "float32" | "uint8";
  #buffer: SharedArrayBuffer | null = null;
  #first = -1;
  #spare: SharedArrayBuffer[];

  /**
   * @param imageLength values per image (`height * width * channels`).
   * @param total images in the epoch.
   * @param batchSize images per batch (the last batch may be smaller).
   * @param dtype `"float32"` pixels, or `"uint8"` (rounded, with a cache).
   * @param spare buffers free for reuse; one of a batch's size is taken from
   * it (the caller adds a buffer once its batch tensor no longer needs it).
   */
  constructor(
    imageLength: number,
    total: number,
    batchSize: number,
    dtype: "float32" | "uint8",
    spare: SharedArrayBuffer[] = [],
  ) {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) {
      throw new Error(`\`batchSize\` must be a positive integer, received: ${batchSize}`);
    }
    this.#per = imageLength;
    this.#total = total;
    this.#batchSize = batchSize;
    this.#dtype = dtype;
    this.#spare = spare;
  }

  /**
   * The slot of the image at `position` (0-based, in the epoch's order).
   * Positions are asked for in increasing order; a batch's buffer is
   * allocated at the first of its positions.
   */
  slot(position: number): Pixels {
    const first = position - (position % this.#batchSize);
    const bytes = this.#dtype === "float32" ? 4 : 1;
    if (first !== this.#first || !this.#buffer) {
      const size = Math.min(this.#batchSize, this.#total - first) * this.#per * bytes;
      const k = this.#spare.findIndex((b) => b.byteLength === size);
      this.#buffer = k >= 0 ? this.#spare.splice(k, 1)[0] : new SharedArrayBuffer(size);
      this.#first = first;
    }
    const offset = (position - first) * this.#per * bytes;
    return this.#dtype === "float32"
      ? new Float32Array(this.#buffer, offset, this.#per)
      : new Uint8Array(this.#buffer, offset, this.#per);
  }
}

/**
 * The whole batch buffer when `images` are, in order, every slot of one
 * BatchSlots buffer (a batch whose images all came back in place, none
 * skipped); else null, and the batch is assembled by copy.
 */
export function wholeBatch(images: (Pixels | null)[]): Pixels | null {
  const first = images[0];
  if (!first || !(first.buffer instanceof SharedArrayBuffer)) return null;
  const buffer = first.buffer;
  const size = first.byteLength;
  if (buffer.byteLength !== images.length * size) return null;
  for (let i = 0; i < images.length; i++) {
    const im = images[i];
    if (!im || im.buffer !== buffer || im.byteOffset !== i * size || im.byteLength !== size) {
      return null;
    }
  }
  return first instanceof Float32Array ? new Float32Array(buffer) : new Uint8Array(buffer);
}
