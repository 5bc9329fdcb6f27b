/**
 * Notebook results: each notebook saves one JSON object under
 * `<out>/results/<name>.json`, which the study report
 * (study_report.ts) reads; its `summary` rows are shown beside the original
 * study's figures. {@linkcode publishResults} is every notebook's last cell.
 *
 * @example
 * ```ts
 * await publishResults("02-simple-resnet", {
 *   params: { imageSize, epochs },
 *   summary: [{ label: "best val_accuracy", value: 0.57, reference: "scratch256.valAccuracy" }],
 * });
 * ```
 * @module
 */
import { outDir } from "../config/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { displayTable } from "../display/mod.ts";

/** One line of a notebook's results summary (`saveResults(name, { summary: [...] })`). */
export interface SummaryRow {
  /** What was measured, e.g. "best val_accuracy, scratch, 64 px". */
  label: string;
  /** Our figure. */
  value: number | string;
  /** Key of the original study's figure in reference/study-summary.json, e.g. "scratch256.valAccuracy". */
  reference?: string;
  /** A short remark (epochs, image size, dataset...). */
  note?: string;
}

/** The path of notebook `name`'s results file, `<out>/results/<name>.json`. */
export function resultsPath(name: string): string {
  return outDir("results", `${name}.json`);
}

/**
 * Saves `data` as the results of notebook `name` (e.g. "02-simple-resnet"),
 * atomically; returns the path.
 *
 * @example
 * ```ts
 * const path = await saveResults("01-images", { total: 6462, summary: [] });
 * ```
 */
export async function saveResults(name: string, data: unknown): Promise<string> {
  const path = resultsPath(name);
  await writeFileAtomic(path, JSON.stringify(data, null, 2));
  return path;
}

/**
 * Reads the saved results of notebook `name`, or null when there are none.
 *
 * @example
 * ```ts
 * const r = await loadResults<{ total: number }>("01-images");
 * ```
 */
export async function loadResults<T = unknown>(name: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(resultsPath(name))) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * The results cell of a notebook: saves `data` ({@linkcode saveResults}),
 * shows its `summary` rows as a table (label, value, note; 4 digits) and
 * prints where the results went. Returns the path.
 *
 * @example
 * ```ts
 * await publishResults("04-elephant-in-the-room", {
 *   summary: [{ label: "macro-F1", value: 0.49, reference: "imagenet512.macroF1" }],
 * });
 * ```
 */
export async function publishResults(
  name: string,
  data: { summary: readonly SummaryRow[] } & Record<string, unknown>,
): Promise<string> {
  const path = await saveResults(name, data);
  await displayTable(
    data.summary.map(({ label, value, note }) => ({ label, value, note })),
    ["label", "value", "note"],
    { digits: 4 },
  );
  console.log(`results saved to ${path}`);
  return path;
}
