/**
 * Finding the project's notebooks by name.
 * @module
 */
import { basename, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { ROOT } from "../config/mod.ts";

/** The folder holding the study's notebooks, `<root>/notebooks`. */
export const NOTEBOOKS_DIR: string = join(ROOT, "notebooks");

/** Every `*.ipynb` in `dir` (default: notebooks/), sorted by name (01-..., 02-...). */
export function listNotebooks(dir: string = NOTEBOOKS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb") && !e.name.startsWith("."))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Resolves what the user typed to notebook paths: an .ipynb path (relative to
 * `cwd`), or a notebook name or its prefix in notebooks/ (`01`,
 * `01-images`, `01-images.ipynb`). Throws naming the argument and the
 * notebooks there are when nothing or more than one notebook matches.
 */
export function resolveNotebooks(
  names: string[],
  cwd: string = Deno.cwd(),
  dir: string = NOTEBOOKS_DIR,
): string[] {
  const all = listNotebooks(dir);
  if (!names.length) return all;
  return names.map((n) => {
    const asPath = resolve(cwd, n);
    if (n.endsWith(".ipynb") && existsSync(asPath)) return asPath;
    const stem = basename(n, ".ipynb");
    const exact = all.filter((p) => basename(p, ".ipynb") === stem);
    const hits = exact.length ? exact : all.filter((p) => basename(p).startsWith(stem));
    if (hits.length === 1) return hits[0];
    const known = all.map((p) => basename(p, ".ipynb")).join(", ") || "none";
    throw new Error(
      hits.length
        ? `notebook "${n}" is ambiguous: ${hits.map((p) => basename(p)).join(", ")}`
        : `no notebook "${n}" (in ${dir}: ${known})`,
    );
  });
}
