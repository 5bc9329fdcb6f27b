/**
 * A grid of images with a classifier's answers: each thumbnail above its
 * true class and the model's top classes with their probabilities; the true
 * class is marked in the list, and the frame says whether the first answer
 * is right (green) or wrong (red). Marks carry CSS classes (`prediction-cell`,
 * `true-class`, `top-class`, `correct`, `wrong`) for tests and readers of the
 * saved SVG.
 *
 * @module
 */
import { escapeXml } from "../io/mod.ts";
import { type Figure, svgFigure } from "./dom.ts";
import { thumbnailJpeg } from "./images.ts";

/** One image of {@linkcode predictionGrid}. */
export interface PredictionGridItem {
  /** The image file. */
  path: string;
  /** Its true class name. */
  trueClass: string;
  /** The model's most probable classes, most probable first (`classifyImage`'s `top`). */
  top: readonly { className: string; probability: number }[];
}

/** Options of {@linkcode predictionGrid}. */
export interface PredictionGridOptions {
  /** Images per row (default 4). */
  columns?: number;
  /** Thumbnail box in px (default 140). */
  thumb?: number;
  /** A title line above the grid. */
  title?: string;
}

const RIGHT = "#1a9850", WRONG = "#d73027";

/**
 * The images with their true class and the model's top classes (e.g. the
 * top-3 of `classifyImage`), as one self-contained SVG (thumbnails embedded
 * as base64 JPEG, as {@linkcode imageGrid}).
 *
 * @example
 * ```ts
 * const items = await Promise.all(files.map(async (path, i) => ({
 *   path, trueClass: classNames[labels[i]],
 *   top: (await classifyImage(model, path, { classNames, topK: 3 })).top,
 * })));
 * await display(await predictionGrid(items, { columns: 4 }), { scale: 1 });
 * ```
 */
export async function predictionGrid(
  items: readonly PredictionGridItem[],
  options: PredictionGridOptions = {},
): Promise<Figure> {
  if (items.length === 0) throw new RangeError("predictionGrid: no images");
  const columns = options.columns ?? 4;
  const thumb = options.thumb ?? 140;
  if (!(Number.isInteger(columns) && columns >= 1)) {
    throw new RangeError(`predictionGrid: columns must be a positive integer, got ${columns}`);
  }
  const lines = Math.max(...items.map((it) => it.top.length)) + 1;
  const pad = 10, lineH = 15, head = options.title ? 26 : 0;
  const cellW = Math.max(thumb, 150) + pad, cellH = thumb + 8 + lines * lineH + pad;
  const rows = Math.ceil(items.length / columns);
  const width = Math.min(columns, items.length) * cellW + pad;
  const height = head + rows * cellH + pad;
  const cells = await Promise.all(items.map(async (it, k) => {
    const { jpeg, info } = await thumbnailJpeg(it.path, thumb, "predictionGrid");
    const x0 = pad + (k % columns) * cellW, y0 = head + pad + Math.floor(k / columns) * cellH;
    const w = cellW - pad;
    const x = x0 + (w - info.width) / 2, y = y0 + (thumb - info.height) / 2;
    const right = it.top[0]?.className === it.trueClass;
    const list = it.top.map((t, i) => {
      const isTrue = t.className === it.trueClass;
      const text = `${i + 1}. ${t.className} ${(100 * t.probability).toFixed(1)}%`;
      return `<text class="top-class${isTrue ? " is-true" : ""}" x="${x0 + 4}" ` +
        `y="${y0 + thumb + 8 + (i + 2) * lineH - 3}" font-size="11"` +
        `${isTrue ? ` fill="${RIGHT}" font-weight="bold"` : ""}>${escapeXml(text)}</text>`;
    }).join("");
    return `<g class="prediction-cell ${right ? "correct" : "wrong"}" ` +
      `data-path="${escapeXml(it.path)}">` +
      `<rect x="${x0 - 2}" y="${y0 - 2}" width="${w + 4}" height="${cellH - pad + 4}" ` +
      `fill="none" stroke="${right ? RIGHT : WRONG}" stroke-width="2"/>` +
      `<rect x="${x0}" y="${y0}" width="${w}" height="${thumb}" fill="#f2f2f2"/>` +
      `<image x="${x}" y="${y}" width="${info.width}" height="${info.height}" ` +
      `href="data:image/jpeg;base64,${jpeg.toString("base64")}"/>` +
      `<text class="true-class" x="${x0 + 4}" y="${y0 + thumb + 8 + lineH - 3}" ` +
      `font-size="11" font-weight="bold">${escapeXml(`true: ${it.trueClass}`)}</text>` +
      `${list}</g>`;
  }));
  return svgFigure(width, height, cells.join(""), { title: options.title, x: pad });
}
