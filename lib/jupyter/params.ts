/**
 * Notebook parameters that can be overridden from the command line.
 *
 * A notebook's parameters cell reads each setting with {@linkcode param}: the
 * default written in the notebook, unless the runner was given
 * `--param NAME=VALUE` (`deno task notebooks --param epochs=2`,
 * `deno task study --param epochs=2`), which reaches the kernel as the
 * environment variable `ACMC_PARAM_<NAME>` (see {@linkcode paramEnvName}).
 * The same variables can be set by hand before `deno task lab`.
 *
 * @example
 * ```ts
 * // the parameters cell of a notebook
 * const epochs = param("epochs", 20); // number: "--param epochs=3" gives 3
 * const imageSize = param("imageSize", 256); // ACMC_PARAM_IMAGE_SIZE
 * const quick = param("quick", false); // boolean: true/false/1/0/yes/no
 * const classes = param("classes", ["Archie", "Betty"]); // arrays/objects: JSON
 * ```
 * @module
 */

/** A value a parameter can take: its default decides how the override is parsed. */
export type ParamValue = string | number | boolean | null | ParamValue[] | {
  [key: string]: ParamValue;
};

/**
 * The environment variable that overrides parameter `name`: `ACMC_PARAM_`
 * followed by the name in upper snake case, whatever its spelling
 * (`imageSize`, `image_size` and `image-size` all give
 * `ACMC_PARAM_IMAGE_SIZE`).
 *
 * @example
 * ```ts
 * paramEnvName("imageSize"); // "ACMC_PARAM_IMAGE_SIZE"
 * ```
 */
export function paramEnvName(name: string): string {
  const snake = name.trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
  if (!snake) throw new Error(`param: invalid parameter name ${JSON.stringify(name)}`);
  return `ACMC_PARAM_${snake}`;
}

/**
 * Parses the text `raw` of an override into the type of `defaultValue`:
 * numbers (finite), booleans (`true/false/1/0/yes/no/on/off`), strings as
 * they are, `null`/arrays/objects as JSON. Throws an error naming `name` when
 * the text does not fit.
 */
export function parseParam<T extends ParamValue>(name: string, raw: string, defaultValue: T): T {
  const fail = (what: string): never => {
    throw new Error(
      `param ${name} (${paramEnvName(name)}=${JSON.stringify(raw)}): expected ${what}`,
    );
  };
  switch (typeof defaultValue) {
    case "number": {
      const n = raw.trim() === "" ? NaN : Number(raw);
      if (!Number.isFinite(n)) fail("a number");
      return n as T;
    }
    case "boolean": {
      const v = raw.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(v)) return true as T;
      if (["false", "0", "no", "off"].includes(v)) return false as T;
      return fail("a boolean (true/false)");
    }
    case "string":
      return raw as T;
    default: {
      try {
        const v = JSON.parse(raw);
        if (Array.isArray(defaultValue) && !Array.isArray(v)) fail("a JSON array");
        return v as T;
      } catch (e) {
        if (e instanceof SyntaxError) fail("JSON");
        throw e;
      }
    }
  }
}

/**
 * Reads notebook parameter `name`: the override in `ACMC_PARAM_<NAME>` when
 * set (parsed to the type of `defaultValue`), else `defaultValue`.
 *
 * @param name the parameter's name, as written after `--param` (e.g. `"epochs"`)
 * @param defaultValue the value used when no override is given; its type
 *   decides how the override is parsed
 * @returns the parameter's value
 *
 * @example
 * ```ts
 * const seed = param("seed", 123);
 * ```
 */
export function param<T extends ParamValue>(name: string, defaultValue: T): T {
  const raw = Deno.env.get(paramEnvName(name));
  return raw === undefined ? defaultValue : parseParam(name, raw, defaultValue);
}

/**
 * Turns `["epochs=2", "imageSize=64"]` (the `--param` arguments) into the
 * environment variables that {@linkcode param} reads. Throws on an entry
 * without `=`.
 *
 * @example
 * ```ts
 * paramsToEnv(["epochs=2"]); // { ACMC_PARAM_EPOCHS: "2" }
 * ```
 */
export function paramsToEnv(assignments: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const a of assignments) {
    const eq = a.indexOf("=");
    if (eq <= 0) throw new Error(`--param ${JSON.stringify(a)}: expected NAME=VALUE`);
    env[paramEnvName(a.slice(0, eq))] = a.slice(eq + 1);
  }
  return env;
}
