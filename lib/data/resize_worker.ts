/**
 * Web Worker entry: resizes decoded images off the main (training) thread.
 * Messages: `{id, data, width, height, channels, size, options}` (data's
 * buffer transferred); replies `{id, out}` (transferred) or `{id, error}`.
 *
 * @module
 */
import { resizeImage, type ResizeOptions } from "./resize.ts";

interface Job {
  id: number;
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
  size: [number, number];
  options: ResizeOptions;
}

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = (e: MessageEvent<Job>) => {
  const { id, data, width, height, channels, size, options } = e.data;
  try {
    const out = resizeImage({ data, width, height, channels }, size, options);
    scope.postMessage({ id, out }, [out.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message });
  }
};
