#!/usr/bin/python3
"""Synthetic weekly sales for the strata static-serving example.

100 stores x 1,000 products. Units sold per store, product and day follow:
store size (small shops to hypermarkets), product price (dearer sells less),
product popularity, category, and a weekday pattern (Saturday peak, Sunday
trough) with noise. Deterministic for a given seed.

  sales_data.py history  --out history.csv  [--weeks 4]   training rows (sampled)
  sales_data.py forecast --out forecast.csv [--hourly] [--stores N]
        every store x product x day (x 24 hours with --hourly): 100 stores give
        700,000 rows a week (16,800,000 hourly); --stores 1000 gives 7,000,000.
"""
import argparse
import datetime

import numpy as np

STORES, PRODUCTS = 100, 1000
WEEKDAY = np.array([0.9, 0.85, 0.9, 1.0, 1.2, 1.5, 0.6])  # Monday .. Sunday
HOUR = np.concatenate([np.full(7, 0.1), np.linspace(0.5, 1.4, 12), np.linspace(1.2, 0.3, 5)])
FEATURES = ["store_size", "price", "popularity", "category", "weekday", "hour"]


def catalogue(stores=STORES, seed=7):
    rng = np.random.default_rng(seed)
    store_size = rng.lognormal(mean=0.0, sigma=0.6, size=stores).astype(np.float32)
    price = np.round(rng.lognormal(mean=1.5, sigma=0.8, size=PRODUCTS), 2).astype(np.float32)
    popularity = rng.beta(2, 5, size=PRODUCTS).astype(np.float32)
    category = rng.integers(0, 12, size=PRODUCTS).astype(np.float32)
    return store_size, price, popularity, category


def expected_units(store_size, price, popularity, category, weekday, hour):
    hourly = np.where(hour < 0, 1.0, HOUR[np.clip(hour, 0, 23).astype(int)] / 24)
    return (20 * store_size * popularity * (price ** -0.6) * (1 + 0.05 * category) *
            WEEKDAY[weekday.astype(int)] * hourly)


def history(args):
    rng = np.random.default_rng(11)
    store_size, price, popularity, category = catalogue()
    n = args.rows
    s = rng.integers(0, STORES, n)
    p = rng.integers(0, PRODUCTS, n)
    weekday = rng.integers(0, 7, n)
    hour = np.where(rng.random(n) < 0.5, -1, rng.integers(0, 24, n))
    mean = expected_units(store_size[s], price[p], popularity[p], category[p], weekday, hour)
    units = rng.poisson(mean).astype(np.float32)
    X = np.column_stack([store_size[s], price[p], popularity[p], category[p], weekday, hour])
    np.savez(args.out, X=X.astype(np.float32), y=units)


def forecast(args):
    store_size, price, popularity, category = catalogue(args.stores)
    start = datetime.date(2026, 11, 23)
    hours = range(24) if args.hourly else [-1]
    with open(args.out, "w") as f:
        f.write("store_id,product_id,date," + ",".join(FEATURES) + "\n")
        product_cols = [f"{price[p]:.2f},{popularity[p]:.6f},{int(category[p])}"
                        for p in range(PRODUCTS)]
        for day in range(7):
            date = (start + datetime.timedelta(days=day)).isoformat()
            weekday = (start + datetime.timedelta(days=day)).weekday()
            for hour in hours:
                date_key = date if hour < 0 else f"{date}T{hour:02d}"
                for s in range(args.stores):
                    prefix = f"{s},"
                    middle = f",{date_key},{store_size[s]:.6f},"
                    suffix = f",{weekday},{hour}\n"
                    f.write("".join(prefix + str(p) + middle + product_cols[p] + suffix
                                    for p in range(PRODUCTS)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    h = sub.add_parser("history")
    h.add_argument("--out", required=True)
    h.add_argument("--rows", type=int, default=400_000)
    fc = sub.add_parser("forecast")
    fc.add_argument("--out", required=True)
    fc.add_argument("--hourly", action="store_true")
    fc.add_argument("--stores", type=int, default=STORES)
    args = parser.parse_args()
    history(args) if args.command == "history" else forecast(args)


if __name__ == "__main__":
    main()
