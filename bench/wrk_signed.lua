-- wrk replays requests signed beforehand (bench/ingest_load.py writes them: one per line, "<signature>\t<body>"),
-- so that wrk itself stays a C load generator: HMAC in Lua would make the client the bottleneck. Thread n
-- of N takes lines n, n+N, ...: every request is sent once. A thread that runs out starts again and counts
-- it; done() prints one JSON line the bench reads (latencies in microseconds).
local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local path, total = args[1], tonumber(args[2])
   requests, index, wrapped = {}, 0, 0
   local n = 0
   for line in io.lines(path) do
      if n % total == id then
         local signature, body = line:match("^([^\t]*)\t(.*)$")
         table.insert(requests, wrk.format("POST", "/webhooks/xcart",
            {["Content-Type"] = "application/json", ["X-XCart-Signature"] = signature}, body))
      end
      n = n + 1
   end
end

function request()
   index = index + 1
   if index > #requests then
      index, wrapped = 1, wrapped + 1
   end
   return requests[index]
end

function response(status, headers, body)
   statuses = statuses or {}
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local wrapped, by_status = 0, {}
   for _, thread in ipairs(threads) do
      wrapped = wrapped + thread:get("wrapped")
      local seen = thread:get("statuses") or {}
      for status, n in pairs(seen) do
         by_status[tostring(status)] = (by_status[tostring(status)] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(by_status) do
      table.insert(parts, string.format('"%s": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
      '"errors": %d, "wrapped": %d, "statuses": {%s}}\n', summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout,
      wrapped, table.concat(parts, ", ")))
end
