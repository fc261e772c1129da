"""End-to-end tests of `strata batch` against the real binary: tables and
files out, keys passed through, predictions checked against XGBoost's own
(samples.json from the training script), kill -9 and resume, shards,
verification failures and malformed input. Also holds the helpers that the
table and static-serving tests share (run_strata, RedisServer)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from strata_server import BINARY_DIR, SOURCE_DIR, STRATA_BIN

EXAMPLES = os.path.join(SOURCE_DIR, "examples", "repository", "models")
MODEL = "breast_cancer_xgb"
TOLERANCE = 1e-5
MAP = ("--map", "features=" + ",".join(f"f{j}" for j in range(30)))


def samples():
    """(rows of 30 features, XGBoost's probabilities for them)."""
    with open(os.path.join(EXAMPLES, MODEL, "1", "samples.json")) as f:
        s = json.load(f)
    tensor = s["request"]["inputs"][0]
    n, width = tensor["shape"]
    rows = [tensor["data"][i * width:(i + 1) * width] for i in range(n)]
    return rows, s["expected"]["outputs"][0]["data"]


def make_repository():
    root = tempfile.mkdtemp(prefix="strata-e2e-batch-")
    os.mkdir(os.path.join(root, "models"))
    os.symlink(os.path.join(EXAMPLES, MODEL), os.path.join(root, "models", MODEL))
    return root


def write_csv(path, count, bad_line=None):
    """Rows id = 0..count-1 cycling through the samples; returns expectations by id."""
    rows, expected = samples()
    with open(path, "w") as f:
        f.write("id,name," + ",".join(f"f{j}" for j in range(30)) + "\n")
        for i in range(count):
            features = ",".join(repr(x) for x in rows[i % len(rows)])
            if bad_line is not None and i + 2 == bad_line:
                features = "not-a-number" + features[features.index(","):]
            f.write(f"{i},row {i},{features}\n")
    return {i: expected[i % len(rows)] for i in range(count)}


def run_strata(*args, stdin=None, timeout=120):
    """Runs the binary; returns (exit code, stdout, stderr)."""
    done = subprocess.run([STRATA_BIN, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def summary_value(stdout, name):
    match = re.search(rf"^{name}: (\S+)", stdout, re.M)
    return match.group(1) if match else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server on a free loopback port, for one test class."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"


class BatchTest(unittest.TestCase):
    def setUp(self):
        self.repository = make_repository()
        self.dir = tempfile.mkdtemp(prefix="strata-e2e-batch-io-")

    def tearDown(self):
        shutil.rmtree(self.repository)
        shutil.rmtree(self.dir)

    def batch(self, *args, **kwargs):
        return run_strata("batch", "-r", self.repository, "-m", MODEL,
                          "--progress", "off", *MAP, *args, **kwargs)

    def table(self, *args):
        return run_strata("table", *args, "-r", self.repository)

    def assertClose(self, actual, expected, what):
        self.assertLessEqual(abs(actual - expected), TOLERANCE,
                             f"{what}: strata {actual} vs XGBoost {expected}")

    def exported(self, table, *args):
        code, out, err = self.table("export", table, *args)
        self.assertEqual(code, 0, err)
        lines = out.strip().split("\n")
        self.assertEqual(lines[0], "id,probability")
        return {int(k): float(v) for k, v in (line.split(",") for line in lines[1:])}

    def test_table_output_matches_the_framework(self):
        source = os.path.join(self.dir, "in.csv")
        expected = write_csv(source, 2000)
        code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "scores",
                                    "--chunk-rows", "300")
        self.assertEqual(code, 0, err)
        self.assertEqual(summary_value(out, "rows"), "2000")
        self.assertEqual(summary_value(out, "verification"), "passed")
        self.assertIn("table: scores version 1 (published)", out)
        got = self.exported("scores")
        self.assertEqual(sorted(got), list(range(2000)))
        for i, p in got.items():
            self.assertClose(p, expected[i], f"id {i}")
        code, out, err = self.table("get", "scores", "id=17")
        self.assertEqual(code, 0, err)
        self.assertClose(json.loads(out)["probability"], expected[17], "get id 17")
        code, _, err = self.table("get", "scores", "id=5000")
        self.assertEqual(code, 4, err)
        self.assertIn("not found", err)

    def test_jsonl_in_and_csv_out_pass_keys_through_in_order(self):
        rows, expected = samples()
        source = os.path.join(self.dir, "in.jsonl")
        with open(source, "w") as f:
            for i, row in enumerate(rows):
                f.write(json.dumps({"shop": f"s,{i}", "day": 30 - i, "features": row}) + "\n")
        target = os.path.join(self.dir, "out.csv")
        code, out, err = run_strata("batch", "-r", self.repository, "-m", MODEL, "-i", source,
                                    "-k", "shop,day:INT64", "-o", target)
        self.assertEqual(code, 0, err)
        with open(target) as f:
            lines = f.read().strip().split("\n")
        self.assertEqual(lines[0], "shop,day,probability")
        self.assertEqual(len(lines), len(rows) + 1)
        for i, line in enumerate(lines[1:]):
            shop_day, probability = line.rsplit(",", 1)
            self.assertEqual(shop_day, f'"s,{i}",{30 - i}')
            self.assertClose(float(probability), expected[i], f"row {i}")

    def test_kill_9_then_resume_gives_an_identical_table(self):
        source = os.path.join(self.dir, "in.csv")
        write_csv(source, 6000)
        code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "reference",
                                    "--chunk-rows", "200")
        self.assertEqual(code, 0, err)
        reference = summary_value(out, "checksum")

        # Feed half the input through stdin, wait for checkpoints, kill -9.
        with open(source) as f:
            lines = f.readlines()
        args = [STRATA_BIN, "batch", "-r", self.repository, "-m", MODEL, "--progress",
                "off", *MAP, "-i", "-", "-k", "id:INT64", "-t", "resumed", "--chunk-rows",
                "200", "--job-id", "weekly"]
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, text=True)
        process.stdin.write("".join(lines[:3001]))
        process.stdin.flush()  # and keep stdin open: the job waits for more
        parts = os.path.join(self.repository, "tables", ".staging", "resumed", "weekly",
                             "parts")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if os.path.isdir(parts) and len(
                    [p for p in os.listdir(parts) if p.endswith(".run")]) >= 10:
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
        self.assertFalse(os.path.exists(os.path.join(self.repository, "tables", "resumed",
                                                     "1")), "nothing published yet")

        code, out, err = self.batch("-i", "-", "-k", "id:INT64", "-t", "resumed",
                                    "--chunk-rows", "200", "--job-id", "weekly",
                                    stdin="".join(lines))
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"resumed from checkpoints: [1-9]\d*\)")
        self.assertEqual(summary_value(out, "rows"), "6000")
        self.assertEqual(summary_value(out, "checksum"), reference)
        self.assertEqual(self.exported("resumed"), self.exported("reference"))

    def test_shards_combine_into_one_version(self):
        source = os.path.join(self.dir, "in.csv")
        write_csv(source, 1000)
        code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "whole",
                                    "--chunk-rows", "64")
        self.assertEqual(code, 0, err)
        whole = summary_value(out, "checksum")
        outs = []
        for shard in ("1/3", "0/3", "2/3"):
            code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "sharded",
                                        "--chunk-rows", "64", "--shard", shard)
            self.assertEqual(code, 0, err)
            outs.append(out)
        self.assertIsNone(summary_value(outs[0], "checksum"))
        self.assertIsNone(summary_value(outs[1], "checksum"))
        self.assertEqual(summary_value(outs[2], "checksum"), whole)
        code, out, _ = self.table("list", "sharded")
        self.assertIn("current version 1", out)
        self.assertNotIn("   2", out)

    def test_a_failed_verification_publishes_nothing(self):
        source = os.path.join(self.dir, "in.csv")
        write_csv(source, 500)
        code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "checked",
                                    "--expect-max", "0.5")
        self.assertEqual(code, 3, out + err)
        self.assertIn("verification failed: range: values in [", err)
        self.assertIn("nothing was published", err)
        code, out, _ = self.table("list", "checked")
        self.assertIn("current version 0", out)
        code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "checked",
                                    "--expect-min-rows", "501")
        self.assertEqual(code, 3)
        self.assertIn("verification failed: rows: 500 rows; expected 501", err)

    def test_a_malformed_row_stops_the_job_with_its_line(self):
        source = os.path.join(self.dir, "in.csv")
        write_csv(source, 500, bad_line=17)
        code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "bad")
        self.assertEqual(code, 1, out)
        self.assertIn("line 17: column 'f0': 'not-a-number' is not a FP32 value", err)
        self.assertIn("nothing was published", err)
        self.assertFalse(os.path.exists(os.path.join(self.repository, "tables", "bad", "1")))
        rejects = os.path.join(self.dir, "rejects.tsv")
        code, out, err = self.batch("-i", source, "-k", "id:INT64", "-t", "bad",
                                    "--reject-file", rejects)
        self.assertEqual(code, 0, err)
        self.assertEqual(summary_value(out, "rows"), "499")
        with open(rejects) as f:
            line, reason, row = f.read().rstrip("\n").split("\t")
        self.assertEqual((line, reason), ("17", "column 'f0': 'not-a-number' is not a FP32 value"))
        self.assertTrue(row.startswith("15,row 15,not-a-number,"))

    def test_missing_columns_and_bad_flags_are_clear_errors(self):
        source = os.path.join(self.dir, "in.csv")
        write_csv(source, 10)
        code, _, err = self.batch("-i", source, "-k", "store:INT64", "-t", "x")
        self.assertEqual(code, 1)
        self.assertIn("key column 'store' is not in the CSV header", err)
        code, _, err = run_strata("batch", "-r", self.repository, "-m", MODEL, "-i", source,
                                  "-k", "id:INT64", "-t", "x")
        self.assertEqual(code, 1)
        self.assertIn("takes 30 values per row but 31 columns map to it", err)
        code, _, err = self.batch("-i", source, "-k", "id:INT64", "-t", "x", "--shard", "3/3")
        self.assertEqual(code, 1)
        self.assertIn("--shard '3/3' is not i/N", err)


class RedisBatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()

    def setUp(self):
        self.repository = make_repository()
        self.dir = tempfile.mkdtemp(prefix="strata-e2e-redis-io-")

    def tearDown(self):
        shutil.rmtree(self.repository)
        shutil.rmtree(self.dir)

    def test_a_redis_table_is_written_published_and_rolled_back(self):
        source = os.path.join(self.dir, "in.csv")
        expected = write_csv(source, 800)
        store = ["--store", "redis", "--redis", self.redis.url]
        for run in ("monday", "tuesday"):  # the same arguments run once per job id
            code, out, err = run_strata("batch", "-r", self.repository, "-m", MODEL,
                                        "--progress", "off", *MAP, "-i", source, "-k", "id:INT64",
                                        "-t", "shared", "--chunk-rows", "100", "--job-id", run,
                                        *store)
            self.assertEqual(code, 0, err)
        code, out, err = run_strata("table", "list", "shared", *store)
        self.assertEqual(code, 0, err)
        self.assertIn("current version 2", out)
        code, out, err = run_strata("table", "get", "shared", "id=42", *store)
        self.assertEqual(code, 0, err)
        self.assertLessEqual(abs(json.loads(out)["probability"] - expected[42]), TOLERANCE)
        code, out, err = run_strata("table", "verify", "shared", *store)
        self.assertEqual(code, 0, err)
        code, out, err = run_strata("table", "rollback", "shared", *store)
        self.assertEqual(code, 0, err)
        self.assertIn("version 1 is current", out)


if __name__ == "__main__":
    unittest.main()
