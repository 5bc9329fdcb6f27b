/**
 * Making sure the dataset the notebooks read exists.
 * @module
 */
import { existsSync } from "node:fs";
import { type DatasetChoice, datasetDir } from "../config/mod.ts";
import { generateStandIn, readManifest } from "./generate.ts";
import type { ProgressMode } from "../display/progress.ts";

/** Options of {@linkcode ensureDataset}. */
export interface EnsureOptions {
  /** Scale of a stand-in made here (default: `ACMC_SYNTH_SCALE`, else 1). */
  scale?: number;
  /** Seed of a stand-in made here (default 123). */
  seed?: number;
  /** Fewest images per class of a stand-in made here (default 6). */
  minPerClass?: number;
  /** Progress display while generating. */
  progress?: ProgressMode;
  /** The dataset choice to check (default {@linkcode datasetDir}()). */
  choice?: DatasetChoice;
}

/**
 * The dataset the notebooks use ({@linkcode datasetDir}), generating the
 * embedded stand-in first when that is the choice and it is missing or
 * unfinished. A stand-in that exists complete (any scale) is kept. A folder
 * named by `ACMC_DATA` that does not exist is an error naming it.
 *
 * @example
 * ```ts
 * const { dir, kind, generated } = await ensureDataset();
 * ```
 */
export async function ensureDataset(
  options: EnsureOptions = {},
): Promise<DatasetChoice & { generated: boolean }> {
  const choice = options.choice ?? datasetDir();
  if (choice.source !== "embedded default") {
    if (!existsSync(choice.dir)) {
      throw new Error(
        `dataset folder not found: ${choice.dir} (from ${choice.source}); ` +
          "see data.README.md, or unset ACMC_DATA to use the embedded stand-in",
      );
    }
    return { ...choice, generated: false };
  }
  const manifest = await readManifest(choice.dir);
  if (manifest?.complete) return { ...choice, generated: false };
  const envScale = Number(Deno.env.get("ACMC_SYNTH_SCALE") ?? "");
  const scale = options.scale ?? (envScale > 0 ? envScale : 1);
  await generateStandIn({
    outDir: choice.dir,
    scale,
    seed: options.seed ?? 123,
    minPerClass: options.minPerClass,
    progress: options.progress,
  });
  return { ...choice, generated: true };
}
