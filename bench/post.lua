-- wrk script: POST a fixed JSON body to the URL given on wrk's command line.
--
--   BODY_FILE=bench/.../body.json wrk -t1 -c1 -d10s --latency -s bench/post.lua URL
--   wrk -t1 -c1 -d10s --latency -s bench/post.lua URL -- path/to/body.json
--
-- The body file comes from the first script argument (after `--`) or else $BODY_FILE.
-- At the end it prints one machine-readable line, after wrk's own report:
--   WRK_JSON {"requests":..,"duration_us":..,"p50_us":..,...,"non2xx":..,"errors_*":..}
-- (latency figures in microseconds, from wrk's own histogram).

local body_path = nil

function init(args)
  body_path = args[1] or os.getenv("BODY_FILE")
  if body_path == nil or body_path == "" then
    error("post.lua: give the body file as `-- FILE` or in $BODY_FILE")
  end
  local f = assert(io.open(body_path, "rb"))
  local body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"mean_us":%.2f,"stdev_us":%.2f,"min_us":%d,"max_us":%d,' ..
    '"p50_us":%d,"p75_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"non2xx":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency.mean, latency.stdev, latency.min, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9),
    e.status, e.connect, e.read, e.write, e.timeout))
end
