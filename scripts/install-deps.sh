#!/usr/bin/env bash
# Installs every Debian 12 package strata needs to build, train its examples, test and benchmark.
# Idempotent: quiet and fast when everything is already there. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see README "Dependencies")
  libboost-dev libabsl-dev libsimdjson-dev rapidjson-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libtorch-dev libxgboost-dev prometheus-cpp-dev
  # OpenBLAS through Debian's BLAS alternatives (libblas.so.3 -> openblas-pthread):
  # LibTorch's and NumPy's matrix products on CPU; strata sets its thread count
  libopenblas0-pthread
  # gRPC frontend: gRPC C++, protobuf and its compilers, zlib (request compression)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc zlib1g-dev
  # fuzz targets (libFuzzer ships with clang's runtime), the formatting check,
  # gRPC e2e tests and h2load
  clang libclang-rt-14-dev clang-format python3-grpcio python3-protobuf nghttp2-client
  # prediction tables: RocksDB (embedded), hiredis and the Redis server (shared)
  librocksdb-dev libhiredis-dev redis-server
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev curl wrk prometheus
  # replicas behind a real load balancer (tests/e2e/test_replicas.py, bench/replicas_bench.py)
  haproxy
  # the HTTP floor peer of the benchmarks (bench/lib/servers.py: nginx's fixed response)
  nginx
  # kill -9 at an exact point of a batch job (tests/e2e/test_batch.py)
  strace
  # instructions and allocations per request (bench/lean_path_profile.py: callgrind)
  valgrind
  # example models and the benchmark peer (run by /usr/bin/python3)
  python3 python3-numpy python3-torch python3-xgboost python3-sklearn
  python3-fastapi python3-uvicorn python3-requests python3-pandas python3-redis
  # Kubernetes manifests (tests/k8s): the API models that check them; SHA-256
  # of backups (OpenSSL's libcrypto)
  python3-kubernetes python3-yaml libssl-dev
  # the Python binding of the feature pipeline (src/features/python)
  pybind11-dev python3-dev
  # TLS (libssl through Asio and gRPC); the openssl command makes the TLS tests'
  # certificates and measures the handshake rate (openssl s_client, s_time)
  openssl
)
# `kubectl kustomize` renders the manifests: Debian's kubernetes-client where
# no kubectl is installed (kubectl 1.20, whose Kustomize v2 the manifests keep to).
command -v kubectl >/dev/null 2>&1 || PACKAGES+=(kubernetes-client)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "strata: installing ${#missing[@]} Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "strata: packages installed"
