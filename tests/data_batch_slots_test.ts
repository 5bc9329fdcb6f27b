import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { BatchSlots, wholeBatch } from "../lib/data/mod.ts";

Deno.test("BatchSlots: one shared buffer per batch, each image at its place", () => {
  const per = 2 * 2 * 3;
  const slots = new BatchSlots(per, 5, 2, "float32");
  const views = [0, 1, 2, 3, 4].map((p) => slots.slot(p));
  views.forEach((v, p) => v.fill(p + 1));
  assert(views[0].buffer instanceof SharedArrayBuffer);
  assertEquals(views[0].buffer, views[1].buffer);
  assert(views[1].buffer !== views[2].buffer, "a new buffer for each batch");
  assertEquals(views[4].buffer.byteLength, per * 4, "the last batch holds what is left");
  const first = wholeBatch([views[0], views[1]]) as Float32Array;
  assertEquals([first.length, first[0], first[per]], [2 * per, 1, 2]);
  assertEquals(wholeBatch([views[4]])?.[0], 5);
  const bytes = new BatchSlots(per, 3, 3, "uint8");
  const u8 = [0, 1, 2].map((p) => bytes.slot(p));
  assert(wholeBatch(u8) instanceof Uint8Array);
  assertEquals(wholeBatch(u8)?.length, 3 * per);
  assert.throws(() => new BatchSlots(per, 5, 0, "uint8"), /batchSize/);
});

Deno.test("wholeBatch: null unless the images are every slot of one buffer, in order", () => {
  const per = 4;
  const slots = new BatchSlots(per, 6, 3, "float32");
  const [a, b, c] = [0, 1, 2].map((p) => slots.slot(p));
  assertEquals(wholeBatch([a, b, c])?.length, 3 * per);
  assertEquals(wholeBatch([a, b]), null, "a skipped file: not the whole buffer");
  assertEquals(wholeBatch([b, a, c]), null, "out of order");
  assertEquals(wholeBatch([a, null, c]), null, "one image from elsewhere (a cache record)");
  const next = slots.slot(3);
  assertEquals(wholeBatch([b, c, next]), null, "images of two batches");
  assertEquals(wholeBatch([new Float32Array(per)]), null, "not shared memory");
});

Deno.test("BatchSlots: a spare buffer of a batch's size is taken before a new one", () => {
  const per = 4;
  const spare: SharedArrayBuffer[] = [];
  const slots = new BatchSlots(per, 5, 2, "uint8", spare);
  const first = slots.slot(0).buffer;
  spare.push(first as SharedArrayBuffer, new SharedArrayBuffer(per)); // the whole batch 0, a small one
  assertEquals(slots.slot(2).buffer, first, "batch 1 reuses batch 0's buffer");
  assertEquals(spare.length, 1);
  const small = spare[0];
  assertEquals(slots.slot(4).buffer, small, "the last, smaller batch takes the small one");
  assertEquals(spare.length, 0);
});
