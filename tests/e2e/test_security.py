"""Issue 15, items 1-3: TLS on REST and gRPC from one certificate configuration
(mutual TLS, rotation without restart, an admin port), API keys with scopes
(every route with no key, a wrong, expired, unscoped or other-model key; path
tricks), and per-tenant rate limits charged by rows, exact under concurrent
clients. Real clients: curl, http.client with an SSL context, gRPC Python with
certificates, openssl s_client."""
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import numpy as np
import xgboost as xgb

from harness import certificates
from harness.protocol_clients import grpc, inference_pb2, inference_pb2_grpc
from harness.strata_server import StrataServer, run_strata
from harness.waiting import wait_for
import grpc_reflection_pb2  # noqa: E402 (generated; protocol_clients puts it on the path)

FEATURES = 4
SECRETS = {  # key id -> secret
    "all": "sk_all_0123456789", "alpha": "sk_alpha_0123456789", "meta": "sk_meta_0123456789",
    "expired": "sk_expired_0123456789", "limited": "sk_limited_0123456789",
    "limited_grpc": "sk_limited_grpc_0123456789",
    "keyed": "sk_keyed_0123456789", "keyed_other": "sk_keyed_other_0123456789",
    "revocable": "sk_revocable_0123456789",  # in the keys file only while a test needs it
}
BURST = 100  # rows, tenant "limited"
KEY_BURST = 40  # rows, key "keyed" (its tenant "keyed_shop" has TENANT_BURST)
TENANT_BURST = 1000


def make_repository(root):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, FEATURES)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
                        xgb.DMatrix(x, label=(x[:, 0] > 0).astype(np.float32)),
                        num_boost_round=3)
    for name in ("alpha", "beta"):
        os.makedirs(os.path.join(root, "models", name, "1"))
        with open(os.path.join(root, "models", name, "config.yaml"), "w") as f:
            f.write("backend: xgboost\nmax_batch_size: 1024\ninputs:\n"
                    "  - {name: features, datatype: FP32, shape: [-1, %d]}\n"
                    "outputs:\n  - {name: probability, datatype: FP32, shape: [-1]}\n"
                    "parameters:\n  threads: 1\n  output: probability\n" % FEATURES)
        booster.save_model(os.path.join(root, "models", name, "1", "model.json"))


def key_hash(secret):
    code, out, err = run_strata("keys", "hash", stdin=secret + "\n")
    assert code == 0, err
    return out.strip()


def keys_yaml(extra=""):
    def entry(key_id, tenant, scopes, models, expires=None, rate=None):
        text = ("  - id: %s\n    tenant: %s\n    secret_sha256: %s\n    scopes: [%s]\n"
                "    models: [%s]\n" % (key_id, tenant, key_hash(SECRETS[key_id]),
                                        ", ".join(scopes), ", ".join(models)))
        text += "    rate: %s\n" % rate if rate else ""
        return text + ("    expires: %s\n" % expires if expires else "")
    every = ["infer", "metadata", "control", "metrics"]
    return ("keys:\n" + entry("all", "ops", every, ['"*"']) +
            entry("alpha", "shop", ["infer", "metadata"], ["alpha"]) +
            entry("meta", "shop", ["metadata"], ['"*"']) +
            entry("expired", "shop", every, ['"*"'], "2020-01-01T00:00:00Z") +
            entry("limited", "limited", ["infer"], ['"*"']) +
            entry("limited_grpc", "limited_grpc", ["infer"], ['"*"']) +
            entry("keyed", "keyed_shop", ["infer"], ['"*"'],
                  rate="{rows_per_second: 0.0001, burst: %d}" % KEY_BURST) +
            entry("keyed_other", "keyed_shop", ["infer"], ['"*"']) + extra +
            "tenants:\n  limited: {rows_per_second: 0.0001, burst: %d}\n"
            "  limited_grpc: {rows_per_second: 0.0001, burst: 8}\n"
            "  keyed_shop: {rows_per_second: 0.0001, burst: %d}\n" % (BURST, TENANT_BURST))


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def infer_body(rows):
    return json.dumps({"inputs": [{"name": "features", "datatype": "FP32",
                                   "shape": [rows, FEATURES], "data": [0.5] * (rows * FEATURES)}]})


def bearer(key_id):
    return {"Authorization": "Bearer " + SECRETS[key_id]} if key_id else {}


class Fixture:
    """Certificates, a repository of two models and a keys file, made once."""
    directory = None

    @classmethod
    def get(cls):
        if cls.directory is None:
            cls.directory = tempfile.mkdtemp(prefix="strata-security-")
            cls.paths = certificates.make_all(cls.directory)
            cls.repository = os.path.join(cls.directory, "repository")
            make_repository(cls.repository)
            cls.keys = os.path.join(cls.directory, "keys.yaml")
            write_atomically(cls.keys, keys_yaml())
        return cls


def tearDownModule():
    if Fixture.directory:
        shutil.rmtree(Fixture.directory, ignore_errors=True)


def tls_context(paths, client=False):
    context = ssl.create_default_context(cafile=paths["ca"])
    if client:
        context.load_cert_chain(paths["client_cert"], paths["client_key"])
    return context


def https_request(port, context, method, path, body=None, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        return response.status, raw, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def grpc_stub(port, paths, client=False):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_bytes(paths["ca"]),
        private_key=read_bytes(paths["client_key"]) if client else None,
        certificate_chain=read_bytes(paths["client_cert"]) if client else None)
    channel = grpc.secure_channel("127.0.0.1:%d" % port, credentials,
                                  options=[("grpc.ssl_target_name_override", "localhost")])
    return channel, inference_pb2_grpc.GRPCInferenceServiceStub(channel)


def grpc_infer_request(model, rows):
    request = inference_pb2.ModelInferRequest(model_name=model)
    tensor = request.inputs.add(name="features", datatype="FP32", shape=[rows, FEATURES])
    tensor.contents.fp32_contents.extend([0.5] * (rows * FEATURES))
    return request


def metadata(key_id):
    return [("authorization", "Bearer " + SECRETS[key_id])] if key_id else []


class TlsAndKeysTest(unittest.TestCase):
    """HTTPS and gRPC over TLS with a keys file."""

    @classmethod
    def setUpClass(cls):
        fixture = Fixture.get()
        cls.paths = fixture.paths
        cls.keys = fixture.keys
        cls.server = StrataServer(fixture.repository, [
            "--tls-cert", cls.paths["cert"], "--tls-key", cls.paths["key"],
            "--keys-file", cls.keys, "--control-api", "--security-reload-ms", "200",
            "--access-log"])
        cls.server.__enter__()
        cls.context = tls_context(cls.paths)

    @classmethod
    def tearDownClass(cls):
        # The log (with the access log) never holds a secret or its hash.
        log = cls.server.log_text()
        cls.server.__exit__(None, None, None)
        leaked = [key_id for key_id, secret in SECRETS.items()
                  if secret in log or key_hash(secret) in log]
        assert "Bearer" not in log and not leaked, "secrets in the server log: %s" % leaked
        assert '"access":' in log, "the access log was not written"

    def request(self, method, path, key_id=None, body=None):
        headers = bearer(key_id)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return https_request(self.server.port, self.context, method, path, body, headers)

    def test_curl_over_https(self):
        done = subprocess.run(
            ["curl", "-sS", "--cacert", self.paths["ca"], "-H",
             "Authorization: Bearer " + SECRETS["alpha"], "-d", infer_body(2),
             "https://127.0.0.1:%d/v2/models/alpha/infer" % self.server.port],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["outputs"][0]["shape"], [2])
        plain = subprocess.run(["curl", "-sS", "http://127.0.0.1:%d/v2/health/live" %
                                self.server.port], capture_output=True, timeout=30)
        self.assertNotEqual(plain.returncode, 0)  # no plain HTTP on a TLS port

    def test_http_client_with_an_ssl_context(self):
        status, raw, _ = self.request("POST", "/v2/models/alpha/infer", "alpha", infer_body(3))
        self.assertEqual(status, 200, raw)
        self.assertEqual(len(json.loads(raw)["outputs"][0]["data"]), 3)
        status, _, _ = self.request("GET", "/v2/health/ready")
        self.assertEqual(status, 200)

    def test_grpc_with_certificates(self):
        channel, stub = grpc_stub(self.server.grpc_port, self.paths)
        with channel:
            self.assertTrue(stub.ServerLive(inference_pb2.ServerLiveRequest()).live)
            self.assertTrue(stub.ServerReady(inference_pb2.ServerReadyRequest()).ready)
            response = stub.ModelInfer(grpc_infer_request("alpha", 2), metadata=metadata("alpha"))
            self.assertEqual(list(response.outputs[0].shape), [2])
            cases = [("alpha", None, grpc.StatusCode.UNAUTHENTICATED),
                     ("alpha", "expired", grpc.StatusCode.UNAUTHENTICATED),
                     ("beta", "alpha", grpc.StatusCode.PERMISSION_DENIED),
                     ("alpha", "meta", grpc.StatusCode.PERMISSION_DENIED)]
            for model, key_id, code in cases:
                with self.assertRaises(grpc.RpcError) as caught:
                    stub.ModelInfer(grpc_infer_request(model, 1), metadata=metadata(key_id))
                self.assertEqual(caught.exception.code(), code, (model, key_id))
            with self.assertRaises(grpc.RpcError) as caught:
                stub.ModelInfer(grpc_infer_request("alpha", 1),
                                metadata=[("authorization", "Bearer sk_wrong")])
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            self.assert_grpc_metadata_routes(stub)

    def assert_grpc_metadata_routes(self, stub):
        calls = [
            (stub.ServerMetadata, inference_pb2.ServerMetadataRequest(), "meta", None),
            (stub.ModelMetadata, inference_pb2.ModelMetadataRequest(name="beta"), "meta", "alpha"),
            (stub.ModelReady, inference_pb2.ModelReadyRequest(name="beta"), "meta", "alpha"),
            (stub.ModelConfig, inference_pb2.ModelConfigRequest(name="beta"), "meta", "alpha"),
            (stub.ModelStatistics, inference_pb2.ModelStatisticsRequest(), "meta", "alpha"),
            (stub.RepositoryIndex, inference_pb2.RepositoryIndexRequest(), "all", "meta"),
        ]
        for rpc, request, good, denied in calls:
            rpc(request, metadata=metadata(good))
            with self.assertRaises(grpc.RpcError) as caught:
                rpc(request)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            if denied:
                with self.assertRaises(grpc.RpcError) as caught:
                    rpc(request, metadata=metadata(denied))
                self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

    def test_openssl_s_client(self):
        done = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.server.port,
             "-CAfile", self.paths["ca"], "-verify_return_error", "-ign_eof"],
            input=b"GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n", capture_output=True, timeout=30)
        out = done.stdout.decode(errors="replace")
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertIn("HTTP/1.1 200", out)
        self.assertRegex(out, r"Protocol\s*: TLSv1\.[23]")

    ROUTES = [  # method, path, body, the key that may, a key that lacks the scope
        ("GET", "/v2", None, "meta", "limited"),
        ("GET", "/v2/models/alpha", None, "meta", "limited"),
        ("GET", "/v2/models/alpha/ready", None, "meta", "limited"),
        ("GET", "/v2/models/alpha/config", None, "meta", "limited"),
        ("GET", "/v2/models/alpha/stats", None, "meta", "limited"),
        ("GET", "/v2/models/alpha/versions/1", None, "meta", "limited"),
        ("GET", "/v2/models/stats", None, "meta", "limited"),
        ("POST", "/v2/models/alpha/infer", infer_body(1), "alpha", "meta"),
        ("POST", "/v2/models/alpha/versions/1/infer", infer_body(1), "alpha", "meta"),
        ("GET", "/v2/advisor", None, "meta", "limited"),
        ("GET", "/metrics", None, "all", "meta"),
        ("GET", "/", None, "all", "meta"),
        ("POST", "/v2/repository/index", "{}", "all", "meta"),
        ("POST", "/v2/repository/models/alpha/load", None, "all", "meta"),
        ("POST", "/v2/repository/tables/index", "{}", "all", "meta"),
    ]

    def test_every_route_needs_a_valid_key_with_its_scope(self):
        for method, path, body, good, unscoped in self.ROUTES:
            for key_id, expected in ((None, 401), ("expired", 401), (unscoped, 403)):
                status, raw, headers = self.request(method, path, key_id, body)
                self.assertEqual(status, expected, (method, path, key_id, raw))
                self.assertIn("error", json.loads(raw))
                if expected == 401:
                    self.assertIn("Bearer", headers.get("www-authenticate", ""))
            wrong = https_request(self.server.port, self.context, method, path, body,
                                  {"Authorization": "Bearer sk_not_a_key"})
            self.assertEqual(wrong[0], 401, path)
            malformed = https_request(self.server.port, self.context, method, path, body,
                                      {"Authorization": "Basic dXNlcjpwYXNz"})
            self.assertEqual(malformed[0], 401, path)
            status, raw, _ = self.request(method, path, good, body)
            self.assertNotIn(status, (401, 403), (method, path, raw))

    def test_a_key_for_another_model_is_refused(self):
        for method, path, body in [("POST", "/v2/models/beta/infer", infer_body(1)),
                                   ("GET", "/v2/models/beta", None),
                                   ("GET", "/v2/models/beta/ready", None),
                                   ("GET", "/v2/models/stats", None),
                                   ("GET", "/v2/advisor/beta", None)]:
            status, raw, _ = self.request(method, path, "alpha", body)
            self.assertEqual(status, 403, (path, raw))
            self.assertIn("error", json.loads(raw))

    def test_health_probes_stay_open(self):
        for path in ("/v2/health/live", "/v2/health/ready"):
            self.assertEqual(self.request("GET", path)[0], 200)

    PATH_TRICKS = [
        "/v2/models/alpha/../beta/infer", "/v2/models/alpha/..%2Fbeta/infer",
        "/v2/models/%62eta/infer", "/v2/models/%62%65%74%61/infer", "//v2//models//beta//infer",
        "/v2/models/beta%2Finfer", "/v2/models/./beta/infer", "/v2/health/live/../../models/beta/infer",
        "/v2/health/../models/beta/infer", "/v2/models/alpha/infer/../../beta/infer",
        "/v2/models/alpha%00/../beta/infer", "/v2/models/beta/infer?model=alpha",
        "/v2/models/BETA/infer", "/v2/models/beta/versions/1/infer",
        "/v2/models/alpha/versions/../../beta/infer",
    ]
    ADMIN_TRICKS = ["/metrics/", "//metrics", "/%6detrics", "/v2/health/live/../../../metrics",
                    "/v2/../metrics", "/./metrics", "/v2/health/ready/../../repository/index",
                    "/v2/repository/./index", "/v2/%72epository/index", "//v2/repository//index"]

    def test_path_tricks_never_bypass_a_check(self):
        for path in self.PATH_TRICKS:
            status, raw, _ = self.request("POST", path, "alpha", infer_body(1))
            self.assertNotEqual(status, 200, (path, raw))
            self.assertIn(status, (400, 403, 404), (path, raw))
        for path in self.ADMIN_TRICKS:
            for method in ("GET", "POST"):
                status, raw, _ = self.request(method, path, "alpha", "{}")
                self.assertIn(status, (400, 403, 404), (method, path, raw))

    def test_failures_are_counted_in_metrics(self):
        self.request("GET", "/v2/models/alpha")
        self.request("GET", "/v2/models/alpha", "expired")
        status, raw, _ = self.request("GET", "/metrics", "all")
        self.assertEqual(status, 200)
        text = raw.decode()
        for reason in ("missing", "expired"):
            value = re.search(r'strata_auth_failures_total\{reason="%s"\} (\S+)' % reason, text)
            self.assertTrue(value and float(value.group(1)) >= 1, reason)
        self.assertIn("strata_auth_keys 8", text)

    def test_the_keys_file_reloads_without_restart(self):
        code, secret, err = run_strata("keys", "add", "--file", self.keys + ".new", "--id",
                                       "fresh", "--tenant", "new", "--scopes", "metadata",
                                       "--models", "alpha")
        self.assertEqual(code, 0, err)
        secret = secret.strip()
        self.assertTrue(secret.startswith("sk_"))
        with open(self.keys + ".new") as f:
            entry = f.read().split("keys:", 1)[1]
        headers = {"Authorization": "Bearer " + secret}
        path = "/v2/models/alpha"
        self.assertEqual(https_request(self.server.port, self.context, "GET", path, None,
                                       headers)[0], 401)
        original = keys_yaml()
        try:
            write_atomically(self.keys, original.replace("tenants:", entry.lstrip("\n") +
                                                         "tenants:"))
            self.assertTrue(self.wait_for_status(path, headers, 200))
            write_atomically(self.keys, "keys: [broken\n")  # kept: the previous keys
            time.sleep(1)
            self.assertEqual(https_request(self.server.port, self.context, "GET", path, None,
                                           headers)[0], 200)
        finally:
            write_atomically(self.keys, original)
        self.assertTrue(self.wait_for_status(path, headers, 401))

    def reloads(self):
        text = self.request("GET", "/metrics", "all")[1].decode()
        found = re.search(r'strata_auth_keys_reloads_total\{result="ok"\} (\S+)', text)
        return float(found.group(1)) if found else 0.0

    def test_revoking_a_key_refuses_the_next_request_on_the_same_connection(self):
        # The server remembers a key's token once matched (auth/key_lookup.h): a keys file
        # without the key must refuse it at once, on a connection that used it just before.
        revocable = ("  - {id: revocable, tenant: shop, secret_sha256: %s, scopes: [infer], "
                     "models: [alpha]}\n" % key_hash(SECRETS["revocable"]))
        original = keys_yaml()
        before = self.reloads()
        write_atomically(self.keys, original.replace("tenants:", revocable + "tenants:"))
        wait_for(lambda: self.reloads() > before)
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.context,
                                           timeout=30)
        channel, stub = grpc_stub(self.server.grpc_port, self.paths)
        path = "/v2/models/alpha/infer"
        headers = dict(bearer("revocable"), **{"Content-Type": "application/json"})

        def rest_status():
            conn.request("POST", path, body=infer_body(1), headers=headers)
            used = conn.sock
            response = conn.getresponse()
            response.read()
            return response.status, used

        try:
            for _ in range(3):
                status, sock = rest_status()
                self.assertEqual(status, 200)
                stub.ModelInfer(grpc_infer_request("alpha", 1), metadata=metadata("revocable"),
                                timeout=30)
            before = self.reloads()
            write_atomically(self.keys, original)
            wait_for(lambda: self.reloads() > before)
            status, used = rest_status()
            self.assertEqual(status, 401)
            self.assertIs(used, sock, "the request went on a new connection")
            with self.assertRaises(grpc.RpcError) as refused:
                stub.ModelInfer(grpc_infer_request("alpha", 1), metadata=metadata("revocable"),
                                timeout=30)
            self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        finally:
            write_atomically(self.keys, original)
            conn.close()
            channel.close()

    def wait_for_status(self, path, headers, expected):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if https_request(self.server.port, self.context, "GET", path, None,
                             headers)[0] == expected:
                return True
            time.sleep(0.1)
        return False

    def test_rate_limit_is_exact_under_concurrent_clients(self):
        rows = 4  # BURST / rows requests fit; the rate refills nothing in the test
        admitted, refused, lock = [], [], threading.Lock()

        def client(_):
            conn = http.client.HTTPSConnection("127.0.0.1", self.server.port,
                                               context=self.context, timeout=30)
            for _ in range(15):
                conn.request("POST", "/v2/models/alpha/infer", infer_body(rows),
                             {**bearer("limited"), "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                with lock:
                    (admitted if response.status == 200 else refused).append(
                        (response.status, dict(response.getheaders())))
            conn.close()

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(client, range(4)))
        self.assertEqual(len(admitted) * rows, BURST)
        self.assertEqual(len(refused), 60 - BURST // rows)
        status, headers = refused[0]
        self.assertEqual(status, 429)
        self.assertEqual(headers["X-RateLimit-Limit"], str(BURST))
        self.assertEqual(headers["X-RateLimit-Remaining"], "0")
        self.assertGreater(int(headers["Retry-After"]), 0)
        self.assertIn("X-RateLimit-Reset", headers)
        self.assertIn("X-RateLimit-Remaining", admitted[0][1])
        status, raw, _ = self.request("GET", "/metrics", "all")
        self.assertRegex(raw.decode(), r'strata_tenant_rows_total\{tenant="limited"\} %d\b' %
                         BURST)
        self.assertRegex(raw.decode(), r'strata_tenant_rate_limited_total\{tenant="limited"\} %d\b'
                         % len(refused))

    def test_grpc_rate_limit_is_resource_exhausted(self):
        channel, stub = grpc_stub(self.server.grpc_port, self.paths)
        with channel:
            for _ in range(2):  # burst 8
                stub.ModelInfer(grpc_infer_request("alpha", 4), metadata=metadata("limited_grpc"))
            with self.assertRaises(grpc.RpcError) as caught:
                stub.ModelInfer(grpc_infer_request("alpha", 1), metadata=metadata("limited_grpc"))
            self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
            trailers = dict(caught.exception.trailing_metadata())
            self.assertEqual(trailers["x-ratelimit-remaining"], "0")
            self.assertIn("retry-after", trailers)

    def test_key_rate_limit_is_exact_under_concurrent_clients(self):
        rows = 2  # KEY_BURST / rows requests fit the key's own bucket
        results, lock = [], threading.Lock()

        def client(_):
            conn = http.client.HTTPSConnection("127.0.0.1", self.server.port,
                                               context=self.context, timeout=30)
            for _ in range(10):
                conn.request("POST", "/v2/models/alpha/infer", infer_body(rows),
                             {**bearer("keyed"), "Content-Type": "application/json"})
                response = conn.getresponse()
                body = response.read()
                with lock:
                    results.append((response.status, body))
            conn.close()

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(client, range(4)))
        admitted = [r for r in results if r[0] == 200]
        refused = [r for r in results if r[0] != 200]
        self.assertEqual(len(admitted) * rows, KEY_BURST)
        self.assertEqual(len(refused), 40 - KEY_BURST // rows)
        self.assertTrue(all(status == 429 for status, _ in refused))
        self.assertIn("API key 'keyed'", json.loads(refused[0][1])["error"])
        # The tenant was charged the admitted rows only: its other key (no
        # limit of its own) has exactly the rest, then the tenant refuses.
        rest = TENANT_BURST - KEY_BURST
        status, raw, _ = self.request("POST", "/v2/models/alpha/infer", "keyed_other",
                                      infer_body(rest))
        self.assertEqual(status, 200, raw)
        status, raw, _ = self.request("POST", "/v2/models/alpha/infer", "keyed_other",
                                      infer_body(1))
        self.assertEqual(status, 429, raw)
        self.assertIn("tenant 'keyed_shop'", json.loads(raw)["error"])
        status, raw, _ = self.request("GET", "/metrics", "all")
        self.assertRegex(raw.decode(), r'strata_key_rate_limited_total\{key="keyed"\} %d\b' %
                         len(refused))

    def test_grpc_reflection_is_refused_when_keys_are_on(self):
        channel, _ = grpc_stub(self.server.grpc_port, self.paths)
        with channel:
            call = channel.stream_stream(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                request_serializer=grpc_reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=grpc_reflection_pb2.ServerReflectionResponse.FromString)
            for key_id in (None, "all"):
                with self.assertRaises(grpc.RpcError) as caught:
                    next(call(iter([grpc_reflection_pb2.ServerReflectionRequest(
                        list_services="")]), metadata=metadata(key_id)))
                self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
                self.assertIn("reflection", caught.exception.details())

    def tls_socket(self):
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        return self.context.wrap_socket(raw, server_hostname="localhost")

    @staticmethod
    def read_response(tls):
        data = b""
        while b"\r\n\r\n" not in data:
            data += tls.recv(4096)
        head, body = data.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < length:
            body += tls.recv(4096)
        return head

    def test_the_server_sends_close_notify_when_it_closes(self):
        tls = self.tls_socket()
        tls.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertIn(b"200 OK", self.read_response(tls))
        # The next read meets the server's close_notify: a clean end of
        # stream (b""), not SSLEOFError (a TCP close without close_notify).
        self.assertEqual(tls.recv(4096), b"")
        tls.unwrap().close()

    def test_the_server_answers_a_clients_close_notify(self):
        tls = self.tls_socket()
        tls.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive
        self.assertIn(b"200 OK", self.read_response(tls))
        started = time.monotonic()
        plain = tls.unwrap()  # sends close_notify and waits for the server's
        self.assertLess(time.monotonic() - started, 2)
        plain.close()

    def test_a_request_larger_than_the_burst_never_fits(self):
        status, raw, headers = self.request("POST", "/v2/models/alpha/infer", "limited_grpc",
                                            infer_body(256))
        self.assertEqual(status, 429, raw)
        self.assertIn("larger than the burst", json.loads(raw)["error"])


class MutualTlsAndAdminPortTest(unittest.TestCase):
    """--tls-client-ca: no client certificate, no connection; --admin-port."""

    @classmethod
    def setUpClass(cls):
        fixture = Fixture.get()
        cls.paths = fixture.paths
        cls.server = StrataServer(fixture.repository, [
            "--tls-cert", cls.paths["cert"], "--tls-key", cls.paths["key"],
            "--tls-client-ca", cls.paths["ca"], "--admin-port", "0", "--keys-file",
            fixture.keys, "--control-api"])
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def test_a_client_without_a_certificate_is_refused(self):
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            https_request(self.server.port, tls_context(self.paths), "GET", "/v2/health/live")
        done = subprocess.run(["curl", "-sS", "--cacert", self.paths["ca"],
                               "https://127.0.0.1:%d/v2/health/live" % self.server.port],
                              capture_output=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        channel, stub = grpc_stub(self.server.grpc_port, self.paths)
        with channel, self.assertRaises(grpc.RpcError) as caught:
            stub.ServerLive(inference_pb2.ServerLiveRequest(), timeout=5)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_a_client_with_a_certificate_is_served(self):
        context = tls_context(self.paths, client=True)
        self.assertEqual(https_request(self.server.port, context, "GET", "/v2/health/live")[0],
                         200)
        done = subprocess.run(["curl", "-sS", "--cacert", self.paths["ca"], "--cert",
                               self.paths["client_cert"], "--key", self.paths["client_key"],
                               "https://127.0.0.1:%d/v2/health/live" % self.server.port],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        channel, stub = grpc_stub(self.server.grpc_port, self.paths, client=True)
        with channel:
            self.assertTrue(stub.ServerLive(inference_pb2.ServerLiveRequest(), timeout=5).live)
            stub.ModelInfer(grpc_infer_request("alpha", 1), metadata=metadata("alpha"))

    def test_metrics_and_control_live_on_the_admin_port_only(self):
        context = tls_context(self.paths, client=True)
        main, admin = self.server.port, self.server.admin_port
        self.assertIsNotNone(admin)
        for path in ("/metrics", "/"):
            self.assertEqual(https_request(main, context, "GET", path, None, bearer("all"))[0], 404)
            self.assertEqual(https_request(admin, context, "GET", path, None, bearer("all"))[0], 200)
        self.assertEqual(https_request(main, context, "POST", "/v2/repository/index", "{}",
                                       bearer("all"))[0], 404)
        self.assertEqual(https_request(admin, context, "POST", "/v2/repository/index", "{}",
                                       bearer("all"))[0], 200)
        self.assertEqual(https_request(admin, context, "POST", "/v2/models/alpha/infer",
                                       infer_body(1), bearer("all"))[0], 404)
        self.assertEqual(https_request(admin, context, "GET", "/v2/health/ready")[0], 200)
        self.assertEqual(https_request(admin, context, "GET", "/metrics")[0], 401)
        channel, stub = grpc_stub(self.server.grpc_port, self.paths, client=True)
        with channel, self.assertRaises(grpc.RpcError) as caught:
            stub.RepositoryIndex(inference_pb2.RepositoryIndexRequest(), metadata=metadata("all"))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("admin port", caught.exception.details())


class CertificateRotationTest(unittest.TestCase):
    """New certificate files are served to new handshakes, REST and gRPC, while
    a bounded load runs, and no request fails. No keys file: open, with a
    warning."""

    def test_rotation_under_load_fails_no_request(self):
        fixture = Fixture.get()
        paths = fixture.paths
        served = tempfile.mkdtemp(prefix="rotation-", dir=fixture.directory)
        cert, key = os.path.join(served, "tls.pem"), os.path.join(served, "tls.key")
        certificates.install(paths["cert"], paths["key"], cert, key)
        with StrataServer(fixture.repository, ["--tls-cert", cert, "--tls-key", key,
                                               "--security-reload-ms", "200"]) as server:
            self.assertIn("no --keys-file", server.log_text())
            self.assertEqual(self.subject(server.port, paths), "strata-first")
            self.assertEqual(self.subject(server.grpc_port, paths, alpn="h2"), "strata-first")
            stop = threading.Event()
            results = {"ok": 0, "failed": []}
            lock = threading.Lock()
            workers = [threading.Thread(target=self.load, args=(server, paths, stop, results,
                                                                lock, i)) for i in range(4)]
            for worker in workers:
                worker.start()
            time.sleep(1.5)
            certificates.install(paths["next_cert"], paths["next_key"], cert, key)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (
                    self.subject(server.port, paths) != "strata-rotated" or
                    self.subject(server.grpc_port, paths, alpn="h2") != "strata-rotated"):
                time.sleep(0.2)
            time.sleep(1.5)
            stop.set()
            for worker in workers:
                worker.join()
            self.assertEqual(self.subject(server.port, paths), "strata-rotated")
            self.assertEqual(self.subject(server.grpc_port, paths, alpn="h2"), "strata-rotated")
            self.assertEqual(results["failed"], [])
            self.assertGreater(results["ok"], 50)

    @staticmethod
    def load(server, paths, stop, results, lock, index):
        """Even workers: a new HTTPS connection per request (a handshake each);
        odd ones: keep-alive HTTPS and a gRPC channel made anew every 10 calls."""
        context = tls_context(paths)
        count = 0
        while not stop.is_set():
            try:
                if index % 2 == 0:
                    status, raw, _ = https_request(server.port, context, "POST",
                                                   "/v2/models/alpha/infer", infer_body(2),
                                                   {"Content-Type": "application/json"})
                    assert status == 200, raw
                else:
                    channel, stub = grpc_stub(server.grpc_port, paths)
                    with channel:
                        for _ in range(10):
                            stub.ModelInfer(grpc_infer_request("alpha", 2), timeout=10)
                count += 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                with lock:
                    results["failed"].append(repr(e))
        with lock:
            results["ok"] += count

    @staticmethod
    def subject(port, paths, alpn=None):
        args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile",
                paths["ca"], "-servername", "localhost"]
        if alpn:
            args += ["-alpn", alpn]
        done = subprocess.run(args, input=b"", capture_output=True, timeout=30)
        match = re.search(r"subject=.*CN\s*=\s*([\w-]+)", done.stdout.decode(errors="replace"))
        return match.group(1) if match else None


if __name__ == "__main__":
    unittest.main()
