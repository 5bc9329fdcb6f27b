#!/bin/sh
# Starts the project's Deno as a Jupyter kernel. Jupyter runs this script
# through the kernelspec next to it ({resource_dir}), so the Deno found here is
# the checkout's own (tools/deno, installed by tools/setup.sh), wherever the
# checkout lives. Usage (by Jupyter): launch.sh CONNECTION_FILE
here="$(cd "$(dirname "$0")" && pwd)"
deno="$here/../../tools/deno/node_modules/.bin/deno"
if [ ! -x "$deno" ]; then
  echo "Deno kernel: $deno is missing; run 'bash tools/setup.sh deno' in the project root" >&2
  exit 1
fi
# jemalloc when installed (tools/alloc.sh says why).
exec bash "$here/../../tools/alloc.sh" "$deno" jupyter --kernel --conn "$1"
