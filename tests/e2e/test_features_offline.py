"""The feature pipeline offline, end to end with the real binary, RocksDB and
Redis: the golden vectors (the Python binding and `strata batch` compute the
same bits; predictions equal XGBoost's own), `strata features fit|build|
materialize|skew`, and the purchase example run from its script."""
import csv
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy

from harness.features_fixture import MODEL, VECTORS_MODEL, PurchaseFixture, binding, read_csv
from harness.redis_server import RedisServer
from harness.strata_server import SOURCE_DIR, STRATA_BIN, run_strata

SECRET = b"offline-test-secret-0123456789"


def read_output(path, prefix):
    """strata batch's CSV output: the `prefix*` columns as float32 [rows, k]."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    names = [n for n in rows[0] if n.startswith(prefix)]
    return numpy.array([[float(r[n]) for n in names] for r in rows], dtype=numpy.float32)


def int_key(value):
    """store::KeySchema's bytes of an INT64: 8 bytes big-endian, sign bit flipped."""
    return ((value + (1 << 63)) % (1 << 64)).to_bytes(8, "big")


def keyed_hash(key):
    return hmac.new(SECRET, key, hashlib.sha256).hexdigest()[:32]


class FeaturesOfflineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="strata-features-offline-")
        cls.fixture = PurchaseFixture.build(cls.work)
        cls.golden_csv = os.path.join(cls.work, "golden.csv")
        cls.fixture.golden.write_csv(cls.golden_csv)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def batch(self, model, output, *store):
        code, out, err = run_strata(
            "batch", "--repository", self.fixture.repository, "--model", model,
            "--input", self.golden_csv, "--key", "user_id:INT64,product_id:INT64",
            "--output", output, "--progress", "off", "--job-id", os.path.basename(output),
            *(store or ("--tables", self.fixture.tables)))
        self.assertEqual(code, 0, err + out)
        return out

    def test_golden_vectors_and_predictions_batch_equals_binding_equals_xgboost(self):
        golden = self.fixture.golden
        self.assertEqual(len(golden.rows), 1000)
        vectors_csv = os.path.join(self.work, "batch_vectors.csv")
        self.batch(VECTORS_MODEL, vectors_csv)
        vectors = read_output(vectors_csv, "vector_")
        self.assertEqual(vectors.shape, golden.vectors.shape)
        differing = numpy.flatnonzero(
            (vectors.view(numpy.uint32) != golden.vectors.view(numpy.uint32)).any(axis=1))
        self.assertEqual(len(differing), 0, f"rows differ bit-wise, first {differing[:5]}")
        predictions_csv = os.path.join(self.work, "batch_predictions.csv")
        self.batch(MODEL, predictions_csv)
        predictions = read_output(predictions_csv, "probability")[:, 0]
        numpy.testing.assert_array_equal(predictions, golden.predictions)
        # The rows are not all alike: known and unknown entities, several queries.
        self.assertGreater(len(numpy.unique(golden.predictions)), 100)

    def test_batch_table_output_records_the_feature_table_versions(self):
        code, out, err = run_strata(
            "batch", "--repository", self.fixture.repository, "--model", MODEL,
            "--input", os.path.join(self.fixture.data, "requests.csv"),
            "--key", "user_id:INT64,product_id:INT64", "--table", "purchase_head",
            "--tables", self.fixture.tables, "--progress", "off", "--job-id", "head-1",
            "--expect-min", "0", "--expect-max", "1")
        self.assertEqual(code, 0, err + out)
        versions = os.path.join(self.fixture.tables, "purchase_head")
        manifests = [os.path.join(versions, v, "manifest.yaml") for v in os.listdir(versions)
                     if v.isdigit()]
        with open(manifests[0]) as f:
            manifest = f.read()
        self.assertIn("feature_tables: {product_info: 1, user_stats: 1}", manifest)

    def test_batch_without_a_feature_table_says_to_materialize_it(self):
        empty = os.path.join(self.work, "empty_tables")
        os.makedirs(empty, exist_ok=True)
        code, out, err = run_strata(
            "batch", "--repository", self.fixture.repository, "--model", MODEL,
            "--input", self.golden_csv, "--key", "user_id:INT64,product_id:INT64",
            "--output", os.path.join(self.work, "never.csv"), "--tables", empty,
            "--progress", "off")
        self.assertNotEqual(code, 0)
        self.assertIn("materialize it first", err + out)

    def test_redis_feature_tables_give_the_same_vectors(self):
        redis = RedisServer()
        redis.start()
        try:
            url = f"redis://127.0.0.1:{redis.port}"
            for table, source in (("user_stats", "users"), ("product_info", "products")):
                code, out, err = run_strata(
                    "features", "materialize", "--definition", self.fixture.definition,
                    "--table", table, "--source", os.path.join(self.fixture.data, source + ".csv"),
                    "--redis", url)
                self.assertEqual(code, 0, err)
                self.assertIn("published", out)
            output = os.path.join(self.work, "redis_vectors.csv")
            self.batch(VECTORS_MODEL, output, "--store", "redis", "--redis", url)
            vectors = read_output(output, "vector_")
            self.assertTrue(numpy.array_equal(vectors.view(numpy.uint32),
                                              self.fixture.golden.vectors.view(numpy.uint32)))
        finally:
            redis.stop()

    def test_materialize_as_of_keeps_the_latest_row_per_key_at_that_time(self):
        tables = os.path.join(self.work, "as_of_tables")
        users = read_csv(os.path.join(self.fixture.data, "users.csv"))
        as_of = int(numpy.median(users["event_time"]))
        code, out, err = run_strata(
            "features", "materialize", "--definition", self.fixture.definition,
            "--table", "user_stats", "--source", os.path.join(self.fixture.data, "users.csv"),
            "--tables", tables, "--as-of", str(as_of))
        self.assertEqual(code, 0, err)
        expected_keys = len(set(users["user_id"][users["event_time"] <= as_of].tolist()))
        future = int((users["event_time"] > as_of).sum())
        self.assertIn(f"version 1: {expected_keys} entity rows", out)
        self.assertIn(f"({future} after --as-of left out)", out)
        code, out, err = run_strata("table", "verify", "--tables", tables, "user_stats")
        self.assertEqual(code, 0, err + out)

    def test_materialize_refuses_a_source_without_the_entity_key(self):
        bad = os.path.join(self.work, "bad_users.csv")
        with open(bad, "w") as f:
            f.write("customer_id,event_time,purchases_30d\n1,100,3\n")
        code, out, err = run_strata(
            "features", "materialize", "--definition", self.fixture.definition,
            "--table", "user_stats", "--source", bad, "--tables", os.path.join(self.work, "t2"))
        self.assertEqual(code, 1)
        self.assertIn("no column 'user_id'", err + out)

    def test_build_writes_what_the_binding_computes(self):
        train = os.path.join(self.work, "train.csv")
        data = self.fixture.data
        code, out, err = run_strata(
            "features", "build", "--definition", self.fixture.definition,
            "--labels", os.path.join(data, "events.csv"),
            "--source", "user_stats=" + os.path.join(data, "users.csv"),
            "--source", "product_info=" + os.path.join(data, "products.csv"), "--out", train)
        self.assertEqual(code, 0, err)
        sf = binding()
        pipeline = sf.Pipeline.load(self.fixture.definition)
        X, y, ts = sf.build_training_set(
            pipeline, read_csv(os.path.join(data, "events.csv")),
            {"user_stats": read_csv(os.path.join(data, "users.csv")),
             "product_info": read_csv(os.path.join(data, "products.csv"))})
        with open(train, newline="") as f:
            header = next(csv.reader(f))
        self.assertEqual(header, ["ts", "label"] + pipeline.column_names())
        written = numpy.loadtxt(train, delimiter=",", skiprows=1, dtype=numpy.float64)
        self.assertTrue(numpy.array_equal(written[:, 2:].astype(numpy.float32), X))
        numpy.testing.assert_array_equal(written[:, 1], y)
        numpy.testing.assert_array_equal(written[:, 0].astype(numpy.int64), ts)

    def test_fit_on_the_command_line_equals_fit_in_python(self):
        data = self.fixture.data
        fitted = os.path.join(self.work, "fitted.yaml")
        unfitted = os.path.join(SOURCE_DIR, "examples", "purchase", "features.yaml")
        code, out, err = run_strata(
            "features", "fit", "--definition", unfitted,
            "--labels", os.path.join(data, "events.csv"),
            "--source", "user_stats=" + os.path.join(data, "users.csv"),
            "--source", "product_info=" + os.path.join(data, "products.csv"), "--out", fitted)
        self.assertEqual(code, 0, err)
        with open(fitted) as f, open(self.fixture.definition) as g:
            self.assertEqual(f.read(), g.read())

    def served_log(self, tamper_row=None):
        """A served-feature log of the golden rows as the server writes it."""
        golden = self.fixture.golden
        path = os.path.join(self.work, f"served-{tamper_row}.jsonl")
        with open(path, "w") as f:
            for i, row in enumerate(golden.rows[:200]):
                vector = golden.vectors[i].copy()
                if i == tamper_row:
                    vector[0] = numpy.nextafter(vector[0], numpy.float32(1e9))
                f.write(json.dumps({
                    "ts": row["ts"], "request_id": f"r{i}", "model": MODEL, "version": 1,
                    "entities": {"user": keyed_hash(int_key(row["user_id"])),
                                 "product": keyed_hash(int_key(row["product_id"]))},
                    "request": {"query": row["query"], "ts": row["ts"]},
                    "tables": {"user_stats": 1, "product_info": 1},
                    "vector": [float(v) for v in vector]}) + "\n")
        return path

    def skew(self, log):
        secret = os.path.join(self.work, "secret.txt")
        with open(secret, "wb") as f:
            f.write(SECRET)
        return run_strata("features", "skew", log, "--definition", self.fixture.definition,
                          "--secret", secret, "--tables", self.fixture.tables)

    def test_skew_of_an_honest_log_is_zero_and_a_tampered_vector_is_reported(self):
        code, out, err = self.skew(self.served_log())
        self.assertEqual(code, 0, err + out)
        self.assertIn("200 served rows recomputed, 0 differ bit-wise, 0 not recomputed", out)
        code, out, err = self.skew(self.served_log(tamper_row=3))
        self.assertEqual(code, 1, out)
        self.assertIn("1 differ bit-wise", out)
        self.assertRegex(out, r"purchases\s+0\.5000%")
        self.assertIn("request r3: purchases served", out)

    def test_the_example_runs_from_its_script(self):
        out_dir = os.path.join(self.work, "example")
        env = dict(os.environ, STRATA_BIN=STRATA_BIN,
                   PURCHASE_DATA_ARGS="--users 200 --products 60 --events 3000 --hot 50")
        done = subprocess.run([os.path.join(SOURCE_DIR, "examples", "purchase", "run.sh"), out_dir],
                              capture_output=True, text=True, timeout=240, env=env)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("held-out accuracy", done.stdout)
        self.assertIn("table user_stats version 1", done.stdout)
        self.assertIn("verification: passed", done.stdout)
        self.assertRegex(done.stdout, r"P\(purchase\) = |skipped")


if __name__ == "__main__":
    unittest.main()
