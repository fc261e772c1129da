"""The benchmarks' one Zipf generator: numpy, seeded, reproducible.

zipf_ids(keys, s, count, seed) draws `count` ids in [0, keys) with P(id = r) proportional to
1 / (r + 1)^s, by inverting the exact cumulative distribution (not numpy's unbounded
Generator.zipf, which needs s > 1 and has no upper bound). The same (keys, s, count, seed)
gives the same ids on every machine with the same numpy. (The C++ benchmarks use
src/advisor/zipf_sampler.h, the same distribution.)
"""

import numpy as np


class Zipf:
    """Draws from Zipf(s) over ids 0..keys-1; the CDF is computed once."""

    def __init__(self, keys, s, seed):
        self.keys, self.s = keys, s
        self.cdf = np.cumsum(1.0 / np.arange(1, keys + 1, dtype=np.float64) ** s)
        self.rng = np.random.default_rng(seed)

    def draw(self, count):
        """`count` ids as a numpy int64 array."""
        ids = np.searchsorted(self.cdf, self.rng.random(count) * self.cdf[-1], side="right")
        return np.minimum(ids, self.keys - 1)


def zipf_ids(keys, s, count, seed):
    """`count` ids in [0, keys) with P(id = r) proportional to 1 / (r + 1)^s, as a list."""
    return Zipf(keys, s, seed).draw(count).tolist()
