#!/usr/bin/env bash
# Compiles every source of src/ that uses core/mutex.h with clang++
# -Wthread-safety -Werror (tests/thread_safety/CMakeLists.txt); fails on any
# member touched without its mutex or any REQUIRES broken.
#
#   tests/thread_safety/check.sh BUILD_DIR
set -euo pipefail

source_dir=$(cd "$(dirname "$0")" && pwd)
build_dir=${1:?usage: check.sh BUILD_DIR}

cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build_dir"
echo "no thread-safety warning"
