/**
 * The study report: one self-contained HTML page with every notebook's
 * narrative and figures (images inlined), our key results beside the original
 * study's, the engine, the dataset, and each notebook's time and peak memory.
 *
 * Notebooks feed the summary table through `saveResults(name, data)`
 * (results.ts): `data.summary` is a list of {@linkcode SummaryRow}s; a row
 * whose `reference` names a key of `reference/study-summary.json` is shown
 * beside the original study's figure. Without `summary`, the numbers at the
 * top level of `data` (and one level down) are listed.
 * @module
 */
import { escapeXml } from "../io/mod.ts";
import type { ReferenceEntry } from "../reference/mod.ts";
import type { NotebookRun } from "./runner.ts";
import { findingsTableHtml, gatherFindings } from "./findings_table.ts";
import type { SummaryRow } from "./results.ts";

export type { ReferenceEntry, SummaryRow };

/** How a notebook fared in this study run. */
export interface ReportNotebook {
  /** Notebook name (file name without `.ipynb`). */
  name: string;
  /** "ran", "reused" (inputs unchanged since a successful run) or "failed". */
  status: "ran" | "reused" | "failed";
  /** The run record (of this study run, or of the earlier run reused). */
  run: NotebookRun;
  /** The notebook's HTML fragment (narrative and outputs), "" if none. */
  fragment: string;
  /** Results saved by the notebook (`loadResults(name)`), null if none. */
  results: unknown;
}

/** Everything {@linkcode buildReport} puts on the page. */
export interface ReportInput {
  title?: string;
  notebooks: ReportNotebook[];
  reference: ReferenceEntry[];
  /** Engine description (`engineInfo()` or at least `{ backend }`). */
  engine: Record<string, unknown>;
  /** Dataset description (folder, kind, source, number of images...). */
  dataset: Record<string, unknown>;
  /** Machine and run facts: cores, memory, total wall time... */
  machine: Record<string, unknown>;
  generatedAt: Date;
}

/** Escapes text for HTML (the same escaping as the charts' SVG). */
export const escapeHtml: (s: string) => string = escapeXml;

/**
 * The summary rows of one notebook's results: `results.summary` when it is a
 * list of rows; otherwise every number (or short string) at the top level and
 * one level down (in objects of at most 6 entries), labelled by its key path.
 */
export function summaryRows(results: unknown): SummaryRow[] {
  if (!results || typeof results !== "object") return [];
  const r = results as Record<string, unknown>;
  if (Array.isArray(r.summary)) {
    return r.summary.filter((x): x is SummaryRow =>
      !!x && typeof x === "object" && typeof (x as SummaryRow).label === "string" &&
      (typeof (x as SummaryRow).value === "number" || typeof (x as SummaryRow).value === "string")
    );
  }
  const rows: SummaryRow[] = [];
  const add = (label: string, v: unknown) => {
    if (typeof v === "number" && Number.isFinite(v)) rows.push({ label, value: v });
    else if (typeof v === "string" && v.length <= 80) rows.push({ label, value: v });
  };
  for (const [k, v] of Object.entries(r)) {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      // small groups only (e.g. {class, images}); large maps such as per-class counts stay out
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length > 6) continue;
      for (const [k2, v2] of entries) add(`${k}.${k2}`, v2);
    } else add(k, v);
  }
  return rows;
}

function fmtValue(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    return Math.abs(v) < 1 ? v.toFixed(4) : v.toFixed(2);
  }
  return escapeHtml(String(v ?? ""));
}

function fmtBytes(b: number): string {
  if (!b) return "–";
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`;
}

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "–";
  return s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}

function keyValueTable(obj: Record<string, unknown>): string {
  const rows: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        walk(prefix ? `${prefix}.${k}` : k, x);
      }
    } else {
      const text = Array.isArray(v)
        ? v.map((x) => typeof x === "object" ? JSON.stringify(x) : String(x)).join(", ")
        : String(v ?? "–");
      rows.push(`<tr><th>${escapeHtml(prefix)}</th><td>${escapeHtml(text)}</td></tr>`);
    }
  };
  walk("", obj);
  return `<table class="kv">${rows.join("")}</table>`;
}

/** Makes the ids inside a fragment unique to its notebook so anchors do not clash. */
function scopeIds(fragment: string, name: string): string {
  const prefix = name.replace(/[^A-Za-z0-9_-]/g, "_");
  return fragment
    .replace(/\sid="([^"]*)"/g, (_m, id) => ` id="${prefix}--${id}"`)
    .replace(/href="#([^"]*)"/g, (_m, id) => `href="#${prefix}--${id}"`);
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d232a;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:1.5rem 2rem 4rem;background:#fff}
h1{font-size:1.9rem;margin:.5rem 0}h2{border-bottom:2px solid #e3e6ea;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #dde1e6;padding:.25rem .55rem;text-align:left;vertical-align:top}
thead th{background:#f1f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{background:#f8f9fa;font-weight:600}
.status-ran{color:#1a7f37}.status-reused{color:#0969da}.status-failed{color:#cf222e;font-weight:700}
nav ol{columns:2}
section.notebook{margin-top:3rem}
section.notebook>header{background:#f1f3f5;border-left:4px solid #0969da;padding:.4rem .8rem}
.failure{background:#fff1f0;border:1px solid #f5c2c0;padding:.6rem;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.85rem}
.output_area img,.output_area svg{max-width:100%;height:auto}
.output_subarea pre,.output_text pre{background:#f6f8fa;padding:.4rem .6rem;overflow-x:auto;font-size:.82rem;max-height:30em}
.output_stderr pre{background:#fff8e6}
.output_error pre{background:#fff1f0}
.rendered_html table{font-size:.88rem}
.anchor-link{display:none}
.muted{color:#57606a;font-size:.88rem}
`;

/**
 * Builds the report page (a complete HTML document with no external
 * references: figures come inline from the notebooks' outputs).
 *
 * @example
 * ```ts
 * const html = buildReport({ notebooks, reference: await studySummary(), engine: { backend: "tensorflow" },
 *   dataset: { dir: "data/acmc-synth" }, machine: { cores: 2 }, generatedAt: new Date() });
 * await Deno.writeTextFile("out/report.html", html);
 * ```
 */
export function buildReport(input: ReportInput): string {
  const title = input.title ?? "The ACMC study, reproduced with Deno";
  const refByKey = new Map(input.reference.map((e) => [e.key, e]));
  const used = new Set<string>();

  // Summary: our rows (with their reference beside), then reference figures no notebook matched.
  const summary: string[] = [];
  for (const nb of input.notebooks) {
    for (const row of summaryRows(nb.results)) {
      const ref = row.reference ? refByKey.get(row.reference) : undefined;
      if (ref) used.add(ref.key);
      summary.push(
        `<tr><td>${escapeHtml(nb.name)}</td><td>${escapeHtml(row.label)}</td>` +
          `<td class="num">${fmtValue(row.value)}</td>` +
          `<td class="num">${ref ? fmtValue(ref.value) : "–"}</td>` +
          `<td class="muted">${
            escapeHtml([row.note, ref?.note].filter(Boolean).join("; "))
          }</td></tr>`,
      );
    }
  }
  for (const ref of input.reference) {
    if (used.has(ref.key)) continue;
    summary.push(
      `<tr><td>${escapeHtml(ref.notebook)}</td><td>${
        escapeHtml(ref.label)
      }</td><td class="num">–</td>` +
        `<td class="num">${fmtValue(ref.value)}</td><td class="muted">${
          escapeHtml([ref.note, `not measured by this run`].filter(Boolean).join("; "))
        }</td></tr>`,
    );
  }

  const timings = input.notebooks.map((nb) =>
    `<tr><td><a href="#nb-${escapeHtml(nb.name)}">${escapeHtml(nb.name)}</a></td>` +
    `<td class="status-${nb.status}">${nb.status}</td>` +
    `<td class="num">${fmtSeconds(nb.run.seconds)}</td><td class="num">${
      fmtBytes(nb.run.peakRss)
    }</td>` +
    `<td class="num">${nb.run.executedCells}/${nb.run.codeCells}</td>` +
    `<td class="muted">${escapeHtml(nb.run.finishedAt)}</td>` +
    `<td class="muted">${escapeHtml(nb.run.params.join(" "))}</td></tr>`
  );
  const total = input.notebooks.reduce(
    (s, nb) => s + (nb.status === "reused" ? 0 : nb.run.seconds),
    0,
  );

  const sections = input.notebooks.map((nb) => {
    const failure = nb.run.failure
      ? `<div class="failure">${
        escapeHtml(
          `Failed${nb.run.failure.cell === null ? "" : ` in cell ${nb.run.failure.cell}`}: ` +
            `${nb.run.failure.ename}: ${nb.run.failure.evalue}\n\n${nb.run.failure.source}\n\n` +
            nb.run.failure.traceback.join("\n"),
        )
      }</div>`
      : "";
    return `<section class="notebook" id="nb-${escapeHtml(nb.name)}">
<header><strong>${
      escapeHtml(nb.name)
    }.ipynb</strong> · <span class="status-${nb.status}">${nb.status}</span> ·
${fmtSeconds(nb.run.seconds)} · peak ${fmtBytes(nb.run.peakRss)}</header>
${failure}
${scopeIds(nb.fragment, nb.name)}
</section>`;
  });

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Generated ${
    escapeHtml(input.generatedAt.toISOString())
  } by <code>deno task study</code>.
Each notebook below ran headless on the project's Deno kernel; its narrative and figures follow the summary.</p>
<nav><ol>${
    input.notebooks.map((nb) =>
      `<li><a href="#nb-${escapeHtml(nb.name)}">${
        escapeHtml(nb.name)
      }</a> <span class="status-${nb.status}">(${nb.status})</span></li>`
    ).join("")
  }</ol></nav>
<h2 id="findings">The original study's findings, reproduced?</h2>
<p class="muted">Each finding is decided by the notebook that makes it, from its own numbers, with fixed
thresholds (lib/metrics/findings.ts); also in <code>results/findings.json</code>.</p>
${findingsTableHtml(gatherFindings(input.notebooks))}
<h2 id="summary">Results beside the original study</h2>
<p class="muted">"Ours" comes from each notebook's saved results; "original" from the blog's saved notebook outputs
(reference/README.md). On the synthetic stand-in dataset the figures are the stand-in's, not ACMC's: the
findings above say whether the study's conclusions hold on it; the values themselves are not comparable.</p>
<table><thead><tr><th>notebook</th><th>what</th><th>ours</th><th>original</th><th>notes</th></tr></thead>
<tbody>${summary.join("\n")}</tbody></table>
<h2 id="dataset">Dataset</h2>
${keyValueTable(input.dataset)}
<h2 id="engine">Engine</h2>
${keyValueTable(input.engine)}
<h2 id="timings">Timings and memory</h2>
<table><thead><tr><th>notebook</th><th>status</th><th>wall time</th><th>peak RSS (kernel)</th><th>cells</th><th>finished</th><th>params</th></tr></thead>
<tbody>${timings.join("\n")}</tbody></table>
<p class="muted">Run time of the notebooks executed now: ${
    fmtSeconds(total)
  }. Peak RSS: resident memory of the kernel's process tree, sampled every 0.2 s.</p>
${keyValueTable(input.machine)}
${sections.join("\n")}
</main></body></html>
`;
}
