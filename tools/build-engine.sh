#!/usr/bin/env bash
# Builds the native TensorFlow addon of @tensorflow/tfjs-node-gpu against the
# libtensorflow of the TensorFlow wheel in .venv (the package's own install
# script downloads libtensorflow 2.9.1, which cannot be fetched offline).
# Idempotent: skipped when the addon is built from the same wheel.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node-gpu"
STAMPS="$ROOT/.cache/setup"
say() { printf '[engine] %s\n' "$*" >&2; }
die() { printf '[engine] error: %s\n' "$*" >&2; exit 1; }
[[ -d "$PKG" ]] || die "node_modules/@tensorflow/tfjs-node-gpu is missing: run 'bash tools/setup.sh npm' first"
[[ -x .venv/bin/python ]] || die ".venv is missing: run 'bash tools/setup.sh venv' first"
TFW="$(.venv/bin/python -c 'import importlib.util,os;s=importlib.util.find_spec("tensorflow");print(os.path.dirname(s.origin))')" ||
  die "no TensorFlow wheel in .venv (requirements.txt installs tensorflow-cpu)"
[[ -f "$TFW/libtensorflow_cc.so.2" ]] || die "$TFW has no libtensorflow_cc.so.2"
key="$(stat -c '%s %Y' "$TFW/libtensorflow_cc.so.2" | sha256sum | cut -c1-16)"
ADDON="$PKG/lib/napi-v8/tfjs_binding.node"
if [[ -f "$ADDON" && -f "$STAMPS/engine" && "$(cat "$STAMPS/engine")" == "$key" ]]; then exit 0; fi
command -v g++ >/dev/null || die "a C++ compiler is needed to build the addon (Debian: apt-get install g++ make python3)"
command -v make >/dev/null || die "make is needed to build the addon (Debian: apt-get install make)"
say "building the TensorFlow addon against $TFW (about a minute)"
rm -rf "$PKG/deps"
mkdir -p "$PKG/deps/lib"
ln -s "$TFW/include" "$PKG/deps/include"
ln -s "$TFW/libtensorflow_cc.so.2" "$PKG/deps/lib/libtensorflow_cc.so.2"
ln -s "$TFW/libtensorflow_framework.so.2" "$PKG/deps/lib/libtensorflow_framework.so.2"
ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.2.9.1"
ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
NODEDIR="$(dirname "$(dirname "$(command -v node)")")"
if [[ -f "$NODEDIR/include/node/node_api.h" ]]; then export npm_config_nodedir="$NODEDIR"; fi
(cd "$PKG" && "$ROOT/node_modules/.bin/node-pre-gyp" install --build-from-source >"$STAMPS/engine-build.log" 2>&1) ||
  die "the addon build failed; its log: .cache/setup/engine-build.log"
[[ -f "$ADDON" ]] || die "the build finished without $ADDON"
printf '%s' "$key" >"$STAMPS/engine"
say "built $ADDON"
