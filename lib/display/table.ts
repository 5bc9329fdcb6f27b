/**
 * Tables (statistics, per-class numbers) shown in a notebook as HTML with a
 * plain-text fallback, or printed in a terminal.
 *
 * @module
 */
import { publish } from "./jupyter.ts";
import { escapeXml } from "../io/mod.ts";

/** A column of {@linkcode displayTable}: a row key, with an optional header and formatter. */
export interface TableColumn<R> {
  /** The row property shown in this column. */
  key: keyof R & string;
  /** Header text (default: the key). */
  label?: string;
  /** Cell text (default: numbers with at most `digits` decimals, others `String(v)`). */
  format?: (value: R[keyof R], row: R) => string;
}

/** Options of {@linkcode displayTable}. */
export interface TableOptions {
  /** A caption above the table. */
  title?: string;
  /** Most decimals shown for non-integer numbers (default 2). */
  digits?: number;
}

/** Formats a cell value: integers as is, other numbers with at most `digits` decimals. */
export function formatCell(value: unknown, digits = 2): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    if (!Number.isFinite(value)) return String(value);
    return value.toLocaleString("en-US", { maximumFractionDigits: digits, useGrouping: false });
  }
  return String(value);
}

function resolveColumns<R extends Record<string, unknown>>(
  rows: readonly R[],
  columns?: readonly (TableColumn<R> | (keyof R & string))[],
): TableColumn<R>[] {
  if (columns) return columns.map((c) => (typeof c === "string" ? { key: c } : c));
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  return keys.map((key) => ({ key: key as keyof R & string }));
}

/** The cells of a table as text: `[header, ...rows]`. */
export function tableCells<R extends Record<string, unknown>>(
  rows: readonly R[],
  columns?: readonly (TableColumn<R> | (keyof R & string))[],
  digits = 2,
): string[][] {
  const cols = resolveColumns(rows, columns);
  return [
    cols.map((c) => c.label ?? c.key),
    ...rows.map((r) =>
      cols.map((c) => (c.format ? c.format(r[c.key], r) : formatCell(r[c.key], digits)))
    ),
  ];
}

function isNumeric(text: string): boolean {
  return text !== "" && /^[-+]?[\d.,]+(e[-+]?\d+)?%?$/i.test(text);
}

/** A plain-text table: columns padded, numbers right-aligned. */
export function tableText(cells: string[][], title?: string): string {
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const right = cells[0].map((_, j) => cells.slice(1).every((r) => r[j] === "" || isNumeric(r[j])));
  const line = (r: string[]) =>
    r.map((c, j) => (right[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join("  ").trimEnd();
  const out = [
    line(cells[0]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.slice(1).map(line),
  ];
  return (title ? `${title}\n` : "") + out.join("\n");
}

/** An HTML table (numbers right-aligned), escaped. */
export function tableHtml(cells: string[][], title?: string): string {
  const right = cells[0].map((_, j) => cells.slice(1).every((r) => r[j] === "" || isNumeric(r[j])));
  const cell = (tag: string, c: string, j: number) =>
    `<${tag} style="text-align:${right[j] ? "right" : "left"}">${escapeXml(c)}</${tag}>`;
  return `<table>${title ? `<caption>${escapeXml(title)}</caption>` : ""}` +
    `<thead><tr>${cells[0].map((c, j) => cell("th", c, j)).join("")}</tr></thead>` +
    `<tbody>${
      cells.slice(1).map((r) => `<tr>${r.map((c, j) => cell("td", c, j)).join("")}</tr>`).join("")
    }</tbody></table>`;
}

/**
 * Shows rows as a table: HTML plus a `text/plain` fallback in a notebook, the
 * text in a terminal. Columns default to every key met in the rows; give
 * `columns` to pick, order, relabel or format them. Returns nothing, so a
 * cell ending with it shows the table once ({@linkcode tableText} gives the text).
 *
 * @example
 * ```ts
 * await displayTable([{ class: "Archie", images: 1284 }, { class: "Betty", images: 699 }]);
 * await displayTable(rows, [{ key: "mean", label: "mean (px)", format: (v) => v.toFixed(1) }]);
 * ```
 */
export async function displayTable<R extends Record<string, unknown>>(
  rows: readonly R[],
  columns?: readonly (TableColumn<R> | (keyof R & string))[],
  options: TableOptions = {},
): Promise<void> {
  const cells = tableCells(rows, columns, options.digits ?? 2);
  if (cells[0].length === 0) {
    throw new TypeError("displayTable: no columns (empty rows and no columns given)");
  }
  const text = tableText(cells, options.title);
  const shown = await publish({ "text/html": tableHtml(cells, options.title), "text/plain": text });
  if (!shown) console.log(text);
}
