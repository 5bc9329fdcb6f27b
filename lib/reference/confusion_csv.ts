/**
 * Reading a labelled confusion matrix from CSV, like the original study's
 * `acmc-cm512-imagenet.csv` (header `True\pred,<labels...>`, then one row per
 * true class: its label, then the counts), and that matrix itself
 * ({@linkcode studyConfusion}).
 * @module
 */
import { join } from "node:path";
import { REFERENCE_DIR } from "./figures.ts";

/** A confusion matrix with its class names (rows true, columns predicted). */
export interface LabelledConfusion {
  /** Class names, in row (and column) order. */
  labels: string[];
  /** Counts, `matrix[true][predicted]` (square: one row and one column per label). */
  matrix: number[][];
}

/**
 * Parses a labelled confusion-matrix CSV. The header's first cell is free
 * (e.g. `True\pred`); the row labels must equal the column labels in the same
 * order. Fields may be double-quoted. Errors name `source` and the line.
 */
export function parseConfusionCsv(text: string, source = "<csv>"): LabelledConfusion {
  const lines = text.split(/\r?\n/).map((l, i) => ({ l, no: i + 1 })).filter((x) => x.l.trim());
  if (lines.length < 2) throw new SyntaxError(`${source}: needs a header and at least one row`);
  const header = splitCsvLine(lines[0].l, source, lines[0].no);
  const labels = header.slice(1);
  if (labels.length !== lines.length - 1) {
    throw new SyntaxError(
      `${source}: header has ${labels.length} class columns but there are ${lines.length - 1} rows`,
    );
  }
  const matrix: number[][] = [];
  lines.slice(1).forEach(({ l, no }, i) => {
    const cells = splitCsvLine(l, source, no);
    if (cells.length !== labels.length + 1) {
      throw new SyntaxError(
        `${source}:${no}: ${cells.length} fields, expected ${labels.length + 1}`,
      );
    }
    if (cells[0] !== labels[i]) {
      throw new SyntaxError(
        `${source}:${no}: row label "${cells[0]}" differs from column ${i + 1} "${labels[i]}"`,
      );
    }
    matrix.push(
      cells.slice(1).map((c, j) => {
        const v = Number(c);
        if (c.trim() === "" || !Number.isInteger(v) || v < 0) {
          throw new SyntaxError(
            `${source}:${no}: count for "${labels[j]}" is "${c}", not a non-negative integer`,
          );
        }
        return v;
      }),
    );
  });
  // Square by construction: one row per header label, each with a count per label.
  return { labels, matrix };
}

/**
 * Reads a labelled confusion-matrix CSV file (see {@linkcode parseConfusionCsv}).
 *
 * @example
 * ```ts
 * const { labels, matrix } = await readConfusionCsv("../shared/reference/acmc-cm512-imagenet.csv");
 * ```
 */
export async function readConfusionCsv(path: string | URL): Promise<LabelledConfusion> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`readConfusionCsv: cannot read ${String(path)}: ${(e as Error).message}`);
  }
  return parseConfusionCsv(text, String(path));
}

function splitCsvLine(line: string, source: string, no: number): string[] {
  const out: string[] = [];
  let cur = "", quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"', i++);
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === "") quoted = true;
    else if (ch === ",") (out.push(cur), cur = "");
    else cur += ch;
  }
  if (quoted) throw new SyntaxError(`${source}:${no}: unterminated quoted field`);
  out.push(cur);
  return out.map((c) => c.trim());
}

/**
 * The original study's confusion matrix of its 512 px ImageNet run
 * (`reference/acmc-cm512-imagenet.csv`: rows true, columns predicted, the
 * blog's label order; 1292 validation images, 817 correct).
 *
 * @example
 * ```ts
 * const { labels, matrix } = await studyConfusion();
 * matrix.flat().reduce((a, b) => a + b); // 1292
 * ```
 */
export async function studyConfusion(): Promise<LabelledConfusion> {
  return await readConfusionCsv(join(REFERENCE_DIR, "acmc-cm512-imagenet.csv"));
}
