"""End-to-end tests of `strata batch` against the real binary: tables and
files out, keys passed through, predictions checked against XGBoost's own
(on features that are a function of each row's id), kill -9 and resume
(while chunks are computed, during the merge and at publication, with a
server serving the table), a completed job not running again, shards,
verification failures and malformed input."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness.redis_server import RedisServer
from harness.repositories import TOLERANCE
from harness.strata_server import STRATA_BIN, run_strata
from harness.xgb_example import MAP, MODEL, make_repository, samples, write_csv


def summary_value(stdout, name):
    match = re.search(rf"^{name}: (\S+)", stdout, re.M)
    return match.group(1) if match else None


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
        expected = write_csv(source, 6000)
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
        resumed = self.exported("resumed")
        self.assertEqual(resumed, self.exported("reference"))
        self.assertEqual(sorted(resumed), list(range(6000)))
        for i, p in resumed.items():
            self.assertClose(p, expected[i], f"id {i}")

    def test_shards_combine_into_one_version(self):
        source = os.path.join(self.dir, "in.csv")
        expected = write_csv(source, 1000)
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
        # Every id's answer is XGBoost's for that id's own features: a chunk
        # merged under another chunk's keys would show.
        sharded = self.exported("sharded")
        self.assertEqual(sorted(sharded), list(range(1000)))
        for i, p in sharded.items():
            self.assertClose(p, expected[i], f"id {i}")

    def test_a_completed_job_does_not_run_again_under_the_same_id(self):
        source = os.path.join(self.dir, "in.csv")
        expected = write_csv(source, 1000)
        args = ("-i", source, "-k", "id:INT64", "-t", "once", "--chunk-rows", "200")
        code, out, err = self.batch(*args)
        self.assertEqual(code, 0, err)
        self.assertIn("table: once version 1 (published)", out)
        job = summary_value(out, "job")
        staging = os.path.join(self.repository, "tables", ".staging", "once", job)
        table_dir = os.path.join(self.repository, "tables", "once")
        for attempt in range(2):
            code, out, err = self.batch(*args)
            self.assertEqual(code, 0, err)
            self.assertEqual(summary_value(out, "job"), job)
            self.assertIn("already complete: table version 1", out)
            # Not a row is computed again, and no checkpoint is written again.
            self.assertIn("rows processed: 0 (resumed from checkpoints: 0)", out)
            self.assertEqual(os.listdir(os.path.join(staging, "parts"))
                             if os.path.isdir(os.path.join(staging, "parts")) else [], [])
        self.assertEqual(sorted(os.listdir(table_dir)), ["1", "CURRENT"])
        # A named job is the same: once complete, its id does not run again,
        # even on another input.
        code, out, err = self.batch(*args, "--job-id", "weekly")
        self.assertEqual(code, 0, err)
        self.assertIn("table: once version 2 (published)", out)
        other = os.path.join(self.dir, "other.csv")
        write_csv(other, 500, salt=1)
        code, out, err = self.batch("-i", other, "-k", "id:INT64", "-t", "once",
                                    "--chunk-rows", "200", "--job-id", "weekly")
        self.assertEqual(code, 0, err)
        self.assertIn("already complete: table version 2", out)
        self.assertIn("rows processed: 0 (resumed from checkpoints: 0)", out)
        code, out, _ = self.table("list", "once")
        self.assertIn("current version 2", out)
        got = self.exported("once")
        self.assertEqual(sorted(got), list(range(1000)))
        for i, p in got.items():
            self.assertClose(p, expected[i], f"id {i}")
        # A changed input is another job (the id is derived from it): it runs.
        write_csv(source, 1000, salt=1)
        code, out, err = self.batch(*args)
        self.assertEqual(code, 0, err)
        self.assertNotEqual(summary_value(out, "job"), job)
        self.assertIn("rows processed: 1000 (resumed from checkpoints: 0)", out)
        self.assertIn("table: once version 3 (published)", out)

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


def run_killed_at(args, path, syscalls, when=1):
    """Runs `strata args` under strace, which SIGKILLs it at the `when`-th of
    `syscalls` on `path` (an absolute path, or an open file of that path; for
    a rename, its source): the
    call fails with EIO and the process dies on its way back, so the call
    never takes effect. A kill -9 at an exact point of the job, every time."""
    names = ",".join(syscalls)
    inject = f"{names}:error=EIO:signal=KILL" + (f":when={when}" if when > 1 else "")
    done = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-P", path,
                           "-e", f"trace={names}", "-e", f"inject={inject}",
                           STRATA_BIN, *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


class BatchCrashTest(unittest.TestCase):
    """kill -9 of `strata batch` while it merges its checkpoints into a table
    version, and while it publishes that version, with a server serving the
    table all along: the server keeps answering from the previous version (a
    version the killed job left behind is never served), and running the job
    again gives a correct, verified table (XGBoost's answers, the checksum of
    an uninterrupted run) which the server then serves."""

    ROWS = 8000
    CHUNK = 4000  # runs of ~80 KB: the merge reads each in more than one 64 KB buffer

    @classmethod
    def setUpClass(cls):
        cls.repository = make_repository()
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-batch-crash-")
        cls.monday = os.path.join(cls.dir, "monday.csv")
        cls.expected_monday = write_csv(cls.monday, cls.ROWS)
        cls.tuesday = os.path.join(cls.dir, "tuesday.csv")
        cls.expected_tuesday = write_csv(cls.tuesday, cls.ROWS, salt=1)
        cls.points = ("merge", "publish", "after_publish")
        for table in cls.points:
            code, out, err = cls.run_job(cls.monday, table, "monday")
            assert code == 0 and "(published)" in out, err
        code, out, err = cls.run_job(cls.tuesday, "reference", "tuesday")
        assert code == 0, err
        cls.reference = summary_value(out, "checksum")
        endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(endpoints, "w") as f:
            f.write("endpoints:\n" + "".join(
                f"  {t}: {{plan: static, table: {t}, key: [id], default: -1}}\n"
                for t in cls.points))
        from harness.strata_server import StrataServer
        cls.server = StrataServer(cls.repository, ["--endpoints", endpoints,
                                                   "--poll-interval-ms", "50"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.repository)
        shutil.rmtree(cls.dir)

    @classmethod
    def job_args(cls, source, table, job):
        return ["batch", "-r", cls.repository, "-m", MODEL, "--progress", "off", *MAP,
                "-i", source, "-k", "id:INT64", "-t", table, "--job-id", job,
                "--chunk-rows", str(cls.CHUNK)]

    @classmethod
    def run_job(cls, source, table, job):
        return run_strata(*cls.job_args(source, table, job))

    def served(self, table, ids):
        """(table version, answers) the server gives for `ids`."""
        status, body, _ = self.server.infer(table, {"inputs": [
            {"name": "id", "datatype": "INT64", "shape": [len(ids)], "data": ids}]})
        self.assertEqual(status, 200, body)
        got = {o["name"]: o["data"] for o in body["outputs"]}
        self.assertEqual(got["found"], [True] * len(ids))
        return body["parameters"]["table_version"], got["probability"]

    def assertAnswers(self, answers, ids, expected, what):
        for i, p in zip(ids, answers):
            self.assertLessEqual(abs(p - expected[i]), TOLERANCE,
                                 f"{what}: id {i}: strata {p} vs XGBoost {expected[i]}")

    def kill_point(self, point, staging, table_dir):
        """(path, syscalls, when) at which the job is killed."""
        if point == "merge":
            # The merge's second read of the last chunk's run: most rows merged
            # into the new version's SST file, nothing committed.
            last = self.ROWS // self.CHUNK - 1
            return (os.path.join(staging, "parts", f"part-{last:08}.run"),
                    ("read", "readv", "pread64"), 2)
        if point == "publish":
            # The rename that would make the new version current.
            return (os.path.join(table_dir, "CURRENT.tmp"), ("rename", "renameat", "renameat2"), 1)
        # Published, but the job not yet marked complete.
        return (os.path.join(staging, "finalized.tmp"), ("rename", "renameat", "renameat2"), 1)

    def test_kill_9_during_merge_or_publish_then_rerun(self):
        ids = list(range(0, self.ROWS, 97))
        for point in self.points:
            with self.subTest(point=point):
                table_dir = os.path.join(self.repository, "tables", point)
                staging = os.path.join(self.repository, "tables", ".staging", point, "tuesday")
                version, answers = self.served(point, ids)
                self.assertEqual(version, 1)
                self.assertAnswers(answers, ids, self.expected_monday, "monday")

                path, syscalls, when = self.kill_point(point, staging, table_dir)
                code, out, err = run_killed_at(self.job_args(self.tuesday, point, "tuesday"),
                                               path, syscalls, when)
                self.assertIn(code, (-9, 137), f"not killed at {path}: {out}{err}")
                self.assertNotIn("published", out)
                builds = [d for d in os.listdir(table_dir) if d.startswith(".build-")]
                if point == "merge":
                    self.assertEqual(len(builds), 1, "killed in the middle of the merge")
                    self.assertEqual(sorted(os.listdir(table_dir)), sorted(["1", "CURRENT"] + builds))
                    expected_version = 1
                elif point == "publish":
                    # Version 2 is committed but not current: never served.
                    self.assertEqual(sorted(os.listdir(table_dir)),
                                     ["1", "2", "CURRENT", "CURRENT.tmp"])
                    expected_version = 1
                else:
                    expected_version = 2
                time.sleep(0.5)  # ten polls of the server's table pointer
                version, answers = self.served(point, ids)
                self.assertEqual(version, expected_version)
                self.assertAnswers(answers, ids, self.expected_tuesday if version == 2
                                   else self.expected_monday, f"after the kill at {point}")

                # Run again: the chunks come from the checkpoints, the merge
                # and the publication are done again, whole.
                code, out, err = self.run_job(self.tuesday, point, "tuesday")
                self.assertEqual(code, 0, err)
                self.assertIn(f"rows processed: 0 (resumed from checkpoints: {self.ROWS})", out)
                self.assertEqual(summary_value(out, "verification"), "passed")
                self.assertEqual(summary_value(out, "checksum"), self.reference)
                published = int(re.search(rf"table: {point} version (\d+) \(published\)",
                                          out).group(1))
                self.assertGreater(published, 1)
                deadline = time.monotonic() + 20
                while self.served(point, ids[:1])[0] != published:
                    self.assertLess(time.monotonic(), deadline, "new version not served")
                    time.sleep(0.05)
                everything = list(range(self.ROWS))
                version, answers = self.served(point, everything)
                self.assertEqual(version, published)
                self.assertAnswers(answers, everything, self.expected_tuesday, "after the rerun")
                code, out, err = run_strata("table", "verify", point, "-r", self.repository)
                self.assertEqual(code, 0, out + err)
                self.assertIn(self.reference, out)


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
