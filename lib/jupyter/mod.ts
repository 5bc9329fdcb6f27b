/**
 * Notebooks: parameters for notebook authors ({@linkcode param}), the
 * results every notebook saves ({@linkcode publishResults}), the headless
 * runner behind `deno task notebooks` / `deno task study`, and the study
 * report page built from those results ({@linkcode buildReport}).
 *
 * @example
 * ```ts
 * // in a notebook's parameters cell
 * import { param } from "../lib/mod.ts";
 * const epochs = param("epochs", 20); // `--param epochs=2` overrides it
 * ```
 * @module
 */
export { param, paramEnvName, paramsToEnv, type ParamValue, parseParam } from "./params.ts";
export {
  formatFailure,
  NotebookError,
  type NotebookFailure,
  type NotebookRun,
  type ProgressEvent,
  runNotebook,
  runNotebookOrThrow,
  type RunOptions,
} from "./runner.ts";
export { checkNotebook, type CheckProblem } from "./check.ts";
export { listNotebooks, NOTEBOOKS_DIR, resolveNotebooks } from "./notebooks.ts";
export { buildReport, type ReportInput, type ReportNotebook, summaryRows } from "./study_report.ts";
export {
  loadResults,
  publishResults,
  resultsPath,
  saveResults,
  type SummaryRow,
} from "./results.ts";
export {
  findingsJson,
  findingsTableHtml,
  type GatheredFinding,
  gatherFindings,
} from "./findings_table.ts";
