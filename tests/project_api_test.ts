/**
 * The public surface (lib/mod.ts): every name it exports is documented, and
 * the notebooks import nothing else.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../lib/config/mod.ts";

interface DocSymbol {
  name: string;
  declarations: { kind: string; jsDoc?: { doc?: string } }[];
}

Deno.test("every name lib/mod.ts exports has a JSDoc comment", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "lib/mod.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  const json = JSON.parse(new TextDecoder().decode(r.stdout));
  const symbols: DocSymbol[] = Object.values(
    json.nodes as Record<string, { symbols: DocSymbol[] }>,
  ).flatMap((n) => n.symbols);
  assert(symbols.length > 100, `${symbols.length} exported names`);
  // `tf` is the tfjs namespace itself, documented by tfjs.
  const undocumented = symbols.filter((s) =>
    s.name !== "tf" && !s.declarations.some((d) => d.jsDoc?.doc?.trim())
  ).map((s) => s.name);
  assertEquals(undocumented, []);
});

Deno.test("notebooks import lib/ only through lib/mod.ts or a folder's mod.ts", async () => {
  const bad: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, "notebooks"))) {
    if (!e.name.endsWith(".ipynb")) continue;
    const nb = JSON.parse(await Deno.readTextFile(join(ROOT, "notebooks", e.name)));
    for (const cell of nb.cells as { cell_type: string; source: string[] | string }[]) {
      if (cell.cell_type !== "code") continue;
      const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      for (const m of src.matchAll(/from\s+["'](\.\.\/lib\/[^"']+)["']/g)) {
        if (!/^\.\.\/lib\/([a-z_]+\/)?mod\.ts$/.test(m[1])) bad.push(`${e.name}: ${m[1]}`);
      }
    }
  }
  assertEquals(bad, []);
});
