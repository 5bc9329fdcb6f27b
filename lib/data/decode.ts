/**
 * Image decoding like TensorFlow's `tf.image.decode_image(contents, channels,
 * expand_animations=False)`, which Keras' loader uses: PNG (8/16-bit, grey,
 * palette, alpha), JPEG (incl. CMYK), GIF (first frame), BMP (24/32-bit,
 * decoded here: sharp has no BMP reader), WebP. Decoding runs in sharp's
 * worker threads; a bad file gives an error that names it.
 *
 * @module
 */
import sharp from "sharp";
import { nativeBackend, tf } from "../engine/mod.ts";
// @ts-types="./image_format.d.ts"
import { ImageDecodeError, type ImageFormat, jpegFrame, sniffFormat } from "./image_format.js";

export { ImageDecodeError, jpegFrame, sniffFormat };

/** A decoded image: `height * width * channels` bytes, row-major, interleaved. */
export interface RawImage {
  /** Pixel bytes. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Channels per pixel (1, 3 or 4). */
  channels: number;
}

/** Options of {@linkcode decodeImage}. */
export interface DecodeOptions {
  /** Output channels: 1 (grey), 3 (RGB, alpha dropped) or 4 (RGBA). Default 3. */
  channels?: 1 | 3 | 4;
  /** Largest accepted `width * height` (decompression bombs); default 2**28 / 4 = 67,108,864. */
  limitInputPixels?: number;
  /** The file name used in error messages. */
  file?: string;
}

/** Default pixel limit (same as sharp's: 0x3FFF * 0x3FFF ~ 268 M). */
export const DEFAULT_LIMIT_INPUT_PIXELS = 0x3fff * 0x3fff;

/** Reads the size from the header without decoding pixels. */
export async function imageHeader(
  bytes: Uint8Array,
  file = "<buffer>",
): Promise<{ width: number; height: number; format: ImageFormat }> {
  const format = sniffFormat(bytes);
  if (bytes.length === 0) throw new ImageDecodeError(file, "empty file (0 bytes)");
  if (!format) {
    throw new ImageDecodeError(file, "unknown image format (expected PNG, JPEG, GIF, BMP)");
  }
  if (format === "bmp") {
    const h = bmpHeader(bytes, file);
    return { width: h.width, height: Math.abs(h.height), format };
  }
  try {
    const m = await sharp(bytes, { limitInputPixels: false }).metadata();
    return { width: m.width ?? 0, height: m.height ?? 0, format };
  } catch (e) {
    throw new ImageDecodeError(file, (e as Error).message);
  }
}

function bmpHeader(b: Uint8Array, file: string) {
  if (b.length < 54) throw new ImageDecodeError(file, "truncated BMP header");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dataOffset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  if (headerSize < 40) throw new ImageDecodeError(file, "unsupported BMP (OS/2 core header)");
  const width = v.getInt32(18, true);
  const height = v.getInt32(22, true);
  const bpp = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  return { dataOffset, width, height, bpp, compression, v };
}

/** Decodes an uncompressed 24/32-bit BMP (what TF's `decode_bmp` reads) to RGBA. */
function decodeBmp(b: Uint8Array, file: string, limit: number): RawImage {
  const { dataOffset, width, height, bpp, compression } = bmpHeader(b, file);
  if (bpp !== 24 && bpp !== 32) {
    throw new ImageDecodeError(file, `unsupported BMP bit depth ${bpp} (24 or 32 supported)`);
  }
  if (!(compression === 0 || (compression === 3 && bpp === 32))) {
    throw new ImageDecodeError(file, `unsupported BMP compression ${compression}`);
  }
  const h = Math.abs(height);
  if (width <= 0 || h === 0) throw new ImageDecodeError(file, "invalid BMP size");
  if (width * h > limit) {
    throw new ImageDecodeError(file, `${width}x${h} exceeds the pixel limit ${limit}`);
  }
  const src = bpp / 8;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (dataOffset + stride * (h - 1) + width * src > b.length) {
    throw new ImageDecodeError(file, "truncated BMP pixel data");
  }
  const out = new Uint8Array(width * h * 4);
  for (let y = 0; y < h; y++) {
    const row = height > 0 ? h - 1 - y : y; // positive height = bottom-up
    let s = dataOffset + row * stride;
    let d = y * width * 4;
    for (let x = 0; x < width; x++, s += src, d += 4) {
      out[d] = b[s + 2];
      out[d + 1] = b[s + 1];
      out[d + 2] = b[s];
      out[d + 3] = src === 4 ? b[s + 3] : 255;
    }
  }
  return { data: out, width, height: h, channels: 4 };
}

/** `(255-c)(255-k)/255` per channel: TF's CMYK -> RGB for (non-inverted) CMYK values. */
function cmykToRgba(cmyk: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const k = 255 - cmyk[4 * i + 3];
    out[4 * i] = Math.floor(((255 - cmyk[4 * i]) * k) / 255);
    out[4 * i + 1] = Math.floor(((255 - cmyk[4 * i + 1]) * k) / 255);
    out[4 * i + 2] = Math.floor(((255 - cmyk[4 * i + 2]) * k) / 255);
    out[4 * i + 3] = 255;
  }
  return out;
}

/** Converts interleaved 1-4 channel bytes to `want` channels the way decode_image does. */
function toChannels(img: RawImage, want: number): RawImage {
  const { data, width, height, channels: c } = img;
  if (c === want) return img;
  const n = width * height;
  const out = new Uint8Array(n * want);
  const grey = c <= 2;
  for (let i = 0; i < n; i++) {
    const s = i * c;
    if (want === 1) {
      // libpng's rgb_to_gray(0.299, 0.587) in 15-bit fixed point, truncated (TF's PNG path)
      out[i] = grey ? data[s] : (9797 * data[s] + 19234 * data[s + 1] + 3737 * data[s + 2]) >> 15;
    } else {
      const d = i * want;
      const r = data[s];
      out[d] = r;
      out[d + 1] = grey ? r : data[s + 1];
      out[d + 2] = grey ? r : data[s + 2];
      if (want === 4) out[d + 3] = c === 2 ? data[s + 1] : c === 4 ? data[s + 3] : 255;
    }
  }
  return { data: out, width, height, channels: want };
}

/**
 * Decodes image bytes to `channels` interleaved uint8 channels, like
 * `tf.image.decode_image(bytes, channels, expand_animations=False)`: alpha is
 * dropped (not composited) for RGB, grey is replicated, palette expanded,
 * 16-bit reduced to 8-bit, CMYK converted like libjpeg/TF, GIF first frame,
 * EXIF orientation and ICC profiles ignored. On the native engine, JPEGs (1 or
 * 3 channels) go through TensorFlow's own `DecodeImage` kernel, so they are
 * Keras' pixels exactly; elsewhere libvips decodes them (~1-2 levels apart).
 *
 * @throws {ImageDecodeError} for an empty, truncated, corrupt, unknown or
 * too large (over `limitInputPixels`) image.
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<RawImage> {
  const file = options.file ?? "<buffer>";
  const want = options.channels ?? 3;
  const limit = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  if (bytes.length === 0) throw new ImageDecodeError(file, "empty file (0 bytes)");
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ImageDecodeError(file, "unknown image format (expected PNG, JPEG, GIF, BMP)");
  }
  if (format === "bmp") return toChannels(decodeBmp(bytes, file, limit), want);
  try {
    const opts = {
      failOn: "error" as const,
      limitInputPixels: limit,
      pages: 1,
      page: 0,
      ignoreIcc: true,
    };
    if (format === "jpeg" && want !== 4) {
      const frame = jpegFrame(bytes);
      if (frame && frame.width * frame.height > limit) {
        throw new ImageDecodeError(
          file,
          `${frame.width}x${frame.height} exceeds the pixel limit ${limit}`,
        );
      }
      const img = decodeJpegNative(bytes, want, file);
      if (img) return img;
    }
    if (format === "jpeg" && jpegComponents(bytes) === 4) {
      const { data, info } = await sharp(bytes, opts).pipelineColourspace("cmyk")
        .toColourspace("cmyk").raw().toBuffer({ resolveWithObject: true });
      const n = info.width * info.height;
      const rgba = cmykToRgba(new Uint8Array(data.buffer, data.byteOffset, data.length), n);
      return toChannels({ data: rgba, width: info.width, height: info.height, channels: 4 }, want);
    }
    // ignoreIcc keeps the stored values (TF ignores ICC profiles); sharp hands out
    // 8-bit sRGB(A) bands (16-bit reduced, greys replicated, palettes expanded);
    // a replicated grey maps back to itself through the luma weights (they sum to 2**15).
    // Alpha dropped by libvips when it is not wanted (TF's png_set_strip_alpha does
    // the same: no compositing): a JS pass over every pixel cost ~3.6 ms a 0.4 Mpx image.
    let pipeline = sharp(bytes, opts);
    if (want !== 4) pipeline = pipeline.removeAlpha();
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const img: RawImage = {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: info.channels,
    };
    return toChannels(img, want);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(file, (e as Error).message);
  }
}

/** Number of colour components in a JPEG's frame header (4 = CMYK/YCCK), or 0. */
export function jpegComponents(b: Uint8Array): number {
  return jpegFrame(b)?.components ?? 0;
}

/**
 * Decodes a JPEG with TensorFlow's own `DecodeJpeg` kernel when the native
 * engine is in use (null otherwise): the attributes `decode_image` gives it
 * (fancy upscaling, libjpeg's default "" = fast integer IDCT), so the pixels
 * are Keras' exactly. libvips uses the accurate IDCT, ~1-2 levels apart on
 * average. It runs on the calling thread (tfjs-node ops are synchronous):
 * fine for ACMC, which is all PNG.
 */
function decodeJpegNative(bytes: Uint8Array, channels: 1 | 3, file: string): RawImage | null {
  const backend = nativeBackend();
  if (!backend) return null;
  const b = backend.binding;
  // DecodeImage (decode_image's kernel) in float32, i.e. uint8 / 255: tfjs-node
  // cannot hand out a uint8 tensor, and x * 255 rounds back to the exact byte.
  const attrs = [
    { name: "channels", type: b.TF_ATTR_INT, value: channels },
    { name: "dtype", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: "expand_animations", type: b.TF_ATTR_BOOL, value: false },
  ];
  const input = tf.scalar(bytes as unknown as string, "string");
  let t: tf.Tensor;
  try {
    t = backend.executeMultipleOutputs("DecodeImage", attrs, [input], 1)[0];
  } catch (e) {
    throw new ImageDecodeError(file, (e as Error).message.split("\n")[0]);
  } finally {
    input.dispose();
  }
  try {
    const [height, width, c] = t.shape;
    const f = t.dataSync() as Float32Array;
    const data = new Uint8Array(f.length);
    for (let i = 0; i < f.length; i++) data[i] = Math.round(f[i] * 255);
    return { data, width, height, channels: c };
  } finally {
    t.dispose();
  }
}
