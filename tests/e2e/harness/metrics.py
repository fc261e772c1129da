"""Reading the Prometheus text that /metrics serves."""


def parse_metrics(text):
    """{(name, frozenset(labels)): value} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        labels = frozenset()
        if "{" in name_labels:
            name, rest = name_labels.split("{", 1)
            pairs = [p for p in rest.rstrip("}").split(",") if p]
            labels = frozenset(tuple(p.split("=", 1)) for p in pairs)
        else:
            name = name_labels
        samples[(name, labels)] = float(value)
    return samples


def metric(samples, name, **labels):
    want = {(k, '"%s"' % v) for k, v in labels.items()}
    return sum(v for (n, l), v in samples.items() if n == name and want <= l)
