#!/bin/sh
# Fetch OpenBLAS for bench/lib/servers.py openblas_env (a machine without the libopenblas0-pthread
# that scripts/install-deps.sh installs), without installing anything system-wide.
#
#   bench/fetch_openblas.sh [DEST]   (default: ${XDG_CACHE_HOME:-~/.cache}/strata-bench/openblas)
#
# Debian's LibTorch (python3-torch / libtorch-dev) does its float32 matrix products through
# libblas.so.3, which Debian resolves with update-alternatives. With only libblas3 installed
# that is the netlib reference BLAS, which is unblocked and unvectorised: a 64-row matrix
# product costs as much per row as 64 one-row products, so batching saves no compute.
# `apt-get install libopenblas0-pthread` would switch the alternative for the whole machine;
# the benchmark instead fetches Debian's own package with `apt-get download`, unpacks it under
# DEST and runs strata with LD_LIBRARY_PATH=DEST/root/usr/lib/x86_64-linux-gnu/openblas-pthread
# (and OPENBLAS_NUM_THREADS=1, to keep the model's `threads: 1`). Needs libgfortran5.
set -eu
DEST=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/strata-bench/openblas}
LIB="$DEST/root/usr/lib/x86_64-linux-gnu/openblas-pthread"
if [ ! -e "$LIB/libblas.so.3" ]; then
  mkdir -p "$DEST/debs" "$DEST/root"
  cd "$DEST/debs"
  apt-get download libopenblas0-pthread 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
  for deb in *.deb; do dpkg -x "$deb" "$DEST/root"; done
fi
[ -e "$LIB/libblas.so.3" ] || { echo "no libblas.so.3 under $LIB" >&2; exit 1; }
echo "$LIB"
