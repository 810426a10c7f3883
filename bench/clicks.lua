-- wrk script for `bun run bench`: spreads requests over the generated clicks (bench/traffic.ts),
-- counts answers by status, and ends every run with a short tail of clicks on one "tail" link.
--
-- Why the tail: wrk stops in the middle of requests, so the clicks in flight at its stop have no
-- answer yet may still be stored. Switching every connection to the tail link a second before the
-- stop means each main-link click has its answer before wrk stops: "307s answered on main links"
-- and "events of main links in Redis" must then be equal. Tail clicks cost what any click costs.
--
-- Arguments (after `--`): <data file> <seconds of main clicks> <close|keep-alive>

local requests = {}
local count = 0
local index = 0
local tail_request
local tail_location
local deadline
local calls = 0
local other_by_status = {}

-- Read back by done() through thread:get, so these are globals of each thread's state.
main_307 = 0
tail_307 = 0
other = 0
statuses = ""

threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local data = dofile(args[1])
  local headers = {}
  if args[3] == "close" then headers["Connection"] = "close" end
  for i, click in ipairs(data.clicks) do
    headers["User-Agent"] = click[2]
    requests[i] = wrk.format("GET", click[1], headers)
  end
  count = #requests
  headers["User-Agent"] = data.tail[2]
  tail_request = wrk.format("GET", data.tail[1], headers)
  tail_location = data.tail[3]
  -- Each thread starts at its own place in the list.
  index = (id * 7919) % count
  deadline = os.time() + tonumber(args[2])
end

function request()
  if deadline == nil then return tail_request end
  calls = calls + 1
  -- os.time is cheap but not free: look at the clock every 64 requests.
  if calls % 64 == 0 and os.time() >= deadline then
    deadline = nil
    return tail_request
  end
  index = index % count + 1
  return requests[index]
end

function response(status, headers, body)
  if status == 307 then
    local location = headers["Location"] or headers["location"] or ""
    if location == tail_location then
      tail_307 = tail_307 + 1
    else
      main_307 = main_307 + 1
    end
  else
    other = other + 1
    other_by_status[status] = (other_by_status[status] or 0) + 1
    local parts = {}
    for code, n in pairs(other_by_status) do table.insert(parts, code .. ":" .. n) end
    statuses = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local main, tail, others, status_text = 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    main = main + thread:get("main_307")
    tail = tail + thread:get("tail_307")
    others = others + thread:get("other")
    local s = thread:get("statuses")
    if s ~= "" then table.insert(status_text, s) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"main_307":%d,"tail_307":%d,"other":%d,"other_statuses":"%s",' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    main, tail, others, table.concat(status_text, ","),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
