/**
 * Command-line parsing shared by the `deno task` entry points: node:util's
 * `parseArgs` (the standard library's parser; `jsr:@std/cli` is unreachable
 * here), with a bad option or value reported as one line naming it plus the
 * usage, and exit status 2, instead of a stack trace.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * Parses `Deno.args` (or `config.args`) with `config`; on an unknown option,
 * a missing value or a stray argument prints `<command>: <what>` and `usage`
 * to stderr and exits with status 2.
 *
 * @example
 * ```ts
 * const { values } = parseCommandLine("synth", "deno task synth [--out DIR]", {
 *   options: { out: { type: "string" } },
 * });
 * ```
 */
export function parseCommandLine<T extends ParseArgsConfig>(
  command: string,
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ args: Deno.args, ...config });
  } catch (e) {
    console.error(`${command}: ${(e as Error).message}\nusage: ${usage}`);
    Deno.exit(2);
  }
}

/** Prints `<command>: <message>` to stderr and exits with status 2 (a bad argument). */
export function usageError(command: string, message: string): never {
  console.error(`${command}: ${message}`);
  Deno.exit(2);
}
