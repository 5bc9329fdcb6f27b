/**
 * The dataset contract between loading (`lib/data`) and training (`lib/train`).
 * @module
 */
import type { tf } from "../engine/mod.ts";

/** One batch: images `[b, h, w, c]` float32 in 0-255, labels as `labelMode` says. */
export interface Batch {
  /** Images, float32, 0-255, shape `[batch, height, width, channels]`. */
  x: tf.Tensor4D;
  /** Labels: int32 `[b]` ("int"), float32 `[b, k]` ("categorical"), float32 `[b, 1]` ("binary"), or null. */
  y: tf.Tensor | null;
}

/**
 * A batched image dataset, like the `tf.data.Dataset` Keras'
 * `image_dataset_from_directory` returns. Each `for await` over it is one
 * epoch; a shuffled dataset draws a new (seeded) order on each pass, as
 * `reshuffle_each_iteration=True` does. The consumer disposes each batch.
 */
export interface BatchDataset extends AsyncIterable<Batch> {
  /** Class names, index = label. */
  readonly classNames: string[];
  /** The files of this dataset (this subset), in Keras' order before per-epoch shuffling. */
  readonly filePaths: string[];
  /** The integer label of each file in `filePaths` (empty when `labels` is null). */
  readonly labels: number[];
  /** Images per batch, or null when unbatched. */
  readonly batchSize: number | null;
  /** `[height, width]` of the images it yields. */
  readonly imageSize: [number, number];
  /** Channels per pixel (1 grayscale, 3 rgb, 4 rgba). */
  readonly channels: number;
  /** Batches per epoch (Keras' `cardinality()`). */
  readonly cardinality: number;
}
