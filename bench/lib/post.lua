-- wrk script: POST JSON bodies read from a file to the URL given on wrk's command line.
--
--   wrk -t1 -c1 -d10s --latency -s bench/lib/post.lua URL -- body.json         one fixed body
--   wrk -t2 -c64 -d10s --latency -s bench/lib/post.lua URL -- bodies.txt lines one body a line,
--                                              cycled from a line math.random picks
--   BODY_FILE=body.json wrk ... -s bench/lib/post.lua URL
--
-- The file comes from the first script argument (after `--`) or else $BODY_FILE.
-- At the end it prints one machine-readable line, after wrk's own report:
--   WRK_JSON {"requests":..,"duration_us":..,"p50_us":..,...,"non2xx":..,"errors_*":..}
-- (latency figures in microseconds, from wrk's own histogram). bench/lib/load.py reads it.

local bodies = {}
local i = 0

function init(args)
  local path = args[1] or os.getenv("BODY_FILE")
  if path == nil or path == "" then
    error("post.lua: give the body file as `-- FILE` or in $BODY_FILE")
  end
  if args[2] == "lines" then
    for line in io.lines(path) do
      if line ~= "" then bodies[#bodies + 1] = line end
    end
    i = math.random(#bodies)
    -- several bodies: a new request each time (wrk checks for `request` after init, so one
    -- fixed body keeps wrk's prebuilt request, the fast path)
    request = function()
      i = i % #bodies + 1
      return wrk.format("POST", nil, nil, bodies[i])
    end
  else
    local f = assert(io.open(path, "rb"))
    bodies[1] = f:read("*a")
    f:close()
  end
  wrk.method = "POST"
  wrk.body = bodies[1]
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
