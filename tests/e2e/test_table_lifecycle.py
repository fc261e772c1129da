"""End-to-end tests of the table lifecycle over real HTTP: a static endpoint
reading a RocksDB table written by `strata batch`, driven through the table
control routes (/v2/repository/tables/...) and the `strata table` verbs that
call them: the index, labels, a pinned default, rollback, unload and load
(the old version drains and closes), a version that fails to open (kept with
its reason while the previous serves), a table no endpoint names, and the
control API refused when it is off."""
import os
import shutil
import tempfile
import unittest

from harness import xgb_example
from harness.strata_server import StrataServer, run_strata
from harness.waiting import wait_for

POLL = ["--poll-interval-ms", "100"]
CONTROL = ["--control-api", "--grpc-port", "-1", *POLL]


def batch(repository, table, source, job):
    code, _, err = run_strata(
        "batch", "-r", repository, "-m", xgb_example.MODEL, "--progress", "off", *xgb_example.MAP,
        "-i", source, "-k", "id:INT64,name", "-t", table, "--job-id", job, "--keep-versions", "10")
    assert code == 0, err


def lookup_body(ids):
    return {"inputs": [
        {"name": "id", "datatype": "INT64", "shape": [len(ids)], "data": ids},
        {"name": "name", "datatype": "BYTES", "shape": [len(ids)],
         "data": [f"row {i}" for i in ids]}]}


class TableLifecycleTest(unittest.TestCase):
    """Table `scores`: versions 1-3 good, 4 corrupt; `other`: version 1, named
    by no endpoint. Every test starts with `scores` published at 1."""

    @classmethod
    def setUpClass(cls):
        cls.repository = xgb_example.make_repository()
        cls.dir = tempfile.mkdtemp(prefix="strata-e2e-table-lifecycle-")
        source = os.path.join(cls.dir, "in.csv")
        xgb_example.write_csv(source, 100)
        for job in ("1", "2", "3", "4"):
            batch(cls.repository, "scores", source, job)
        batch(cls.repository, "other", source, "other")
        db = os.path.join(cls.repository, "tables", "scores", "4", "db")
        sst = sorted(f for f in os.listdir(db) if f.endswith(".sst"))[0]
        with open(os.path.join(db, sst), "r+b") as f:
            f.seek(64)
            f.write(b"\xff" * 64)
        cls.endpoints = os.path.join(cls.dir, "strata.yaml")
        with open(cls.endpoints, "w") as f:
            f.write("endpoints:\n  scores: {plan: static, table: scores, default: 0}\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.repository)
        shutil.rmtree(cls.dir)

    def setUp(self):
        self.publish(1)

    def publish(self, version):
        code, _, err = run_strata("table", "publish", "scores", str(version),
                                  "-r", self.repository)
        self.assertEqual(code, 0, err)

    def serve(self, args=CONTROL):
        return StrataServer(self.repository, ["--endpoints", self.endpoints, *args])

    @staticmethod
    def version_read(server, version=None):
        """The table version that answered an unversioned (or `version`) call."""
        status, body, _ = server.infer("scores", lookup_body([1, 2]), version=version)
        if status != 200:
            return status, body
        return status, body["parameters"]["table_version"]

    @staticmethod
    def control(server, table, action, body=None):
        return server.request("POST", f"/v2/repository/tables/{table}/{action}", body)[:2]

    @staticmethod
    def index(server, table="scores"):
        status, body, _ = server.request("POST", "/v2/repository/tables/index", {})
        assert status == 200, body
        return {line["version"]: line for line in body if line["name"] == table}

    def cli(self, server, *args):
        code, out, err = run_strata("table", *args, "--url", f"http://127.0.0.1:{server.port}")
        self.assertEqual(code, 0, out + err)
        return out

    def test_the_index_lists_the_followed_version_as_the_published_default(self):
        with self.serve() as server:
            line = self.index(server)["1"]
            self.assertEqual(line["state"], "READY")
            self.assertTrue(line["default"])
            self.assertTrue(line["published"])
            self.assertEqual(line["labels"], [])
            status, body, _ = server.request("POST", "/v2/repository/tables/index",
                                             {"ready": "yes"})
            self.assertEqual(status, 400, body)

    def test_a_label_names_a_version_requests_can_ask_for(self):
        with self.serve() as server:
            status, body = self.control(server, "scores", "labels",
                                        {"label": "canary", "version": 2})
            self.assertEqual(status, 200, body)
            self.assertEqual(self.version_read(server, "canary"), (200, 2))
            self.assertEqual(self.version_read(server, "2"), (200, 2))
            self.assertEqual(self.version_read(server), (200, 1))  # the default is unchanged
            self.assertEqual(self.index(server)["2"]["labels"], ["canary"])
            # The CLI verb: `strata table label` removes it again.
            self.assertIn("removed", self.cli(server, "label", "scores", "canary", "none"))
            self.assertEqual(self.version_read(server, "canary")[0], 404)
            # A version that does not exist: refused, nothing changes.
            status, body = self.control(server, "scores", "labels",
                                        {"label": "stable", "version": 99})
            self.assertEqual(status, 404, body)
            self.assertEqual(self.version_read(server, "stable")[0], 404)

    def test_a_pinned_default_holds_across_publishes_and_rollback_goes_back(self):
        with self.serve() as server:
            status, body = self.control(server, "scores", "default", {"version": 2})
            self.assertEqual(status, 200, body)
            self.assertEqual(self.version_read(server), (200, 2))
            self.publish(3)  # the store's pointer moves; the pin holds
            wait_for(lambda: self.index(server).get("3", {}).get("published"))
            self.assertEqual(self.version_read(server), (200, 2))
            self.cli(server, "default", "scores", "latest")
            self.assertEqual(self.version_read(server), (200, 3))
            # Rollback on the server: the previous default, pinned; the
            # store's pointer stays at 3.
            self.assertIn("rolled back", self.cli(server, "rollback", "scores"))
            self.assertEqual(self.version_read(server), (200, 2))
            line = self.index(server)["3"]
            self.assertTrue(line["published"])
            self.assertFalse(line["default"])

    def test_a_version_out_of_service_drains_and_closes(self):
        with self.serve() as server:
            self.publish(2)
            wait_for(lambda: self.version_read(server) == (200, 2))
            wait_for(lambda: "closed table 'scores' version 1" in server.log_text())
            self.assertNotIn("1", self.index(server))
            # Unload: every version drains; the endpoint is not ready.
            status, body = self.control(server, "scores", "unload")
            self.assertEqual(status, 200, body)
            self.assertIn("closed table 'scores' version 2", server.log_text())
            self.assertEqual(self.version_read(server)[0], 503)
            line = self.index(server)[""]  # as models: UNAVAILABLE, and why
            self.assertEqual(line["state"], "UNAVAILABLE")
            self.assertIn("unloaded through the control API", line["reason"])
            status, _, _ = server.request("GET", "/v2/models/scores/ready")
            self.assertEqual(status, 503)
            self.cli(server, "load", "scores")
            self.assertEqual(self.version_read(server), (200, 2))

    def test_a_version_that_fails_to_open_is_kept_with_its_reason(self):
        with self.serve() as server:
            self.publish(2)
            wait_for(lambda: self.version_read(server) == (200, 2))
            # `strata table publish 4` would refuse the corrupt version; point
            # CURRENT at it by hand, as a broken publisher might.
            with open(os.path.join(self.repository, "tables", "scores", "CURRENT"), "w") as f:
                f.write("4\n")
            line = wait_for(lambda: self.index(server).get("4"))
            self.assertEqual(line["state"], "UNAVAILABLE")
            self.assertIn("version 4 refused", line["reason"])
            self.assertTrue(line["published"])
            self.assertEqual(self.version_read(server), (200, 2))
            status, body = self.control(server, "scores", "default", {"version": 4})
            self.assertNotEqual(status, 200, body)
            self.assertEqual(self.version_read(server), (200, 2))

    def test_a_table_no_endpoint_names_is_followed_on_load(self):
        with self.serve() as server:
            self.assertEqual(self.index(server, "other"), {})
            status, body = self.control(server, "other", "load")
            self.assertEqual(status, 200, body)
            self.assertEqual(self.index(server, "other")["1"]["state"], "READY")
            status, body = self.control(server, "missing", "load")
            self.assertEqual(status, 404, body)
            self.assertIn("has no version", body["error"])
            status, body = self.control(server, "scores", "promote")
            self.assertEqual(status, 404, body)
            status, body = self.control(server, "nope", "rollback")
            self.assertEqual(status, 404, body)

    def test_the_table_routes_are_refused_without_the_control_api(self):
        with self.serve(POLL) as server:
            status, body = self.control(server, "scores", "rollback")
            self.assertEqual(status, 403, body)
            self.assertIn("--control-api", body["error"])
            self.assertEqual(self.version_read(server), (200, 1))


if __name__ == "__main__":
    unittest.main()
