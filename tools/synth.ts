/**
 * Generates the synthetic ACMC stand-in (the embedded default dataset).
 *
 * Usage: deno task synth [--out DIR] [--scale S] [--seed N] [--concurrency N] [--force]
 *   --out          output folder (default data/acmc-synth)
 *   --scale        fraction of ACMC's 6462 images (default 1)
 *   --seed         seed (default 123)
 *   --concurrency  images in flight at once (default 8)
 *   --force        regenerate even if the folder already matches
 * A second run with the same parameters only checks the folder and exits.
 * @module
 */
import { parseCommandLine, usageError } from "./cli.ts";
import { resolve } from "node:path";
import { generateStandIn } from "../lib/synth/mod.ts";
import { SYNTH_DIR } from "../lib/config/mod.ts";
import { progressReporter } from "../lib/display/mod.ts";

const USAGE = "deno task synth [--out DIR] [--scale S] [--seed N] [--concurrency N] [--force]";
const { values } = parseCommandLine("synth", USAGE, {
  options: {
    out: { type: "string" },
    scale: { type: "string", default: "1" },
    seed: { type: "string", default: "123" },
    concurrency: { type: "string" },
    force: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const num = (name: string, text: string) => {
  const v = Number(text);
  if (!Number.isFinite(v)) usageError("synth", `--${name} must be a number, got "${text}"`);
  return v;
};
try {
  const r = await generateStandIn({
    outDir: values.out ? resolve(values.out) : SYNTH_DIR,
    scale: num("scale", values.scale),
    seed: num("seed", values.seed),
    concurrency: values.concurrency === undefined
      ? undefined
      : num("concurrency", values.concurrency),
    force: values.force,
    progress: progressReporter(),
  });
  const what = r.skipped ? "already there" : `written in ${r.seconds.toFixed(1)} s`;
  console.log(`stand-in: ${r.manifest.total} images in ${r.dir} (${what})`);
} catch (e) {
  console.error(`synth: ${(e as Error).message}`);
  Deno.exit(1);
}
