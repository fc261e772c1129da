"""End-to-end tests of disaster recovery: `strata backup` and `strata
restore` on a repository with a model (its labels in config.yaml), RocksDB
table versions and a Redis table, against the real binary and a real
redis-server. A wiped repository and a corrupted one come back with identical
answers and table checksums; a damaged backup is refused; a Redis table is
rebuilt from its backup; versions half-written to Redis are collected by
`strata table gc`."""
import json
import os
import re
import shutil
import socket
import tempfile
import time
import unittest

from harness.redis_server import RedisServer
from harness.repositories import EXAMPLES
from harness.strata_server import StrataServer, run_strata
from harness.xgb_example import MAP, MODEL, write_csv

ROWS = 300


def redis_command(port, *args):
    """One command over RESP; returns the decoded reply (str, int, list or None)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        payload = f"*{len(args)}\r\n".encode()
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            payload += b"$%d\r\n%s\r\n" % (len(a), a)
        c.sendall(payload)
        return read_reply(c.makefile("rb"))


def read_reply(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2].decode("latin-1")
    return [read_reply(f) for _ in range(int(rest))]


def make_repository(root):
    """A repository with its own copy of the model (restores write into it),
    labelled `stable`."""
    model = os.path.join(root, "models", MODEL)
    shutil.copytree(os.path.join(EXAMPLES, MODEL), model)
    with open(os.path.join(model, "config.yaml"), "a") as f:
        f.write("version_labels: {stable: 1}\n")
    return root


def lookup(ids):
    return {"inputs": [{"name": "id", "datatype": "INT64", "shape": [len(ids)], "data": ids}]}


class BackupRestoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-backup-")
        cls.source = os.path.join(cls.dir, "in.csv")
        write_csv(cls.source, ROWS)
        cls.endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(cls.endpoints, "w") as f:
            f.write("endpoints:\n"
                    "  scores: {plan: static, table: scores, key: [id]}\n"
                    "  shared: {plan: static, table: shared, store: redis, key: [id]}\n")
        # The repository every test starts from: two RocksDB table versions.
        cls.template = make_repository(os.path.join(cls.dir, "template"))
        for job in ("1", "2"):
            cls.batch(cls.template, "scores", job)

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        shutil.rmtree(cls.dir)

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="strata-e2e-backup-case-", dir=self.dir)
        self.repository = os.path.join(self.work, "repo")
        shutil.copytree(self.template, self.repository)
        redis_command(self.redis.port, "FLUSHALL")
        self.batch(self.repository, "shared", "r1", *self.store())

    def store(self):
        return ("--store", "redis", "--redis", self.redis.url)

    @classmethod
    def batch(cls, repository, table, job, *store):
        code, _, err = run_strata("batch", "-r", repository, "-m", MODEL, "--progress", "off",
                                  *MAP, "-i", cls.source, "-k", "id:INT64", "-t", table,
                                  "--job-id", job, *store)
        assert code == 0, err

    def backup(self, *args):
        target = os.path.join(self.work, "backup")
        code, out, err = run_strata("backup", "-r", self.repository, "-o", target,
                                    "--redis", self.redis.url, *args)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"1 model versions, 3 table versions")
        return target

    def restore(self, backup, *args):
        return run_strata("restore", backup, "-r", self.repository, *args)

    def checksums(self):
        """`strata table verify` of every table: the lines naming rows and checksum."""
        lines = []
        for table, store in (("scores", ()), ("shared", self.store())):
            code, out, err = run_strata("table", "verify", table, "-r", self.repository, *store)
            self.assertEqual(code, 0, err)
            lines.append(out.strip())
        return lines

    def answers(self):
        """What the server answers: the model (by label), both static endpoints."""
        with open(os.path.join(EXAMPLES, MODEL, "1", "samples.json")) as f:
            request = json.load(f)["request"]
        with StrataServer(self.repository, ["--endpoints", self.endpoints,
                                            "--redis", self.redis.url]) as server:
            got = []
            for name, body, version in ((MODEL, request, "stable"), ("scores", lookup([3, 250]), None),
                                        ("shared", lookup([7, 299]), None)):
                status, answer, _ = server.infer(name, body, version)
                self.assertEqual(status, 200, answer)
                got.append([o["data"] for o in answer["outputs"]])
                got.append(answer.get("model_version"))
            return got

    def test_a_wiped_repository_comes_back_with_identical_answers(self):
        before, sums = self.answers(), self.checksums()
        backup = self.backup()
        code, out, err = run_strata("restore", backup, "-r", self.repository, "--dry-run")
        self.assertEqual(code, 0, err)
        self.assertIn("would restore 0 units", out)
        shutil.rmtree(self.repository)
        code, out, err = self.restore(backup, "--redis", self.redis.url)
        self.assertEqual(code, 0, err)
        self.assertIn("backup " + backup + " verified", out)
        self.assertIn(f"restored: models/{MODEL}/1", out)
        self.assertIn("restored: tables/scores/2", out)
        self.assertIn("verified: table 'scores' version 2: ok (300 rows", out)
        self.assertEqual(self.checksums(), sums)
        self.assertEqual(self.answers(), before)

    def test_a_corrupted_file_is_found_and_replaced(self):
        before, sums = self.answers(), self.checksums()
        backup = self.backup()
        db = os.path.join(self.repository, "tables", "scores", "2", "db")
        sst = sorted(f for f in os.listdir(db) if f.endswith(".sst"))[0]
        with open(os.path.join(db, sst), "r+b") as f:
            f.seek(64)
            f.write(b"\xff" * 64)
        code, _, err = run_strata("table", "verify", "scores", "-r", self.repository)
        self.assertNotEqual(code, 0)
        code, out, err = self.restore(backup)
        self.assertEqual(code, 0, err)
        self.assertIn("restored: tables/scores/2", out)
        self.assertRegex(out, r"restored 1 units, 3 already intact")
        self.assertEqual(self.checksums(), sums)
        self.assertEqual(self.answers(), before)

    def test_a_damaged_backup_is_refused_and_nothing_is_touched(self):
        backup = self.backup()
        model = os.path.join(backup, "repository", "models", MODEL, "1", "model.json")
        with open(model, "r+b") as f:
            f.seek(100)
            f.write(b"#")
        shutil.rmtree(os.path.join(self.repository, "tables", "scores", "1"))
        code, out, err = self.restore(backup)
        self.assertEqual(code, 1)
        self.assertIn(f"the backup is damaged: repository/models/{MODEL}/1/model.json has "
                      "SHA-256", err)
        self.assertIn("refused: nothing was restored", err)
        self.assertFalse(os.path.exists(os.path.join(self.repository, "tables", "scores", "1")))
        with open(os.path.join(backup, "MANIFEST.yaml"), "a") as f:
            f.write("# edited\n")
        code, out, err = self.restore(backup)
        self.assertIn("MANIFEST.yaml does not match its SHA-256 in SHA256SUMS", err)
        code, out, err = self.restore(os.path.join(self.work, "no-such-backup"))
        self.assertIn("has no readable MANIFEST.yaml", err)

    def test_a_redis_table_is_rebuilt_from_its_backup(self):
        before, sums = self.answers(), self.checksums()
        backup = self.backup()
        redis_command(self.redis.port, "FLUSHALL")
        code, out, err = self.restore(backup)  # without --redis: said, not done
        self.assertEqual(code, 0, err)
        self.assertIn("the backup holds Redis tables (shared); pass --redis URL", out)
        code, out, err = self.restore(backup, "--redis", self.redis.url)
        self.assertEqual(code, 0, err)
        self.assertIn("restored: redis:shared/1", out)
        self.assertIn("verified: table 'shared' version 1 (redis): ok (300 rows", out)
        self.assertEqual(redis_command(self.redis.port, "GET", "strata:t:shared:current"), "1")
        self.assertEqual(self.checksums(), sums)
        self.assertEqual(self.answers(), before)
        # A version committed after the rebuild takes the next number.
        self.batch(self.repository, "shared", "r2", *self.store())
        code, out, err = run_strata("table", "list", "shared", *self.store())
        self.assertIn("current version 2", out)

    def test_a_half_written_redis_version_is_collected(self):
        # What a batch job killed during its merge leaves: a version number
        # taken, row keys written, no manifest, not in the versions set.
        version = redis_command(self.redis.port, "INCR", "strata:t:shared:next")
        for i in range(120):
            redis_command(self.redis.port, "SET", f"strata:t:shared:v{version}:k:row{i}", "x")
        gc = ("table", "gc", "shared", *self.store())
        code, out, err = run_strata(*gc)
        self.assertEqual(code, 0, err)
        self.assertIn(f"kept (touched within the last 3600 s; a writer may still be running): "
                      f"table 'shared': uncommitted version {version} (120 keys", out)
        time.sleep(3.5)  # Redis counts idle time in whole seconds
        code, out, err = run_strata(*gc, "--grace", "2", "--dry-run")
        self.assertIn(f"would remove: table 'shared': uncommitted version {version}", out)
        code, out, err = run_strata(*gc, "--grace", "2")
        self.assertEqual(code, 0, err)
        self.assertIn(f"removed: table 'shared': uncommitted version {version} (120 keys", out)
        keys = redis_command(self.redis.port, "KEYS", f"strata:t:shared:v{version}:*")
        self.assertEqual(keys, [])
        code, out, err = run_strata("table", "verify", "shared", *self.store())
        self.assertEqual(code, 0, err)  # the committed version is untouched
        code, out, err = run_strata(*gc, "--grace", "0")
        self.assertIn("nothing to collect", out)

    def test_help_says_what_each_command_does(self):
        for command in (("backup",), ("restore",), ("table", "gc")):
            code, out, _ = run_strata(*command, "--help")
            self.assertEqual(code, 0)
            self.assertRegex(out, re.compile(r"Example|abandoned|SHA-256", re.I))


if __name__ == "__main__":
    unittest.main()
