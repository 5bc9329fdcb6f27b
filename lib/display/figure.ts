/**
 * Showing a chart inline in the Deno Jupyter kernel, and saving it for the
 * report.
 *
 * @module
 */
import { dirname, extname } from "node:path";
import { publish } from "./jupyter.ts";
import type { MimeBundle } from "./jupyter.ts";
import { type Displayable, NoChartError, svgDocument, svgToPng, toBase64 } from "./render.ts";

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

/** The files {@linkcode saveFigure} wrote. */
export interface SavedFigure {
  /** The SVG file. */
  svgPath: string;
  /** The PNG file. */
  pngPath: string;
  /** Size of the figure in CSS pixels (the PNG has `scale` times more pixels). */
  width: number;
  height: number;
}

interface Rendered {
  svg: string;
  png: Uint8Array;
  width: number;
  height: number;
}

async function render(fig: Displayable, scale?: number): Promise<Rendered> {
  const { svg, width, height } = svgDocument(fig);
  return { svg, png: await svgToPng(svg, { scale }), width, height };
}

async function writeFiles(r: Rendered, path: string): Promise<SavedFigure> {
  const ext = extname(path).toLowerCase();
  const base = ext === ".svg" || ext === ".png" ? path.slice(0, -ext.length) : path;
  await Deno.mkdir(dirname(base) || ".", { recursive: true });
  const saved = {
    svgPath: `${base}.svg`,
    pngPath: `${base}.png`,
    width: r.width,
    height: r.height,
  };
  await Deno.writeTextFile(saved.svgPath, `<?xml version="1.0" encoding="UTF-8"?>\n${r.svg}\n`);
  await Deno.writeFile(saved.pngPath, r.png);
  return saved;
}

/**
 * Saves a chart as `<path>.svg` and `<path>.png` (a trailing `.svg` / `.png`
 * in `path` is dropped first; folders are created) and returns the paths.
 *
 * @example
 * ```ts
 * const { pngPath } = await saveFigure(fig, outDir("figures", "01-images", "classes"));
 * ```
 */
export async function saveFigure(
  fig: Displayable,
  path: string,
  options: { scale?: number } = {},
): Promise<SavedFigure> {
  return await writeFiles(await render(fig, options.scale), path);
}

function isHtmlFigure(fig: Displayable): boolean {
  if (typeof fig === "string") return !/^\s*(<\?xml[^>]*>\s*)?<svg\b/i.test(fig);
  return (fig as Element).tagName.toLowerCase() !== "svg";
}

function asText(html: string): string {
  return html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200);
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
 * only saves, and prints the saved paths. Returns nothing (like IPython's
 * `display`), so a cell ending with it shows no extra output; use
 * {@linkcode saveFigure} for the paths.
 *
 * @example
 * ```ts
 * import * as Plot from "@observablehq/plot";
 * import { plot } from "../plots/dom.ts";
 * await display(plot({ marks: [Plot.barY([1, 2, 3])] }), { saveAs: "out/figures/bars" });
 * ```
 */
export async function display(fig: Displayable, options: DisplayOptions = {}): Promise<void> {
  let r: Rendered;
  try {
    r = await render(fig, options.scale);
  } catch (e) {
    // Plain HTML without a chart: show it as HTML (nothing to render or save as a picture).
    if (!(e instanceof NoChartError) || options.saveAs) throw e;
    const html = htmlOf(fig);
    const text = options.title ?? (asText(html) || "HTML");
    if (!await publish({ "text/html": html, "text/plain": text })) console.log(text);
    return;
  }
  const title = options.title ?? `Figure ${Math.round(r.width)}×${Math.round(r.height)}`;
  const saved = options.saveAs ? await writeFiles(r, options.saveAs) : undefined;
  const bundle: MimeBundle = { "image/png": toBase64(r.png), "text/plain": title };
  if (isHtmlFigure(fig)) bundle["text/html"] = htmlOf(fig);
  else bundle["image/svg+xml"] = r.svg;
  // Show the PNG at its CSS size, not at `scale` times it.
  const metadata = { "image/png": { width: Math.round(r.width), height: Math.round(r.height) } };
  const shown = await publish(bundle, { metadata });
  if (!shown && saved) console.log(`${title}: saved ${saved.svgPath} and ${saved.pngPath}`);
}
