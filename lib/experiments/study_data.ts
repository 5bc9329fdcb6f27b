/**
 * The study's data split at any image size: Keras' `image_dataset_from_directory`
 * with the blog's class order (when the folders are the ACMC classes),
 * `validation_split` 0.2 and seed 123 by default, optionally capped to the
 * first N files of each subset (quick runs on a CPU).
 * @module
 */
import { join } from "node:path";
import { ROOT } from "../config/mod.ts";
import { datasetFromFiles, type ImageDataset, imageDatasetFromDirectory } from "../data/mod.ts";

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
  /** Keep resized images in memory between epochs (default false). */
  cache?: "memory" | false;
}

/** The blog's class order (its `os.listdir` order, label indices 0..22), from reference/. */
export async function blogClassOrder(): Promise<string[]> {
  const ref = JSON.parse(await Deno.readTextFile(join(ROOT, "reference", "acmc-dataset.json")));
  return ref.label_order_in_blog_notebooks;
}

/**
 * `[train, validation]` of the folder `dir`, labels one-hot ("categorical"),
 * in the blog's class order when the class folders are ACMC's, else sorted.
 */
export async function studySplit(
  dir: string,
  options: StudySplitOptions,
): Promise<[ImageDataset, ImageDataset]> {
  const blog = await blogClassOrder();
  const folders = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
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
  return [cap(train, options.maxTrain, true), cap(valid, options.maxVal, false)];
}
