#!/usr/bin/env bash
# Installs the interop servers' libraries into a cache outside the repository (idempotent):
#   $KLIENT_INTEROP_CACHE (default ~/.cache/klient/interop)/python  <- pip: websockets
#   $KLIENT_INTEROP_CACHE/node/node_modules                        <- npm: ws
# Prints the cache directory; fails loudly when a tool or registry is missing.
set -euo pipefail
cache=${KLIENT_INTEROP_CACHE:-$HOME/.cache/klient/interop}
case "${1:-}" in
  python)
    if [ ! -f "$cache/python/websockets/__init__.py" ]; then
      command -v python3 >/dev/null || { echo "install.sh: python3 is not installed" >&2; exit 1; }
      python3 -m pip install -q --disable-pip-version-check --target "$cache/python.tmp.$$" 'websockets==15.0.1'
      rm -rf "$cache/python" && mv "$cache/python.tmp.$$" "$cache/python"
    fi ;;
  node)
    if [ ! -f "$cache/node/node_modules/ws/package.json" ]; then
      command -v node >/dev/null || { echo "install.sh: node is not installed" >&2; exit 1; }
      command -v npm >/dev/null || { echo "install.sh: npm is not installed" >&2; exit 1; }
      mkdir -p "$cache/node.tmp.$$"
      npm install --silent --no-audit --no-fund --prefix "$cache/node.tmp.$$" 'ws@8.18.3' >&2
      rm -rf "$cache/node" && mv "$cache/node.tmp.$$" "$cache/node"
    fi ;;
  *) echo "usage: install.sh python|node" >&2; exit 2 ;;
esac
echo "$cache"
