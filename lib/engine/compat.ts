/**
 * Deno compatibility for `@tensorflow/tfjs-node-gpu`, in one place.
 *
 * The package's compiled JS still calls `node:util` helpers that Node removed
 * long ago (and Deno's `node:util` never had): without them every op on the
 * native backend fails with `(0, util_1.isNullOrUndefined) is not a function`.
 * {@linkcode installNodeCompat} restores them before the package is imported.
 *
 * @module
 */
import util from "node:util";

let installed = false;

/** Restores the `node:util` helpers the tfjs-node JS calls (idempotent). */
export function installNodeCompat(): void {
  if (installed) return;
  const u = util as unknown as Record<string, unknown>;
  u.isNullOrUndefined ??= (x: unknown) => x == null;
  u.isArray ??= Array.isArray;
  u.isNumber ??= (x: unknown) => typeof x === "number";
  u.isString ??= (x: unknown) => typeof x === "string";
  u.isFunction ??= (x: unknown) => typeof x === "function";
  installed = true;
}
