/**
 * Charts of the images chapter (notebook 01): the class distribution, the
 * image-size scatter and a grid of sample images. Marks carry CSS classes
 * (`class-bar`, `count-label`, `image-dot`, `square-line`, `grid-image`) so
 * tests and readers of saved SVGs can find them.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import sharp from "sharp";
import { Buffer } from "node:buffer";
import { escapeXml } from "../io/mod.ts";
import { type Figure, plot, svgFigure } from "./dom.ts";
import { labelMargin } from "./layout.ts";

/** Options of {@linkcode classDistributionChart}. */
export interface ClassDistributionOptions {
  /** Bar order: by count, largest first (default), by name, or as given. */
  sort?: "count" | "name" | "given";
  title?: string;
  subtitle?: string;
  /** Chart width in px (default 760). */
  width?: number;
  /** Chart height in px (default 440). */
  height?: number;
}

/**
 * A bar chart of images per class: one bar per class, class names as rotated
 * labels, the count written above each bar.
 *
 * @example
 * ```ts
 * const fig = classDistributionChart(await countImagesByClass(dir), { title: "Images per class" });
 * ```
 */
export function classDistributionChart(
  counts: Readonly<Record<string, number>>,
  options: ClassDistributionOptions = {},
): Figure {
  const rows = Object.entries(counts).map(([className, count]) => ({ className, count }));
  if (rows.length === 0) throw new RangeError("classDistributionChart: no classes");
  const sort = options.sort ?? "count";
  if (sort === "count") rows.sort((a, b) => b.count - a.count);
  if (sort === "name") rows.sort((a, b) => (a.className < b.className ? -1 : 1));
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: options.width ?? 760,
    height: options.height ?? 440,
    // Tick labels turned 45 degrees: about 5.2 px of height per character.
    marginBottom: labelMargin(rows.map((r) => r.className), { perChar: 5.2, min: 50 }),
    marginLeft: 50,
    x: { domain: rows.map((r) => r.className), label: null, tickRotate: -45 },
    y: { label: "images", grid: true },
    marks: [
      Plot.barY(rows, { x: "className", y: "count", fill: "#4269d0", className: "class-bar" }),
      Plot.text(rows, {
        x: "className",
        y: "count",
        text: (r: { count: number }) => String(r.count),
        dy: -6,
        fontSize: 9,
        className: "count-label",
      }),
      Plot.ruleY([0]),
    ],
  });
}

/** Options of {@linkcode sizeScatterChart}. */
export interface SizeScatterOptions {
  title?: string;
  subtitle?: string;
  /** Chart width in px (default 640). */
  width?: number;
  /** Chart height in px (default 520). */
  height?: number;
  /** Draw the line width = height (default true). */
  squareLine?: boolean;
}

/**
 * Width against height, one dot per image, with the square line for
 * reference (dots above it are taller than wide).
 *
 * @example
 * ```ts
 * const fig = sizeScatterChart(await imageSizes(dir));
 * ```
 */
export function sizeScatterChart(
  sizes: readonly { width: number; height: number }[],
  options: SizeScatterOptions = {},
): Figure {
  if (sizes.length === 0) throw new RangeError("sizeScatterChart: no image sizes");
  const max = Math.max(...sizes.map((s) => Math.max(s.width, s.height)));
  const marks: Plot.Markish[] = [];
  if (options.squareLine ?? true) {
    marks.push(
      Plot.line([[0, 0], [max, max]], {
        stroke: "#999",
        strokeDasharray: "4,3",
        className: "square-line",
      }),
    );
  }
  marks.push(
    Plot.dot(sizes, {
      x: "width",
      y: "height",
      r: 1.8,
      fill: "#4269d0",
      fillOpacity: 0.35,
      className: "image-dot",
    }),
  );
  return plot({
    title: options.title,
    subtitle: options.subtitle,
    width: options.width ?? 640,
    height: options.height ?? 520,
    x: { label: "width (px)", domain: [0, max], grid: true },
    y: { label: "height (px)", domain: [0, max], grid: true },
    marks,
  });
}

/**
 * A JPEG thumbnail of an image file that fits a `thumb` x `thumb` box (aspect
 * ratio kept, never enlarged, transparency on white), for SVG grids; errors
 * name the file and `caller`.
 */
export async function thumbnailJpeg(
  path: string,
  thumb: number,
  caller = "thumbnailJpeg",
): Promise<{ jpeg: Buffer; info: { width: number; height: number } }> {
  try {
    const out = await sharp(path)
      .resize(thumb, thumb, { fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .jpeg({ quality: 85 })
      .toBuffer({ resolveWithObject: true });
    return { jpeg: out.data, info: out.info };
  } catch (e) {
    throw new Error(`${caller}: cannot read image ${path}: ${(e as Error).message}`);
  }
}

/** Options of {@linkcode imageGrid}. */
export interface ImageGridOptions {
  /** Images per row (default 4). */
  columns?: number;
  /** Thumbnail box in px; images keep their aspect ratio inside it (default 160). */
  thumb?: number;
  /** A title line above the grid. */
  title?: string;
}

/** An image to put in a grid: its file, class and size (what `sampleImages` returns). */
export interface GridImage {
  path: string;
  className: string;
  width: number;
  height: number;
}

/**
 * A grid of images, each titled with its class and size (`Archie 212×278`),
 * as one SVG whose thumbnails are embedded (base64 JPEG made by sharp), so
 * the figure is self-contained; `display` adds the PNG that untrusted
 * notebooks show (pass `scale: 1` there: the thumbnails have no more detail
 * to give, and a 2x PNG of photos is heavy).
 *
 * @example
 * ```ts
 * const grid = await imageGrid(await sampleImages(dir, 12, 42), { columns: 4 });
 * await display(grid, { saveAs: outDir("figures", "01-images", "sample-grid"), scale: 1 });
 * ```
 */
export async function imageGrid(
  images: readonly GridImage[],
  options: ImageGridOptions = {},
): Promise<Figure> {
  if (images.length === 0) throw new RangeError("imageGrid: no images");
  const columns = options.columns ?? 4;
  const thumb = options.thumb ?? 160;
  if (!(Number.isInteger(columns) && columns >= 1)) {
    throw new RangeError(`imageGrid: columns must be a positive integer, got ${columns}`);
  }
  const pad = 8, label = 30, head = options.title ? 26 : 0;
  const cellW = thumb + pad, cellH = thumb + label + pad;
  const rows = Math.ceil(images.length / columns);
  const width = Math.min(columns, images.length) * cellW + pad;
  const height = head + rows * cellH + pad;
  const cells = await Promise.all(images.map(async (img, k) => {
    const { jpeg, info } = await thumbnailJpeg(img.path, thumb, "imageGrid");
    const x0 = pad + (k % columns) * cellW, y0 = head + pad + Math.floor(k / columns) * cellH;
    const x = x0 + (thumb - info.width) / 2, y = y0 + (thumb - info.height) / 2;
    const caption = `${img.className} ${img.width}×${img.height}`;
    return `<g class="grid-image" data-path="${escapeXml(img.path)}">` +
      `<rect x="${x0}" y="${y0}" width="${thumb}" height="${thumb}" fill="#f2f2f2"/>` +
      `<image x="${x}" y="${y}" width="${info.width}" height="${info.height}" ` +
      `href="data:image/jpeg;base64,${jpeg.toString("base64")}"/>` +
      `<text x="${x0 + thumb / 2}" y="${y0 + thumb + 16}" text-anchor="middle" font-size="11">` +
      `${escapeXml(caption)}</text></g>`;
  }));
  return svgFigure(width, height, cells.join(""), { title: options.title, x: pad });
}
