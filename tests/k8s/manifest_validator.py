"""Checks strata's Kubernetes manifests offline.

Every kustomization in KUSTOMIZATIONS is rendered with `kubectl kustomize`,
then each object is checked:

- strictly against the Kubernetes API models of Debian's python3-kubernetes:
  every field must exist (a misspelled one fails), have the right type, and
  the required fields must be there; a custom resource (KEDA's ScaledObject)
  against a small schema written here (CUSTOM_SCHEMAS);
- against strata itself: each container running `strata` passes only flags
  that `strata [sub ...] --help` lists; the probe and metrics paths answer 200
  from the real binary started with the Deployment's own arguments (the
  volumes mapped to local directories, the endpoints ConfigMap written out);
  named ports, ConfigMaps, claims, the HPA's metric and the adapter rule that
  provides it, and the drain timing fit together.

Used by test_k8s_manifests.py, and runnable by hand:

    /usr/bin/python3 tests/k8s/manifest_validator.py [--strata build/release/strata]
"""
import argparse
import http.client
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import kubernetes.client
import yaml

SOURCE_DIR = os.environ.get(
    "STRATA_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
DEPLOY_DIR = os.path.join(SOURCE_DIR, "deploy", "k8s")
KUSTOMIZATIONS = ["overlays/dev", "overlays/production", "overlays/production-keda", "batch"]
# Objects a kustomization may name without holding them: the batch Job runs
# beside an overlay and uses its volume and Redis.
EXTERNAL = {"batch": {("PersistentVolumeClaim", "strata-repository")}}
# `strata serve`'s drain after SIGTERM: --drain-delay (serving on, not ready)
# then --drain-timeout (finishing in-flight requests); their defaults. The
# grace period must exceed any preStop sleep plus both.
DRAIN_DELAY_S = 0
DRAIN_TIMEOUT_S = 30

# apiVersion/kind -> model class of python3-kubernetes. Debian's client (22.x,
# Kubernetes 1.22) predates autoscaling/v2, whose schema is the one of
# autoscaling/v2beta2, so that model checks it.
MODEL_CLASSES = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Service"): "V1Service",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("batch/v1", "Job"): "V1Job",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2beta2HorizontalPodAutoscaler",
}

STR, INT, BOOL = "str", "int", "bool"
# A schema is a type string of the python client ("str", "list[V1Probe]",
# "dict(str, str)", a model class name), or a dict {field: schema} for a
# custom object, or a list [schema] for a list of them. "!" ends a required
# field's name.
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): {
        "apiVersion!": STR, "kind!": STR, "metadata!": "V1ObjectMeta",
        "spec!": {
            "scaleTargetRef!": {"apiVersion": STR, "kind": STR, "name!": STR,
                                "envSourceContainerName": STR},
            "pollingInterval": INT, "cooldownPeriod": INT, "initialCooldownPeriod": INT,
            "idleReplicaCount": INT, "minReplicaCount": INT, "maxReplicaCount": INT,
            "fallback": {"failureThreshold!": INT, "replicas!": INT},
            "advanced": {
                "restoreToOriginalReplicaCount": BOOL,
                "horizontalPodAutoscalerConfig": {
                    "name": STR, "behavior": "V2beta2HorizontalPodAutoscalerBehavior"},
                "scalingModifiers": {"formula": STR, "target": STR,
                                     "activationTarget": STR, "metricType": STR},
            },
            "triggers!": [{
                "type!": STR, "name": STR, "metadata!": "dict(str, str)",
                "metricType": STR, "useCachedMetrics": BOOL,
                "authenticationRef": {"name!": STR, "kind": STR},
            }],
        },
    },
}
# Trigger metadata keys KEDA's prometheus scaler requires.
PROMETHEUS_TRIGGER_KEYS = {"serverAddress", "query", "threshold"}


class Problems(list):
    def add(self, where, message):
        self.append(f"{where}: {message}")


# ---- rendering -------------------------------------------------------------

def kubectl():
    return os.environ.get("KUBECTL") or shutil.which("kubectl") or "kubectl"


def render(directory):
    """The objects `kubectl kustomize directory` renders (warnings ignored)."""
    done = subprocess.run([kubectl(), "kustomize", directory], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed:\n{done.stderr}")
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def name_of(obj):
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


# ---- schema ----------------------------------------------------------------

def check_schema(value, schema, where, problems):
    """Checks `value` against a python-client type string or a custom schema."""
    if isinstance(schema, dict):
        return check_custom_object(value, schema, where, problems)
    if isinstance(schema, list):
        if not isinstance(value, list):
            return problems.add(where, f"must be a list, not {type(value).__name__}")
        for i, item in enumerate(value):
            check_schema(item, schema[0], f"{where}[{i}]", problems)
        return None
    if schema.startswith("list["):
        if not isinstance(value, list):
            return problems.add(where, f"must be a list, not {type(value).__name__}")
        for i, item in enumerate(value):
            check_schema(item, schema[5:-1], f"{where}[{i}]", problems)
        return None
    if schema.startswith("dict("):
        if not isinstance(value, dict):
            return problems.add(where, f"must be a map, not {type(value).__name__}")
        inner = schema[schema.index(",") + 1:-1].strip()
        for key, item in value.items():
            if not isinstance(key, str):
                problems.add(where, f"key {key!r} must be a string")
            check_schema(item, inner, f"{where}.{key}", problems)
        return None
    if hasattr(kubernetes.client, schema):
        return check_model(value, getattr(kubernetes.client, schema), where, problems)
    return check_primitive(value, schema, where, problems)


def check_primitive(value, schema, where, problems):
    ok = {
        "str": lambda v: isinstance(v, str),
        "datetime": lambda v: isinstance(v, str),
        "date": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        # IntOrString (ports, maxUnavailable, ...).
        "object": lambda v: isinstance(v, (int, str)) and not isinstance(v, bool),
    }.get(schema)
    if ok is None:
        return problems.add(where, f"validator has no rule for type {schema}")
    if not ok(value):
        want = "an integer or a string" if schema == "object" else f"a {schema}"
        problems.add(where, f"must be {want}, not {type(value).__name__} {value!r}")
    return None


def check_model(value, model, where, problems):
    if not isinstance(value, dict):
        return problems.add(where, f"must be a map ({model.__name__}), not "
                                   f"{type(value).__name__}")
    by_json = {json: attr for attr, json in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            known = ", ".join(sorted(by_json))
            problems.add(where, f"unknown field '{key}' ({model.__name__} has: {known})")
            continue
        check_schema(item, model.openapi_types[by_json[key]], f"{where}.{key}", problems)
    return check_required(value, model, where, problems)


def check_required(value, model, where, problems):
    """The client's own model constructors refuse a missing required field."""
    present = {attr: object() for attr, json in model.attribute_map.items() if json in value}
    try:
        model(**present)
    except ValueError as e:  # "Invalid value for `name`, must not be `None`"
        missing = re.search(r"`(\w+)`, must not be `None`", str(e))
        if missing:
            json = model.attribute_map.get(missing.group(1), missing.group(1))
            problems.add(where, f"missing required field '{json}'")


def check_custom_object(value, schema, where, problems):
    if not isinstance(value, dict):
        return problems.add(where, f"must be a map, not {type(value).__name__}")
    fields = {k.rstrip("!"): (s, k.endswith("!")) for k, s in schema.items()}
    for key, item in value.items():
        if key not in fields:
            problems.add(where, f"unknown field '{key}' (known: {', '.join(sorted(fields))})")
            continue
        check_schema(item, fields[key][0], f"{where}.{key}", problems)
    for key, (_, required) in fields.items():
        if required and key not in value:
            problems.add(where, f"missing required field '{key}'")
    return None


def check_object_schema(obj, problems):
    where = name_of(obj)
    kind = (obj.get("apiVersion"), obj.get("kind"))
    if kind in MODEL_CLASSES:
        check_schema(obj, MODEL_CLASSES[kind], where, problems)
    elif kind in CUSTOM_SCHEMAS:
        check_schema(obj, CUSTOM_SCHEMAS[kind], where, problems)
    else:
        problems.add(where, f"apiVersion {kind[0]} kind {kind[1]} is not one the validator "
                            "knows; add it to MODEL_CLASSES or CUSTOM_SCHEMAS")


# ---- strata's command line -------------------------------------------------

class StrataHelp:
    """The flags and subcommands `strata [chain] --help` lists, cached."""

    def __init__(self, binary):
        self.binary = binary
        self.cache = {}

    def of(self, chain):
        chain = tuple(chain)
        if chain not in self.cache:
            done = subprocess.run([self.binary, *chain, "--help"], capture_output=True,
                                  text=True, timeout=30)
            if done.returncode != 0:
                raise RuntimeError(f"strata {' '.join(chain)} --help failed: {done.stderr}")
            self.cache[chain] = parse_help(done.stdout)
        return self.cache[chain]


def parse_help(text):
    """(set of flags, set of subcommands) from CLI11's help text."""
    flags, subcommands, section = set(), set(), None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1].lower()
            continue
        entry = re.match(r"^  (\S+)", line)
        if not entry:
            continue
        if section == "options" and entry.group(1).startswith("-"):
            flags.update(re.findall(r"--?[A-Za-z0-9][\w-]*", entry.group(1)))
        elif section == "subcommands":
            subcommands.add(entry.group(1))
    return flags, subcommands


def strata_chain(args, help_, where, problems):
    """Checks each flag of `args` against the help of the subcommand it
    follows; returns the subcommand chain (e.g. ["table", "gc"])."""
    chain = []
    for arg in args:
        flags, subcommands = help_.of(chain)
        if arg.startswith("-"):
            flag = arg.split("=", 1)[0]
            if flag not in flags:
                command = " ".join(["strata", *chain])
                problems.add(where, f"'{flag}' is not a flag of `{command}` "
                                    f"(its flags: {', '.join(sorted(flags))})")
        elif arg in subcommands:
            chain.append(arg)
    return chain


def is_strata(container):
    command = container.get("command") or []
    return bool(command) and os.path.basename(command[0]) == "strata"


def pod_specs(obj):
    """(where, pod spec) of a Deployment or a Job."""
    if obj.get("kind") in ("Deployment", "Job"):
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec")
        if isinstance(spec, dict):
            yield name_of(obj), spec


def containers_of(spec):
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                yield c


def check_strata_args(objects, help_, problems):
    for where, spec in (p for o in objects for p in pod_specs(o)):
        for c in containers_of(spec):
            if is_strata(c):
                strata_chain(c.get("args") or [], help_, f"{where} container {c.get('name')}",
                             problems)


# ---- how the objects fit together ------------------------------------------

def index(objects):
    return {(o.get("kind"), (o.get("metadata") or {}).get("name")): o for o in objects}


def template_labels(deployment):
    return ((deployment["spec"]["template"].get("metadata") or {}).get("labels")) or {}


def selected_deployments(objects, selector):
    return [o for o in objects if o.get("kind") == "Deployment" and selector and
            all(template_labels(o).get(k) == v for k, v in selector.items())]


def check_services(objects, problems):
    for svc in (o for o in objects if o.get("kind") == "Service"):
        selector = svc["spec"].get("selector") or {}
        pods = selected_deployments(objects, selector)
        if not pods:
            problems.add(name_of(svc), f"selector {selector} matches no Deployment's pods")
        for port in svc["spec"].get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            for d in pods:
                declared = [p for c in d["spec"]["template"]["spec"]["containers"]
                            for p in c.get("ports") or []]
                if not any(target in (p.get("name"), p.get("containerPort")) for p in declared):
                    problems.add(name_of(svc), f"targetPort {target!r} is no port of "
                                               f"{name_of(d)}'s containers")


def check_references(objects, external, problems):
    known = set(index(objects)) | external
    for where, spec in (p for o in objects for p in pod_specs(o)):
        for volume in spec.get("volumes") or []:
            if "configMap" in volume:
                ref = ("ConfigMap", volume["configMap"].get("name"))
            elif "persistentVolumeClaim" in volume:
                ref = ("PersistentVolumeClaim", volume["persistentVolumeClaim"].get("claimName"))
            else:
                continue
            if ref not in known:
                problems.add(where, f"volume '{volume.get('name')}' names {ref[0]} "
                                    f"'{ref[1]}', which is not in the manifests")
    for o in objects:
        if o.get("kind") == "PodDisruptionBudget":
            selector = (o["spec"].get("selector") or {}).get("matchLabels") or {}
            if not selected_deployments(objects, selector):
                problems.add(name_of(o), f"selector {selector} matches no Deployment's pods")
        if o.get("kind") in ("HorizontalPodAutoscaler", "ScaledObject"):
            target = o["spec"].get("scaleTargetRef") or {}
            if ("Deployment", target.get("name")) not in known:
                problems.add(name_of(o), f"scaleTargetRef names Deployment "
                                         f"'{target.get('name')}', which is not in the manifests")


def adapter_metrics(objects, problems):
    """Names of the custom metrics the prometheus-adapter rules provide."""
    names = set()
    for o in objects:
        text = (o.get("data") or {}).get("config.yaml") if o.get("kind") == "ConfigMap" else None
        if not text or "rules" not in text:
            continue
        config = yaml.safe_load(text) or {}
        for i, rule in enumerate(config.get("rules") or []):
            where = f"{name_of(o)} rules[{i}]"
            for key in ("seriesQuery", "metricsQuery", "resources", "name"):
                if key not in rule:
                    problems.add(where, f"prometheus-adapter rule has no '{key}'")
            name = (rule.get("name") or {}).get("as")
            if name:
                names.add(name)
            if "<<.LabelMatchers>>" not in rule.get("metricsQuery", ""):
                problems.add(where, "metricsQuery must filter by <<.LabelMatchers>> "
                                    "(per pod), or every pod gets the same value")
    return names


def check_autoscaling(objects, problems):
    provided = adapter_metrics(objects, problems)
    for o in objects:
        if o.get("kind") == "HorizontalPodAutoscaler":
            for m in o["spec"].get("metrics") or []:
                name = ((m.get("pods") or m.get("object") or {}).get("metric") or {}).get("name")
                if name and name not in provided:
                    problems.add(name_of(o), f"metric '{name}' is provided by no "
                                             "prometheus-adapter rule in the manifests")
        if o.get("kind") == "ScaledObject":
            for i, t in enumerate(o["spec"].get("triggers") or []):
                missing = PROMETHEUS_TRIGGER_KEYS - set(t.get("metadata") or {})
                if t.get("type") == "prometheus" and missing:
                    problems.add(f"{name_of(o)} triggers[{i}]",
                                 f"prometheus trigger lacks {', '.join(sorted(missing))}")


def prestop_sleep_seconds(container):
    command = (((container.get("lifecycle") or {}).get("preStop") or {}).get("exec")
               or {}).get("command") or []
    if len(command) == 2 and command[0] == "sleep" and str(command[1]).isdigit():
        return int(command[1])
    return 0


def flag_seconds(args, flag, default):
    """The value of `--flag=N` or `--flag N` in `args`, in seconds."""
    for i, arg in enumerate(args):
        if arg.startswith(flag + "="):
            return float(arg.split("=", 1)[1])
        if arg == flag and i + 1 < len(args):
            return float(args[i + 1])
    return default


def check_drain_timing(objects, problems):
    for where, spec in (p for o in objects for p in pod_specs(o)):
        for c in spec.get("containers") or []:
            args = [str(a) for a in c.get("args") or []]
            if not is_strata(c) or "serve" not in args:
                continue
            grace = spec.get("terminationGracePeriodSeconds", 30)
            need = (prestop_sleep_seconds(c) + flag_seconds(args, "--drain-delay", DRAIN_DELAY_S)
                    + flag_seconds(args, "--drain-timeout", DRAIN_TIMEOUT_S))
            if grace <= need:
                problems.add(where, f"terminationGracePeriodSeconds {grace} leaves no margin "
                                    f"over the preStop sleep, the drain delay and the drain "
                                    f"timeout ({need:g} s)")


# ---- probes against the real binary ----------------------------------------

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_mounts(container, spec, objects, repository, scratch):
    """mountPath -> a local directory standing in for the volume."""
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    by_name = index(objects)
    mounts = {}
    for m in container.get("volumeMounts") or []:
        volume = volumes.get(m.get("name"), {})
        local = tempfile.mkdtemp(dir=scratch)
        if "persistentVolumeClaim" in volume:
            local = repository
        elif "configMap" in volume:
            config_map = by_name.get(("ConfigMap", volume["configMap"].get("name"))) or {}
            for key, text in (config_map.get("data") or {}).items():
                with open(os.path.join(local, key), "w") as f:
                    f.write(text)
        mounts[m["mountPath"].rstrip("/")] = local
    return mounts


def local_args(args, mounts, port, grpc_port):
    """The container's arguments for a run on this machine."""
    out = []
    for arg in args:
        flag, eq, value = arg.partition("=")
        if eq and flag == "--host":
            value = "127.0.0.1"
        elif eq and flag in ("--port", "-p"):
            value = str(port)
        elif eq and flag == "--grpc-port":
            value = str(grpc_port)
        elif eq and flag == "--redis":
            value = f"redis://127.0.0.1:{free_port()}"  # nothing there: tables fall back
        for path in sorted(mounts, key=len, reverse=True):
            if value == path or value.startswith(path + "/"):
                value = mounts[path] + value[len(path):]
                break
        out.append(f"{flag}={value}" if eq else arg)
    return out


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def container_port(container, port):
    """A probe's port (a name or a number) as a number, or None."""
    for p in container.get("ports") or []:
        if port in (p.get("name"), p.get("containerPort")):
            return p.get("containerPort")
    return port if isinstance(port, int) else None


def arg_value(args, flag, default):
    for arg in args:
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return default


def http_checks(container, pod_annotations):
    """(what, port as the container declares it, path) to GET."""
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = (container.get(probe) or {}).get("httpGet")
        if get:
            yield probe, container_port(container, get.get("port")), get.get("path", "/")
    if pod_annotations.get("prometheus.io/scrape") == "true":
        port = pod_annotations.get("prometheus.io/port", "")
        yield ("prometheus.io annotations", int(port) if port.isdigit() else None,
               pod_annotations.get("prometheus.io/path", "/metrics"))


class StrataProcess:
    """`strata` run with a container's arguments on loopback ports."""

    def __init__(self, binary, args, port, scratch):
        self.log_path = os.path.join(scratch, "strata.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, *args], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.port = port

    def wait_listening(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if f"listening on http://127.0.0.1:{self.port}" in self.log_text():
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def check_probes(objects, binary, repository, problems):
    """Starts `strata serve` as each Deployment would and GETs its probes."""
    for obj in objects:
        for where, spec in pod_specs(obj):
            annotations = (obj["spec"]["template"].get("metadata") or {}).get("annotations") or {}
            for c in spec.get("containers") or []:
                if is_strata(c) and "serve" in (c.get("args") or []):
                    probe_container(where, c, spec, annotations, objects, binary, repository,
                                    problems)


def probe_container(where, c, spec, annotations, objects, binary, repository, problems):
    where = f"{where} container {c.get('name')}"
    args = c.get("args") or []
    serving_port = int(arg_value(args, "--port", "8000"))
    checks = list(http_checks(c, annotations))
    for what, port, path in checks:
        if port != serving_port:
            problems.add(where, f"{what}: port {port} is not strata's HTTP port "
                                f"{serving_port} (--port)")
    scratch = tempfile.mkdtemp(prefix="strata-k8s-")
    port = free_port()
    mounts = local_mounts(c, spec, objects, repository, scratch)
    server = StrataProcess(binary, local_args(args, mounts, port, free_port()), port, scratch)
    try:
        if not server.wait_listening():
            return problems.add(where, "strata did not start with the container's "
                                       f"arguments:\n{server.log_text()[-2000:]}")
        for what, _, path in checks:
            status = http_get(port, path)
            if status != 200:
                problems.add(where, f"{what}: GET {path} answered {status}, not 200; "
                                    "strata serves /v2/health/live, /v2/health/ready, /metrics")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return None


# ---- all together ----------------------------------------------------------

def validate(objects, strata_bin=None, repository=None, external=frozenset()):
    """Every problem found in `objects` (rendered manifests), as text."""
    problems = Problems()
    for obj in objects:
        check_object_schema(obj, problems)
    if problems:
        return problems  # the checks below assume well-formed objects
    check_services(objects, problems)
    check_references(objects, set(external), problems)
    check_autoscaling(objects, problems)
    check_drain_timing(objects, problems)
    if strata_bin:
        check_strata_args(objects, StrataHelp(strata_bin), problems)
        if repository:
            check_probes(objects, strata_bin, repository, problems)
    return problems


def validate_kustomization(name, strata_bin=None, repository=None):
    objects = render(os.path.join(DEPLOY_DIR, name))
    return validate(objects, strata_bin, repository, EXTERNAL.get(name, frozenset()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strata", default=os.path.join(SOURCE_DIR, "build/release/strata"))
    parser.add_argument("--repository", default=os.path.join(SOURCE_DIR, "examples/repository"))
    parser.add_argument("kustomizations", nargs="*", default=KUSTOMIZATIONS)
    a = parser.parse_args()
    failed = 0
    for name in a.kustomizations:
        problems = validate_kustomization(name, a.strata, a.repository)
        print(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for p in problems:
            print(f"  {p}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
