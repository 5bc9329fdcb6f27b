/**
 * A server-side DOM for Observable Plot, so charts render without a browser.
 * @module
 */
import { parseHTML } from "linkedom";
import * as Plot from "@observablehq/plot";

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

/** Escapes text for XML/HTML content and attribute values (`& < > " '`). */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}
