"""The files `strata check` reads from a version directory besides samples.json, written by the
example trainers: check/reference.json (a histogram of the training set's scores, for the
statistical check's PSI) and check/heldout.jsonl (held-out rows, one KServe v2 inference request
per line). See docs/checks.md."""
import json

import numpy as np

BINS = 10


def reference_histogram(output, scores, bins=BINS):
    """{"output", "edges", "fractions"}: about equal-mass bins of the training scores. Bin i
    holds edges[i-1] < x <= edges[i] (numpy's searchsorted side="left"), as strata check reads
    it. Each edge sits halfway between two distinct training scores, so a score a server prints
    with fewer digits (float32 as text) never lands across an edge; trees give many tied scores."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    distinct = np.unique(scores)
    cuts = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))
    above = np.searchsorted(distinct, cuts, side="right")
    keep = above < len(distinct)  # no edge at the highest score: the bin above it would be empty
    edges = (cuts[keep] + distinct[above[keep]]) / 2
    counts = np.bincount(np.searchsorted(edges, scores, side="left"), minlength=len(edges) + 1)
    fractions = counts / counts.sum()
    return {"output": output, "edges": [float(e) for e in edges],
            "fractions": [float(f) for f in fractions], "rows": int(len(scores))}


def heldout_lines(input_name, rows):
    """JSON Lines: one single-row FP32 inference request per held-out row."""
    rows = np.asarray(rows, dtype=np.float32)
    lines = []
    for row in rows:
        tensor = {"name": input_name, "datatype": "FP32", "shape": [1, len(row)],
                  "data": [float(x) for x in row]}
        lines.append(json.dumps({"inputs": [tensor]}))
    return "\n".join(lines) + "\n"


def check_files(output, train_scores, input_name, heldout_rows):
    """[(name, bytes)] for write_version: check/reference.json and check/heldout.jsonl."""
    reference = json.dumps(reference_histogram(output, train_scores)) + "\n"
    return [("check/reference.json", reference.encode()),
            ("check/heldout.jsonl", heldout_lines(input_name, heldout_rows).encode())]
