"""Fails when a function in the checked folders is longer than the limit
(CTest `function_size_check`). A function is counted from its first line at
column 0 that opens a brace to the closing `}` at column 0; lambdas and local
classes count toward the function that holds them. Test files are skipped.

  /usr/bin/python3 tests/function_size_check.py [--limit 60] [folder ...]
"""
import argparse
import os
import re
import sys

SOURCE_DIR = os.environ.get(
    "STRATA_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
CHECKED = ["src"]
NOT_A_FUNCTION = re.compile(r"^(namespace|class|struct|enum|union|extern|template\s*<[^>]*>\s*(class|struct))\b")


def long_functions(path, limit):
    """(name line, length) of each function in `path` longer than `limit` lines."""
    found = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = None
    for number, line in enumerate(lines, 1):
        if start is None:
            if (line and not line[0].isspace() and line.rstrip().endswith("{")
                    and not line.startswith(("#", "//", "}")) and not NOT_A_FUNCTION.match(line)
                    and "=" not in line.split("(")[0]):
                start = number
                head = number
                # The signature may begin on earlier lines.
                while head > 1 and lines[head - 2] and not lines[head - 2][0].isspace() and \
                        not lines[head - 2].rstrip().endswith((";", "}", "{")) and \
                        not lines[head - 2].startswith(("#", "//")):
                    head -= 1
                signature = lines[head - 1].strip()
        elif line.startswith("}"):
            length = number - start + 1
            if length > limit:
                found.append((start, length, signature))
            start = None
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("folders", nargs="*", default=CHECKED)
    args = parser.parse_args()
    failures = []
    for folder in args.folders:
        root = os.path.join(SOURCE_DIR, folder)
        for directory, _, names in os.walk(root):
            for name in sorted(names):
                if not name.endswith((".cc", ".h")) or name.endswith("_test.cc"):
                    continue
                path = os.path.join(directory, name)
                for line, length, signature in long_functions(path, args.limit):
                    rel = os.path.relpath(path, SOURCE_DIR)
                    failures.append(f"{rel}:{line}: {length} lines: {signature}")
    for failure in failures:
        print(failure)
    if failures:
        print(f"{len(failures)} function(s) over {args.limit} lines; split them into "
              "functions that do one job each", file=sys.stderr)
        return 1
    print(f"no function over {args.limit} lines in {', '.join(args.folders)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
