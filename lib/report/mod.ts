/**
 * Results that notebooks hand to the study report: each notebook saves one
 * JSON object under `<out>/results/<name>.json`.
 * @module
 */
import { dirname } from "node:path";
import { outDir } from "../config/mod.ts";

/** Saves `data` as the results of notebook `name` (e.g. "02-simple-resnet"); returns the path. */
export async function saveResults(name: string, data: unknown): Promise<string> {
  const path = outDir("results", `${name}.json`);
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(data, null, 2));
  await Deno.rename(tmp, path);
  return path;
}

/** Reads the saved results of notebook `name`, or null when there are none. */
export async function loadResults<T = unknown>(name: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(outDir("results", `${name}.json`))) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
