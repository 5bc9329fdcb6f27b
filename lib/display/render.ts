/**
 * Turning charts into files: a standalone SVG document for any chart
 * (Observable Plot's `<svg>`, or its `<figure>` with title and legends), and a
 * PNG rendered from it by sharp (librsvg), on a white background.
 *
 * @module
 */
import sharp from "sharp";
import { Buffer } from "node:buffer";
import { parseHTML } from "linkedom";
import { escapeXml } from "../io/mod.ts";
import type { Figure } from "../plots/dom.ts";

const SVG_NS = "http://www.w3.org/2000/svg";
const XLINK_NS = "http://www.w3.org/1999/xlink";
const FONT = "system-ui, sans-serif";

/** Thrown by {@linkcode toSvg} for HTML that holds no `<svg>` to draw. */
export class NoChartError extends TypeError {
  override name = "NoChartError";
}

/** What {@linkcode display} accepts: a chart element, or SVG / HTML markup. */
export type Displayable = Figure | Element | string;

function asElement(fig: Displayable): Element {
  if (typeof fig !== "string") return fig as Element;
  const markup = fig.trim().replace(/^<\?xml[^>]*>\s*/, "");
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${markup}</body></html>`);
  const el = document.body.firstElementChild;
  if (!el) throw new TypeError(`display: the markup holds no element: ${markup.slice(0, 80)}`);
  return el as unknown as Element;
}

/** Adds the SVG namespaces a standalone file needs (outerHTML in an HTML DOM omits them). */
function withNamespaces(svgMarkup: string): string {
  return svgMarkup.replace(/^<svg\b([^>]*)>/, (_, attrs: string) => {
    let a = attrs;
    if (!/\sxmlns=/.test(a)) a = ` xmlns="${SVG_NS}"` + a;
    if (/xlink:/.test(svgMarkup) && !/\sxmlns:xlink=/.test(a)) a = ` xmlns:xlink="${XLINK_NS}"` + a;
    return `<svg${a}>`;
  });
}

/** Width and height (CSS px) of an `<svg>` element, from its attributes or viewBox. */
export function svgSize(svg: Element): { width: number; height: number } {
  const vb = (svg.getAttribute("viewBox") ?? "").trim().split(/[\s,]+/).map(Number);
  const num = (name: string, fallback: number) => {
    const v = parseFloat(svg.getAttribute(name) ?? "");
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const width = num("width", vb.length === 4 && vb[2] > 0 ? vb[2] : 640);
  const height = num("height", vb.length === 4 && vb[3] > 0 ? vb[3] : 400);
  return { width, height };
}

type Part =
  | { kind: "text"; text: string; size: number; bold?: boolean; color: string }
  | { kind: "svg"; el: Element; width: number; height: number }
  | { kind: "swatches"; items: { color: string; label: string }[] };

function collectParts(el: Element, parts: Part[]): void {
  for (const child of Array.from(el.children)) {
    const tag = child.tagName.toLowerCase();
    const text = (child.textContent ?? "").trim();
    if (tag === "style" || tag === "script") continue;
    if (tag === "svg") {
      parts.push({ kind: "svg", el: child, ...svgSize(child) });
    } else if (tag === "h1" || tag === "h2") {
      if (text) parts.push({ kind: "text", text, size: 16, bold: true, color: "#111" });
    } else if (tag === "h3") {
      if (text) parts.push({ kind: "text", text, size: 12, color: "#444" });
    } else if (tag === "figcaption" || tag === "p") {
      if (text) parts.push({ kind: "text", text, size: 11, color: "#444" });
    } else if (/swatches/.test(child.getAttribute("class") ?? "")) {
      const items = Array.from(child.querySelectorAll("span")).map((span) => {
        const sw = span.querySelector("svg");
        const shape = sw?.querySelector("[fill]");
        const color = sw?.getAttribute("fill") ?? shape?.getAttribute("fill") ??
          sw?.getAttribute("stroke") ?? "#888";
        return { color, label: (span.textContent ?? "").trim() };
      }).filter((s) => s.label !== "");
      if (items.length) parts.push({ kind: "swatches", items });
    } else {
      collectParts(child, parts);
    }
  }
}

/**
 * A standalone SVG document for a chart. An `<svg>` gets its namespaces; an
 * HTML `<figure>` (Plot adds one for a title, subtitle, caption or legend) is
 * laid out as one SVG: title lines, legend swatches, the chart(s), caption.
 *
 * @example
 * ```ts
 * const svg = toSvg(plot({ marks: [Plot.barY([1, 2, 3])] }));
 * ```
 */
export function toSvg(fig: Displayable): string {
  return svgDocument(fig).svg;
}

/** {@linkcode toSvg} with the document's size in CSS pixels. */
export function svgDocument(fig: Displayable): { svg: string; width: number; height: number } {
  const el = asElement(fig);
  if (el.tagName.toLowerCase() === "svg") {
    return { svg: withNamespaces(el.outerHTML), ...svgSize(el) };
  }
  const parts: Part[] = [];
  collectParts(el, parts);
  if (!parts.some((p) => p.kind === "svg")) {
    throw new NoChartError(`display: <${el.tagName.toLowerCase()}> holds no <svg> chart to render`);
  }
  const width = Math.max(...parts.map((p) => (p.kind === "svg" ? p.width : 0)));
  const body: string[] = [];
  let y = 0;
  for (const p of parts) {
    if (p.kind === "text") {
      y += p.size * 1.5;
      body.push(
        `<text x="0" y="${y - p.size * 0.4}" font-size="${p.size}" fill="${p.color}"` +
          `${p.bold ? ' font-weight="bold"' : ""}>${escapeXml(p.text)}</text>`,
      );
    } else if (p.kind === "swatches") {
      let x = 0;
      y += 4;
      for (const s of p.items) {
        const w = 20 + s.label.length * 6.2 + 14;
        if (x > 0 && x + w > width) {
          x = 0;
          y += 20;
        }
        body.push(
          `<rect x="${x}" y="${y}" width="15" height="15" fill="${escapeXml(s.color)}"/>` +
            `<text x="${x + 20}" y="${y + 11.5}" font-size="10">${escapeXml(s.label)}</text>`,
        );
        x += w;
      }
      y += 24;
    } else {
      const svg = p.el.cloneNode(true) as Element;
      svg.setAttribute("x", "0");
      svg.setAttribute("y", String(y));
      svg.setAttribute("width", String(p.width));
      svg.setAttribute("height", String(p.height));
      body.push(svg.outerHTML);
      y += p.height;
    }
  }
  const h = Math.ceil(y + 4);
  const svg = `<svg xmlns="${SVG_NS}" xmlns:xlink="${XLINK_NS}" width="${width}" height="${h}" ` +
    `viewBox="0 0 ${width} ${h}" font-family="${FONT}" fill="currentColor">` +
    `<rect width="100%" height="100%" fill="white"/>${body.join("")}</svg>`;
  return { svg, width, height: h };
}

/** Options of {@linkcode svgToPng}. */
export interface PngOptions {
  /** Pixels per CSS pixel (default 2: crisp on high-density screens and in reports). */
  scale?: number;
  /** Background for transparent areas (default white: readable in dark themes too). */
  background?: string;
}

/**
 * Renders an SVG document to PNG bytes with sharp.
 *
 * @example
 * ```ts
 * const png = await svgToPng(toSvg(fig));
 * ```
 */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 2;
  if (!(scale > 0)) throw new RangeError(`svgToPng: scale must be > 0, got ${scale}`);
  const buf = await sharp(new TextEncoder().encode(svg), { density: 72 * scale })
    .flatten({ background: options.background ?? "#ffffff" })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Base64 of bytes (Jupyter wants images base64-encoded). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
