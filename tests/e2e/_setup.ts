/**
 * Shared set-up of the end-to-end tests: a tiny stand-in dataset and what the
 * test expects of each notebook (the notebook's author keeps its entry).
 * @module
 */
import { basename, dirname, join } from "node:path";
import { listNotebooks } from "../../lib/jupyter/notebooks.ts";
import { ROOT } from "../../lib/config/mod.ts";
import { generateStandIn } from "../../lib/synth/mod.ts";
import { silentProgress } from "../../lib/io/mod.ts";
import { STRATEGIES } from "../../lib/experiments/imbalance.ts";

/**
 * A tiny stand-in dataset (23 classes, 6-13 images each), made once under
 * `.cache/e2e/` and reused (the generator skips a complete matching folder).
 */
export async function tinyDataset(): Promise<{ dir: string; images: number }> {
  const dir = join(ROOT, ".cache", "e2e", "acmc-tiny");
  const r = await generateStandIn({ outDir: dir, scale: 0.01, seed: 7, progress: silentProgress });
  return { dir, images: r.manifest.total };
}

/**
 * The notebooks of notebooks/ the end-to-end tests run: all of them, or those
 * named (by name or prefix, comma-separated) in `ACMC_E2E_NOTEBOOKS`
 * (e.g. `ACMC_E2E_NOTEBOOKS=01,04 deno task test:e2e`).
 */
export function e2eNotebooks(): string[] {
  const all = listNotebooks();
  const only = (Deno.env.get("ACMC_E2E_NOTEBOOKS") ?? "").split(",").map((s) => s.trim())
    .filter(Boolean);
  if (!only.length) return all;
  return all.filter((p) => only.some((o) => basename(p).startsWith(o)));
}

/** What the end-to-end tests check in one notebook's executed outputs. */
export interface NotebookExpectation {
  /** Notebook name in notebooks/ (without .ipynb). */
  notebook: string;
  /** Quick settings: `--param` overrides for a small, fast run. */
  params: string[];
  /** Fewest picture outputs (image/svg+xml or image/png) after running it. */
  minPictures: number;
  /** Texts that must appear in the outputs (stream, text/plain, text/html). */
  texts?: (string | RegExp)[];
  /** Per-cell time limit in seconds (default 600). */
  timeout?: number;
  /**
   * Progress displays may end before n/n (e.g. training stopped early).
   * Default false: every progress line must show its last step.
   */
  partialProgress?: boolean;
  /** Notebook-specific checks of the executed notebook (throw to fail). */
  check?: (nb: ExecutedNotebook, ctx: { images: number }) => void | Promise<void>;
}

/** An executed notebook's outputs, for checks. */
export interface ExecutedNotebook {
  /** Outputs per code cell, in order. */
  cells: Output[][];
  /** Every image/svg+xml output, as text. */
  svgs: string[];
  /** Every text/html output, as text. */
  htmls: string[];
  /** Number of image/png outputs. */
  pngs: number;
  /** Number of outputs that are pictures: image/png, image/svg+xml, or HTML holding an svg/img. */
  pictures: number;
  /** Stream texts, text/plain and text/html joined. */
  text: string;
  /** Every text/plain output (progress lines among them). */
  plains: string[];
  /** The notebook's saved results (`out/results/<name>.json`), null if none. */
  results: unknown;
}

/** One nbformat output. */
export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

const joinText = (t: unknown) => Array.isArray(t) ? t.join("") : typeof t === "string" ? t : "";

/** Reads an executed .ipynb into an {@linkcode ExecutedNotebook}. */
export async function readExecuted(ipynb: string, results: unknown): Promise<ExecutedNotebook> {
  const nb = JSON.parse(await Deno.readTextFile(ipynb));
  const cells: Output[][] = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code")
    .map((c: { outputs: Output[] }) => c.outputs);
  return executedFromOutputs(cells, results);
}

/** An {@linkcode ExecutedNotebook} from the outputs of each code cell (nbformat JSON). */
export function executedFromOutputs(cells: Output[][], results: unknown): ExecutedNotebook {
  const all = cells.flat();
  const data = (mime: string) =>
    all.filter((o) => o.data?.[mime] !== undefined).map((o) => joinText(o.data![mime]));
  return {
    cells,
    svgs: data("image/svg+xml"),
    htmls: data("text/html"),
    pngs: data("image/png").length,
    pictures:
      all.filter((o) =>
        o.data?.["image/png"] !== undefined || o.data?.["image/svg+xml"] !== undefined ||
        /<(svg|img)\b/.test(joinText(o.data?.["text/html"]))
      ).length,
    text: [
      ...all.filter((o) => o.output_type === "stream").map((o) => joinText(o.text)),
      ...data("text/plain"),
      ...data("text/html"),
    ].join("\n"),
    plains: data("text/plain"),
    results,
  };
}

/**
 * Number of marks drawn by Observable Plot mark `mark` ("bar", "dot", ...) in
 * `svg`: the elements inside its `<g aria-label="MARK">` groups.
 */
export function countMarks(svg: string, mark: string): number {
  let n = 0;
  const re = new RegExp(`<g[^>]*aria-label="${mark}"[^>]*>([\\s\\S]*?)</g>`, "g");
  for (const m of svg.matchAll(re)) {
    n += (m[1].match(/<(rect|circle|path|line|text|image)\b/g) ?? []).length;
  }
  return n;
}

/** A progress line of lib/display's progressBar: `title  [###...]  12/40  30%  ...`. */
const PROGRESS = /\[[#.]{8,}\]\s+(\d+)\/(\d+)\s+\d+%/;

/**
 * The progress lines among `texts` that did not reach their last step
 * (`current < total`), to check that displays ended in their final state.
 */
export function unfinishedProgress(texts: string[]): string[] {
  return texts.filter((t) => {
    const m = t.match(PROGRESS);
    return m !== null && Number(m[1]) < Number(m[2]);
  });
}

/** Number of pictures (`<img>` or SVG `<image>`) inside an SVG or HTML output. */
export function countPictures(markup: string): number {
  return (markup.match(/<(img|image)\b/g) ?? []).length;
}

/**
 * The notebooks' expectations. Each notebook's author adds or updates its row;
 * a notebook of notebooks/ without a row still has to run without errors.
 */
export const EXPECTATIONS: NotebookExpectation[] = [
  {
    notebook: "01-images",
    params: ["seed=7"],
    minPictures: 3,
    check(nb, { images }) {
      // Charts with a title come as HTML <figure>s (text/html + PNG), others as SVG.
      const charts = [...nb.svgs, ...nb.htmls];
      const bars = charts.map((s) => countMarks(s, "bar"));
      if (!bars.includes(23)) throw new Error(`no chart with 23 bars (bar marks per SVG: ${bars})`);
      const dots = charts.map((s) => countMarks(s, "dot"));
      if (!dots.includes(images)) {
        throw new Error(
          `no scatter with one dot per image (${images}); dot marks per SVG: ${dots}`,
        );
      }
      const grid = Math.max(0, ...[...nb.svgs, ...nb.htmls].map(countPictures));
      if (grid !== 12) {
        throw new Error(`no grid of the 12 sampled images (most pictures in one output: ${grid})`);
      }
      // The grid shows the sample the results list, each titled with class and size.
      const r = nb.results as {
        total: number;
        classes: number;
        sample: { class: string; width: number; height: number }[];
      };
      if (r.total !== images || r.classes !== 23) {
        throw new Error(
          `results: ${r.total} images in ${r.classes} classes, expected ${images} in 23`,
        );
      }
      const gridSvg = nb.svgs.find((s) => countPictures(s) === 12) ?? "";
      const missing = r.sample.filter((s) =>
        !gridSvg.includes(`${s.class} ${s.width}×${s.height}`)
      );
      if (r.sample.length !== 12 || missing.length) {
        throw new Error(
          `grid captions lack ${JSON.stringify(missing)} of ${r.sample.length} sampled`,
        );
      }
      if (nb.pngs < 3) throw new Error(`${nb.pngs} PNG fallbacks, expected one per chart (3)`);
    },
  },
  {
    notebook: "02-simple-resnet",
    params: ["imageSize=32", "epochs=2", "maxTrain=48", "maxVal=16", "patience=5"],
    minPictures: 4, // accuracy and loss curves, the top-3 grid, the most-wrong grid
    texts: [
      "before training:",
      /best epoch \d of 2/,
      "reloaded:",
      "ImageNet section",
      "p(true)",
      /Keras 3 weights: \S+\.weights\.h5/,
      /TensorFlow\.js: \S+model\.json \(\+ \d+ shards, preprocess_input\.js\)/,
    ],
    async check(nb) {
      // the grids: 8 validation images with their top-3, then the 4 most wrong
      const count = (markup: string) => markup.split('class="prediction-cell').length - 1;
      const cells = [...nb.svgs, ...nb.htmls].map(count).filter((n) => n > 0);
      if (!cells.includes(8) || !cells.includes(4)) {
        throw new Error(`prediction grids with ${cells} images, expected one of 8 and one of 4`);
      }
      // the exported files exist: an HDF5 file and a model.json whose shards are there
      const h5 = /Keras 3 weights: (\S+\.weights\.h5)/.exec(nb.text)![1];
      const sig = (await Deno.readFile(h5)).subarray(0, 4);
      if (String.fromCharCode(...sig.subarray(1)) !== "HDF") throw new Error(`${h5} is not HDF5`);
      const json = /TensorFlow\.js: (\S+model\.json)/.exec(nb.text)![1];
      const model = JSON.parse(await Deno.readTextFile(json));
      for (const p of model.weightsManifest[0].paths) {
        await Deno.stat(join(dirname(json), p));
      }
      const r = nb.results as {
        scratch: {
          history: { epoch: number[]; history: Record<string, number[]> };
          bestEpoch: number;
          after: { accuracy: number };
          predictions: string;
        };
        summary: { value: number; reference: string }[];
      };
      const h = r.scratch.history;
      if (h.epoch.length !== 2) throw new Error(`expected 2 epochs, history has ${h.epoch}`);
      for (const k of ["loss", "accuracy", "val_loss", "val_accuracy", "seconds"]) {
        if (h.history[k]?.length !== 2) throw new Error(`history lacks 2 values of ${k}`);
      }
      const best = Math.max(...h.history.val_accuracy);
      if (Math.abs(r.scratch.after.accuracy - best) > 1e-6) {
        throw new Error(`reloaded accuracy ${r.scratch.after.accuracy} is not the best ${best}`);
      }
      if (r.summary[0]?.reference !== "scratch256.valAccuracy") throw new Error("no summary row");
      const preds = JSON.parse(await Deno.readTextFile(r.scratch.predictions));
      if (preds.labels.length !== 16 || preds.probs[0].length !== 23) {
        throw new Error(`predictions: ${preds.labels.length} rows of ${preds.probs[0]?.length}`);
      }
    },
  },
  {
    notebook: "03-image-size",
    params: [
      "sizes=[32,40]",
      "epochs=1",
      "maxTrain=24",
      "maxVal=16",
      "schedule=[[32,1],[40,1]]",
      "progressiveMaxTrain=24",
      "progressiveMaxVal=16",
    ],
    minPictures: 4, // accuracy, seconds and memory by size; progressive vs fixed
    texts: [
      /1024 px, batch \d+ on this machine: REFUSED/,
      "Size sweep",
      "timed side by side",
      "Progressive resizing",
    ],
    async check(nb) {
      const r = nb.results as {
        sizes: { size: number; status: string; bestValAccuracy: number | null }[];
        runs: { spec: { imageSize: number } }[];
        findings: unknown[];
        tooLarge: { fitsHere: boolean; fitsP100: boolean };
        predictions: string | null;
        progressive: { runs: { strategy: string; history: Record<string, number[]> }[] } | null;
        stepCosts: { size: number; secondsPerStep: number }[];
      };
      const sizes = r.sizes.map((x) => `${x.size}:${x.status}`).join(",");
      if (sizes !== "32:trained,40:trained") throw new Error(`size runs: ${sizes}`);
      // Both trained here (notebook 02 did not run in this output folder), saved for notebook 05.
      if (r.runs.map((x) => x.spec.imageSize).join() !== "32,40") throw new Error("runs not saved");
      // Two sizes decide no finding (it needs three).
      if (r.findings.length !== 0) throw new Error("a size finding from two sizes");
      if (r.tooLarge.fitsHere || r.tooLarge.fitsP100) throw new Error("1024 px was not refused");
      const costs = r.stepCosts.map((c) => `${c.size}:${c.secondsPerStep > 0}`).join();
      if (costs !== "32:true,40:true") throw new Error(`step costs: ${costs}`);
      const strategies = r.progressive?.runs.map((x) => x.strategy).join(",");
      if (strategies !== "progressive,fixed") throw new Error(`progressive runs: ${strategies}`);
      for (const run of r.progressive!.runs) {
        if (run.history.val_accuracy?.length !== 2) {
          throw new Error(`${run.strategy}: not 2 epochs`);
        }
      }
      const preds = JSON.parse(await Deno.readTextFile(r.predictions!));
      if (preds.labels.length !== 16) throw new Error(`${preds.labels.length} predictions`);
    },
  },
  {
    notebook: "04-elephant-in-the-room",
    params: ["imageSize=32", "epochs=1", "maxTrain=24", "maxVal=16", "nBoot=200"],
    minPictures: 6, // 2 confusion matrices, per-class bars, TPR vs size; the study's 2 charts
    texts: ["No saved validation predictions", "macro-F1", "multiclass MCC", /OLS: recall = /],
    check(nb) {
      const charts = [...nb.svgs, ...nb.htmls];
      const cells = charts.map((s) => countMarks(s, "cell")).filter((n) => n === 23 * 23);
      if (cells.length < 3) throw new Error(`${cells.length} 23x23 heatmaps, expected 3`);
      const r = nb.results as {
        ours: { total: number; confusion: number[][]; perClass: { support: number }[] };
        leftOut: string[];
        findings: { id: number; reproduced: boolean; ours: string }[];
        study: { correct: number; total: number; macroF1: number; mcc: number };
        predictions: { trainedHere: boolean };
      };
      // Our TPR chart has one dot per class with validation images (no recall, no dot); the study's 23.
      const withImages = r.ours.perClass.filter((c) => c.support > 0).length;
      if (withImages + r.leftOut.length !== 23) throw new Error(`left out: ${r.leftOut}`);
      const dots = charts.map((s) => countMarks(s, "dot"));
      if (!dots.includes(23) || !dots.includes(withImages)) {
        throw new Error(`TPR-vs-size dots ${dots}, expected 23 (study) and ${withImages} (ours)`);
      }
      if (r.findings.length !== 1 || r.findings[0].id !== 3 || !r.findings[0].ours.includes("CI")) {
        throw new Error(`finding 3: ${JSON.stringify(r.findings)}`);
      }
      if (r.study.correct !== 817 || r.study.total !== 1292) throw new Error("study matrix");
      if (Math.abs(r.study.macroF1 - 0.489) > 1e-3 || Math.abs(r.study.mcc - 0.588) > 1e-3) {
        throw new Error(`study macro-F1 ${r.study.macroF1}, MCC ${r.study.mcc}`);
      }
      if (!r.predictions.trainedHere || r.ours.total !== 16) {
        throw new Error(
          `ours: ${r.ours.total} predictions, trained here ${r.predictions.trainedHere}`,
        );
      }
    },
  },
  {
    notebook: "05-class-imbalance",
    params: [
      "imageSize=32",
      "epochs=2",
      "stepsPerEpoch=2",
      "maxVal=16",
      `strategies=${JSON.stringify(STRATEGIES)}`,
    ],
    minPictures: 3, // augmentation grid, scores per strategy, TPR of the best vs the baseline
    texts: [
      "no validation file in any training list",
      /mean \|change\| per pixel: [1-9]/,
      /oversample \+ augmentation: best epoch \d of 2/,
      /logit adjustment: from the baseline's model, its predictions adjusted \(no training\), best epoch \d of 2/,
      "results saved to",
    ],
    check(nb) {
      const charts = [...nb.svgs, ...nb.htmls];
      if (Math.max(0, ...charts.map(countPictures)) < 18) {
        throw new Error("no augmentation grid of 3 rows x 6 images");
      }
      // The bar mark holds one group per facet (score): 4 x 6 rects up to the next mark.
      const barRects = (s: string) =>
        (s.split('aria-label="bar"')[1]?.split("aria-label=")[0].match(/<rect\b/g) ?? []).length;
      if (!charts.some((s) => s.includes("Balanced accuracy") && barRects(s) === 4 * 6)) {
        throw new Error("no chart of 4 scores x 6 strategies");
      }
      const r = nb.results as {
        dataset: { classNames: string[]; validCounts: number[] };
        plans: { strategy: string; smallestClass: number; largestClass: number }[];
        results: { strategy: string; epochs: number; perClassTpr: Record<string, number | null> }[];
        best: string;
        summary: { reference?: string }[];
      };
      const names: string[] = [...STRATEGIES];
      const order = r.results.map((x) => x.strategy);
      if (order.join() !== names.join()) {
        throw new Error(`strategies run: ${order}`);
      }
      if (r.results.some((x) => x.epochs !== 2)) throw new Error("expected 2 epochs per strategy");
      const over = r.plans.find((p) => p.strategy === "oversample")!;
      if (over.smallestClass !== over.largestClass) throw new Error("oversampling not balanced");
      const { classNames, validCounts } = r.dataset;
      for (const x of r.results) {
        const keys = Object.keys(x.perClassTpr);
        if (keys.join() !== classNames.join()) throw new Error("per-class TPR not in label order");
        classNames.forEach((c, i) => {
          if ((validCounts[i] === 0) !== (x.perClassTpr[c] === null)) {
            throw new Error(`${x.strategy}: TPR of ${c} with ${validCounts[i]} validation images`);
          }
        });
      }
      const withVal = validCounts.filter((n) => n > 0).length;
      if (!charts.some((s) => countMarks(s, "dot") === 2 * withVal)) {
        throw new Error(`no TPR comparison with 2 x ${withVal} dots`);
      }
      if (r.best === "baseline" || !names.includes(r.best)) {
        throw new Error(`best strategy ${r.best}`);
      }
      if (!r.summary.some((x) => x.reference === "classWeights256.valAccuracy")) {
        throw new Error("no class-weight summary row");
      }
    },
  },
];
