-- wrk script for the bluegreen-local benchmark: a fixed request rate, and a record per request.
--
-- wrk has no open-loop mode (wrk2 is not in Debian), so each thread hands out send slots at
-- BENCH_RATE / threads per second through wrk's delay() hook: a connection that is ready waits
-- for the next free slot; a slot that nobody could take is skipped, not made up later.
-- Every request carries ?id=N and nginx echoes it in X-Bench-Id, so each answer (a 502
-- included) is paired with its own request. At the end the records go to BENCH_OUT:
--   "<sent epoch> <latency s> <status> <upstream> <worker> <conn seq> <upstream time>"  an answer
--   "<sent epoch> nan 0"                 a request that never got an answer (lost)
-- The last four are nginx's X-Bench-* headers ("-" when absent, spaces removed).
-- wrk's own counters (connect/read/write/timeout errors) come first, on a "#" line.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")

local function now()
   ffi.C.clock_gettime(0, timespec) -- CLOCK_REALTIME, comparable with Python's time.time()
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   local rate = tonumber(os.getenv("BENCH_RATE") or "0")
   local count = tonumber(os.getenv("BENCH_THREADS") or "1")
   interval = rate > 0 and count / rate or 0
   next_slot = now()
   seq = 0
   sent = {}
   records = {}
   pacing = false -- wrk calls request() once before the run to inspect it: not a request
end

function delay()
   pacing = true
   local t = now()
   next_slot = math.max(next_slot + interval, t)
   return (next_slot - t) * 1000
end

function request()
   if not pacing then
      return wrk.format(nil, "/")
   end
   seq = seq + 1
   local id = tid * 100000000 + seq
   sent[id] = now()
   return wrk.format(nil, "/?id=" .. id)
end

local function field(headers, name)
   local value = (headers[name] or "-"):gsub("%s", "")
   return value ~= "" and value or "-"
end

function response(status, headers, body)
   local t = now()
   local id = tonumber(headers["X-Bench-Id"] or "")
   local t0 = id and sent[id]
   if t0 then
      sent[id] = nil
      records[#records + 1] = string.format("%.6f %.6f %d %s %s %s %s\n", t0, t - t0, status,
         field(headers, "X-Bench-Upstream"), field(headers, "X-Bench-Worker"),
         field(headers, "X-Bench-Conn"), field(headers, "X-Bench-Upstream-Time"))
   else
      records[#records + 1] = string.format("%.6f -1 %d\n", t, status)
   end
end

function done(summary, latency, requests)
   local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
   local e = summary.errors
   out:write(string.format("# connect=%d read=%d write=%d timeout=%d status=%d\n",
      e.connect, e.read, e.write, e.timeout, e.status))
   for _, thread in ipairs(threads) do
      for _, line in ipairs(thread:get("records")) do
         out:write(line)
      end
      for _, t0 in pairs(thread:get("sent")) do
         out:write(string.format("%.6f nan 0\n", t0))
      end
   end
   out:close()
end
