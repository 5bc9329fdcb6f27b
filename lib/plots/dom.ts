/**
 * A server-side DOM for Observable Plot, so charts render without a browser.
 * @module
 */
import { parseHTML } from "linkedom";
import * as Plot from "@observablehq/plot";
import { escapeXml } from "../io/mod.ts";

/** The document every chart in this project is drawn into. */
export const document: Document = parseHTML(
  "<!DOCTYPE html><html><head></head><body></body></html>",
).document as unknown as Document;

/** A rendered chart: an `<svg>` element, or a `<figure>` when it has a title or legend. */
export type Figure = SVGSVGElement | HTMLElement;

/**
 * `Plot.plot` drawn into the server-side {@linkcode document}.
 *
 * @example
 * ```ts
 * import * as Plot from "@observablehq/plot";
 * const fig = plot({ marks: [Plot.barY([1, 2, 3])] });
 * ```
 */
export function plot(options: Plot.PlotOptions): Figure {
  return Plot.plot({ ...options, document }) as Figure;
}

/**
 * A hand-made SVG figure (e.g. a grid of thumbnails): `body` markup on a white
 * `width` x `height` canvas (px), with an optional bold title line at the top
 * left (`x` px in, default 6), as an element `display` and `saveFigure` take.
 */
export function svgFigure(
  width: number,
  height: number,
  body: string,
  options: { title?: string; x?: number } = {},
): Figure {
  const title = options.title
    ? `<text x="${options.x ?? 6}" y="20" font-size="15" font-weight="bold">${
      escapeXml(options.title)
    }</text>`
    : "";
  const holder = document.createElement("div");
  holder.innerHTML = `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif" fill="currentColor">` +
    `<rect width="100%" height="100%" fill="white"/>${title}${body}</svg>`;
  return holder.firstElementChild as Figure;
}
