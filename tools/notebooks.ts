/**
 * Runs notebooks headless with the project's Deno kernel and writes the
 * executed copies and HTML exports under `<out>/notebooks/`.
 *
 * Usage:
 *   deno task notebooks [NAME|PATH.ipynb ...] [--out DIR] [--timeout S]
 *                       [--param NAME=VALUE ...] [--no-check]
 *
 * - NAME: a notebook of notebooks/ by name or prefix (`01`, `01-images`);
 *   none: all of them, in order.
 * - --out DIR: output folder (default: ACMC_OUT or out/); the kernel gets it
 *   as ACMC_OUT, so results and checkpoints land there too.
 * - --timeout S: per-cell time limit in seconds (default 1800).
 * - --param NAME=VALUE: overrides a notebook parameter read with `param()`.
 * - --no-check: skip the syntax/import check before running.
 *
 * Exits 1 at the first failing notebook, after printing the cell and error.
 * @module
 */
import { parseCommandLine, usageError } from "./cli.ts";
import { join, resolve } from "node:path";
import { outDir } from "../lib/config/mod.ts";
import { formatFailure, runNotebook } from "../lib/jupyter/runner.ts";
import { resolveNotebooks } from "../lib/jupyter/notebooks.ts";

const USAGE =
  "deno task notebooks [NAME|PATH.ipynb ...] [--out DIR] [--timeout S] [--param NAME=VALUE ...] [--no-check]";
const { values, positionals } = parseCommandLine("notebooks", USAGE, {
  options: {
    out: { type: "string" },
    timeout: { type: "string", default: "1800" },
    param: { type: "string", multiple: true, default: [] },
    "no-check": { type: "boolean", default: false },
    "grace-ms": { type: "string", default: "250" },
    help: { type: "boolean", short: "h" },
  },
  allowPositionals: true,
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
// `deno task` runs in the project root; paths typed by the user are relative to where they were.
const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
const timeout = Number(values.timeout);
if (!(timeout > 0)) usageError("notebooks", `--timeout ${values.timeout}: expected seconds > 0`);
const env: Record<string, string> = {};
if (values.out) env.ACMC_OUT = resolve(cwd, values.out);
const root = values.out ? resolve(cwd, values.out) : outDir();

const notebooks = resolveNotebooks(positionals, cwd);
if (!notebooks.length) {
  console.error("no notebooks to run (notebooks/ is empty)");
  Deno.exit(1);
}
for (const nb of notebooks) {
  const run = await runNotebook(nb, {
    outDir: join(root, "notebooks"),
    timeout,
    params: values.param,
    env,
    check: !values["no-check"],
    graceMs: Number(values["grace-ms"]),
  });
  if (!run.ok) {
    console.error(`\n${formatFailure(run)}`);
    if (run.executedCells) console.error(`\nexecuted copy (up to the failure): ${run.ipynb}`);
    Deno.exit(1);
  }
  console.error(`  -> ${run.ipynb}\n  -> ${run.html}`);
}
