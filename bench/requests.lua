-- wrk script for the Samenzorg bench (bench/load.py writes the requests file).
-- Arguments: the requests file, a run tag. Each request is picked at random from the file;
-- "@SEQ@" in a body becomes a value unique in the run (tag, thread, sequence number).
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local requests = {}
local seq = 0
local tag = ""

function init(args)
   tag = args[2] .. "x" .. tostring(tid)
   local f = assert(io.open(args[1], "rb"))
   while true do
      local method = f:read("*l")
      if not method then break end
      local path, token, n = f:read("*l"), f:read("*l"), tonumber(f:read("*l"))
      local body = nil
      if n > 0 then body = f:read(n) end
      f:read("*l")
      local headers = {Accept = "application/fhir+json"}
      if token ~= "" then headers["Authorization"] = "Bearer " .. token end
      if body then headers["Content-Type"] = "application/fhir+json" end
      if body and body:find("@SEQ@", 1, true) then
         table.insert(requests, {method, path, headers, body})
      else
         table.insert(requests, wrk.format(method, path, headers, body))
      end
   end
   f:close()
   math.randomseed(tid * 7919 + os.time())
end

function request()
   local r = requests[math.random(#requests)]
   if type(r) == "string" then return r end
   seq = seq + 1
   local body = r[4]:gsub("@SEQ@", tag .. "x" .. seq)
   return wrk.format(r[1], r[2], r[3], body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("BENCH-RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95),
      latency:percentile(99)))
end
