import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../lib/config/mod.ts";
import { checkLayers, cycles, type ImportGraph, importGraph, importSpecifiers } from "./_layers.ts";

/** lib/'s layers, lowest first: the order written down in lib/mod.ts's module doc. */
const LAYERS = [
  ["config", "random", "io", "reference"],
  ["engine"],
  ["data", "synth"],
  ["models", "budget"],
  ["train"],
  ["metrics"],
  ["plots"],
  ["display"],
  ["experiments"],
  ["jupyter"],
];

const graph = (edges: Record<string, string[]>): ImportGraph =>
  new Map(Object.entries(edges).map(([m, d]) => [m, new Set(d)]));

Deno.test("lib/ imports run one way: no upward import, no cycle", async () => {
  const g = await importGraph(join(ROOT, "lib"));
  assert(g.size > 50, `read ${g.size} modules`);
  assert(g.get("mod.ts")!.size > 10, "lib/mod.ts re-exports the folders");
  assertEquals(checkLayers(g, LAYERS), []);
});

Deno.test("lib/mod.ts's doc lists the layers in the order the test checks", async () => {
  const doc = await Deno.readTextFile(join(ROOT, "lib", "mod.ts"));
  const positions = LAYERS.flat().map((f) => doc.indexOf(`\`${f}\``));
  assert(positions.every((p) => p >= 0), `every folder is named: ${positions}`);
  assertEquals(positions, [...positions].sort((a, b) => a - b));
});

Deno.test("checkLayers reports a planted cycle and a planted upward import", () => {
  const order = [["config"], ["engine"], ["train"], ["plots"]];
  const ok = graph({
    "config/mod.ts": [],
    "engine/mod.ts": ["config/mod.ts"],
    "train/fit.ts": ["engine/mod.ts", "train/types.ts"],
    "train/types.ts": [],
    "plots/a.ts": ["train/fit.ts", "config/mod.ts"],
    "mod.ts": ["plots/a.ts", "train/fit.ts"],
  });
  assertEquals(checkLayers(ok, order), []);

  const cycle = new Map(ok);
  cycle.set("train/types.ts", new Set(["train/fit.ts"]));
  assertEquals(checkLayers(cycle, order), [
    "import cycle: train/fit.ts -> train/types.ts -> train/fit.ts",
  ]);

  const upward = new Map(ok);
  upward.set("engine/mod.ts", new Set(["config/mod.ts", "plots/a.ts"]));
  const problems = checkLayers(upward, order);
  assert(
    problems.includes("engine/mod.ts imports plots/a.ts: upward (plots is above engine)"),
    problems.join("\n"),
  );
  // engine -> plots -> train -> engine is also a cycle among modules and among folders.
  assert(problems.some((p) => p.startsWith("import cycle: ")), problems.join("\n"));
  assert(problems.some((p) => p.startsWith("folder cycle: ")), problems.join("\n"));

  const sameLayer = checkLayers(
    graph({ "data/a.ts": ["synth/b.ts"], "synth/b.ts": ["data/c.ts"], "data/c.ts": [] }),
    [["data", "synth"]],
  );
  assertEquals(sameLayer, ["folder cycle: data -> synth -> data"]);

  assertEquals(checkLayers(graph({ "misc/a.ts": ["misc/b.ts"] }), order), [
    'misc/a.ts: folder "misc" is not in the layer order',
    "misc/a.ts imports misc/b.ts, which does not exist",
  ]);
});

Deno.test("importSpecifiers reads imports and re-exports, not doc examples", () => {
  const src = `/**
 * @example
 * \`\`\`ts
 * import { fit } from "../train/mod.ts";
 * \`\`\`
 */
import { a, type B } from "./a.ts";
import type { C } from "../c/mod.ts";
import * as tf from "@tensorflow/tfjs";
import "./side.ts";
export { d } from "./d.ts";
export * from "./e.ts";
export type { F } from "./f.ts";
// import { g } from "./g.ts";
const s = "import { h } from './h.ts'";
const m = await import("./dyn.ts");
`;
  assertEquals(importSpecifiers(src).sort(), [
    "../c/mod.ts",
    "./a.ts",
    "./d.ts",
    "./dyn.ts",
    "./e.ts",
    "./f.ts",
    "./side.ts",
    "@tensorflow/tfjs",
  ]);
});

Deno.test("cycles finds each strongly connected component once", () => {
  assertEquals(cycles(graph({ a: ["b"], b: ["c"], c: ["a"], d: ["d"], e: ["a"] })), [
    ["a", "b", "c", "a"],
    ["d", "d"],
  ]);
  assertEquals(cycles(graph({ a: ["b"], b: [] })), []);
});
