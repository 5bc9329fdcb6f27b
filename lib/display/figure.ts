/**
 * Showing a chart inline in the Deno Jupyter kernel, and saving it for the
 * report.
 *
 * @module
 */
import { dirname, extname } from "node:path";
import { publish } from "./jupyter.ts";
import type { MimeBundle } from "./jupyter.ts";
import { type Displayable, svgDocument, svgToPng, toBase64 } from "./render.ts";

/** Options of {@linkcode display}. */
export interface DisplayOptions {
  /**
   * Also save the figure as `<saveAs>.svg` and `<saveAs>.png` (a trailing
   * `.svg` / `.png` in the path is dropped first). Folders are created.
   */
  saveAs?: string;
  /** Text shown where images cannot be (`text/plain`); default "Figure W×H". */
  title?: string;
  /** PNG pixels per CSS pixel (default 2). */
  scale?: number;
}

/** What {@linkcode display} did. */
export interface DisplayResult {
  /** True when the figure was sent to a notebook. */
  shown: boolean;
  /** The saved SVG file, with `saveAs`. */
  svgPath?: string;
  /** The saved PNG file, with `saveAs`. */
  pngPath?: string;
  /** Size of the figure in CSS pixels. */
  width: number;
  height: number;
}

function isHtmlFigure(fig: Displayable): boolean {
  if (typeof fig === "string") return !/^\s*(<\?xml[^>]*>\s*)?<svg\b/i.test(fig);
  return (fig as Element).tagName.toLowerCase() !== "svg";
}

function htmlOf(fig: Displayable): string {
  return typeof fig === "string" ? fig : (fig as Element).outerHTML;
}

/**
 * Shows a chart in the notebook: an `<svg>` as `image/svg+xml`, a Plot
 * `<figure>` (title, legend) as `text/html`, each with an `image/png` fallback
 * rendered by sharp so that untrusted notebooks (e.g. executed headless) still
 * show a picture, and `text/plain` for terminals. With `saveAs` it also writes
 * the SVG and PNG files (the figures of the study report). Outside Jupyter it
 * only saves, and prints the saved path.
 *
 * @example
 * ```ts
 * import * as Plot from "@observablehq/plot";
 * import { plot } from "../plots/dom.ts";
 * await display(plot({ marks: [Plot.barY([1, 2, 3])] }), { saveAs: "out/figures/bars" });
 * ```
 */
export async function display(
  fig: Displayable,
  options: DisplayOptions = {},
): Promise<DisplayResult> {
  const { svg, width, height } = svgDocument(fig);
  const png = await svgToPng(svg, { scale: options.scale });
  const title = options.title ?? `Figure ${Math.round(width)}×${Math.round(height)}`;
  const result: DisplayResult = { shown: false, width, height };

  if (options.saveAs) {
    const ext = extname(options.saveAs).toLowerCase();
    const base = ext === ".svg" || ext === ".png"
      ? options.saveAs.slice(0, -ext.length)
      : options.saveAs;
    await Deno.mkdir(dirname(base) || ".", { recursive: true });
    result.svgPath = `${base}.svg`;
    result.pngPath = `${base}.png`;
    await Deno.writeTextFile(result.svgPath, `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`);
    await Deno.writeFile(result.pngPath, png);
  }

  const bundle: MimeBundle = { "image/png": toBase64(png), "text/plain": title };
  if (isHtmlFigure(fig)) bundle["text/html"] = htmlOf(fig);
  else bundle["image/svg+xml"] = svg;
  // Show the PNG at its CSS size, not at `scale` times it.
  const metadata = { "image/png": { width: Math.round(width), height: Math.round(height) } };
  result.shown = await publish(bundle, { metadata });
  if (!result.shown && result.svgPath) {
    console.log(`${title}: saved ${result.svgPath} and ${result.pngPath}`);
  }
  return result;
}
