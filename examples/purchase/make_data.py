#!/usr/bin/python3
"""Synthetic data of the purchase example: an online store's users, products and
purchase events, with timestamps, so that a training set can be joined point in time.

Writes into OUT (deterministic for a given seed and sizes):
  users.csv      user_id, event_time, purchases_30d, avg_price, last_purchase, country
                 (a snapshot of each user's history every ~2 days)
  products.csv   product_id, event_time, price, category  (price changes now and then)
  events.csv     user_id, product_id, query, ts, label    (the labelled events)
  requests.csv   user_id, product_id, query, ts           (the hot head for strata batch)

A label depends on the user's and product's values AS OF the event (and on the
query and hour), so a join that leaked later values would train a worse model.
"""

import argparse
import collections
import csv
import math
import os
import random

T0 = 1733011200  # 2024-12-01T00:00:00Z
DAY = 86400
CATEGORIES = ["shoes", "shirts", "books", "games", "garden", "kitchen", "toys", "music",
              "phones", "sports"]
COUNTRIES = ["fr", "de", "us", "uk", "jp", "br"]
WORDS = ["red", "blue", "cheap", "new", "gift", "best", "small", "large"]


def snapshots(rng, days, every):
    t = T0 + rng.randrange(0, DAY)
    while t < T0 + days * DAY:
        yield t
        t += every + rng.randrange(-DAY // 2, DAY // 2)


def make_users(rng, n, days):
    rows = []
    for user in range(1, n + 1):
        country = rng.choice(COUNTRIES)
        purchases, avg, last = rng.uniform(0, 20), rng.uniform(5, 80), T0 - rng.randrange(DAY, 30 * DAY)
        for t in snapshots(rng, days, 2 * DAY):
            purchases = max(0.0, purchases + rng.gauss(0, 2))
            avg = max(1.0, avg * math.exp(rng.gauss(0, 0.1)))
            if rng.random() < 0.4:
                last = t - rng.randrange(0, DAY)
            rows.append([user, t, round(purchases, 3), round(avg, 2), last, country])
    return rows


def make_products(rng, n, days):
    rows = []
    for product in range(1, n + 1):
        category, price = rng.choice(CATEGORIES), round(rng.lognormvariate(3, 0.8), 2)
        for t in snapshots(rng, days, 5 * DAY):
            price = round(max(0.5, price * math.exp(rng.gauss(0, 0.15))), 2)
            rows.append([product, t, price, category])
    return rows


def as_of(history, key, ts):
    """The latest row of `key` with event time <= ts (the rows are in time order)."""
    best = None
    for row in history.get(key, ()):
        if row[1] <= ts:
            best = row
    return best


def index(rows):
    out = {}
    for row in sorted(rows, key=lambda r: r[1]):
        out.setdefault(row[0], []).append(row)
    return out


def label_of(rng, user, product, query, ts):
    score = -1.0
    if user is not None:
        score += 0.08 * user[2] - 0.3 * abs(math.log(product[2] / user[3])) if product else 0.08 * user[2]
        score += 0.8 if (ts - user[4]) < 2 * DAY else 0.0
    if product is not None and product[3] in query:
        score += 1.5
    score += 0.5 if 18 <= (ts % DAY) // 3600 <= 22 else 0.0
    return 1 if rng.random() < 1 / (1 + math.exp(-score)) else 0


def make_events(rng, users, products, n_users, n_products, n, days):
    events = []
    for _ in range(n):
        user = int(min(n_users, rng.paretovariate(1.2)))  # a hot head of users
        product = rng.randrange(1, n_products + 1)
        ts = T0 + rng.randrange(DAY, days * DAY)
        words = rng.sample(WORDS, rng.randrange(0, 3))
        if rng.random() < 0.5:
            words.append(rng.choice(CATEGORIES))
        query = " ".join(words)
        label = label_of(rng, as_of(users, user, ts), as_of(products, product, ts), query, ts)
        events.append([user, product, query, ts, label])
    return events


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--products", type=int, default=300)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--hot", type=int, default=200, help="(user, product) pairs for strata batch")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    users = make_users(rng, args.users, args.days)
    products = make_products(rng, args.products, args.days)
    events = make_events(rng, index(users), index(products), args.users, args.products,
                         args.events, args.days)
    write(os.path.join(args.out, "users.csv"),
          ["user_id", "event_time", "purchases_30d", "avg_price", "last_purchase", "country"], users)
    write(os.path.join(args.out, "products.csv"), ["product_id", "event_time", "price", "category"],
          products)
    write(os.path.join(args.out, "events.csv"), ["user_id", "product_id", "query", "ts", "label"],
          events)
    now = T0 + args.days * DAY
    counts = collections.Counter((e[0], e[1]) for e in events)
    hot = sorted(counts, key=lambda p: (-counts[p], p))[: args.hot]
    write(os.path.join(args.out, "requests.csv"), ["user_id", "product_id", "query", "ts"],
          [[u, p, "", now] for u, p in hot])
    print(f"{len(users)} user rows, {len(products)} product rows, {len(events)} events, "
          f"{len(hot)} hot pairs in {args.out}")


if __name__ == "__main__":
    main()
