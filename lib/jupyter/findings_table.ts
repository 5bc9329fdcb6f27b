/**
 * The study report's findings table: each notebook that decides one of the
 * study's findings saves it in its results (`saveResults(name, { findings:
 * [...] })`, rows made by lib/metrics' finding checks); the report gathers
 * them into one table (finding, the study's figure, ours, reproduced) and
 * `deno task study` writes them to `<out>/results/findings.json`.
 *
 * @module
 */
import type { FindingRow } from "../metrics/mod.ts";
import { escapeXml as escapeHtml } from "../io/mod.ts";

/** A finding as gathered: its row and the notebook that decided it. */
export interface GatheredFinding extends FindingRow {
  /** The notebook that computed it, e.g. "02-simple-resnet". */
  notebook: string;
}

function isRow(x: unknown): x is FindingRow {
  const r = x as FindingRow;
  return !!r && typeof r === "object" && typeof r.id === "number" &&
    typeof r.finding === "string" && typeof r.study === "string" &&
    typeof r.ours === "string" && typeof r.reproduced === "boolean";
}

/**
 * The findings saved by the notebooks (`results.findings`), sorted by id;
 * when two notebooks decide the same id, the later notebook's wins.
 */
export function gatherFindings(
  notebooks: readonly { name: string; results: unknown }[],
): GatheredFinding[] {
  const byId = new Map<number, GatheredFinding>();
  for (const nb of notebooks) {
    const list = (nb.results as { findings?: unknown } | null)?.findings;
    if (!Array.isArray(list)) continue;
    for (const f of list.filter(isRow)) {
      byId.set(f.id, {
        id: f.id,
        finding: f.finding,
        study: f.study,
        ours: f.ours,
        reproduced: f.reproduced,
        notebook: nb.name,
      });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** The rows of `findings.json`: `{id, finding, study, ours, reproduced}`. */
export function findingsJson(found: readonly GatheredFinding[]): FindingRow[] {
  return found.map(({ id, finding, study, ours, reproduced }) => ({
    id,
    finding,
    study,
    ours,
    reproduced,
  }));
}

/**
 * The HTML table (finding, the study's figure, ours, reproduced yes/no), with
 * a line counting the reproduced ones; `expected` findings (default 4) that
 * no notebook decided are listed as not computed.
 */
export function findingsTableHtml(found: readonly GatheredFinding[], expected = 4): string {
  const rows = found.map((f) =>
    `<tr><td class="num">${f.id}</td><td>${escapeHtml(f.finding)}<br><span class="muted">${
      escapeHtml(f.notebook)
    }</span></td><td>${escapeHtml(f.study)}</td><td>${escapeHtml(f.ours)}</td>` +
    `<td class="${f.reproduced ? "status-ran" : "status-failed"}">${
      f.reproduced ? "yes" : "no"
    }</td></tr>`
  );
  const ids = new Set(found.map((f) => f.id));
  for (let id = 1; id <= expected; id++) {
    if (!ids.has(id)) {
      rows.push(
        `<tr><td class="num">${id}</td><td colspan="3" class="muted">not computed by this run ` +
          `(its notebook did not run or failed)</td><td class="status-failed">no</td></tr>`,
      );
    }
  }
  const yes = found.filter((f) => f.reproduced).length;
  return `<p><strong>${yes} of ${expected}</strong> findings of the original study reproduced.</p>
<table><thead><tr><th>#</th><th>finding</th><th>original study</th><th>ours</th><th>reproduced</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`;
}
