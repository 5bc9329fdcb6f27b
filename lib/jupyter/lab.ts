/**
 * Starting JupyterLab from the project venv with the project's Deno kernel.
 *
 * The kernel comes from `kernels/deno` through `JUPYTER_PATH` (it wins over a
 * user-level `deno` kernelspec); nothing is installed or changed in the
 * user's Jupyter folders.
 * @module
 */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { ROOT } from "../config/mod.ts";
import { paramsToEnv } from "./params.ts";
import { kernelEnv, PYTHON } from "./runner.ts";

/** Options of {@linkcode startLab}. */
export interface LabOptions {
  /** Port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Access token; default: a random one. */
  token?: string;
  /** Folder the server serves; default: the project root. */
  rootDir?: string;
  /** Path (under rootDir) the printed URL opens; default: "notebooks". */
  open?: string;
  /** Parameter overrides (`NAME=VALUE`) for the notebooks' kernels. */
  params?: string[];
  /** Extra environment for the server and its kernels. */
  env?: Record<string, string>;
  /** Where the server's log goes: "inherit" (the terminal), "null" or "piped" (kept for errors). */
  log?: "inherit" | "null" | "piped";
  /**
   * Keep Jupyter's config, data and runtime folders in this temporary folder
   * (tests: no user settings, nothing written to the user's home). Default: off.
   */
  isolatedHome?: string;
  /** Extra command line arguments for `jupyter lab`. */
  args?: string[];
  /** How long to wait for the server, ms. Default 60000. */
  startupTimeoutMs?: number;
}

/** A running JupyterLab. */
export interface Lab {
  /** Base URL, `http://127.0.0.1:PORT`. */
  base: string;
  /** URL that opens the `open` folder, with the token. */
  url: string;
  port: number;
  token: string;
  process: Deno.ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts `jupyter lab` on 127.0.0.1 and waits until it answers.
 *
 * @example
 * ```ts
 * const lab = await startLab();
 * console.log(lab.url);
 * await lab.process.status;
 * ```
 */
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run 'bash tools/setup.sh venv' in ${ROOT}`);
  }
  const port = options.port ?? freePort();
  const token = options.token ?? crypto.randomUUID().replaceAll("-", "");
  const rootDir = options.rootDir ?? ROOT;
  const open = options.open ?? "notebooks";
  const env: Record<string, string> = { ...paramsToEnv(options.params ?? []), ...options.env };
  if (options.isolatedHome) {
    const h = options.isolatedHome;
    for (
      const [k, d] of [["JUPYTER_CONFIG_DIR", "config"], ["JUPYTER_DATA_DIR", "data"], [
        "JUPYTER_RUNTIME_DIR",
        "runtime",
      ], ["IPYTHONDIR", "ipython"]]
    ) {
      env[k] = join(h, d);
      await Deno.mkdir(env[k], { recursive: true });
    }
  }
  const log = options.log ?? "inherit";
  const process = new Deno.Command(PYTHON, {
    args: [
      "-m",
      "jupyterlab",
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      "--ServerApp.port_retries=0",
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${rootDir}`,
      "--ServerApp.open_browser=False",
      "--LabApp.news_url=",
      "--LabApp.extension_manager=readonly",
      "--MultiKernelManager.default_kernel_name=deno",
      ...(Deno.uid() === 0 ? ["--allow-root"] : []),
      "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
      ...(options.args ?? []),
    ],
    cwd: rootDir,
    env: kernelEnv(env),
    stdin: "null",
    stdout: log,
    stderr: log,
  }).spawn();
  let logText: Promise<string> | undefined;
  if (log === "piped") {
    logText = Promise.all([
      new Response(process.stdout).text(),
      new Response(process.stderr).text(),
    ])
      .then((t) => t.join("\n"));
  }
  let exited = false;
  const status = process.status.then((s) => {
    exited = true;
    return s;
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startupTimeoutMs ?? 60_000);
  while (true) {
    if (exited) {
      const s = await status;
      const tail = logText ? (await logText).trim().split("\n").slice(-20).join("\n") : "";
      throw new Error(`jupyter lab exited with code ${s.code} before answering\n${tail}`);
    }
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      process.kill("SIGKILL");
      throw new Error(`jupyter lab did not answer on ${base} within the startup timeout`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    base,
    url: `${base}/lab/tree/${open.split("/").map(encodeURIComponent).join("/")}?token=${token}`,
    port,
    token,
    process,
    async close() {
      if (!exited) {
        try {
          process.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            if (!exited) process.kill("SIGKILL");
          } catch { /* gone */ }
        }, 5000);
        await status;
        clearTimeout(timer);
      }
      await logText;
    },
  };
}
