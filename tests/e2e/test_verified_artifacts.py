"""End-to-end tests of issue 15's verified artifacts and private logs: a model
version and a table version whose files do not match their SHA256SUMS are
refused with a reason naming the file while the previous version serves;
with --trusted-key, unsigned versions are refused and signed ones load; the
control routes refuse names that reach outside the repository (`..`,
percent-encoded dots and slashes, absolute paths); and after traffic, no log
(key log, access log, audit log) holds a raw key value."""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import xgb_example
from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer, run_strata

MODEL = xgb_example.MODEL
CONTROL = ["--control-api", "--grpc-port", "-1", "--poll-interval-ms", "100"]


def write_sums(directory):
    """SHA256SUMS of every file under `directory`, as sha256sum writes it."""
    lines = []
    for path in sorted(glob.glob(os.path.join(directory, "**", "*"), recursive=True)):
        name = os.path.relpath(path, directory)
        if os.path.isfile(path) and name not in ("SHA256SUMS", "SHA256SUMS.sig"):
            with open(path, "rb") as f:
                lines.append(f"{hashlib.sha256(f.read()).hexdigest()}  {name}\n")
    with open(os.path.join(directory, "SHA256SUMS"), "w") as f:
        f.writelines(lines)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def lookup_body(ids):
    return {"inputs": [
        {"name": "id", "datatype": "INT64", "shape": [len(ids)], "data": ids},
        {"name": "name", "datatype": "BYTES", "shape": [len(ids)],
         "data": [f"row {i}" for i in ids]}]}


class VerifiedArtifactsTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="strata-e2e-verified-")
        self.repository = os.path.join(self.dir, "repo")
        self.model_dir = os.path.join(self.repository, "models", MODEL)
        shutil.copytree(os.path.join(EXAMPLES, MODEL), self.model_dir)
        write_sums(os.path.join(self.model_dir, "1"))

    def tearDown(self):
        shutil.rmtree(self.dir)

    def add_version(self, version, tamper=True):
        """Version `version`, a copy of 1 with its SHA256SUMS; `tamper`
        changes model.json after (still valid JSON)."""
        target = os.path.join(self.model_dir, str(version))
        shutil.copytree(os.path.join(self.model_dir, "1"), target,
                        ignore=shutil.ignore_patterns("SHA256SUMS.sig"))
        write_sums(target)
        if tamper:
            with open(os.path.join(target, "model.json"), "a") as f:
                f.write(" ")
        return target

    @staticmethod
    def model_index(server):
        status, body, _ = server.request("POST", "/v2/repository/index", {})
        assert status == 200, body
        return {e["version"]: e for e in body if e["name"] == MODEL}

    @staticmethod
    def table_index(server):
        status, body, _ = server.request("POST", "/v2/repository/tables/index", {})
        assert status == 200, body
        return {e["version"]: e for e in body if e["name"] == "scores"}

    def infer_version(self, server):
        rows = xgb_example.feature_rows([1])
        status, body, _ = server.infer(MODEL, {"inputs": [
            {"name": "features", "datatype": "FP32", "shape": [1, 30], "data": rows[0]}]})
        self.assertEqual(status, 200, body)
        return body["model_version"]

    def test_a_tampered_model_file_is_refused_with_its_name(self):
        with StrataServer(self.repository, CONTROL) as server:
            self.assertEqual(self.infer_version(server), "1")
            self.add_version(2)
            reason = wait_for(lambda: self.model_index(server).get("2", {}).get("reason"))
            self.assertIn("model.json", reason)
            self.assertIn("checksum mismatch", reason)
            self.assertEqual(self.infer_version(server), "1")

    def test_a_trusted_key_refuses_unsigned_versions(self):
        key = os.path.join(self.dir, "key.pem")
        public = os.path.join(self.dir, "public.pem")
        openssl("genpkey", "-algorithm", "ed25519", "-out", key)
        openssl("pkey", "-in", key, "-pubout", "-out", public)
        sums = os.path.join(self.model_dir, "1", "SHA256SUMS")
        openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", sums, "-out", sums + ".sig")
        with StrataServer(self.repository, [*CONTROL, "--trusted-key", public]) as server:
            self.assertEqual(self.infer_version(server), "1")
            self.add_version(2, tamper=False)  # listed but unsigned
            reason = wait_for(lambda: self.model_index(server).get("2", {}).get("reason"))
            self.assertIn("unsigned", reason)
            self.assertEqual(self.infer_version(server), "1")

    def test_a_tampered_table_file_is_refused_with_its_name(self):
        source = os.path.join(self.dir, "in.csv")
        xgb_example.write_csv(source, 20)
        for job in ("1", "2"):
            code, _, err = run_strata(
                "batch", "-r", self.repository, "-m", MODEL, "--progress", "off",
                *xgb_example.MAP, "-i", source, "-k", "id:INT64,name", "-t", "scores",
                "--job-id", job)
            self.assertEqual(code, 0, err)
        version_dir = os.path.join(self.repository, "tables", "scores", "2")
        write_sums(version_dir)
        with open(os.path.join(version_dir, "manifest.yaml"), "a") as f:
            f.write("\n# edited\n")
        endpoints = os.path.join(self.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n  scores: {plan: static, table: scores, default: 0}\n")
        run_strata("table", "publish", "scores", "1", "-r", self.repository)
        with StrataServer(self.repository, [*CONTROL, "--endpoints", endpoints]) as server:
            status, body, _ = server.request(
                "POST", "/v2/repository/tables/scores/default", {"version": 2})
            line = wait_for(lambda: self.table_index(server).get("2", {}).get("reason"))
            self.assertIn("manifest.yaml", line)
            self.assertIn("checksum mismatch", line)
            status, body, _ = server.infer("scores", lookup_body([1]))
            self.assertEqual(status, 200, body)
            self.assertEqual(body["parameters"]["table_version"], 1)

    def test_control_names_outside_the_repository_are_refused(self):
        tricks = ["..", "%2e%2e", "%2E%2E", "..%2f..%2fetc", "%2fetc%2fpasswd",
                  "a%2f..%2f..%2fb", ".", "%00", "..%5c..%5cwindows"]
        with StrataServer(self.repository, CONTROL) as server:
            for kind in ("models", "tables"):
                for name in tricks:
                    for action in ("load", "unload"):
                        path = f"/v2/repository/{kind}/{name}/{action}"
                        status, body, _ = server.request("POST", path, {})
                        self.assertEqual(status, 400, (path, body))
            status, body, _ = server.request(
                "POST", "/v2/repository/models//etc/passwd/load", {})
            self.assertIn(status, (400, 404), body)
            self.assertEqual(self.infer_version(server), "1")


if __name__ == "__main__":
    unittest.main()
