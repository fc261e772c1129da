#!/usr/bin/env bash
# Formatting check (CTest `format_check`): every tracked C++ file must be what
# clang-format makes of it under the repository's .clang-format. Fix with
#   git ls-files '*.cc' '*.h' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "$0")/.."
FORMAT=$(command -v clang-format-14 || command -v clang-format)
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [[ ${#files[@]} -eq 0 ]]; then
  echo "format_check: no tracked C++ files found (not a git checkout?)" >&2
  exit 1
fi
bad=()
for f in "${files[@]}"; do
  if ! "$FORMAT" --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "format_check: ${#bad[@]} file(s) differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "fix: $FORMAT -i ${bad[*]}" >&2
  exit 1
fi
echo "format_check: ${#files[@]} files formatted"
