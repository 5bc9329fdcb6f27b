/**
 * The notebooks in a real browser: JupyterLab (as `deno task lab` starts it)
 * and headless Chromium driven by playwright-core. For a fixture notebook and
 * then each notebook of notebooks/ (on a tiny stand-in dataset with the quick
 * settings of tests/e2e/_setup.ts): open it, run all cells, wait for the
 * kernel to go idle, and check there are no error outputs, the expected
 * pictures rendered (loaded images), and progress displays ended in their final
 * state. Screenshots go to `out/screenshots/<notebook>.png`.
 *
 * Needs /usr/bin/chromium (`bash tools/setup.sh browser`); skipped without it.
 * Notebooks are copied to a temporary folder in the project root (so their
 * `../lib/mod.ts` imports resolve) and JupyterLab runs with its own settings
 * folder (autosave off, no news), so nothing under notebooks/ changes.
 */
// The functions run in the page talk to JupyterLab's untyped window.jupyterapp.
// deno-lint-ignore-file no-explicit-any
import nodeAssert from "node:assert/strict";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { outDir, ROOT } from "../../lib/config/mod.ts";
import { startLab } from "../../lib/jupyter/lab.ts";
import { paramsToEnv } from "../../lib/jupyter/params.ts";
import {
  e2eNotebooks,
  executedFromOutputs,
  EXPECTATIONS,
  type NotebookExpectation,
  type Output,
  tinyDataset,
  unfinishedProgress,
} from "./_setup.ts";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** JupyterLab settings for the test's own config folder. */
const SETTINGS: Record<string, unknown> = {
  "@jupyterlab/docmanager-extension/plugin": { autosave: false },
  "@jupyterlab/apputils-extension/notification": { fetchNews: "false", checkForUpdates: false },
  "@jupyterlab/notebook-extension/tracker": { windowingMode: "none" },
};

/** What the page reports about the open notebook once all cells ran. */
interface PageState {
  codeCells: number;
  executed: number;
  kernel: string;
  errors: string[];
  pictures: number;
  brokenImages: number;
  plains: string[];
  /** Stream and text/plain outputs joined. */
  text: string;
  /** nbformat outputs of each code cell (for the notebooks' own checks). */
  cells: Output[][];
}

async function writeSettings(home: string) {
  for (const [path, value] of Object.entries(SETTINGS)) {
    const file = join(home, "config", "lab", "user-settings", `${path}.jupyterlab-settings`);
    await Deno.mkdir(join(file, ".."), { recursive: true });
    await Deno.writeTextFile(file, JSON.stringify(value));
  }
}

/** Opens `url` (a notebook), runs all cells, returns the final state. */
async function runInLab(
  page: Page,
  url: string,
  timeoutMs: number,
  params: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<PageState> {
  const t0 = performance.now();
  const say = (what: string) =>
    console.log(`  ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await page.goto(url);
  // the app is exposed as window.jupyterapp (expose_app_in_browser)
  await page.waitForFunction(
    () => {
      const w = (globalThis as any).jupyterapp?.shell?.currentWidget;
      return w?.content?.widgets && w.context?.isReady &&
        w.sessionContext?.session?.kernel?.status === "idle";
    },
    undefined,
    { timeout: 120_000, polling: 250 },
  );
  say("kernel idle");
  // this notebook's quick settings and output folder: set in its kernel (silently) before
  // its cells run, so each notebook starts from an empty output folder as in the headless test
  const env = { ...paramsToEnv(params), ...extraEnv };
  if (Object.keys(env).length) {
    await page.evaluate(
      async (code) => {
        const w = (globalThis as any).jupyterapp.shell.currentWidget;
        await w.sessionContext.session.kernel.requestExecute({
          code,
          silent: true,
          store_history: false,
        })
          .done;
      },
      Object.entries(env).map(([k, v]) =>
        `Deno.env.set(${JSON.stringify(k)}, ${JSON.stringify(v)});`
      ).join("\n"),
    );
  }
  await page.evaluate(() =>
    (globalThis as any).jupyterapp.commands.execute("notebook:run-all-cells")
  );
  // done: every code cell has its execution count and the kernel is idle, or a cell failed
  await page.waitForFunction(
    () => {
      const w = (globalThis as any).jupyterapp.shell.currentWidget;
      const cells = w.content.widgets.filter((c: any) =>
        c.model.type === "code" && c.model.sharedModel.getSource().trim()
      );
      const failed = cells.some((c: any) =>
        c.model.outputs.toJSON().some((o: any) => o.output_type === "error")
      );
      const idle = w.sessionContext.session?.kernel?.status === "idle";
      return idle && (failed || cells.every((c: any) => c.model.executionCount !== null));
    },
    undefined,
    { timeout: timeoutMs, polling: 500 },
  );
  say("all cells ran");
  // outputs render asynchronously: read the state until it stops changing
  let state: PageState | undefined;
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(500);
    const next = await page.evaluate(collectState) as PageState;
    if (state && JSON.stringify(next) === JSON.stringify(state) && next.brokenImages === 0) break;
    state = next;
  }
  say("outputs rendered");
  // scroll the first picture into view for the screenshot
  await page.evaluate(() => {
    const el = [...document.querySelectorAll(".jp-OutputArea-output")]
      .find((e) => e.querySelector("svg, img"));
    el?.scrollIntoView({ block: "start" });
  });
  await page.waitForTimeout(500);
  return state!;
}

/** Runs in the page: what the open notebook shows. */
function collectState(): PageState {
  const w = (globalThis as any).jupyterapp.shell.currentWidget;
  const cells = w.content.widgets.filter((c: any) =>
    c.model.type === "code" && c.model.sharedModel.getSource().trim()
  );
  const outputs = cells.flatMap((c: any) => c.model.outputs.toJSON());
  const text = (v: unknown) => Array.isArray(v) ? v.join("") : String(v ?? "");
  const areas = [...w.content.node.querySelectorAll(".jp-OutputArea-output")] as Element[];
  const imgs = [...w.content.node.querySelectorAll(".jp-OutputArea-output img")] as any[];
  return {
    codeCells: cells.length,
    executed: cells.filter((c: any) => c.model.executionCount !== null).length,
    kernel: w.sessionContext.session?.kernel?.status ?? "none",
    errors: outputs.filter((o: any) => o.output_type === "error")
      .map((o: any) => `${o.ename}: ${o.evalue}`),
    // an output area showing a picture: an <img> (PNG, SVG as image) or inline <svg> (HTML figures)
    pictures: areas.filter((el) => el.querySelector("svg, img")).length,
    brokenImages: imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).length,
    plains: outputs.filter((o: any) => o.data?.["text/plain"] !== undefined)
      .map((o: any) => text(o.data["text/plain"])),
    text: outputs.map((o: any) => text(o.text ?? o.data?.["text/plain"])).join("\n"),
    cells: cells.map((c: any) => c.model.outputs.toJSON()),
  };
}

/** Shuts down every kernel of the server (REST API). */
async function stopKernels(base: string, token: string) {
  const r = await fetch(`${base}/api/kernels?token=${token}`);
  for (const k of (await r.json()) as { id: string }[]) {
    await (await fetch(`${base}/api/kernels/${k.id}?token=${token}`, { method: "DELETE" })).body
      ?.cancel();
  }
}

const notebooks = e2eNotebooks();

Deno.test({
  name: "browser: notebooks run in JupyterLab with the project kernel",
  ignore: !existsSync(CHROMIUM),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const data = await tinyDataset();
    const tmp = await Deno.makeTempDir({ prefix: "e2e-browser-" });
    // the copies live in the project root so that "../lib/mod.ts" resolves as in notebooks/
    const copies = join(ROOT, `e2e-notebooks-${Deno.pid}`);
    const shots = outDir("screenshots");
    await Deno.mkdir(join(copies, "fx", "nb"), { recursive: true });
    await Deno.mkdir(shots, { recursive: true });
    await writeSettings(tmp);
    const cases: { path: string; exp: NotebookExpectation }[] = [{
      path: "fx/nb/pass.ipynb",
      exp: { notebook: "pass", params: ["n=5"], minPictures: 1, texts: ["hello x5", /^70$/m] },
    }];
    for (const f of ["pass.ipynb", "fail.ipynb"]) {
      await Deno.copyFile(
        join(ROOT, "tests", "fixtures", "notebooks", f),
        join(copies, "fx", "nb", f),
      );
    }
    for (const nb of notebooks) {
      const name = basename(nb, ".ipynb");
      await Deno.copyFile(nb, join(copies, basename(nb)));
      cases.push({
        path: basename(nb),
        exp: EXPECTATIONS.find((e) => e.notebook === name) ??
          { notebook: name, params: [], minPictures: 0 },
      });
    }
    let browser: Browser | undefined;
    const lab = await startLab({
      isolatedHome: tmp,
      log: "piped",
      env: { ACMC_DATA: data.dir, ACMC_OUT: join(tmp, "out") },
      args: ["--LabApp.expose_app_in_browser=True"],
    });
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
      await t.step("fixture fail: the error output is seen", async () => {
        const page = await browser!.newPage();
        const url = `${lab.base}/lab/tree/${
          basename(copies)
        }/fx/nb/fail.ipynb?reset&token=${lab.token}`;
        const state = await runInLab(page, url, 120_000);
        nodeAssert.deepStrictEqual(state.errors, ["RangeError: boom: x is 1"]);
        await page.close({ runBeforeUnload: false });
        await stopKernels(lab.base, lab.token);
      });
      for (const { path, exp } of cases) {
        await t.step(`${exp.notebook}: runs with pictures and no errors`, async () => {
          const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
          const url = `${lab.base}/lab/tree/${basename(copies)}/${path}?reset&token=${lab.token}`;
          const t0 = performance.now();
          const out = join(tmp, `out-${exp.notebook}`);
          const state = await runInLab(page, url, (exp.timeout ?? 600) * 1000, exp.params, {
            ACMC_OUT: out,
          });
          await page.screenshot({ path: join(shots, `${exp.notebook}.png`) });
          console.log(
            `${exp.notebook}: ${state.executed}/${state.codeCells} cells, ${state.pictures} pictures, ` +
              `${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
          nodeAssert.deepStrictEqual(state.errors, [], `${exp.notebook}: error outputs`);
          nodeAssert.equal(state.executed, state.codeCells, `${exp.notebook}: cells not run`);
          nodeAssert.ok(
            state.pictures >= exp.minPictures,
            `${exp.notebook}: ${state.pictures} pictures rendered, expected at least ${exp.minPictures}`,
          );
          nodeAssert.equal(state.brokenImages, 0, `${exp.notebook}: images that did not load`);
          if (exp.check) {
            const resultsFile = join(out, "results", `${exp.notebook}.json`);
            const results = existsSync(resultsFile)
              ? JSON.parse(await Deno.readTextFile(resultsFile))
              : null;
            await exp.check(executedFromOutputs(state.cells, results), { images: data.images });
          }
          for (const t of exp.texts ?? []) {
            nodeAssert.ok(
              typeof t === "string" ? state.text.includes(t) : t.test(state.text),
              `${exp.notebook}: outputs lack ${t}`,
            );
          }
          if (!exp.partialProgress) {
            nodeAssert.deepStrictEqual(unfinishedProgress(state.plains), []);
          }
          // close the page without saving (no beforeunload prompt), then stop its kernel
          await page.close({ runBeforeUnload: false });
          await stopKernels(lab.base, lab.token);
        });
      }
    } finally {
      await browser?.close();
      await lab.close();
      await Deno.remove(copies, { recursive: true });
      await Deno.remove(tmp, { recursive: true });
    }
    console.log(`screenshots: ${shots}`);
  },
});
