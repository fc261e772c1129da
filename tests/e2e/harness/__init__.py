"""The e2e harness: what the tests in tests/e2e/ share. Tests import from here,
never from one another.

- strata_server: the real binary (`StrataServer` for `strata serve`,
  `run_strata` for the other commands) and the source and build directories.
- repositories: the model repositories the tests read (trained examples,
  fixture models, protocol fixtures) and their samples.
- xgb_example: the breast_cancer_xgb example: deterministic feature rows,
  XGBoost's own answers, CSV input for `strata batch`.
- redis_server: a real redis-server on a free loopback port.
- metrics: reading the Prometheus text of /metrics.
- protocol_clients: REST (JSON, binary tensors) and gRPC clients.
- load_clients: concurrent clients that keep a server busy.
"""
