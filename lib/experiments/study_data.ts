/**
 * The study's data split at any image size: Keras' `image_dataset_from_directory`
 * with the blog's class order (when the folders are the ACMC classes),
 * `validation_split` 0.2 and seed 123 by default, optionally capped to the
 * first N files of each subset (quick runs on a CPU).
 * @module
 */
import { ACMC_CLASSES } from "../reference/mod.ts";
import {
  type CacheMode,
  datasetFromFiles,
  type ImageDataset,
  imageDatasetFromDirectory,
} from "../data/mod.ts";

/** Options of {@linkcode studySplit}. */
export interface StudySplitOptions {
  /** Square image size, px. */
  imageSize: number;
  /** Images per batch (default 8, as the study). */
  batchSize?: number;
  /** Split and shuffling seed (default 123, as the study). */
  seed?: number;
  /** Held-out fraction (default 0.2). */
  validationSplit?: number;
  /** Keep only the first N training files (0 = all; Keras' order is already a seeded shuffle). */
  maxTrain?: number;
  /** Keep only the first N validation files (0 = all). */
  maxVal?: number;
  /** Keep resized images between epochs: `"memory"`, `"disk"` (under `out/cache/`) or false (default). */
  cache?: CacheMode;
}

/**
 * The blog's class order (its `os.listdir` order, label indices 0..22):
 * lib/reference's `ACMC_CLASSES`.
 *
 * @example
 * ```ts
 * (await blogClassOrder())[0]; // the class of label 0 in the study's notebooks
 * ```
 */
export function blogClassOrder(): Promise<string[]> {
  return Promise.resolve([...ACMC_CLASSES]);
}

/** The study's split of a folder, as {@linkcode studyData} returns it. */
export interface StudyData {
  /** Training subset (capped to `maxTrain` files when asked). */
  train: ImageDataset;
  /** Validation subset (capped to `maxVal` files when asked). */
  valid: ImageDataset;
  /** Label names, index = label. */
  classNames: string[];
  /** True when the folders are ACMC's and the blog's class order was used, else sorted names. */
  blogOrder: boolean;
  /** Training and validation files before the caps. */
  trainTotal: number;
  validTotal: number;
  /** Every validation file before the cap (to check that none is trained on). */
  validationFiles: string[];
}

/**
 * The study's split of the folder `dir` with what a notebook reports about
 * it: labels one-hot ("categorical"), in the blog's class order when the
 * class folders are ACMC's (else sorted, as Keras), `validationSplit` 0.2
 * and seed 123 by default, each subset optionally capped to its first N
 * files (Keras' order is already a seeded shuffle, so that is a random sample).
 *
 * @example
 * ```ts
 * const { train, valid, trainTotal } = await studyData(dir, { imageSize: 64, maxTrain: 256 });
 * ```
 */
export async function studyData(dir: string, options: StudySplitOptions): Promise<StudyData> {
  const blog = await blogClassOrder();
  let folders: string[];
  try {
    folders = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch (e) {
    throw new Error(`studyData: cannot read the dataset folder ${dir}: ${(e as Error).message}`);
  }
  const same = folders.length === blog.length && blog.every((c) => folders.includes(c));
  const batchSize = options.batchSize ?? 8;
  const seed = options.seed ?? 123;
  const size: [number, number] = [options.imageSize, options.imageSize];
  const cache = options.cache ?? false;
  const [train, valid] = await imageDatasetFromDirectory(dir, {
    labelMode: "categorical",
    classNames: same ? blog : null,
    validationSplit: options.validationSplit ?? 0.2,
    subset: "both",
    seed,
    batchSize,
    imageSize: size,
    shuffle: true,
    cache,
  });
  const cap = (ds: ImageDataset, n: number | undefined, shuffle: boolean) =>
    !n || n <= 0 || n >= ds.filePaths.length ? ds : datasetFromFiles(
      ds.filePaths.slice(0, n),
      ds.labels.slice(0, n),
      ds.classNames,
      { labelMode: "categorical", batchSize, imageSize: size, shuffle, seed, cache },
    );
  return {
    train: cap(train, options.maxTrain, true),
    valid: cap(valid, options.maxVal, false),
    classNames: train.classNames,
    blogOrder: same,
    trainTotal: train.filePaths.length,
    validTotal: valid.filePaths.length,
    validationFiles: valid.filePaths,
  };
}

/**
 * `[train, validation]` of the folder `dir`, labels one-hot ("categorical"),
 * in the blog's class order when the class folders are ACMC's, else sorted
 * (the subsets of {@linkcode studyData}).
 */
export async function studySplit(
  dir: string,
  options: StudySplitOptions,
): Promise<[ImageDataset, ImageDataset]> {
  const { train, valid } = await studyData(dir, options);
  return [train, valid];
}
