/** Types of image_format.js. @module */

/** Thrown for a file that cannot be decoded; `file` names it. */
export declare class ImageDecodeError extends Error {
  /** The file that failed. */
  readonly file: string;
  /** Why, without the file name. */
  readonly reason: string;
  constructor(file: string, reason: string);
}

/** An image format recognised by its magic bytes. */
export type ImageFormat = "png" | "jpeg" | "gif" | "bmp" | "webp";

/** The format by magic bytes (as TF does), or null. */
export declare function sniffFormat(b: Uint8Array): ImageFormat | null;

/** A JPEG's frame header (SOFn): size and colour components, or null when none is found. */
export declare function jpegFrame(
  b: Uint8Array,
): { width: number; height: number; components: number } | null;

/** Width and height from the header of a PNG, GIF, BMP or JPEG, or null. */
export declare function headerSize(b: Uint8Array): { width: number; height: number } | null;

/**
 * Throws an ImageDecodeError naming `file` for an empty file, an unknown
 * format or too many pixels; else returns the header's size (null when the
 * bytes do not hold it).
 */
export declare function checkImageBytes(
  bytes: Uint8Array,
  limitInputPixels: number,
  file: string,
): { width: number; height: number } | null;
