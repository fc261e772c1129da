#!/usr/bin/env bash
# Builds strata's libFuzzer targets with clang++ (ASan + UBSan) and runs each
# for a bounded time, starting from the seeds in fuzz/corpus/<target>/.
# Fails on any crash, leak, sanitizer report or timeout.
#
#   fuzz/run_fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET]   (default 15: 75 s in all)
#
# New inputs that libFuzzer finds go to a temporary directory, never into the
# source tree; a crashing input is kept in BUILD_DIR/crashes/.
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:?usage: run_fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET]}
seconds=${2:-15}

cmake -S "$source_dir/fuzz" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir"

mkdir -p "$build_dir/crashes"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$source_dir/fuzz/ubsan.supp
for target in json_request binary_request grpc_request compressed_body auth_header; do
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  echo "fuzzing $target for ${seconds}s"
  "$build_dir/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$build_dir/crashes/${target}-" \
    -dict="$source_dir/fuzz/request.dict" \
    "$scratch" "$source_dir/fuzz/corpus/$target"
  rm -rf "$scratch"
  trap - EXIT
done
echo "no crash, leak or sanitizer report"
