"""End-to-end tests of `strata table` on RocksDB tables built by `strata
batch`: list, show, get, export, verify, publish, roll back, and a corrupt
version refused."""
import json
import os
import shutil
import tempfile
import unittest

from harness import xgb_example
from harness.strata_server import run_strata


class TableTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repository = xgb_example.make_repository()
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-table-")
        cls.source = os.path.join(cls.dir, "in.csv")
        cls.expected = xgb_example.write_csv(cls.source, 300)
        for run in ("1", "2", "3"):
            code, _, err = run_strata(
                "batch", "-r", cls.repository, "-m", xgb_example.MODEL, "--progress", "off",
                *xgb_example.MAP, "-i", cls.source, "-k", "id:INT64,name", "-t", "scores",
                "--job-id", run)
            assert code == 0, err

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.repository)
        shutil.rmtree(cls.dir)

    def table(self, *args):
        return run_strata("table", *args, "-r", self.repository)

    def test_list_shows_versions_and_the_current_one(self):
        code, out, err = self.table("list")
        self.assertEqual(code, 0, err)
        self.assertIn("table scores (rocksdb", out)
        self.assertRegex(out, r"\n\s+3\* rows\s+300  model breast_cancer_xgb v1")
        self.assertRegex(out, r"\n\s+1  rows\s+300")

    def test_show_prints_manifest_and_verification_report(self):
        code, out, err = self.table("show", "scores", "--version", "2")
        self.assertEqual(code, 0, err)
        self.assertIn("version: 2", out)
        self.assertIn("model: {name: breast_cancer_xgb, version: 1}", out)
        self.assertIn("- {name: id, datatype: INT64}", out)
        self.assertIn("- {name: name, datatype: BYTES}", out)
        self.assertIn("rows: 300", out)
        self.assertIn("previous_version: 1", out)
        self.assertIn("psi: 0", out)
        self.assertIn("passed: true", out)

    def test_get_and_export_give_the_framework_predictions(self):
        code, out, err = self.table("get", "scores", "id=7", "name=row 7")
        self.assertEqual(code, 0, err)
        self.assertAlmostEqual(json.loads(out)["probability"], self.expected[7], places=5)
        code, out, err = self.table("get", "scores", "id=7")
        self.assertEqual(code, 1)
        self.assertIn("one value per key column (id:INT64,name:BYTES)", err)
        code, out, err = self.table("export", "scores", "--format", "jsonl")
        self.assertEqual(code, 0, err)
        rows = [json.loads(line) for line in out.strip().split("\n")]
        self.assertEqual(len(rows), 300)
        for row in rows:
            self.assertEqual(row["name"], f"row {row['id']}")
            self.assertAlmostEqual(row["probability"], self.expected[row["id"]], places=5)

    def test_publish_rollback_and_a_corrupt_version(self):
        code, out, err = self.table("rollback", "scores")
        self.assertEqual(code, 0, err)
        self.assertIn("version 2 is current", out)
        # Corrupt version 1's data: verify and publish refuse it.
        db = os.path.join(self.repository, "tables", "scores", "1", "db")
        sst = sorted(f for f in os.listdir(db) if f.endswith(".sst"))[0]
        with open(os.path.join(db, sst), "r+b") as f:
            f.seek(64)
            f.write(b"\xff" * 64)
        code, _, err = self.table("verify", "scores", "--version", "1")
        self.assertNotEqual(code, 0)
        # The batch job wrote SHA256SUMS: the changed file is named before
        # RocksDB's own block checksums are read.
        self.assertIn(f"checksum mismatch: 'db/{sst}' does not match SHA256SUMS", err)
        code, _, err = self.table("rollback", "scores")
        self.assertNotEqual(code, 0)
        self.assertIn("not published", err)
        code, out, err = self.table("publish", "scores", "3")
        self.assertEqual(code, 0, err)
        code, out, err = self.table("verify", "scores")
        self.assertEqual(code, 0, err)
        self.assertIn("table 'scores' version 3: ok (300 rows", out)


if __name__ == "__main__":
    unittest.main()
