/**
 * Starts JupyterLab (from the project venv) on 127.0.0.1 with the project's
 * Deno kernel and the notebooks folder open, and prints the URL with its token.
 *
 * Usage: deno task lab [--port N] [--param NAME=VALUE ...] [-- extra jupyter lab args]
 *
 * The kernel is `kernels/deno`, found through JUPYTER_PATH for this server
 * only: no kernelspec is installed or changed. Stop with Ctrl+C.
 * @module
 */
import { parseCommandLine, usageError } from "./cli.ts";
import { datasetDir, outDir } from "../lib/config/mod.ts";
import { startLab } from "../lib/jupyter/lab.ts";

const USAGE = "deno task lab [--port N] [--param NAME=VALUE ...] [-- extra jupyter lab args]";
const { values, positionals } = parseCommandLine("lab", USAGE, {
  options: {
    port: { type: "string" },
    param: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", short: "h" },
  },
  allowPositionals: true,
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
  usageError("lab", `--port ${values.port}: expected a port number`);
}

console.error("[lab] starting JupyterLab...");
const lab = await startLab({ port, params: values.param, args: positionals });
const ds = datasetDir();
console.log(`
JupyterLab is running with the project's Deno kernel:

    ${lab.url}

dataset: ${ds.dir} (${ds.kind}, ${ds.source}); outputs: ${outDir()}
Stop it with Ctrl+C.
`);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    console.error("\n[lab] stopping JupyterLab");
    await lab.close();
    Deno.exit(0);
  });
}
const status = await lab.process.status;
Deno.exit(status.code);
