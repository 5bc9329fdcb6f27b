/**
 * The `h5wasm` npm package (HDF5 compiled to WebAssembly), loaded on first
 * use rather than at import: its ~3 MB of WebAssembly compile in V8's
 * background threads for a while after the module loads, and a program that
 * imported it statically paid that (~100 ms of CPU) during whatever came
 * next, e.g. a first pass over a dataset, whether it read an HDF5 file or
 * not (docs/loader.md).
 *
 * @example
 * ```ts
 * const h5 = await hdf5();
 * const file = new h5.File("model.weights.h5", "r");
 * ```
 *
 * @module
 */

/** The `h5wasm/node` module's default export. */
export type H5wasm = typeof import("h5wasm/node").default;

let loading: Promise<H5wasm> | undefined;

/** `h5wasm`, imported and its WebAssembly instantiated (once per process). */
export function hdf5(): Promise<H5wasm> {
  if (!loading) {
    loading = import("h5wasm/node").then(async (m) => {
      await m.default.ready;
      return m.default;
    });
    loading.catch(() => (loading = undefined)); // a failed load is tried again next time
  }
  return loading;
}
