/**
 * The whole study: runs every notebook of notebooks/ headless, in order, on
 * the configured dataset (the embedded stand-in, generated when missing),
 * reusing earlier runs whose inputs did not change, and writes one
 * self-contained report, `<out>/report.html`.
 *
 * Usage:
 *   deno task study [NAME ...] [--force] [--report-only] [--param NAME=VALUE ...] [--timeout S]
 *                   [--notebooks DIR]
 *
 * - NAME: run only these notebooks (by name or prefix); the report still
 *   shows every notebook with a successful earlier run.
 * - --force: run even notebooks whose inputs did not change.
 * - --report-only: run nothing; rebuild the report from the last successful runs.
 * - --param NAME=VALUE: parameter override for every notebook (see param()).
 * - --timeout S: per-cell time limit, seconds (default 3600).
 * - --notebooks DIR: run the notebooks of DIR instead of notebooks/ (tests).
 *
 * A notebook is reused when its file, lib/, deno.json/package-lock.json, the
 * dataset's listing, the parameters and the notebook before it are all as at
 * its last successful run (`<out>/study-manifest.json`).
 * @module
 */
import { parseCommandLine, usageError } from "./cli.ts";
import { basename, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { datasetDir, outDir, ROOT } from "../lib/config/mod.ts";
import { ensureDataset } from "../lib/synth/mod.ts";
import { loadResults } from "../lib/jupyter/results.ts";
import { formatFailure, type NotebookRun, runNotebook } from "../lib/jupyter/runner.ts";
import { listNotebooks, NOTEBOOKS_DIR, resolveNotebooks } from "../lib/jupyter/notebooks.ts";
import { buildReport, type ReportNotebook } from "../lib/jupyter/study_report.ts";
import { findingsJson, gatherFindings } from "../lib/jupyter/findings_table.ts";
import { writeFileAtomic } from "../lib/io/mod.ts";
import { studySummary } from "../lib/reference/mod.ts";
import {
  canReuse,
  datasetFacts,
  engineFacts,
  hashListing,
  hashTree,
  inputsKey,
  machineFacts,
  readManifest,
  writeManifest,
} from "../lib/jupyter/study.ts";

const USAGE =
  "deno task study [NAME ...] [--force] [--report-only] [--param NAME=VALUE ...] [--timeout S]";
const { values, positionals } = parseCommandLine("study", USAGE, {
  options: {
    force: { type: "boolean", default: false },
    "report-only": { type: "boolean", default: false },
    param: { type: "string", multiple: true, default: [] },
    timeout: { type: "string", default: "3600" },
    notebooks: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  allowPositionals: true,
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const timeout = Number(values.timeout);
if (!(timeout > 0)) usageError("study", `--timeout ${values.timeout}: expected seconds > 0`);
const log = (s: string) => console.error(s);
const t0 = performance.now();

// 1. The dataset: the embedded stand-in is generated when it is the one in use and missing.
const ds = datasetDir();
if (ds.source === "embedded default") {
  log(`[study] checking the embedded stand-in dataset ${ds.dir}`);
}
try {
  const made = await ensureDataset();
  if (made.generated) log(`[study] generated the stand-in dataset in ${made.dir}`);
} catch (e) {
  console.error(`[study] ${(e as Error).message}`);
  Deno.exit(1);
}
log(`[study] dataset: ${ds.dir} (${ds.kind}, ${ds.source})`);

// 2. Run the notebooks in order, reusing unchanged ones.
const nbDir = values.notebooks
  ? resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), values.notebooks)
  : NOTEBOOKS_DIR;
const all = listNotebooks(nbDir);
if (!all.length) {
  console.error(`[study] no notebooks in ${nbDir}`);
  Deno.exit(1);
}
const only = new Set(
  positionals.length ? resolveNotebooks(positionals, Deno.env.get("INIT_CWD"), nbDir) : all,
);
const [lib, deps, dataset] = await Promise.all([
  hashTree(join(ROOT, "lib")),
  Promise.all(
    ["deno.json", "package-lock.json"].map((f) => Deno.readTextFile(join(ROOT, f)).catch(() => "")),
  )
    .then((t) => t.join("\n")),
  hashListing(ds.dir),
]);
const manifest = await readManifest();
const entries: ReportNotebook[] = [];
let previous = "";
let failed = 0;
for (const [i, nb] of all.entries()) {
  const name = basename(nb, ".ipynb");
  const key = await inputsKey({ notebook: nb, lib, deps, dataset, params: values.param, previous });
  previous = key;
  let run: NotebookRun | undefined;
  let status: ReportNotebook["status"];
  const reuse = values["report-only"] || !only.has(nb) ||
    (!values.force && canReuse(manifest, name, key));
  if (reuse) {
    const old = manifest.notebooks[name];
    if (!old?.run.ok || !existsSync(old.run.fragment)) {
      log(`[study] ${i + 1}/${all.length} ${name}: not run (no earlier successful run to show)`);
      continue;
    }
    run = old.run;
    status = "reused";
    log(
      `[study] ${i + 1}/${all.length} ${name}: ${
        old.key === key ? "unchanged" : values["report-only"] ? "--report-only" : "not selected"
      }, reusing the run of ${run.finishedAt}`,
    );
  } else {
    log(`[study] ${i + 1}/${all.length} ${name}`);
    run = await runNotebook(nb, {
      timeout,
      params: values.param,
      label: `${i + 1}/${all.length} ${name}`,
    });
    status = run.ok ? "ran" : "failed";
    if (run.ok) manifest.notebooks[name] = { key, run };
    else {
      failed++;
      delete manifest.notebooks[name];
      log(formatFailure(run));
    }
    await writeManifest(manifest);
  }
  const fragment = existsSync(run.fragment) ? await Deno.readTextFile(run.fragment) : "";
  entries.push({ name, status, run, fragment, results: await loadResults(name) });
}

// 3. The report.
log("[study] writing the report (asking lib/engine what it runs on)");
const report = buildReport({
  notebooks: entries,
  reference: await studySummary(),
  engine: await engineFacts(),
  dataset: await datasetFacts(),
  machine: {
    ...machineFacts(),
    "study wall time": `${((performance.now() - t0) / 1000).toFixed(0)} s`,
  },
  generatedAt: new Date(),
});
const path = outDir("report.html");
await Deno.mkdir(outDir(), { recursive: true });
await Deno.writeTextFile(path, report);
// The findings table as data: [{id, finding, study, ours, reproduced}].
const findings = gatherFindings(entries);
await writeFileAtomic(
  outDir("results", "findings.json"),
  JSON.stringify(findingsJson(findings), null, 2) + "\n",
);
log(
  `[study] findings reproduced: ${findings.filter((f) => f.reproduced).length} of 4` +
    findings.map((f) => `\n  ${f.id}. ${f.finding}: ${f.reproduced ? "yes" : "no"} (${f.ours})`)
      .join(""),
);
log(
  `\n[study] ${entries.filter((e) => e.status === "ran").length} run, ${
    entries.filter((e) => e.status === "reused").length
  } reused, ${failed} failed in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
console.log(`report: ${path}`);
Deno.exit(failed ? 1 : 0);
