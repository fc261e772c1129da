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
import socket
import subprocess
import tempfile
import unittest

from harness import xgb_example
from harness.redis_server import RedisServer
from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer, run_strata
from harness.waiting import wait_for

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


def redis_command(port, *args):
    """One command to a Redis server over RESP; bulk strings as bytes, so
    binary keys survive."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            arg = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        conn.sendall(b"".join(parts))
        reader = conn.makefile("rb")

        def parse():
            line = reader.readline()[:-2]
            kind, rest = line[:1], line[1:]
            if kind == b"$":
                return None if rest == b"-1" else reader.read(int(rest) + 2)[:-2]
            if kind == b"*":
                return [parse() for _ in range(int(rest))]
            if kind == b"-":
                raise RuntimeError(rest.decode())
            return rest
        return parse()


def redis_keys(port, pattern):
    cursor, keys = b"0", []
    while True:
        cursor, batch = redis_command(port, "SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
        keys += batch
        if cursor == b"0":
            return keys


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
                        ignore=shutil.ignore_patterns("SHA256SUMS*"))
        code, out, err = run_strata("model", "checksum", target)
        assert code == 0, out + err
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

    def signing_keys(self):
        key = os.path.join(self.dir, "key.pem")
        public = os.path.join(self.dir, "public.pem")
        openssl("genpkey", "-algorithm", "ed25519", "-out", key)
        openssl("pkey", "-in", key, "-pubout", "-out", public)
        return key, public

    def test_batch_signs_the_table_versions_it_commits(self):
        key, public = self.signing_keys()
        sums = os.path.join(self.model_dir, "1", "SHA256SUMS")
        openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", sums, "-out", sums + ".sig")
        source = os.path.join(self.dir, "in.csv")
        xgb_example.write_csv(source, 20)
        for job in ("1", "2"):
            code, _, err = run_strata(
                "batch", "-r", self.repository, "-m", MODEL, "--progress", "off",
                *xgb_example.MAP, "-i", source, "-k", "id:INT64,name", "-t", "scores",
                "--job-id", job, "--no-publish", "--signing-key", key)
            self.assertEqual(code, 0, err)
        for version in ("1", "2"):
            version_dir = os.path.join(self.repository, "tables", "scores", version)
            self.assertTrue(os.path.exists(os.path.join(version_dir, "SHA256SUMS.sig")))
            check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=version_dir,
                                   capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        tampered = os.path.join(self.repository, "tables", "scores", "2")
        with open(os.path.join(tampered, "manifest.yaml"), "a") as f:
            f.write("\n# edited\n")
        run_strata("table", "publish", "scores", "1", "-r", self.repository)
        endpoints = os.path.join(self.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n  scores: {plan: static, table: scores, default: 0}\n")
        with StrataServer(self.repository, [*CONTROL, "--endpoints", endpoints,
                                             "--trusted-key", public]) as server:
            status, body, _ = server.infer("scores", lookup_body([1]))
            self.assertEqual(status, 200, body)  # the signed version 1 opened
            self.assertEqual(body["parameters"]["table_version"], 1)
            server.request("POST", "/v2/repository/tables/scores/default", {"version": 2})
            reason = wait_for(lambda: self.table_index(server).get("2", {}).get("reason"))
            self.assertIn("manifest.yaml", reason)
            self.assertIn("checksum mismatch", reason)

    def test_batch_signs_a_redis_version_and_serve_refuses_a_tampered_signature(self):
        key, public = self.signing_keys()
        sums = os.path.join(self.model_dir, "1", "SHA256SUMS")
        openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", sums, "-out", sums + ".sig")
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        store = ["--store", "redis", "--redis", redis.url]
        source = os.path.join(self.dir, "in.csv")
        xgb_example.write_csv(source, 20)
        for job in ("1", "2"):
            code, _, err = run_strata(
                "batch", "-r", self.repository, "-m", MODEL, "--progress", "off",
                *xgb_example.MAP, "-i", source, "-k", "id:INT64,name", "-t", "scores",
                "--job-id", job, "--no-publish", "--signing-key", key, *store)
            self.assertEqual(code, 0, err)
        signature = "strata:t:scores:v2:manifest.sig"
        with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as c:
            c.sendall(b"SET %s forged\r\n" % signature.encode())
            self.assertTrue(c.recv(16).startswith(b"+OK"))
        run_strata("table", "publish", "scores", "1", "-r", self.repository, *store)
        endpoints = os.path.join(self.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n  scores: {plan: static, table: scores, store: redis, "
                    "default: 0}\n")
        serve = [*CONTROL, "--redis", redis.url, "--endpoints", endpoints, "--trusted-key", public]
        with StrataServer(self.repository, serve) as server:
            status, body, _ = server.infer("scores", lookup_body([1]))
            self.assertEqual(status, 200, body)  # the signed version 1 opened
            self.assertEqual(body["parameters"]["table_version"], 1)
            server.request("POST", "/v2/repository/tables/scores/default", {"version": 2})
            reason = wait_for(lambda: self.table_index(server).get("2", {}).get("reason"))
            self.assertIn("bad signature", reason)

    def test_batch_signs_a_file_output(self):
        key, public = self.signing_keys()
        source = os.path.join(self.dir, "in.csv")
        xgb_example.write_csv(source, 20)
        output = os.path.join(self.dir, "out.csv")
        code, _, err = run_strata(
            "batch", "-r", self.repository, "-m", MODEL, "--progress", "off",
            *xgb_example.MAP, "-i", source, "-k", "id:INT64,name", "-o", output,
            "--signing-key", key)
        self.assertEqual(code, 0, err)
        sums = output + ".SHA256SUMS"

        def verified():
            checksum = subprocess.run(["sha256sum", "--quiet", "-c", sums], cwd=self.dir,
                                      capture_output=True)
            signature = subprocess.run(
                ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin",
                 "-in", sums, "-sigfile", sums + ".sig"], capture_output=True)
            return checksum.returncode == 0 and signature.returncode == 0

        self.assertTrue(verified())
        with open(output, "a") as f:
            f.write("999,row 999,0.5\n")
        self.assertFalse(verified())

    def test_a_tampered_redis_table_version_is_refused(self):
        redis = RedisServer().start()
        try:
            source = os.path.join(self.dir, "in.csv")
            xgb_example.write_csv(source, 20)
            for job, publish in (("1", []), ("2", ["--no-publish"])):
                code, _, err = run_strata(
                    "batch", "-r", self.repository, "-m", MODEL, "--progress", "off",
                    *xgb_example.MAP, "-i", source, "-k", "id:INT64,name", "-t", "scores",
                    "--job-id", job, "--store", "redis", "--redis", redis.url, *publish)
                self.assertEqual(code, 0, err)
            keys = redis_keys(redis.port, "strata:t:scores:v2:k:*")
            self.assertEqual(len(keys), 20)
            value = redis_command(redis.port, "GET", keys[0])
            changed = bytes([value[0] ^ 1]) + value[1:]  # same size, one bit off
            redis_command(redis.port, "SET", keys[0], changed)
            endpoints = os.path.join(self.dir, "strata.yaml")
            with open(endpoints, "w") as f:
                f.write("endpoints:\n  scores: {plan: static, table: scores, store: redis, "
                        "default: 0}\n")
            with StrataServer(self.repository, [*CONTROL, "--endpoints", endpoints,
                                                 "--redis", redis.url]) as server:
                status, body, _ = server.infer("scores", lookup_body([1]))
                self.assertEqual(status, 200, body)
                self.assertEqual(body["parameters"]["table_version"], 1)  # verified, opened
                server.request("POST", "/v2/repository/tables/scores/default", {"version": 2})
                reason = wait_for(lambda: self.table_index(server).get("2", {}).get("reason"))
                self.assertIn("checksum", reason)
                status, body, _ = server.infer("scores", lookup_body([1]))
                self.assertEqual(body["parameters"]["table_version"], 1)
        finally:
            redis.stop()

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


    def test_no_log_holds_a_raw_key_value(self):
        source = os.path.join(self.dir, "in.csv")
        xgb_example.write_csv(source, 5)
        code, _, err = run_strata(
            "batch", "-r", self.repository, "-m", MODEL, "--progress", "off",
            *xgb_example.MAP, "-i", source, "-k", "id:INT64,name", "-t", "scores",
            "--job-id", "1")
        self.assertEqual(code, 0, err)
        endpoints = os.path.join(self.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n  scores: {plan: static, table: scores, default: 0}\n")
        key_log = os.path.join(self.dir, "keys.jsonl")
        audit_log = os.path.join(self.dir, "audit.jsonl")
        secret_id, secret_name = 987654321, "secret-user-name-xyz"
        body = {"inputs": [
            {"name": "id", "datatype": "INT64", "shape": [2], "data": [secret_id, 1]},
            {"name": "name", "datatype": "BYTES", "shape": [2],
             "data": [secret_name, "row 1"]}]}
        server = StrataServer(self.repository, [
            *CONTROL, "--endpoints", endpoints, "--key-log", key_log,
            "--audit-log", audit_log, "--access-log"])
        with server:
            for _ in range(3):
                status, reply, _ = server.infer("scores", body)
                self.assertEqual(status, 200, reply)
            status, advisor, _ = server.request("GET", "/v2/advisor/scores")
            self.assertEqual(status, 200, advisor)
            self.assertTrue(advisor["hashed_keys"])
            self.assertNotIn(secret_name, json.dumps(advisor))
            # A dot segment is refused by the router before any route (not
            # audited); a name the control routes refuse is audited.
            self.assertEqual(server.request("POST", "/v2/repository/models/%2e%2e/load",
                                            {})[0], 400)
            self.assertEqual(server.request("POST", "/v2/repository/models/.hidden/load",
                                            {})[0], 400)
            self.assertEqual(server.request("POST", f"/v2/repository/models/{MODEL}/load",
                                            {})[0], 200)
            server.request("POST", "/v2/repository/tables/scores/labels",
                           {"label": "stable", "version": 1})
            server_log = server.log_text()
        with open(key_log) as f:
            keys = [json.loads(line) for line in f]
        self.assertEqual(len(keys), 6)
        self.assertTrue(all(set(k) == {"ts", "endpoint", "key_hash"} for k in keys), keys)
        with open(audit_log) as f:
            audit = [json.loads(line) for line in f]
        self.assertEqual([(a["action"], a["target"], a["status"]) for a in audit],
                         [("models.load", ".hidden", 400), ("models.load", MODEL, 200),
                          ("tables.labels", "scores", 200)])
        self.assertTrue(all(a["remote"].startswith("127.0.0.1:") and a["ts"] for a in audit))
        self.assertIn("ephemeral", server_log)
        for name, text in (("key log", json.dumps(keys)), ("audit log", json.dumps(audit)),
                           ("server and access log", server_log)):
            self.assertNotIn(secret_name, text, name)
            self.assertNotIn(str(secret_id), text, name)


if __name__ == "__main__":
    unittest.main()
