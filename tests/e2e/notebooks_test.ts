/**
 * Runs every notebook of notebooks/ headless (the runner of `deno task
 * notebooks`) on a tiny stand-in dataset with quick settings, and checks each
 * one's outputs against its row in tests/e2e/_setup.ts: no errors, enough
 * pictures, required texts, saved results, and notebook-specific checks.
 */
import nodeAssert from "node:assert/strict";
import { basename, join } from "node:path";
import { formatFailure, runNotebook } from "../../lib/jupyter/runner.ts";
import {
  e2eNotebooks,
  EXPECTATIONS,
  readExecuted,
  tinyDataset,
  unfinishedProgress,
} from "./_setup.ts";

const notebooks = e2eNotebooks();

Deno.test("the notebooks to run exist, and each has its expectations", () => {
  const only = (Deno.env.get("ACMC_E2E_NOTEBOOKS") ?? "").split(",").map((s) => s.trim())
    .filter(Boolean);
  const names = notebooks.map((p) => basename(p, ".ipynb"));
  const unmatched = only.filter((o) => !names.some((n) => n.startsWith(o)));
  nodeAssert.deepStrictEqual(unmatched, [], `ACMC_E2E_NOTEBOOKS names no notebook: ${unmatched}`);
  nodeAssert.ok(names.length > 0, "no notebook to run in notebooks/");
  const without = names.filter((n) => !EXPECTATIONS.some((e) => e.notebook === n));
  nodeAssert.deepStrictEqual(without, [], "notebooks without an entry in tests/e2e/_setup.ts");
});

for (const path of notebooks) {
  const name = basename(path, ".ipynb");
  const exp = EXPECTATIONS.find((e) => e.notebook === name);
  if (!exp) continue; // reported by the test above
  Deno.test(`notebook ${name} runs headless with its expected outputs`, async () => {
    const data = await tinyDataset();
    const out = await Deno.makeTempDir({ prefix: `e2e-${name}-` });
    try {
      const run = await runNotebook(path, {
        outDir: join(out, "notebooks"),
        params: exp.params,
        env: { ACMC_DATA: data.dir, ACMC_OUT: out },
        timeout: exp.timeout ?? 600,
        progress: false,
      });
      nodeAssert.ok(run.ok, formatFailure(run));
      const resultsPath = join(out, "results", `${name}.json`);
      let results: unknown = null;
      try {
        results = JSON.parse(await Deno.readTextFile(resultsPath));
      } catch {
        nodeAssert.fail(`${name} saved no results (${resultsPath}): end it with saveResults()`);
      }
      const nb = await readExecuted(run.ipynb, results);
      const errors = nb.cells.flatMap((c, i) =>
        c.filter((o) => o.output_type === "error").map((o) => `cell ${i}: ${o.ename}: ${o.evalue}`)
      );
      nodeAssert.deepStrictEqual(errors, []);
      const pictures = nb.pictures;
      nodeAssert.ok(
        pictures >= exp.minPictures,
        `${name}: ${pictures} picture outputs, expected at least ${exp.minPictures}`,
      );
      for (const t of exp.texts ?? []) {
        nodeAssert.ok(
          typeof t === "string" ? nb.text.includes(t) : t.test(nb.text),
          `${name}: outputs lack ${t}`,
        );
      }
      if (!exp.partialProgress) nodeAssert.deepStrictEqual(unfinishedProgress(nb.plains), []);
      await exp.check?.(nb, { images: data.images });
      console.log(
        `${name}: ${run.seconds.toFixed(1)} s, peak ${(run.peakRss / 2 ** 20).toFixed(0)} MiB, ` +
          `${pictures} pictures`,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}
