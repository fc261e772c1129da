#!/bin/sh
# Fetch uvloop and httptools for the FastAPI peer, without installing anything system-wide.
#
#   bench/peer/fetch_peer_deps.sh [DEST]   (default: ${XDG_CACHE_HOME:-~/.cache}/strata-bench/peer-deps)
#
# `pip install uvicorn[standard]` is how uvicorn is normally deployed: it adds uvloop (event loop)
# and httptools (HTTP parser), which make it markedly faster than the pure-Python asyncio + h11
# it falls back to. Debian's python3-uvicorn does not pull them in, so the benchmark fetches
# Debian's own packages of them (same Python ABI) with `apt-get download` and unpacks them under
# DEST; bench/rest_bench.py runs the peer with PYTHONPATH / LD_LIBRARY_PATH pointing there.
# Needs libuv1 (already a dependency of many Debian systems; checked below).
set -eu
DEST=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/strata-bench/peer-deps}
mkdir -p "$DEST/debs" "$DEST/root"
cd "$DEST/debs"
apt-get download python3-uvloop python3-httptools libhttp-parser2.9 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
for deb in *.deb; do dpkg -x "$deb" "$DEST/root"; done
PYTHONPATH="$DEST/root/usr/lib/python3/dist-packages" \
LD_LIBRARY_PATH="$DEST/root/usr/lib/x86_64-linux-gnu" \
    /usr/bin/python3 -c 'import uvloop, httptools; print("uvloop", uvloop.__version__, "httptools", httptools.__version__)'
echo "peer deps in $DEST/root"
