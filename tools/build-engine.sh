#!/usr/bin/env bash
# Makes the native TensorFlow addon of @tensorflow/tfjs-node-gpu usable
# (lib/napi-v8/tfjs_binding.node + its libtensorflow). Two ways, see docs/engine.md:
#
#  download  the package's own install: scripts/install.js downloads
#            libtensorflow 2.9.1 (GPU build for CUDA 11.2 when nvidia-smi shows a
#            GPU, else CPU), then node-pre-gyp fetches or builds the addon.
#  wheel     build the addon from the package's C++ sources against the
#            libtensorflow inside the TensorFlow pip wheel in .venv
#            (tensorflow-cpu on CPU machines; tensorflow[and-cuda], CUDA 12, on
#            GPU machines: see the venv step of tools/setup.sh).
#
# Usage: bash tools/build-engine.sh [--force] [--download | --wheel]
#   ACMC_ENGINE_SOURCE=auto|download|wheel (default auto: download when its host
#   answers within a few seconds, else wheel; on a GPU machine the download is
#   kept only if TensorFlow then sees the GPU, else the wheel build follows).
# Idempotent: a stamp records what the addon was built from; when nothing
# changed it exits at once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# ACMC_ENGINE_PKG: another copy of the package (to test this script without touching the one in use).
PKG="${ACMC_ENGINE_PKG:-$ROOT/node_modules/@tensorflow/tfjs-node-gpu}"
STAMPS="${ACMC_ENGINE_STAMPS:-$ROOT/.cache/setup}"
ADDON="$PKG/lib/napi-v8/tfjs_binding.node"
LOG="$STAMPS/engine-build.log"
TFVER_DOWNLOAD="2.9.1"
say() { printf '[engine] %s\n' "$*" >&2; }
die() { printf '[engine] error: %s\n' "$*" >&2; exit 1; }
mkdir -p "$STAMPS"

force=0
source_mode="${ACMC_ENGINE_SOURCE:-auto}"
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    --download) source_mode=download ;;
    --wheel) source_mode=wheel ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown option '$a' (--force, --download, --wheel)" ;;
  esac
done
case "$source_mode" in auto | download | wheel) ;; *)
  die "ACMC_ENGINE_SOURCE=$source_mode: use auto, download or wheel" ;;
esac

# --- what we are on --------------------------------------------------------
os="$(uname -s)" arch="$(uname -m)"
if [[ "$os" != Linux || ( "$arch" != x86_64 && "$arch" != aarch64 ) ]]; then
  die "unsupported platform $os/$arch: the native engine is set up on Linux x86_64 (and aarch64).
  The project still runs on pure-JS tfjs, about 30x slower: set ACMC_ENGINE=js."
fi
[[ -d "$PKG" ]] || die "node_modules/@tensorflow/tfjs-node-gpu is missing: run 'bash tools/setup.sh npm' first"
gpu=0
if [[ "${ACMC_GPU:-}" == 1 ]] || { [[ "${ACMC_GPU:-}" != 0 ]] && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }; then
  gpu=1
fi

stamp_now="$(cat "$STAMPS/engine" 2>/dev/null || true)"

wheel_dir() {
  [[ -x .venv/bin/python ]] || return 1
  .venv/bin/python -c 'import importlib.util,os;s=importlib.util.find_spec("tensorflow");print(os.path.dirname(s.origin))' 2>/dev/null
}
wheel_key() { # what a wheel build depends on: the library file, the GPU flag
  printf 'wheel %s\n' "$(stat -c '%s %Y' "$1/libtensorflow_cc.so.2" "$1/libtensorflow_framework.so.2" | sha256sum | cut -c1-16)-gpu$gpu"
}
download_key() { printf 'download %s-gpu%s\n' "$TFVER_DOWNLOAD" "$gpu"; }

# --- fast path: nothing changed ---------------------------------------------
if [[ $force == 0 && -f "$ADDON" && -n "$stamp_now" ]]; then
  case "$source_mode:${stamp_now%% *}" in
    auto:download | download:download)
      [[ "$stamp_now" == "$(download_key)" && -f "$PKG/deps/lib/libtensorflow.so.$TFVER_DOWNLOAD" ]] && exit 0 ;;
    auto:wheel | wheel:wheel)
      if tfw="$(wheel_dir)" && [[ -f "$tfw/libtensorflow_cc.so.2" && "$stamp_now" == "$(wheel_key "$tfw")" ]]; then exit 0; fi ;;
  esac
fi

# --- tools every build needs ------------------------------------------------
command -v node >/dev/null || die "Node.js is needed to build the addon (https://nodejs.org; Debian: apt-get install nodejs npm)"
command -v python3 >/dev/null || die "node-gyp needs Python 3 to build the addon (Debian: apt-get install python3)"
command -v g++ >/dev/null || die "a C++ compiler is needed to build the addon (Debian: apt-get install g++ make)"
command -v make >/dev/null || die "make is needed to build the addon (Debian: apt-get install make)"
PREGYP="$ROOT/node_modules/.bin/node-pre-gyp"
[[ -x "$PREGYP" ]] || die "node_modules/.bin/node-pre-gyp is missing: run 'bash tools/setup.sh npm'"
# node-gyp would download Node's headers; use the ones installed with Node.
NODEDIR="$(dirname "$(dirname "$(command -v node)")")"
if [[ -f "$NODEDIR/include/node/node_api.h" ]]; then export npm_config_nodedir="$NODEDIR"; fi

# Loads the addon in Node and prints "<TF version> <uses GPU>"; fails if it cannot load.
probe() {
  TF_ENABLE_ONEDNN_OPTS=0 TF_CPP_MIN_LOG_LEVEL=3 node -e \
    'const b=require(process.argv[1]);console.log(b.TF_Version,b.isUsingGpuDevice())' "$ADDON" 2>>"$LOG"
}

# --- way 1: the package's own download ---------------------------------------
try_download() {
  local kind=cpu url
  [[ $gpu == 1 ]] && kind=gpu
  [[ "$arch" == x86_64 ]] || { say "the package has no $kind download for $arch"; return 1; }
  url="${TFJS_NODE_BASE_URI:-https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-}$kind-linux-x86_64-$TFVER_DOWNLOAD.tar.gz"
  if ! timeout 8 node -e '
      const u=new URL(process.argv[1]);const m=u.protocol==="http:"?require("http"):require("https");
      const r=m.request(u,{method:"HEAD",timeout:6000},(res)=>process.exit(res.statusCode<400?0:1));
      r.on("error",()=>process.exit(1));r.on("timeout",()=>{r.destroy();process.exit(1)});r.end();' "$url" 2>/dev/null; then
    say "the package's libtensorflow download ($url) is not reachable"
    return 1
  fi
  say "package install: downloading libtensorflow $TFVER_DOWNLOAD ($kind) and building the addon"
  rm -f "$STAMPS/engine"
  local backup="$STAMPS/engine-backup"
  rm -rf "$backup" && mkdir -p "$backup"
  [[ -e "$PKG/deps" ]] && mv "$PKG/deps" "$backup/deps"
  [[ -e "$PKG/lib" ]] && mv "$PKG/lib" "$backup/lib"
  cp "$PKG/package.json" "$backup/package.json"
  if (cd "$PKG" && PATH="$ROOT/node_modules/.bin:$PATH" timeout 900 node scripts/install.js "$kind" download) >>"$LOG" 2>&1 &&
    [[ -f "$ADDON" && -f "$PKG/deps/lib/libtensorflow.so.$TFVER_DOWNLOAD" ]] && out="$(probe)"; then
    if [[ $gpu == 1 && "$out" != *true ]]; then
      say "the downloaded GPU build (CUDA 11.2) does not see the GPU here; building against the wheel instead"
    else
      rm -rf "$backup"
      download_key >"$STAMPS/engine"
      say "ready: TensorFlow ${out% *} from the package's download (GPU in use: ${out#* })"
      return 0
    fi
  else
    say "the package's own install failed (log: .cache/setup/engine-build.log)"
  fi
  rm -rf "$PKG/deps" "$PKG/lib"
  [[ -e "$backup/deps" ]] && mv "$backup/deps" "$PKG/deps"
  [[ -e "$backup/lib" ]] && mv "$backup/lib" "$PKG/lib"
  cp "$backup/package.json" "$PKG/package.json"
  rm -rf "$backup"
  [[ -n "$stamp_now" ]] && printf '%s\n' "$stamp_now" >"$STAMPS/engine"
  return 1
}

# --- way 2: build against the pip wheel's libtensorflow ------------------------
build_from_wheel() {
  [[ -x .venv/bin/python ]] || die ".venv is missing: run 'bash tools/setup.sh venv' first (it installs the TensorFlow wheel)"
  local tfw key out
  tfw="$(wheel_dir)" || die "no TensorFlow wheel in .venv: run 'bash tools/setup.sh venv' (requirements.txt installs tensorflow-cpu)"
  [[ -f "$tfw/libtensorflow_cc.so.2" && -d "$tfw/include/tensorflow/c/eager" ]] ||
    die "$tfw has no libtensorflow_cc.so.2 or C headers: reinstall the wheel ('rm -rf .venv && bash tools/setup.sh venv')"
  key="$(wheel_key "$tfw")"
  say "building the addon against $tfw (about a minute)"
  rm -f "$STAMPS/engine"
  rm -rf "$PKG/deps" "$PKG/lib"
  mkdir -p "$PKG/deps/lib"
  ln -s "$tfw/include" "$PKG/deps/include"
  ln -s "$tfw/libtensorflow_cc.so.2" "$PKG/deps/lib/libtensorflow_cc.so.2"
  ln -s "$tfw/libtensorflow_framework.so.2" "$PKG/deps/lib/libtensorflow_framework.so.2"
  # binding.gyp links -ltensorflow; install.js looks for libtensorflow.so.2.9.1.
  ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
  ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.$TFVER_DOWNLOAD"
  ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
  # GPU wheels find the CUDA pip packages through $ORIGIN/../nvidia/*/lib; the
  # addon loads the libraries through deps/lib, so give it that folder too.
  if [[ -d "$(dirname "$tfw")/nvidia" ]]; then ln -s "$(dirname "$tfw")/nvidia" "$PKG/deps/nvidia"; fi
  (cd "$PKG" && PATH="$ROOT/node_modules/.bin:$PATH" "$PREGYP" install --build-from-source) >>"$LOG" 2>&1 ||
    die "the addon build failed; its log: .cache/setup/engine-build.log"
  [[ -f "$ADDON" ]] || die "the build finished without $ADDON (log: .cache/setup/engine-build.log)"
  out="$(probe)" || die "the addon was built but does not load (log: .cache/setup/engine-build.log)"
  printf '%s\n' "$key" >"$STAMPS/engine"
  say "ready: TensorFlow ${out% *} from the wheel in .venv (GPU in use: ${out#* })"
  if [[ $gpu == 1 && "$out" != *true ]]; then
    say "warning: a GPU is present but TensorFlow does not use it. Install the GPU wheel"
    say "  (ACMC_GPU=1 bash tools/setup.sh venv engine) or put the CUDA 12 libraries on"
    say "  LD_LIBRARY_PATH (the nvidia/*/lib folders of the venv): see docs/engine.md"
  fi
}

: >"$LOG"
case "$source_mode" in
  download) try_download || die "the package's own install did not work (see above); 'bash tools/build-engine.sh --wheel' builds against the venv's wheel" ;;
  wheel) build_from_wheel ;;
  auto) try_download || build_from_wheel ;;
esac
