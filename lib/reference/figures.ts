/**
 * The original study's figures and the real dataset's facts, as the
 * repository's `reference/` folder records them (see reference/README.md):
 * the ACMC class counts and label order, the study's image-size sweep and its
 * key figures per notebook.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "../config/mod.ts";
import acmc from "../../reference/acmc-dataset.json" with { type: "json" };

/** The repository's `reference/` folder (the study's saved figures). */
export const REFERENCE_DIR: string = join(ROOT, "reference");

/**
 * Images per class folder in ACMC (Kaggle `agneev/archie-comics-multi-class`,
 * folder `Multi-class/`, 6462 PNGs), in the label order the study's notebooks
 * use (`os.listdir` order passed as `class_names`). From
 * `reference/acmc-dataset.json`.
 *
 * @example
 * ```ts
 * ACMC_COUNTS["Archie"]; // 1284
 * ```
 */
export const ACMC_COUNTS: Readonly<Record<string, number>> = Object.freeze({ ...acmc.counts });

/** The 23 class folder names, in the study's label order. */
export const ACMC_CLASSES: readonly string[] = Object.freeze(Object.keys(ACMC_COUNTS));

/** Total images in ACMC (6462). */
export const ACMC_TOTAL: number = Object.values(ACMC_COUNTS).reduce((a, b) => a + b, 0);

/** The study's split: `validation_split` 0.2, seed 123 -> 5170 training, 1292 validation images. */
export const ACMC_SPLIT: Readonly<{
  validation_split: number;
  seed: number;
  train: number;
  validation: number;
}> = Object.freeze({ ...acmc.split });

/** The study's size sweep (scratch ResNet50, P100): best val_accuracy and s/epoch by size. */
export const STUDY_SIZE_SWEEP: readonly { size: number; accuracy: number; seconds: number }[] = [
  { size: 128, accuracy: 0.4296, seconds: 34 },
  { size: 256, accuracy: 0.5077, seconds: 58 },
  { size: 512, accuracy: 0.6339, seconds: 160 },
];

/** A key figure of the original study (an entry of `reference/study-summary.json`). */
export interface ReferenceEntry {
  /** E.g. "scratch256.valAccuracy". */
  key: string;
  /** The notebook of ours it belongs to, e.g. "02-simple-resnet". */
  notebook: string;
  /** What it measures. */
  label: string;
  value: number;
  note?: string;
  /** Where in the study it was read. */
  source: string;
}

/**
 * The original study's key figures (`reference/study-summary.json`, or the
 * file at `path`); errors name the file.
 *
 * @example
 * ```ts
 * const figures = await studySummary();
 * figures.find((e) => e.key === "dataset.images")?.value; // 6462
 * ```
 */
export async function studySummary(
  path: string = join(REFERENCE_DIR, "study-summary.json"),
): Promise<ReferenceEntry[]> {
  const data = JSON.parse(await Deno.readTextFile(path)) as { entries?: ReferenceEntry[] };
  if (!Array.isArray(data.entries)) throw new Error(`${path}: expected { entries: [...] }`);
  return data.entries;
}
