/** Types of native_decode.js. @module */
import type { Interpolation } from "./resize.ts";

/** The part of tfjs-node's raw binding (`tfjs_binding.node`) used here. */
export interface RawBinding {
  TF_STRING: number;
  TF_UINT8: number;
  TF_INT32: number;
  TF_FLOAT: number;
  TF_ATTR_INT: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  createTensor(shape: number[], dtype: number, values: unknown): number;
  executeOp(
    name: string,
    attrs: { name: string; type: number; value: unknown }[],
    inputs: number[],
    numOutputs: number,
  ): { id: number; shape: number[]; dtype: number }[];
  tensorDataSync(id: number): ArrayLike<number> & { buffer: ArrayBufferLike };
  deleteTensor(id: number): void;
}

/** What to make of one file: Keras' `channels`, `image_size`, interpolation, crop / pad. */
export interface DecodeSpec {
  /** 1, 3 or 4 output channels. */
  channels: 1 | 3 | 4;
  /** `[height, width]`. */
  size: [number, number];
  /** `"bilinear"` or `"nearest"`. */
  interpolation: Interpolation;
  /** Keras `crop_to_aspect_ratio`. */
  cropToAspectRatio?: boolean;
  /** Keras `pad_to_aspect_ratio`. */
  padToAspectRatio?: boolean;
  /** Largest accepted `width * height`. */
  limitInputPixels: number;
}

/** The source window, resized size and padding offset of Keras' resize modes. */
export interface AspectPlan {
  y0: number;
  x0: number;
  h: number;
  w: number;
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

/** Where the resize reads and writes for plain, crop-to-aspect and pad-to-aspect resizing. */
export declare function aspectPlan(
  width: number,
  height: number,
  size: [number, number],
  options: { cropToAspectRatio?: boolean; padToAspectRatio?: boolean },
): AspectPlan;

/** Rounds float32 0-255 pixels to uint8 (half away from zero, clamped), into `out` when given. */
export declare function toUint8(x: Float32Array, out?: Uint8Array): Uint8Array;

/** False for formats left to decode.ts (WebP). */
export declare function nativeFormat(b: Uint8Array): boolean;

/**
 * Decodes `bytes` and resizes them as Keras does, with TensorFlow's kernels.
 * @returns float32 `height * width * channels`, 0-255.
 * @throws {ImageDecodeError} naming `file` for an empty, unknown, corrupt or too large image.
 */
export declare function decodeResizeNative(
  b: RawBinding,
  bytes: Uint8Array,
  spec: DecodeSpec,
  file: string,
): Float32Array;
