/**
 * Cold pages: the read-only pages of libtensorflow (and of Deno itself) that
 * only loading the library and the first training step touch, unmapped from
 * this process so that its resident memory holds only what training runs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** What {@linkcode releaseColdPages} unmapped. */
export interface ColdPageRelease {
  /** Mappings advised. */
  mappings: number;
  /** Resident bytes they held (some come back as the code runs again). */
  bytes: number;
}

const MADV_DONTNEED = 4;

/**
 * Unmaps, from this process only, every resident page of its read-only,
 * private, file-backed mappings that holds the file's own bytes
 * (`madvise(MADV_DONTNEED)`; Linux). The pages stay in the kernel's page cache:
 * code or data used again faults back in from there (a minor fault, no disk
 * read), and nothing else changes.
 *
 * Why: loading libtensorflow runs the static initialisers of every op and
 * kernel in the library and touches about 300 MB of its code and read-only
 * data (Deno's binary adds ~40 MB), counted in the process's resident memory
 * for as long as it lives, although a ResNet50 training step then uses only
 * ~45 MB of it (measured with `/proc/self/smaps`; PyTorch's libraries hold 82
 * MB after `import torch`). See docs/engine.md.
 *
 * Only mappings whose every resident page is clean file content qualify:
 * writable ones, shared ones and those with any anonymous (copy-on-write)
 * page, such as a library's relocated read-only data, are left alone, so no
 * byte of the program changes. Returns what was unmapped; zeros where
 * `/proc/self/smaps` or FFI (`--allow-ffi`) is not available.
 *
 * @example
 * ```ts
 * await initEngine(); // already calls it once the engine has loaded
 * releaseColdPages(); // e.g. again after a one-off phase
 * ```
 */
export function releaseColdPages(): ColdPageRelease {
  const done: ColdPageRelease = { mappings: 0, bytes: 0 };
  if (Deno.build.os !== "linux") return done;
  let smaps: string;
  let libc: Deno.DynamicLibrary<
    { madvise: { parameters: ["pointer", "usize", "i32"]; result: "i32" } }
  >;
  try {
    smaps = Deno.readTextFileSync("/proc/self/smaps");
    libc = Deno.dlopen("libc.so.6", {
      madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    });
  } catch {
    return done; // no /proc, no FFI permission, no glibc: nothing to do
  }
  try {
    for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
      const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s+(\S.*)?$/m.exec(block);
      if (!head) continue;
      const [, lo, hi, perms, inode, path] = head;
      if (inode === "0" || !path?.startsWith("/") || perms[1] !== "-" || perms[3] !== "p") continue;
      const kb = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(block)?.[1] ?? NaN);
      const rss = kb("Rss");
      // NaN (field missing) fails these tests too: left alone.
      if (
        !(rss > 0 && kb("Anonymous") === 0 && kb("Private_Dirty") === 0 && kb("Shared_Dirty") === 0)
      ) {
        continue;
      }
      const start = BigInt(`0x${lo}`);
      const length = BigInt(`0x${hi}`) - start;
      if (libc.symbols.madvise(Deno.UnsafePointer.create(start), length, MADV_DONTNEED) === 0) {
        done.mappings++;
        done.bytes += rss * 1024;
      }
    }
  } finally {
    libc.close();
  }
  return done;
}

interface EngineGradients {
  gradients(...args: unknown[]): unknown;
  state: { gradientDepth: number };
  __acmcColdPages?: boolean;
}

/**
 * Calls {@linkcode releaseColdPages} twice more, in the first two top-level
 * gradient computations of the process (the first two training steps): after
 * the first forward pass, and before the second one, i.e. once the first
 * step's backward pass and optimizer update have run. The code that only a
 * first step runs (creating each kernel and resource variable, oneDNN's
 * just-in-time compilation of its primitives, shape inference) otherwise
 * leaves ~45 MB of library pages resident that later steps never touch.
 * Global and idempotent; `initEngine` installs it on the native engine
 * (`ACMC_COLD_PAGES=0` turns it off).
 */
export function installColdPageRelease(): void {
  const engine = tf.engine() as unknown as EngineGradients;
  if (engine.__acmcColdPages) return;
  engine.__acmcColdPages = true;
  const gradients = engine.gradients;
  let calls = 0;
  engine.gradients = function (this: EngineGradients, ...args: unknown[]) {
    if (calls < 2 && this.state.gradientDepth === 0) {
      if (calls++ === 0) {
        const f = args[0] as () => unknown;
        args[0] = () => {
          const y = f();
          releaseColdPages();
          return y;
        };
      } else {
        releaseColdPages();
      }
    }
    return gradients.apply(this, args);
  };
}
