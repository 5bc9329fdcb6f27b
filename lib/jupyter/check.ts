/**
 * Static check of a notebook before it runs: syntax errors and imports that do
 * not resolve. The Deno kernel reports both only as "Execution failed", with
 * no cell or message, so the runner finds them first: the code cells are
 * written to one TypeScript module next to the notebook (so relative imports
 * and deno.json resolve as in the kernel) and `deno info --json` parses it and
 * resolves its module graph (no type checking: the kernel does none either).
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";

/** One code cell's place in the exported module. */
interface CellSpan {
  /** Index of the cell in the notebook (markdown cells included). */
  index: number;
  /** First line of the cell's code in the module, 1-based. */
  firstLine: number;
  /** Number of lines of the cell's code. */
  lines: number;
}

/** A problem found by {@linkcode checkNotebook}. */
export interface CheckProblem {
  /** Index of the cell (0-based, markdown cells counted), or null if unknown. */
  cell: number | null;
  /** Line within the cell, 1-based, or null if unknown. */
  line: number | null;
  /** What is wrong, from Deno. */
  message: string;
  /** The offending source line, when known. */
  excerpt?: string;
}

/** A notebook in nbformat 4, as much of it as this module reads. */
export interface NotebookJson {
  cells: { cell_type: string; source: string | string[]; outputs?: unknown[] }[];
  metadata?: Record<string, unknown>;
  nbformat?: number;
}

/** The cell's source as one string (nbformat stores it as a string or a list of lines). */
export function cellSource(cell: { source: string | string[] }): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Reads and parses an .ipynb file, with an error naming the file when it is not a notebook. */
export async function readNotebook(path: string): Promise<NotebookJson> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`notebook not found: ${path}`);
    throw e;
  }
  let nb: NotebookJson;
  try {
    nb = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not a notebook (invalid JSON: ${(e as Error).message})`);
  }
  if (!nb || !Array.isArray(nb.cells)) throw new Error(`${path} is not a notebook (no cells)`);
  return nb;
}

/**
 * Exports the code cells of `nb` as one TypeScript module; returns the text
 * and where each cell landed. Lines starting with `%` or `!` (magics) are
 * commented out.
 */
export function notebookToModule(nb: NotebookJson): { code: string; spans: CellSpan[] } {
  const parts: string[] = [];
  const spans: CellSpan[] = [];
  let line = 1;
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    const src = cellSource(cell);
    if (!src.trim()) return;
    const body = src.split("\n").map((l) => /^\s*[%!]/.test(l) ? `// ${l}` : l);
    parts.push(`// --- cell ${index} ---`);
    line += 1;
    spans.push({ index, firstLine: line, lines: body.length });
    parts.push(...body, ";");
    line += body.length + 1;
  });
  parts.push("export {};", "");
  return { code: parts.join("\n"), spans };
}

function locate(spans: CellSpan[], src: string[], moduleLine: number) {
  const span = spans.find((s) => moduleLine >= s.firstLine && moduleLine < s.firstLine + s.lines);
  if (!span) return { cell: null, line: null };
  return {
    cell: span.index,
    line: moduleLine - span.firstLine + 1,
    excerpt: src[moduleLine - 1]?.trim(),
  };
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string; error?: string; span?: { start: { line: number } } };
  type?: { specifier?: string };
}
interface InfoModule {
  specifier: string;
  error?: string;
  dependencies?: InfoDependency[];
}

/**
 * Checks notebook `path` for syntax errors and unresolvable imports (in the
 * notebook and in every local module it imports). Returns the problems found,
 * empty when none.
 *
 * @example
 * ```ts
 * const problems = await checkNotebook("notebooks/01-images.ipynb");
 * for (const p of problems) console.log(`cell ${p.cell}: ${p.message}`);
 * ```
 */
export async function checkNotebook(path: string): Promise<CheckProblem[]> {
  const nb = await readNotebook(path);
  const { code, spans } = notebookToModule(nb);
  const src = code.split("\n");
  const tmp = join(
    dirname(path),
    `.${basename(path, ".ipynb")}.check-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.ts`,
  );
  await Deno.writeTextFile(tmp, code);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", tmp],
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  const stderr = new TextDecoder().decode(out.stderr);
  const tmpUrl = pathToFileURL(resolve(tmp)).href;
  if (!out.success) {
    // A parse error (of the notebook or of a module it imports) stops deno info.
    const message = stderr.replace(/^error:\s*/, "").replace(/\n\s*Stack backtrace:[\s\S]*$/, "")
      .trim();
    const at = [...stderr.matchAll(/at (file:\/\/\S+?):(\d+):(\d+)/g)].at(-1);
    if (at && at[1] === tmpUrl) {
      return [{ ...locate(spans, src, Number(at[2])), message: firstLine(message) }];
    }
    const where = at ? ` (in ${fromFileUrl(at[1])}:${at[2]})` : "";
    return [{ cell: null, line: null, message: firstLine(message) + where }];
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const root = modules.get(tmpUrl);
  const problems: CheckProblem[] = [];
  if (root?.error) {
    const at = root.error.match(/at (file:\/\/\S+?):(\d+):(\d+)\s*$/);
    const where = at && at[1] === tmpUrl ? locate(spans, src, Number(at[2])) : null;
    return [{ cell: null, line: null, ...where, message: firstLine(root.error) }];
  }
  for (const dep of root?.dependencies ?? []) {
    const moduleLine = (dep.code?.span?.start.line ?? -1) + 1;
    const at = moduleLine > 0 ? locate(spans, src, moduleLine) : { cell: null, line: null };
    if (dep.code?.error) {
      problems.push({ ...at, message: `cannot resolve "${dep.specifier}": ${dep.code.error}` });
      continue;
    }
    // Any module reachable through this import that failed to load.
    const seen = new Set<string>();
    const stack = [dep.code?.specifier, dep.type?.specifier].filter((s): s is string => !!s);
    while (stack.length) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      const m = modules.get(s);
      if (!m) continue;
      if (m.error) {
        const via = s === dep.code?.specifier ? "" : ` (imported via "${dep.specifier}")`;
        problems.push({ ...at, message: `${m.error}${via}` });
        break;
      }
      for (const d of m.dependencies ?? []) {
        if (d.code?.error) {
          problems.push({
            ...at,
            message: `cannot resolve "${d.specifier}" in ${displayPath(s)}: ${d.code.error}` +
              ` (imported via "${dep.specifier}")`,
          });
        }
        for (const t of [d.code?.specifier, d.type?.specifier]) if (t) stack.push(t);
      }
    }
  }
  return problems;
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}

function displayPath(specifier: string): string {
  return specifier.startsWith("file://") ? fromFileUrl(specifier) : specifier;
}
