/**
 * The layer check of lib/: reads every module's import and re-export
 * specifiers, builds the graph of lib/'s own modules, and reports imports
 * that go up the layer order and cycles. Pure functions over a graph
 * ({@linkcode checkLayers}), so the test can also plant bad graphs.
 *
 * Written here rather than taken from a library: the check is a dozen lines
 * over the project's own layer list, and the import scan needs no type
 * information (`deno info` would, and costs a process per module).
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";

/** Module -> the modules it imports (paths relative to lib/, e.g. "train/fit.ts"). */
export type ImportGraph = Map<string, Set<string>>;

/**
 * Source text with comments blanked out (strings and template literals
 * kept), so that import examples in doc comments are not taken for imports.
 */
export function stripComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i], next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * The specifiers of a module's static imports and re-exports (`import ...
 * from`, `import type`, `export ... from`, side-effect `import "x"`) and of
 * its dynamic `import("x")` calls with a literal argument.
 */
export function importSpecifiers(source: string): string[] {
  const code = stripComments(source);
  const found: string[] = [];
  const patterns = [
    /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?[\w$*{}\s,]*?\bfrom\s*["']([^"']+)["']/g,
    /(?:^|[;\n}])\s*import\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

/**
 * The graph of every `.ts` module under `libDir` and the lib/ modules it
 * imports (data imports such as JSON are left out; a module outside lib/ is
 * an error).
 */
export async function importGraph(libDir: string): Promise<ImportGraph> {
  const graph: ImportGraph = new Map();
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && e.name.endsWith(".ts")) files.push(p);
    }
  };
  await walk(libDir);
  for (const file of files.sort()) {
    const deps = new Set<string>();
    for (const s of importSpecifiers(await Deno.readTextFile(file))) {
      if (!s.startsWith(".")) continue; // npm:, node:, bare packages
      if (!s.endsWith(".ts")) continue; // data (JSON imports), not code
      const target = relative(libDir, resolve(dirname(file), s));
      if (target.startsWith("..")) {
        throw new Error(`${relative(libDir, file)} imports ${s}, outside lib/`);
      }
      deps.add(target);
    }
    graph.set(relative(libDir, file), deps);
  }
  return graph;
}

/** The layer (folder) of a module: its first path segment; "mod.ts" at the root is `root`. */
export function folderOf(module: string): string {
  const i = module.indexOf("/");
  return i < 0 ? "" : module.slice(0, i);
}

/**
 * Problems of an import graph against a layer order (lowest layer first;
 * each layer one or more folders that may import each other, as long as
 * they form no cycle). Modules at the root of lib/ (lib/mod.ts) sit above
 * every layer. Reports: a folder missing from the order, an import of a
 * higher layer ("upward"), an import of a module that does not exist, and
 * every cycle among modules or among folders.
 *
 * @example
 * ```ts
 * checkLayers(new Map([["a/x.ts", new Set(["b/y.ts"])], ["b/y.ts", new Set()]]), [["b"], ["a"]]); // []
 * ```
 */
export function checkLayers(graph: ImportGraph, order: readonly (readonly string[])[]): string[] {
  const layer = new Map<string, number>();
  order.forEach((folders, i) => folders.forEach((f) => layer.set(f, i)));
  const top = order.length;
  const layerOf = (m: string) => folderOf(m) === "" ? top : layer.get(folderOf(m));
  const problems: string[] = [];
  for (const m of graph.keys()) {
    if (layerOf(m) === undefined) {
      problems.push(`${m}: folder "${folderOf(m)}" is not in the layer order`);
    }
  }
  const folders = new Map<string, Set<string>>();
  for (const [m, deps] of graph) {
    for (const d of deps) {
      if (!graph.has(d)) {
        problems.push(`${m} imports ${d}, which does not exist`);
        continue;
      }
      const from = layerOf(m), to = layerOf(d);
      if (from !== undefined && to !== undefined && to > from) {
        problems.push(`${m} imports ${d}: upward (${folderOf(d)} is above ${folderOf(m)})`);
      }
      if (folderOf(m) !== folderOf(d)) {
        if (!folders.has(folderOf(m))) folders.set(folderOf(m), new Set());
        folders.get(folderOf(m))!.add(folderOf(d));
      }
    }
  }
  for (const c of cycles(graph)) problems.push(`import cycle: ${c.join(" -> ")}`);
  for (const c of cycles(folders)) problems.push(`folder cycle: ${c.join(" -> ")}`);
  return problems;
}

/** The cycles of a directed graph, one per strongly connected component (Tarjan), each closed. */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        if (!graph.has(w)) continue;
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(closedPath(graph, scc));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** A closed path through a strongly connected component, for the message (a -> b -> a). */
function closedPath(graph: Map<string, Set<string>>, scc: string[]): string[] {
  const members = new Set(scc);
  const start = [...scc].sort()[0];
  const path = [start];
  const seen = new Set([start]);
  let v = start;
  while (true) {
    const next = [...graph.get(v) ?? []].filter((w) => members.has(w)).sort();
    const back = next.find((w) => w === start);
    const fresh = next.find((w) => !seen.has(w));
    if (fresh === undefined || (back !== undefined && path.length > 1)) {
      path.push(back ?? next[0]);
      return path;
    }
    path.push(fresh);
    seen.add(fresh);
    v = fresh;
  }
}
