#!/usr/bin/env bash
# Idempotent set-up of everything the project runs on, step by step.
#   bash tools/setup.sh [deno] [npm] [venv] [engine] [fonts] [browser] [alloc] [bench] [all]
# (`bench` = the benchmark's peers, requirements-bench.txt: not part of `all`.)
# Each step is skipped in well under a second once done (a stamp under
# .cache/setup records the hash of what it was made from). Nothing here needs
# the network beyond the npm registry, the Python package index and Debian's
# packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STAMPS="$ROOT/.cache/setup"
mkdir -p "$STAMPS"
DENO_VERSION="2.9.6"
DENO="$ROOT/tools/deno/node_modules/.bin/deno"
PY="${ACMC_PYTHON:-python3}"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
fresh() { [[ -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp() { printf '%s' "$2" >"$STAMPS/$1"; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"; }

step_deno() {
  if [[ -x "$DENO" ]] && "$DENO" --version 2>/dev/null | grep -q "deno $DENO_VERSION"; then return; fi
  need npm "install Node.js and npm (https://nodejs.org) so Deno can be installed from npm"
  say "installing Deno $DENO_VERSION into tools/deno (npm package 'deno')"
  npm install --prefix "$ROOT/tools/deno" --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" >&2
  "$DENO" --version >/dev/null || die "Deno did not install: see the npm output above"
}

step_npm() {
  local h; h="$(hash_of package.json package-lock.json)"
  if fresh npm "$h" && [[ -d node_modules/@tensorflow/tfjs-node-gpu ]]; then return; fi
  need npm "install Node.js and npm (https://nodejs.org)"
  say "installing npm packages (scripts off: the TensorFlow addon is built by the 'engine' step)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  rm -f "$STAMPS/engine"
  stamp npm "$h"
}

step_venv() {
  # On a GPU machine (nvidia-smi lists one, or ACMC_GPU=1; ACMC_GPU=0 opts out)
  # install tensorflow[and-cuda] (CUDA 12 as pip packages) instead of
  # tensorflow-cpu, for the engine's GPU build (docs/engine.md).
  local req=requirements.txt gpu=0
  if [[ "${ACMC_GPU:-}" == 1 ]] || { [[ "${ACMC_GPU:-}" != 0 ]] && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }; then
    gpu=1 req="$STAMPS/requirements-gpu.txt"
    sed 's/^tensorflow-cpu==/tensorflow[and-cuda]==/' requirements.txt >"$req"
  fi
  local h; h="$(hash_of requirements.txt)"
  [[ $gpu == 1 ]] && h="$h-gpu"
  if fresh venv "$h" && [[ -x .venv/bin/python ]]; then return; fi
  need "$PY" "install Python 3.10-3.12 with venv (Debian: apt-get install python3-venv), or set ACMC_PYTHON"
  say "creating the project venv .venv (Jupyter, TensorFlow, Keras, scikit-learn); a few minutes the first time"
  [[ -x .venv/bin/python ]] || "$PY" -m venv .venv || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  # tensorflow-cpu and tensorflow share the tensorflow/ folder: never both.
  if [[ $gpu == 1 ]]; then .venv/bin/pip uninstall --quiet -y tensorflow-cpu >&2 2>/dev/null || true
  elif [[ "$(cat "$STAMPS/venv" 2>/dev/null)" == *-gpu ]]; then .venv/bin/pip uninstall --quiet -y tensorflow >&2 || true; fi
  PIP_RETRIES="${PIP_RETRIES:-0}" .venv/bin/pip install --quiet -r "$req" >&2 ||
    die "pip could not install $req into .venv (see above)"
  rm -f "$STAMPS/engine"
  stamp venv "$h"
}

step_bench() {
  # The benchmark's PyTorch peer (CPU wheel) in the same venv; only `deno task
  # bench` needs it, so `all` (the study, tests) does not install it.
  local h; h="$(hash_of requirements-bench.txt)"
  if fresh bench "$h" && .venv/bin/python -c "import torch" 2>/dev/null; then return; fi
  [[ -x .venv/bin/python ]] || die "no .venv: run 'bash tools/setup.sh venv' first"
  say "installing the benchmark's peers (requirements-bench.txt: PyTorch CPU) into .venv"
  PIP_RETRIES="${PIP_RETRIES:-0}" .venv/bin/pip install --quiet -r requirements-bench.txt >&2 ||
    die "pip could not install requirements-bench.txt into .venv (see above)"
  stamp bench "$h"
}

step_engine() {
  bash "$ROOT/tools/build-engine.sh"
}

apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    die "missing system packages: $*. Install them with: sudo apt-get install -y $*"
  fi
  need apt-get "install these packages with your system's package manager: $*"
  say "installing Debian packages: $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  fi
}

step_fonts() {
  # sharp renders chart text (SVG -> PNG) with the system's fonts.
  fresh fonts 1 && return
  if ! fc-list 2>/dev/null | grep -qi dejavu; then apt_install fonts-dejavu-core fontconfig; fi
  stamp fonts 1
}

step_browser() {
  fresh browser 1 && [[ -x /usr/bin/chromium ]] && return
  [[ -x /usr/bin/chromium ]] || apt_install chromium
  stamp browser 1
}

step_alloc() {
  # jemalloc for training processes (tools/alloc.sh says why). Optional: without
  # it (no root, no apt) everything runs on glibc's allocator, using more memory.
  fresh alloc 1 && return
  if ! ACMC_ALLOCATOR=jemalloc bash "$ROOT/tools/alloc.sh" printenv LD_PRELOAD 2>/dev/null | grep -q jemalloc; then
    (apt_install libjemalloc2) ||
      { say "jemalloc not installed: training runs on glibc's allocator (more memory; docs/engine.md)"; return; }
  fi
  stamp alloc 1
}

steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(all)
for s in "${steps[@]}"; do
  case "$s" in
    all) step_deno; step_npm; step_venv; step_engine; step_fonts; step_browser; step_alloc ;;
    deno | npm | venv | engine | fonts | browser | alloc | bench) "step_$s" ;;
    *) die "unknown step '$s' (deno npm venv engine fonts browser alloc bench all)" ;;
  esac
done
