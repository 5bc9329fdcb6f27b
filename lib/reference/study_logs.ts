/**
 * The original study's per-epoch Keras logs (`reference/acmc-blog-epoch-logs.md`),
 * parsed into histories to plot our curves against.
 *
 * @module
 */
import { join } from "node:path";
import { REFERENCE_DIR } from "./figures.ts";

/** One epoch of a study run. */
export interface StudyEpoch {
  /** 1-based epoch, as Keras prints it. */
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number;
  val_accuracy: number;
  /** Wall time of the epoch on the study's Tesla P100, in seconds. */
  seconds: number;
}

/** One `fit` of a study notebook (a notebook with several fits gives several runs). */
export interface StudyRun {
  /** Notebook file name, e.g. `tf-acmc-simple-orig.ipynb`. */
  notebook: string;
  /** The section title after the notebook name (what the run is). */
  title: string;
  /** 0-based index of the fit within the notebook's section. */
  fit: number;
  /** Epochs planned (the `n` of `k/n`). */
  plannedEpochs: number;
  /** The epochs that ran. */
  epochs: StudyEpoch[];
  /** The 0-based index in `epochs` of the best `val_accuracy` (the first if tied). */
  bestIndex: number;
}

/** Where the repository keeps its copy of the study's logs. */
export const STUDY_LOGS_PATH: string = join(REFERENCE_DIR, "acmc-blog-epoch-logs.md");

/** Parses the markdown of `acmc-blog-epoch-logs.md` into runs (see {@linkcode StudyRun}). */
export function parseStudyLogs(markdown: string): StudyRun[] {
  const runs: StudyRun[] = [];
  let notebook = "", title = "";
  let current: StudyRun | null = null;
  const close = () => {
    if (current && current.epochs.length) {
      let best = 0;
      current.epochs.forEach((e, i) => {
        if (e.val_accuracy > current!.epochs[best].val_accuracy) best = i;
      });
      current.bestIndex = best;
      runs.push(current);
    }
    current = null;
  };
  let fitInSection = 0;
  for (const line of markdown.split("\n")) {
    const heading = /^## (\S+\.ipynb)(?:\s+\S*\s*[—-]\s*(.*))?$/.exec(line.trim());
    if (heading) {
      close();
      notebook = heading[1];
      title = (heading[2] ?? "").trim();
      fitInSection = 0;
      continue;
    }
    if (line.startsWith("## ")) {
      close();
      notebook = "";
      continue;
    }
    if (!notebook) continue;
    if (/^\|\s*—\s*new fit\s*—/.test(line)) {
      close();
      fitInSection++;
      continue;
    }
    const row = /^\|\s*(\d+)\/(\d+)\s*\|([^|]+)\|([^|]+)\|([^|]+)\|([^|]+)\|\s*(\d+)s\s*\|/.exec(
      line,
    );
    if (!row) continue;
    const epoch = Number(row[1]);
    if (current && epoch <= (current as StudyRun).epochs.at(-1)!.epoch) {
      close();
      fitInSection++;
    }
    current ??= {
      notebook,
      title,
      fit: fitInSection,
      plannedEpochs: Number(row[2]),
      epochs: [],
      bestIndex: 0,
    };
    current.epochs.push({
      epoch,
      loss: Number(row[3]),
      accuracy: Number(row[4]),
      val_loss: Number(row[5]),
      val_accuracy: Number(row[6]),
      seconds: Number(row[7]),
    });
  }
  close();
  return runs;
}

/**
 * The study's runs, read from `reference/acmc-blog-epoch-logs.md` (or `path`).
 *
 * @example
 * ```ts
 * const scratch = (await studyRuns()).find((r) => r.notebook === "tf-acmc-simple-orig.ipynb")!;
 * scratch.epochs[scratch.bestIndex].val_accuracy; // 0.5666
 * ```
 */
export async function studyRuns(path: string = STUDY_LOGS_PATH): Promise<StudyRun[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`study logs ${path}: not found (the repository's reference/ folder)`);
    }
    throw e;
  }
  const runs = parseStudyLogs(text);
  if (runs.length === 0) throw new Error(`study logs ${path}: no epoch tables found`);
  return runs;
}

/**
 * One study run by notebook name (and fit index for notebooks with several
 * fits). The ResNet50-from-scratch 256 px run of notebook 02 is
 * `studyRun(runs, "tf-acmc-simple-orig.ipynb")`; the frozen ImageNet 256 px
 * run quoted in the blog is `"fork-of-tf-acmc-simple-imagenet.ipynb"` fit 0 of
 * the "(v1)" section.
 */
export function studyRun(runs: StudyRun[], notebook: string, fit = 0): StudyRun {
  const run = runs.find((r) => r.notebook === notebook && r.fit === fit);
  if (!run) {
    const names = [...new Set(runs.map((r) => r.notebook))].join(", ");
    throw new Error(`no study run ${notebook} (fit ${fit}); known: ${names}`);
  }
  return run;
}
