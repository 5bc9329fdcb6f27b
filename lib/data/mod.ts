/**
 * Loading the image dataset: Keras-faithful `imageDatasetFromDirectory`,
 * explicit file lists (`datasetFromFiles`), decoding/resizing like TF, the
 * numpy shuffle, class balance and augmentation.
 *
 * @module
 */
export type { Batch, BatchDataset } from "./types.ts";
export {
  datasetFromFiles,
  ImageDataset,
  imageDatasetFromDirectory,
  type ImageDatasetOptions,
  type LabelMode,
  type LoadOptions,
  type MapContext,
  type SkippedFile,
} from "./dataset.ts";
export {
  ALLOWLIST_FORMATS,
  checkValidationSplitArg,
  type DirectoryIndex,
  indexDirectory,
  type IndexOptions,
  listValidFiles,
  trainingOrValidationSplit,
} from "./files.ts";
export {
  decodeImage,
  type DecodeOptions,
  ImageDecodeError,
  imageHeader,
  type RawImage,
} from "./decode.ts";
export { type Interpolation, resizeImage, type ResizeOptions } from "./resize.ts";
export { type CacheMode, checksum, DiskCache } from "./cache.ts";
export { DECODE_ADDON, DecodePool } from "./decode_pool.ts";
export { type DecodedBatch, type GraphDecodeKind, GraphDecoder } from "./graph_decode.ts";
export { BatchSlots, type Pixels, wholeBatch } from "./batch_slots.ts";
export * from "./scan.ts";
export * from "./balance.ts";
export * from "./augment.ts";
export { datasetFingerprint } from "./fingerprint.ts";
