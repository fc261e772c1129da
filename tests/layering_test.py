"""Fails when a file under src/ includes across a forbidden module edge, or
includes a framework's headers outside the module that owns them. The allowed
edges are read from the tables in docs/architecture.md, so the rule and its
documentation cannot drift apart. Also fails when an e2e test imports another
test module instead of tests/e2e/harness/."""
import os
import re
import sys
import unittest

SOURCE_DIR = os.environ.get(
    "STRATA_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]', re.M)


def read_tables(markdown):
    """Returns (allowed edges {module: set}, framework owners {prefix: set of modules}).

    An owner cell may list several modules, comma-separated."""
    allowed, owners = {}, {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("module", "---") and not cells[0].startswith("-"):
            deps = set() if cells[2] in ("—", "-", "") else {d.strip() for d in cells[2].split(",")}
            allowed[cells[0]] = deps
        elif len(cells) == 2 and cells[0] not in ("headers", "---") and not cells[0].startswith("-"):
            for prefix in cells[0].split(","):
                owners[prefix.strip()] = {m.strip() for m in cells[1].split(",")}
    return allowed, owners


def read_forbidden(markdown):
    """Returns {module: set of headers it must not include} from the
    three-column table (module, must not include, why)."""
    forbidden = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (len(cells) == 3 and line.strip().startswith("|") and
                cells[0] not in ("module", "---") and not cells[0].startswith("-")):
            forbidden[cells[0]] = {h.strip() for h in cells[1].split(",")}
    return forbidden


def forbidden_includes(files, forbidden, modules):
    """Includes of headers that a (sub-)module's row says it must not include."""
    found = []
    for path, text in sorted(files.items()):
        source = module_of(path, modules)
        for header in INCLUDE.findall(text):
            if header in forbidden.get(source, ()):
                found.append(f"src/{path}: {source} must not include {header}")
    return found


def module_of(path, modules):
    """The longest module name that prefixes `path` (relative to src/)."""
    best = None
    for module in modules:
        if path == module or path.startswith(module + "/"):
            if best is None or len(module) > len(best):
                best = module
    return best


def violations(files, allowed, owners):
    """`files`: {path relative to src/: text}. Returns a list of messages."""
    found = []
    modules = list(allowed)
    for path, text in sorted(files.items()):
        source = module_of(path, modules)
        if source is None:
            found.append(f"src/{path}: not inside any module of docs/architecture.md")
            continue
        for header in INCLUDE.findall(text):
            target = module_of(header, modules)
            is_test = path.endswith("_test.cc")
            if target is not None and target != source:
                if header.startswith("serving/testing/") and is_test:
                    continue
                if target not in allowed[source]:
                    found.append(f"src/{path}: {source} must not include {header} ({target})")
            for prefix, owner in owners.items():
                if is_test:
                    continue  # tests may read fixtures with any library
                if (header == prefix or header.startswith(prefix + "/") or
                        header.startswith(prefix + ".")) and source not in owner:
                    found.append(f"src/{path}: {header} belongs to "
                                 f"{', '.join(sorted(owner))} only, not {source}")
    return found


def source_files():
    root = os.path.join(SOURCE_DIR, "src")
    files = {}
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith((".h", ".cc")):
                full = os.path.join(directory, name)
                with open(full) as f:
                    files[os.path.relpath(full, root)] = f.read()
    return files


IMPORTS_A_TEST = re.compile(r"^\s*(?:import|from)\s+test_\w+", re.M)


def tests_importing_tests(files):
    """`files`: {path: text} of Python test modules. Paths of those that import
    another test module (shared helpers belong in tests/e2e/harness/)."""
    return sorted(path for path, text in files.items() if IMPORTS_A_TEST.search(text))


class LayeringTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(SOURCE_DIR, "docs", "architecture.md")) as f:
            markdown = f.read()
        self.allowed, self.owners = read_tables(markdown)
        self.forbidden = read_forbidden(markdown)

    def test_tables_were_read(self):
        self.assertEqual(self.allowed["core"], set())
        self.assertIn("serving/lifecycle", self.allowed)
        self.assertIn("serving/server_core.h", self.forbidden["serving/lifecycle"])
        self.assertIn("serving", self.allowed["api"])
        self.assertEqual(self.owners["torch"], {"runtime/torchscript"})

    def test_plans_folder_is_a_module_of_serving(self):
        self.assertIn("serving/plans", self.allowed["serving"])
        self.assertEqual(self.allowed["serving/plans"],
                         {"core", "runtime", "store", "features", "serving"})

    def test_features_sit_below_serving(self):
        self.assertEqual(self.allowed["features"], {"core", "store"})
        found = violations({"features/f.cc": '#include "serving/server_core.h"\n'},
                           self.allowed, self.owners)
        self.assertEqual(found, ["src/features/f.cc: features must not include "
                                 "serving/server_core.h (serving)"])
        found = violations({"serving/plans/s.cc": '#include "api/rest_handler.h"\n',
                            "serving/plans/t.cc": '#include "serving/server_metrics.h"\n',
                            "serving/u.cc": '#include "serving/plans/stage.h"\n'},
                           self.allowed, self.owners)
        self.assertEqual(found, ["src/serving/plans/s.cc: serving/plans must not include "
                                 "api/rest_handler.h (api)"])

    def test_source_tree_respects_layering(self):
        files = source_files()
        self.assertGreater(len(files), 20)
        self.assertEqual(violations(files, self.allowed, self.owners), [])

    def test_check_reaches_api_only_through_its_http_client(self):
        """check may include api (its row) but only the HTTP client, which needs no server:
        the checks run against any KServe v2 server and never link serving's headers."""
        self.assertEqual(self.allowed["check"], {"core", "api"})
        client = {"api/http_client.h", "api/http_connection.h"}
        files = source_files()
        self.assertTrue(any(p.startswith("check/") for p in files))
        found = [f"src/{path}: {header}" for path, text in sorted(files.items())
                 if path.startswith("check/") for header in INCLUDE.findall(text)
                 if header.startswith("api/") and header not in client]
        self.assertEqual(found, [])

    def test_lifecycle_stays_below_the_serving_facade(self):
        files = source_files()
        self.assertTrue(any(p.startswith("serving/lifecycle/") for p in files))
        self.assertEqual(forbidden_includes(files, self.forbidden, list(self.allowed)), [])

    def test_checker_catches_a_lifecycle_file_reaching_up(self):
        bad = {"serving/lifecycle/a.cc": '#include "serving/server_core.h"\n',
               "serving/lifecycle/b.cc": '#include "api/rest_handler.h"\n'}
        found = (violations(bad, self.allowed, self.owners) +
                 forbidden_includes(bad, self.forbidden, list(self.allowed)))
        self.assertEqual(len(found), 2, found)

    def test_checker_catches_forbidden_edges(self):
        bad = {
            "core/tensor.h": '#include "serving/server_core.h"\n',
            "serving/x.cc": '#include "api/rest_handler.h"\n',
            "serving/y.cc": '#include "runtime/torchscript/torchscript_backend.h"\n',
            "api/z.cc": "#include <torch/script.h>\n",
            "runtime/model.h": '#include "simdjson.h"\n',
        }
        found = violations(bad, self.allowed, self.owners)
        self.assertEqual(len(found), 5, found)

    def test_checker_allows_permitted_edges(self):
        good = {
            "api/a.cc": '#include "serving/server_core.h"\n#include "simdjson.h"\n',
            "cli/b.cc": '#include "runtime/xgboost/xgboost_backend.h"\n',
            "runtime/torchscript/c.cc": "#include <torch/script.h>\n",
            "api/d_test.cc": '#include "serving/testing/fake_repository.h"\n',
        }
        self.assertEqual(violations(good, self.allowed, self.owners), [])

    def test_a_framework_may_have_several_owner_modules(self):
        allowed, owners = read_tables(
            "| module | layer | may include | holds |\n|---|---|---|---|\n"
            "| core | 0 | — | x |\n| api | 3 | core | x |\n| batch | 3 | core | x |\n"
            "| serving | 2 | core | x |\n\n| headers | module |\n|---|---|\n"
            "| simdjson, rapidjson | api, batch |\n")
        self.assertEqual(owners["simdjson"], {"api", "batch"})
        files = {
            "api/a.cc": '#include "simdjson.h"\n',
            "batch/b.cc": '#include "simdjson.h"\n#include "rapidjson/writer.h"\n',
            "serving/c.cc": '#include "simdjson.h"\n',
        }
        found = violations(files, allowed, owners)
        self.assertEqual(found, ["src/serving/c.cc: simdjson.h belongs to api, batch only, "
                                 "not serving"])

    def test_no_e2e_test_imports_another_test(self):
        files = {}
        for directory in ("e2e", "k8s"):
            root = os.path.join(SOURCE_DIR, "tests", directory)
            for name in os.listdir(root):
                if name.endswith(".py"):
                    with open(os.path.join(root, name)) as f:
                        files[os.path.join(directory, name)] = f.read()
        self.assertIn("e2e/test_batch.py", files)
        self.assertEqual(tests_importing_tests(files), [])

    def test_checker_catches_a_test_importing_a_test(self):
        files = {"a.py": "import test_batch as helpers\n",
                 "b.py": "from test_rest_api import EXAMPLES\n",
                 "c.py": "from harness.strata_server import StrataServer\n"}
        self.assertEqual(tests_importing_tests(files), ["a.py", "b.py"])


if __name__ == "__main__":
    sys.exit(unittest.main())
