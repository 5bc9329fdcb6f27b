#!/usr/bin/env bash
# tools/alloc.sh COMMAND [ARGS...]: runs COMMAND with jemalloc as the memory
# allocator when Debian's libjemalloc2 is installed (tools/setup.sh alloc),
# else as is. ACMC_ALLOCATOR=glibc opts out.
#
# Why: a ResNet50 training step allocates and frees hundreds of
# activation-sized buffers; glibc's malloc fragments them across its arenas,
# and the process's resident memory grows step after step (256 px: 2.5-2.7 GiB
# after 6-10 steps). jemalloc reuses them: 1.9-2.0 GiB, and no slower.
# Freed pages are kept for reuse, never purged (dirty/muzzy decay off): purging
# them made each step 20-35% slower (every new tensor page-faulted again).
# One arena (narenas:1) would cut peaks by ~70-190 MB but made the study's
# training steps (batch 32, 32-48 px) 4-7% slower: not used. See docs/engine.md.
#
# It also caps the growth of Deno's JavaScript heap (V8's --optimize-for-size,
# unless DENO_V8_FLAGS is set; set and empty: V8's defaults): tfjs leaves each training step's tape and
# tensor objects as garbage in V8's old generation, which V8 let grow from
# 40 to ~100 MB over a dozen 64 px ResNet50 steps before collecting it; with
# the flag it stays at 45 MB, steps no slower within noise. --expose-gc lets
# a compiled training step (lib/train/graph_step.ts) collect the model's
# JavaScript copy of its weights once it has handed them to TensorFlow.
if [[ -z "${DENO_V8_FLAGS+set}" ]]; then
  export DENO_V8_FLAGS=--optimize-for-size,--expose-gc
elif [[ -z "$DENO_V8_FLAGS" ]]; then
  unset DENO_V8_FLAGS # Deno rejects an empty flag
fi
lib=""
for c in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 \
  /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
  if [[ -f "$c" ]]; then lib="$c"; break; fi
done
if [[ -n "$lib" && "${ACMC_ALLOCATOR:-jemalloc}" != glibc ]]; then
  export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
  export MALLOC_CONF="${MALLOC_CONF:-dirty_decay_ms:-1,muzzy_decay_ms:-1}"
fi
exec "$@"
