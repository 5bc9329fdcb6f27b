/**
 * Runs oracle scripts (Keras, TensorFlow, scikit-learn) in the project venv.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (the folder holding deno.json). */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));
/** The venv's Python interpreter. */
export const PYTHON: string = join(ROOT, ".venv", "bin", "python");

/**
 * Runs `tests/oracles/<script>` with `args`, passes `input` as JSON on stdin,
 * and parses the script's stdout as JSON.
 */
export async function runOracle<T = unknown>(
  script: string,
  input: unknown = null,
  args: string[] = [],
): Promise<T> {
  const cmd = new Deno.Command(PYTHON, {
    args: [join(ROOT, "tests", "oracles", script), ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { TF_CPP_MIN_LOG_LEVEL: "3", TF_ENABLE_ONEDNN_OPTS: "0", PYTHONHASHSEED: "0" },
  });
  const child = cmd.spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(input)));
  await w.close();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `oracle ${script} failed (${out.code}):\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(stdout) as T;
}
