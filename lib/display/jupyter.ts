/**
 * The Deno Jupyter kernel's messaging, behind a seam that tests can replace.
 *
 * `Deno.jupyter` exists only inside `deno jupyter` (elsewhere reading it
 * throws), so every helper asks {@linkcode jupyter} and falls back to files
 * and the terminal when it returns `undefined`.
 *
 * @module
 */

/** A Jupyter MIME bundle: MIME type -> data (images base64-encoded). */
export type MimeBundle = Record<string, string | object>;

/** The part of `Deno.jupyter` this project uses. */
export interface JupyterApi {
  /** Publishes a message on the IOPub channel (`display_data`, `update_display_data`, ...). */
  broadcast(
    msgType: string,
    content: Record<string, unknown>,
    extra?: { metadata?: Record<string, unknown> },
  ): Promise<void>;
}

function denoJupyter(): JupyterApi | undefined {
  try {
    const api = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
    return api && typeof api.broadcast === "function" ? api : undefined;
  } catch {
    // Outside `deno jupyter`, reading Deno.jupyter throws.
    return undefined;
  }
}

/**
 * Replaceable internals (Deno std style): tests swap `jupyter` for a fake
 * kernel that records the messages.
 */
export const _internals: { jupyter: () => JupyterApi | undefined } = { jupyter: denoJupyter };

/** The running kernel's API, or `undefined` outside a Deno Jupyter kernel. */
export function jupyter(): JupyterApi | undefined {
  return _internals.jupyter();
}

/** True inside a Deno Jupyter kernel. */
export function inJupyter(): boolean {
  return jupyter() !== undefined;
}

/** Options of {@linkcode publish}. */
export interface PublishOptions {
  /** Per-MIME-type metadata, e.g. `{ "image/png": { width: 640 } }`. */
  metadata?: Record<string, unknown>;
  /** Names the output so later calls can replace it in place. */
  displayId?: string;
  /** Replace the output named `displayId` instead of adding one. */
  update?: boolean;
}

/**
 * Sends `bundle` to the notebook as `display_data` (or `update_display_data`
 * with `update`). Same message as `Deno.jupyter.display(bundle, { raw: true,
 * display_id, update })`, plus per-type metadata (the PNG's display width).
 * Returns false (sending nothing) outside Jupyter.
 */
export async function publish(bundle: MimeBundle, options: PublishOptions = {}): Promise<boolean> {
  const api = jupyter();
  if (!api) return false;
  if (options.update && !options.displayId) {
    throw new TypeError("publish: `update: true` needs a `displayId`");
  }
  await api.broadcast(options.update ? "update_display_data" : "display_data", {
    data: bundle,
    metadata: options.metadata ?? {},
    transient: options.displayId ? { display_id: options.displayId } : {},
  });
  return true;
}
