/**
 * The headless notebook runner, the kernelspec, notebook parameters, the
 * study's reuse keys and the report, on the fixture notebooks of
 * tests/fixtures/notebooks (made by make_fixtures.py there).
 */
import nodeAssert, {
  deepStrictEqual as assertEquals,
  match as assertMatch,
} from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../lib/config/mod.ts";
import { param, paramEnvName, paramsToEnv, parseParam } from "../lib/jupyter/params.ts";
import { checkNotebook, notebookToModule } from "../lib/jupyter/check.ts";
import { formatFailure, kernelEnv, PYTHON, runNotebook } from "../lib/jupyter/runner.ts";
import { buildReport, summaryRows } from "../lib/jupyter/study_report.ts";
import { studySummary } from "../lib/reference/mod.ts";
import type { NotebookRun } from "../lib/jupyter/runner.ts";
import { canReuse, hashListing, inputsKey, type Manifest } from "../lib/jupyter/study.ts";

function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg ?? "assertion failed");
}
function assertStringIncludes(actual: string, expected: string) {
  nodeAssert.ok(
    actual.includes(expected),
    `expected to find ${JSON.stringify(expected)} in:\n${actual.slice(0, 2000)}`,
  );
}
function assertThrows(fn: () => unknown, _type: ErrorConstructor, includes: string) {
  nodeAssert.throws(fn, (e: Error) => e.message.includes(includes));
}

const FIX = join(ROOT, "tests", "fixtures", "notebooks");
const nbPath = (name: string) => join(FIX, `${name}.ipynb`);

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}
const joinText = (t: string | string[] | undefined) => Array.isArray(t) ? t.join("") : t ?? "";
async function codeOutputs(ipynb: string): Promise<Output[][]> {
  const nb = JSON.parse(await Deno.readTextFile(ipynb));
  return nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code")
    .map((c: { outputs: Output[] }) => c.outputs);
}

Deno.test("kernelspec: relative launcher, no absolute paths, finds the repo's deno", async () => {
  const dir = join(ROOT, "kernels", "deno");
  const spec = JSON.parse(await Deno.readTextFile(join(dir, "kernel.json")));
  assertEquals(spec.argv[0], "{resource_dir}/launch.sh");
  assertEquals(spec.argv.at(-1), "{connection_file}");
  for (const s of [...spec.argv, ...Object.values(spec.env)] as string[]) {
    assert(!s.startsWith("/") && !/^[A-Za-z]:\\/.test(s), `absolute path in kernel.json: ${s}`);
  }
  assertEquals(spec.env.NO_COLOR, "1");
  assertEquals(spec.env.TF_ENABLE_ONEDNN_OPTS, "0");
  assertEquals(spec.language, "typescript");
  const launcher = await Deno.readTextFile(join(dir, "launch.sh"));
  assert(!/\/work\/|\/home\/|\/root\//.test(launcher), "launch.sh holds an absolute path");
  assert(((await Deno.stat(join(dir, "launch.sh"))).mode ?? 0) & 0o100, "launch.sh not executable");
  const deno = join(dir, "../../tools/deno/node_modules/.bin/deno");
  assert((await Deno.stat(deno)).isFile, `${deno} missing`);
  // jupyter_client resolves "deno" to this spec even with a user-level one around.
  const out = await new Deno.Command(PYTHON, {
    args: ["-m", "jupyter", "kernelspec", "list", "--json"],
    env: kernelEnv(),
    stdout: "piped",
    stderr: "null",
  }).output();
  const specs = JSON.parse(new TextDecoder().decode(out.stdout)).kernelspecs;
  assertEquals(specs.deno.resource_dir, dir);
});

Deno.test("params: names, parsing by the default's type, errors naming the parameter", () => {
  assertEquals(paramEnvName("imageSize"), "ACMC_PARAM_IMAGE_SIZE");
  assertEquals(paramEnvName("image_size"), "ACMC_PARAM_IMAGE_SIZE");
  assertEquals(paramEnvName("image-size"), "ACMC_PARAM_IMAGE_SIZE");
  assertEquals(paramEnvName("epochs"), "ACMC_PARAM_EPOCHS");
  assertEquals(parseParam("epochs", "3", 20), 3);
  assertEquals(parseParam("lr", "1e-4", 0.001), 1e-4);
  assertEquals(parseParam("quick", "yes", false), true);
  assertEquals(parseParam("quick", "0", true), false);
  assertEquals(parseParam("name", "Betty", "Archie"), "Betty");
  assertEquals(parseParam("sizes", "[64,128]", [256]), [64, 128]);
  assertThrows(() => parseParam("epochs", "many", 20), Error, "ACMC_PARAM_EPOCHS");
  assertThrows(() => parseParam("quick", "maybe", false), Error, "boolean");
  assertThrows(() => parseParam("sizes", "{", [1]), Error, "JSON");
  assertThrows(() => paramsToEnv(["epochs"]), Error, "NAME=VALUE");
  assertEquals(paramsToEnv(["epochs=2", "imageSize=a=b"]), {
    ACMC_PARAM_EPOCHS: "2",
    ACMC_PARAM_IMAGE_SIZE: "a=b",
  });
  Deno.env.set("ACMC_PARAM_TEST_SEED", "7");
  try {
    assertEquals(param("testSeed", 123), 7);
    assertEquals(param("testOther", 123), 123);
  } finally {
    Deno.env.delete("ACMC_PARAM_TEST_SEED");
  }
});

Deno.test("check: cells map back to their index and line", async () => {
  const { code, spans } = notebookToModule({
    cells: [
      { cell_type: "markdown", source: "# t" },
      { cell_type: "code", source: "const a = 1;\n%magic" },
      { cell_type: "code", source: "" },
      { cell_type: "code", source: ["const b = a;\n", "b"] },
    ],
  });
  assertEquals(spans.map((s) => s.index), [1, 3]);
  const lines = code.split("\n");
  assertEquals(lines[spans[1].firstLine - 1], "const b = a;");
  assertEquals(lines[spans[0].firstLine], "// %magic");

  const syntax = await checkNotebook(nbPath("syntax"));
  assertEquals(syntax.length, 1);
  assertEquals([syntax[0].cell, syntax[0].line], [3, 2]);
  assertStringIncludes(syntax[0].message, "SyntaxError");
  const bad = await checkNotebook(nbPath("badimport"));
  assertEquals(bad.length, 1);
  assertEquals([bad[0].cell, bad[0].line], [2, 1]);
  assertStringIncludes(bad[0].message, "does-not-exist.ts");
  assertEquals(await checkNotebook(nbPath("pass")), []);
});

Deno.test("runner: a passing notebook, with a parameter override", async () => {
  const out = await Deno.makeTempDir({ prefix: "jupyter-test-" });
  try {
    const run = await runNotebook(nbPath("pass"), {
      outDir: out,
      params: ["n=5"],
      env: { ACMC_OUT: out },
      progress: false,
    });
    assert(run.ok, formatFailure(run));
    assertEquals([run.codeCells, run.executedCells], [4, 4]);
    assert(run.peakRss > 20 * 2 ** 20, `peak RSS ${run.peakRss} too small to be the kernel's`);
    assert(run.seconds > 0);
    const outputs = await codeOutputs(run.ipynb);
    assertEquals(joinText(outputs[1][0].text), "hello x5\n");
    assertEquals(joinText(outputs[1][1].text), "cwd fixtures/notebooks\n"); // kernel cwd = notebook folder
    assertStringIncludes(joinText(outputs[2][0].data!["image/svg+xml"]), 'width="50"');
    assertEquals(joinText(outputs[3][0].data!["text/plain"]), "70");
    const html = await Deno.readTextFile(run.html);
    assertStringIncludes(html, "hello x5");
    const fragment = await Deno.readTextFile(run.fragment);
    assertStringIncludes(fragment, "data:image/svg+xml;base64,");
    assert(!fragment.includes('param("greeting"'), "the report fragment shows code");
    const saved = JSON.parse(await Deno.readTextFile(join(out, "pass.run.json")));
    assertEquals(saved.ok, true);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("runner: a failing cell is reported with its index, source and error", async () => {
  const out = await Deno.makeTempDir({ prefix: "jupyter-test-" });
  try {
    const run = await runNotebook(nbPath("fail"), { outDir: out, progress: false });
    assertEquals(run.ok, false);
    assertEquals(run.failure?.cell, 2);
    assertEquals(run.failure?.ename, "RangeError");
    assertEquals(run.failure?.evalue, "boom: x is 1");
    assertStringIncludes(run.failure!.source, "explode();");
    assertStringIncludes(run.failure!.traceback.join("\n"), "at explode");
    const msg = formatFailure(run);
    assertMatch(msg, /failed in cell 2: RangeError: boom: x is 1/);
    // the executed copy holds the cells up to the failure, the later one untouched
    const outputs = await codeOutputs(run.ipynb);
    assertEquals(joinText(outputs[0][0].text), "before\n");
    assertEquals(outputs[2], []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("runner: syntax errors and bad imports fail before the kernel, naming the cell", async () => {
  const out = await Deno.makeTempDir({ prefix: "jupyter-test-" });
  try {
    const run = await runNotebook(nbPath("syntax"), { outDir: out, progress: false });
    assertEquals([run.ok, run.failure?.cell, run.failure?.ename], [false, 3, "CheckError"]);
    assertEquals(run.executedCells, 0);
    // the command line tool: exit code 1 and the cell in its message
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "tools", "notebooks.ts"), nbPath("badimport"), "--out", out],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(cli.code, 1);
    const stderr = new TextDecoder().decode(cli.stderr);
    assertStringIncludes(stderr, "failed in cell 2");
    assertStringIncludes(stderr, "does-not-exist.ts");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("runner: a cell over the time limit fails with CellTimeoutError", async () => {
  const out = await Deno.makeTempDir({ prefix: "jupyter-test-" });
  try {
    const run = await runNotebook(nbPath("slow"), { outDir: out, progress: false, timeout: 2 });
    assertEquals([run.ok, run.failure?.cell, run.failure?.ename], [false, 2, "CellTimeoutError"]);
    // The cell sleeps 600 s: a run that ends well before proves the limit stopped it
    // (a bound of 30 s failed once under CI load: kernel start-up alone took most of it).
    assert(run.seconds < 300, `took ${run.seconds} s`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("runner: no output is lost when the kernel reports idle before a cell's last output", async () => {
  // race.ipynb: 40 cells each printing or displaying as their very last act. Without
  // reading on after idle, about 1 cell in 20 lost an output here (measured: 8 of 8
  // runs of 20 cells lost 0-2 outputs with graceMs 0; none with the default).
  const out = await Deno.makeTempDir({ prefix: "jupyter-test-" });
  try {
    let late = 0;
    for (let r = 0; r < 2; r++) {
      const run = await runNotebook(nbPath("race"), { outDir: out, progress: false, check: false });
      assert(run.ok, formatFailure(run));
      late += run.lateOutputs;
      const outputs = await codeOutputs(run.ipynb);
      assertEquals(outputs.length, 40);
      outputs.forEach((o, i) => {
        if (i % 2 === 0) {
          assertEquals(o.map((x) => joinText(x.text)), [`line ${i}\n`], `run ${r}, cell ${i + 1}`);
        } else {
          assertEquals(
            o.map((x) => x.output_type),
            ["display_data", "execute_result"],
            `run ${r}, cell ${i + 1}`,
          );
          assertEquals(joinText(o[0].data!["text/plain"]), `display ${i}`);
        }
      });
    }
    console.log(`outputs caught after idle in 80 cells: ${late}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

const fakeRun = (name: string, ok = true): NotebookRun => ({
  name,
  notebook: `/x/${name}.ipynb`,
  ok,
  seconds: 12.5,
  peakRss: 1.5 * 2 ** 30,
  codeCells: 5,
  executedCells: ok ? 5 : 3,
  lateOutputs: 0,
  ipynb: "",
  html: "",
  fragment: "",
  finishedAt: "2026-01-01T00:00:00.000Z",
  params: ["epochs=2"],
  failure: ok ? undefined : {
    cell: 3,
    ename: "Error",
    evalue: "no <checkpoint>",
    traceback: [],
    source: "load()",
  },
});

Deno.test("report: summary beside the reference, timings, failures, self-contained", async () => {
  const reference = await studySummary();
  assert(reference.some((e) => e.key === "scratch256.valAccuracy" && e.value === 0.5666));
  const html = buildReport({
    notebooks: [
      {
        name: "01-images",
        status: "reused",
        run: fakeRun("01-images"),
        fragment: '<h1 id="Images">Images<a class="anchor-link" href="#Images">¶</a></h1>' +
          '<img src="data:image/png;base64,AAAA">',
        results: { images: 230, classes: 23, sizes: { medianWidth: 410.5 } },
      },
      {
        name: "02-simple-resnet",
        status: "failed",
        run: fakeRun("02-simple-resnet", false),
        fragment: "",
        results: {
          summary: [{
            label: "best val_accuracy, scratch 64 px",
            value: 0.3125,
            reference: "scratch256.valAccuracy",
            note: "2 epochs",
          }],
        },
      },
    ],
    reference,
    engine: { backend: "tensorflow", devices: ["CPU:0"] },
    dataset: { folder: "/tmp/acmc", kind: "synthetic", images: 230 },
    machine: { "CPU cores": 2 },
    generatedAt: new Date("2026-01-01T00:00:00Z"),
  });
  assertMatch(
    html,
    /<td>02-simple-resnet<\/td><td>best val_accuracy, scratch 64 px<\/td><td class="num">0\.3125<\/td><td class="num">0\.5666<\/td>/,
  );
  assertMatch(html, /<td>01-images<\/td><td>sizes\.medianWidth<\/td><td class="num">410\.50<\/td>/);
  // a reference figure nobody measured is still listed, marked as such
  assertMatch(
    html,
    /sizes512\.valAccuracy|size sweep, scratch, 512 px: best val_accuracy<\/td><td class="num">–<\/td><td class="num">0\.6339/,
  );
  assertStringIncludes(html, "1.50 GiB");
  assertStringIncludes(html, 'class="status-failed"');
  assertStringIncludes(html, "no &lt;checkpoint&gt;"); // escaped
  assertStringIncludes(html, 'id="01-images--Images"'); // ids scoped per notebook
  assertStringIncludes(html, 'href="#01-images--Images"');
  assertStringIncludes(html, "<td>tensorflow</td>");
  // self-contained: no external scripts, styles or images
  assert(!/<(script|link)\b/i.test(html), "report loads external resources");
  assert(!/src="(?!data:)/.test(html), "report references an external image");

  assertEquals(summaryRows(null), []);
  const big = Object.fromEntries([..."abcdefg"].map((k, i) => [k, i]));
  assertEquals(summaryRows({ a: 1, b: "x", c: [1, 2], d: { e: 2, f: { g: 3 } }, big }), [
    { label: "a", value: 1 },
    { label: "b", value: "x" },
    { label: "d.e", value: 2 },
  ]);
});

Deno.test("study: reuse keys follow the notebook, params, dataset and the notebook before", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jupyter-study-" });
  try {
    await Deno.mkdir(join(dir, "data", "A"), { recursive: true });
    await Deno.writeTextFile(join(dir, "data", "A", "a.png"), "x");
    const nb = join(dir, "n.ipynb");
    await Deno.writeTextFile(nb, '{"cells": []}');
    const base = {
      notebook: nb,
      lib: "l",
      deps: "d",
      dataset: await hashListing(join(dir, "data")),
      params: ["b=2", "a=1"],
      previous: "",
    };
    const k = await inputsKey(base);
    assertEquals(await inputsKey({ ...base, params: ["a=1", "b=2"] }), k); // order does not matter
    assert(await inputsKey({ ...base, params: ["a=2", "b=2"] }) !== k);
    assert(await inputsKey({ ...base, previous: "p" }) !== k);
    assert(await inputsKey({ ...base, lib: "l2" }) !== k);
    await Deno.writeTextFile(join(dir, "data", "A", "b.png"), "y");
    assert(await inputsKey({ ...base, dataset: await hashListing(join(dir, "data")) }) !== k);
    await Deno.writeTextFile(nb, '{"cells": [], "metadata": {}}');
    assert(await inputsKey(base) !== k);

    const run = { ...fakeRun("n"), ipynb: nb, fragment: nb };
    const m: Manifest = { version: 1, notebooks: { n: { key: k, run } } };
    assert(canReuse(m, "n", k));
    assert(!canReuse(m, "n", "other"));
    assert(!canReuse(m, "x", k));
    assert(
      !canReuse({ version: 1, notebooks: { n: { key: k, run: { ...run, ok: false } } } }, "n", k),
    );
    assert(
      !canReuse(
        { version: 1, notebooks: { n: { key: k, run: { ...run, fragment: join(dir, "gone") } } } },
        "n",
        k,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
