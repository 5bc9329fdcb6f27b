/**
 * Where things live: the project root, the output folder, and the dataset the
 * notebooks read.
 *
 * - Dataset: the `ACMC_DATA` environment variable when set; else `data/acmc/`
 *   (the real Kaggle download, see data.README.md) when it exists; else the
 *   embedded stand-in `data/acmc-synth/` made by `deno task synth`.
 * - Outputs (checkpoints, executed notebooks, figures, the report):
 *   `ACMC_OUT` when set, else `out/`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";

/** The project root: the folder holding deno.json. */
export const ROOT: string = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** The output folder (`ACMC_OUT`, default `<root>/out`). */
export function outDir(...parts: string[]): string {
  return join(resolve(ROOT, Deno.env.get("ACMC_OUT") ?? "out"), ...parts);
}

/** The embedded stand-in dataset's folder, `<root>/data/acmc-synth`. */
export const SYNTH_DIR: string = join(ROOT, "data", "acmc-synth");

/** The real dataset's default folder, `<root>/data/acmc`. */
export const REAL_DIR: string = join(ROOT, "data", "acmc");

/** Which dataset the notebooks use, and why. */
export interface DatasetChoice {
  /** Absolute path of the folder holding the 23 class folders. */
  dir: string;
  /** `"real"` for ACMC itself, `"synthetic"` for the embedded stand-in. */
  kind: "real" | "synthetic";
  /** Where the choice came from, for the notebook to print. */
  source: "ACMC_DATA" | "data/acmc" | "embedded default";
}

/**
 * Resolves the dataset folder: `ACMC_DATA`, else `data/acmc/`, else the
 * embedded stand-in. A dataset is "synthetic" when its folder holds the
 * stand-in's marker file `SYNTHETIC.json`.
 *
 * @example
 * ```ts
 * const { dir, kind } = datasetDir();
 * ```
 */
export function datasetDir(): DatasetChoice {
  const env = Deno.env.get("ACMC_DATA");
  const kindOf = (dir: string) => existsSync(join(dir, "SYNTHETIC.json")) ? "synthetic" : "real";
  if (env) {
    const dir = resolve(ROOT, env);
    return { dir, kind: kindOf(dir), source: "ACMC_DATA" };
  }
  if (existsSync(REAL_DIR)) return { dir: REAL_DIR, kind: kindOf(REAL_DIR), source: "data/acmc" };
  return { dir: SYNTH_DIR, kind: "synthetic", source: "embedded default" };
}
