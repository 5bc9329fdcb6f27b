/**
 * Showing things in a Deno Jupyter notebook (with files and terminal
 * fallbacks): charts ({@linkcode display}: SVG + PNG, optionally saved for the
 * report), tables ({@linkcode displayTable}) and progress bars
 * ({@linkcode progressBar}).
 *
 * @example
 * ```ts
 * import { display, displayTable, progressBar } from "../lib/display/mod.ts";
 * await display(chart, { saveAs: outDir("figures", "01-images", "classes") });
 * await displayTable([{ class: "Archie", images: 1284 }]);
 * const bar = progressBar({ total: 10, title: "epochs" });
 * bar.update(1, "loss 1.23");
 * await bar.finish();
 * ```
 *
 * @module
 */
export { display, type DisplayOptions, type SavedFigure, saveFigure } from "./figure.ts";
export {
  displayTable,
  formatCell,
  tableCells,
  type TableColumn,
  tableHtml,
  type TableOptions,
  tableText,
} from "./table.ts";
export {
  formatDuration,
  type Progress,
  progressBar,
  progressLine,
  type ProgressMode,
  type ProgressOptions,
  progressReporter,
} from "./progress.ts";
export {
  type Displayable,
  NoChartError,
  svgDocument,
  svgToPng,
  toBase64,
  toSvg,
} from "./render.ts";
export { inJupyter, type JupyterApi, type MimeBundle, publish } from "./jupyter.ts";
