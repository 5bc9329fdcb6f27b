/**
 * Image formats by their magic bytes and header sizes, and the error for a
 * file that cannot be decoded: the part of decoding that needs no decoder.
 * Plain JavaScript (types in image_format.d.ts) so that the decode Web
 * Workers load it without a type-check pass (`deno test` type-checks each
 * TypeScript worker graph on every `new Worker`, ~2-3 s).
 *
 * @module
 */

/** Thrown for a file that cannot be decoded; `file` names it. */
export class ImageDecodeError extends Error {
  /**
   * @param {string} file
   * @param {string} reason
   */
  constructor(file, reason) {
    super(`Cannot decode image ${JSON.stringify(file)}: ${reason}`);
    this.name = "ImageDecodeError";
    this.file = file;
    this.reason = reason;
  }
}

/**
 * The format by magic bytes (as TF does), or null.
 * @param {Uint8Array} b
 */
export function sniffFormat(b) {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return "png";
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) {
    return "gif";
  }
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return "bmp";
  if (
    b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 &&
    b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50
  ) return "webp";
  return null;
}

/**
 * A JPEG's frame header (SOFn): size and colour components, or null when none is found.
 * @param {Uint8Array} b
 */
export function jpegFrame(b) {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1];
    if (m === 0xff) {
      i++;
      continue;
    }
    const len = (b[i + 2] << 8) | b[i + 3];
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return {
        height: (b[i + 5] << 8) | b[i + 6],
        width: (b[i + 7] << 8) | b[i + 8],
        components: b[i + 9],
      };
    }
    if (m === 0xd9 || m === 0xda) return null;
    i += 2 + len;
  }
  return null;
}

/**
 * Width and height from the header of a PNG, GIF, BMP or JPEG, or null.
 * @param {Uint8Array} b
 */
export function headerSize(b) {
  const format = sniffFormat(b);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (format === "png" && b.length >= 24) {
    return { width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (format === "gif" && b.length >= 10) {
    return { width: v.getUint16(6, true), height: v.getUint16(8, true) };
  }
  if (format === "bmp" && b.length >= 26) {
    return { width: Math.abs(v.getInt32(18, true)), height: Math.abs(v.getInt32(22, true)) };
  }
  if (format === "jpeg") return jpegFrame(b);
  return null;
}

/**
 * Refuses what no decoder should be handed: an empty file, an unknown
 * format (by magic bytes), or a header larger than `limitInputPixels`.
 * @param {Uint8Array} bytes
 * @param {number} limitInputPixels
 * @param {string} file
 * @returns {{ width: number; height: number } | null} the header's size, when it gives one.
 * @throws {ImageDecodeError} naming the file.
 */
export function checkImageBytes(bytes, limitInputPixels, file) {
  if (bytes.length === 0) throw new ImageDecodeError(file, "empty file (0 bytes)");
  if (!sniffFormat(bytes)) {
    throw new ImageDecodeError(file, "unknown image format (expected PNG, JPEG, GIF, BMP)");
  }
  const dims = headerSize(bytes);
  if (dims && dims.width * dims.height > limitInputPixels) {
    throw new ImageDecodeError(
      file,
      `${dims.width}x${dims.height} exceeds the pixel limit ${limitInputPixels}`,
    );
  }
  return dims;
}
