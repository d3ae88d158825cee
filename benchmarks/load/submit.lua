-- wrk script for benchmarks/load/run.py: POST (or GET) requests read from a file, each POST with
-- its own Idempotency-Key; every response's status and body go to a log file per thread, and
-- the latency percentiles to a summary file, for run.py to check against the database.
--
--   wrk -t2 -c16 -d15s -s benchmarks/load/submit.lua URL -- BODIES OUT_PREFIX TOKEN METHOD PATH RUN BASE THINK
--
-- BODIES holds one JSON body per line (ignored for GET); OUT_PREFIX names the output files
-- (OUT_PREFIX<thread>.log and OUT_PREFIXsummary.txt); RUN makes the Idempotency-Keys unique
-- to this run (a key seen before would be answered as a replay). Each UNIQUE in a body becomes
-- a number no other request of the run uses, from BASE up (a new answer, unknown to the server).
-- THINK (milliseconds, 0 by default) paces each connection like a student: before each request
-- it waits a time drawn at random with that mean (exponential), so that N connections offer
-- about N / (THINK + latency) requests a second instead of as many as the server can take.
-- wrk times a request from when it is sent, so the wait is not counted as latency.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("number", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   bodies_path, prefix, token, method, path, run = args[1], args[2], args[3], args[4], args[5], args[6]
   base = tonumber(args[7] or "0")
   think = tonumber(args[8] or "0")
   if think > 0 then
      math.randomseed(number * 104729 + base)
   else
      delay = nil -- wrk asks after init() whether there is a delay(): none, no timer per request
   end
   bodies = {}
   if method == "POST" then
      for line in io.lines(bodies_path) do
         bodies[#bodies + 1] = line
      end
   end
   log = io.open(prefix .. number .. ".log", "w")
   log:setvbuf("line") -- written as it goes: wrk does not close its threads' files
end

function delay()
   return math.floor(-think * math.log(1 - math.random()) + 0.5)
end

function request()
   counter = counter + 1
   local headers = { ["Authorization"] = "Bearer " .. token }
   if method ~= "POST" then
      return wrk.format(method, path, headers)
   end
   headers["Content-Type"] = "application/json"
   headers["Idempotency-Key"] = "wrk-" .. run .. "-" .. number .. "-" .. counter
   -- threads start at different places in the file, so they do not send the same bodies
   local index = (counter + number * 7919) % #bodies + 1
   local body = bodies[index]
   if body:find("UNIQUE", 1, true) then
      local k = 0
      body = body:gsub("UNIQUE", function()
         k = k + 1 -- at most 15 per body; at most 8 threads
         return string.format("%d", base + (counter * 8 + number) * 16 + k)
      end)
   end
   return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
   -- one line per response; the JSON bodies are one line (no raw newline inside)
   if method == "POST" then
      log:write(status, "\t", (body:gsub("\n", " ")), "\n")
   else
      log:write(status, "\n")
   end
end

function done(summary, latency, requests)
   -- done() runs in wrk's main Lua state, where init() never ran: ask a thread for the prefix
   local out = io.open(threads[1]:get("prefix") .. "summary.txt", "w")
   local errors = summary.errors
   out:write("requests ", summary.requests, "\n")
   out:write("duration_us ", summary.duration, "\n")
   out:write("connect_errors ", errors.connect, "\n")
   out:write("read_errors ", errors.read, "\n")
   out:write("write_errors ", errors.write, "\n")
   out:write("status_errors ", errors.status, "\n")
   out:write("timeouts ", errors.timeout, "\n")
   for _, q in ipairs({ 50, 90, 99, 99.9 }) do
      out:write("p", q, "_us ", latency:percentile(q), "\n")
   end
   out:write("max_us ", latency.max, "\n")
   out:close()
end
