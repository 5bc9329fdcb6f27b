import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { findingsJson, findingsTableHtml, gatherFindings } from "../lib/jupyter/mod.ts";
import { imbalanceFinding, scratchFinding } from "../lib/metrics/mod.ts";

Deno.test("gatherFindings: each notebook's saved findings, one table, the missing ones named", () => {
  const f1 = scratchFinding({ accuracy: [0.4, 0.7], val_accuracy: [0.35, 0.5] }, {
    accuracy: [0.9],
    val_accuracy: [0.5],
  });
  const f4 = imbalanceFinding([
    { strategy: "baseline", balancedAccuracy: 0.3 },
    { strategy: "class weights", balancedAccuracy: 0.31 },
  ]);
  const found = gatherFindings([
    { name: "01-images", results: { summary: [] } },
    { name: "05-class-imbalance", results: { findings: [f4] } },
    { name: "02-simple-resnet", results: { findings: [f1, { id: "junk" }] } },
    { name: "03-image-size", results: null },
  ]);
  assertEquals(found.map((f) => [f.id, f.notebook, f.reproduced]), [
    [1, "02-simple-resnet", true],
    [4, "05-class-imbalance", false],
  ]);
  const json = findingsJson(found);
  assertEquals(Object.keys(json[0]), ["id", "finding", "study", "ours", "reproduced"]);
  const html = findingsTableHtml(found);
  assert(html.includes("<strong>1 of 4</strong>"), html);
  assertEquals((html.match(/not computed by this run/g) ?? []).length, 2);
  assert(html.includes(">yes<") && html.includes(">no<"));
  assert(html.includes("best val_accuracy 0.500"));
});
