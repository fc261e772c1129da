#!/usr/bin/python3
"""Generates key logs (JSON Lines, the format of `strata serve --key-log`) for the
seed's four use cases, so `strata advise` can be tried without traffic:

  spam         spam detection: every message is new (flat, huge cardinality)
  next_word    next-word prediction: a few contexts dominate a vast space (very peaked)
  ad_ctr       ad conversion rate: a small set of ads, mildly skewed
  sales        sales forecast: 100 stores x 1,000 products x 7 days, a known space

Usage: workloads.py SCENARIO OUT.jsonl [--requests N] [--seed S]
Uses numpy only (Debian's python3-numpy); deterministic for a seed."""
import argparse
import json

import numpy as np

SCENARIOS = ("spam", "next_word", "ad_ctr", "sales")
RATE = 2000.0  # requests per second the timestamps imply


def zipf_ranks(rng, exponent, keys, n):
    """n ranks in 1..keys with P(r) ~ r^-exponent (inverse CDF over a table)."""
    weights = np.arange(1, keys + 1, dtype=np.float64) ** -exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(n)) + 1


def keys_for(scenario, rng, n):
    """A list of key dicts, one per request."""
    if scenario == "spam":
        ids = rng.integers(0, 2**62, n)
        return [{"message_hash": int(i)} for i in ids]
    if scenario == "next_word":
        # 2M contexts, Zipf 1.2: phrases like "thank you" dominate.
        ranks = zipf_ranks(rng, 1.2, 2_000_000, n)
        return [{"context_id": int(r)} for r in ranks]
    if scenario == "ad_ctr":
        ranks = zipf_ranks(rng, 0.6, 2_000, n)
        return [{"ad_id": int(r)} for r in ranks]
    if scenario == "sales":
        stores = rng.integers(0, 100, n)
        products = zipf_ranks(rng, 0.7, 1_000, n) - 1
        days = rng.integers(0, 7, n)
        return [{"store_id": int(s), "product_id": int(p), "day": int(d)}
                for s, p, d in zip(stores, products, days)]
    raise ValueError(f"unknown scenario {scenario}")


def write(scenario, path, requests, seed=1, endpoint=None):
    rng = np.random.default_rng(seed)
    endpoint = endpoint or scenario
    with open(path, "w") as f:
        for i, key in enumerate(keys_for(scenario, rng, requests)):
            f.write(json.dumps({"ts": round(1718000000 + i / RATE, 6), "endpoint": endpoint,
                                "key": key}, separators=(",", ":")) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("out")
    parser.add_argument("--requests", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write(args.scenario, args.out, args.requests, args.seed)


if __name__ == "__main__":
    main()
