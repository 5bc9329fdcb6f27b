/**
 * Runs the whole test suite: the fast unit tests, then the slow end-to-end
 * tests (headless notebook runs, the browser test), and ends with the line
 * `N passed, N failed` that CI reads.
 *
 * Usage: deno task test [--unit | --e2e] [-- extra deno test args]
 * @module
 */
import { parseCommandLine } from "./cli.ts";

const { values } = parseCommandLine(
  "test",
  "deno task test [--unit | --e2e] [-- extra deno test args]",
  {
    options: { unit: { type: "boolean" }, e2e: { type: "boolean" } },
    allowPositionals: true,
  },
);
/**
 * Test files that need a process of their own: one libtensorflow per process,
 * whose first load decides its kernels (oneDNN or not), and `--parallel` runs
 * every file in one process.
 */
const OWN_PROCESS = ["tests/models_relu_fusion_test.ts", "tests/train_graph_step_test.ts"];
const suites: [string, string[]][] = [];
if (!values.e2e) {
  suites.push(["unit", ["--parallel", `--ignore=tests/e2e,${OWN_PROCESS.join(",")}`, "tests/"]]);
  for (const f of OWN_PROCESS) suites.push([`unit (own process): ${f}`, [f]]);
}
if (!values.unit) suites.push(["e2e", ["tests/e2e/"]]);

const SUMMARY = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/;
let passed = 0;
let failed = 0;
for (const [name, args] of suites) {
  console.log(`\n=== ${name} tests ===`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...args],
    stdout: "piped",
    stderr: "inherit",
    env: { DENO_JOBS: Deno.env.get("DENO_JOBS") ?? "2" },
  }).spawn();
  let tail = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    const text = dec.decode(chunk, { stream: true });
    await Deno.stdout.write(chunk);
    tail = (tail + text).slice(-4000);
  }
  const status = await child.status;
  // deno prints colour codes unless NO_COLOR is set; strip them to read its summary.
  // deno-lint-ignore no-control-regex
  const m = tail.replace(/\x1b\[[0-9;]*m/g, "").match(SUMMARY);
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    if (!status.success && Number(m[2]) === 0) failed += 1; // e.g. a type error after the run
  } else {
    console.error(`${name} tests: no summary from deno test (exit ${status.code})`);
    failed += 1;
  }
}
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
