#!/usr/bin/python3
"""The usual Python way to run the weekly forecast, as strata's peer: pandas
reads the CSV, XGBoost predicts (all cores), and the keys plus predictions
go to a CSV file or, with --redis, into Redis with pipelined SETs.

  bench/batch_peer.py MODEL_JSON FORECAST_CSV OUT_CSV [--redis redis://127.0.0.1:6379]
"""
import argparse
import time

import numpy as np
import pandas as pd
import xgboost as xgb

FEATURES = ["store_size", "price", "popularity", "category", "weekday", "hour"]

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("csv")
parser.add_argument("out")
parser.add_argument("--redis")
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
start = time.perf_counter()
frame = pd.read_csv(args.csv)
booster = xgb.Booster(model_file=args.model)
booster.set_param({"nthread": args.threads})
frame["units"] = booster.inplace_predict(frame[FEATURES].to_numpy(dtype=np.float32))
if args.redis:
    import redis
    client = redis.Redis.from_url(args.redis)
    pipe = client.pipeline(transaction=False)
    for i, (s, p, d, u) in enumerate(zip(frame.store_id, frame.product_id, frame.date,
                                         frame.units)):
        pipe.set(f"peer:{s}:{p}:{d}", float(u))
        if i % 10000 == 9999:
            pipe.execute()
    pipe.execute()
else:
    frame[["store_id", "product_id", "date", "units"]].to_csv(args.out, index=False)
seconds = time.perf_counter() - start
print(f"python peer: {len(frame)} rows in {seconds:.2f} s ({len(frame) / seconds:.0f} rows/s)")
