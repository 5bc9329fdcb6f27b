import assert, {
  deepStrictEqual as assertEquals,
  throws as assertThrows,
} from "node:assert/strict";
import sharp from "sharp";
import { encodePngRgb, renderImage } from "../lib/synth/mod.ts";

Deno.test("encodePngRgb: sharp decodes exactly the pixels written, odd sizes included", async () => {
  for (const [w, h] of [[1, 1], [3, 2], [37, 19], [640, 3]]) {
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 2654435761) >>> 24);
    const png = encodePngRgb(rgb, w, h);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assertEquals([info.width, info.height, info.channels], [w, h, 3]);
    assertEquals(new Uint8Array(data), rgb);
    // Level 0 stores, level 9 squeezes: both still decode to the same pixels.
    for (const level of [0, 9]) {
      assertEquals(
        new Uint8Array(await sharp(encodePngRgb(rgb, w, h, level)).raw().toBuffer()),
        rgb,
      );
    }
  }
});

Deno.test("encodePngRgb: wrong sizes are named", () => {
  assertThrows(() => encodePngRgb(new Uint8Array(5), 1, 2), /1x2 RGB needs 6 bytes, got 5/);
  assertThrows(() => encodePngRgb(new Uint8Array(0), 0, 2), /positive integers, got 0x2/);
});

Deno.test("renderImage: every path (JPEG, noise, enlarged, grey) gives an RGB PNG of the drawn size", async () => {
  let greys = 0;
  for (let i = 0; i < 40; i++) {
    const { png, width, height } = await renderImage("Others", i, 7);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assertEquals([info.width, info.height, info.channels], [width, height, 3]);
    let grey = true;
    for (let p = 0; p < data.length && grey; p += 3) {
      grey = data[p] === data[p + 1] && data[p] === data[p + 2];
    }
    if (grey) greys++;
  }
  // 8% greyscale: some, not most, of 40.
  assert(greys >= 1 && greys <= 10, `${greys} grey images of 40`);
});
