-- wrk script: `disburse` for distinct verified recipients (ids from BENCH_IDS, a file with one
-- id per line), each with its own idempotency key; threads take disjoint slices.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("BENCH_TOKEN") or ""
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
local counter = 0
local slice = 0

function setup(thread)
  thread:set("slice", counter)
  counter = counter + 1
end

local n = 0
function request()
  n = n + 1
  local i = slice + (n - 1) * threads + 1
  local rid = ids[((i - 1) % #ids) + 1]
  local body = '{"query":"mutation($i:DisburseInput!){disburse(input:$i){id}}","variables":{"i":{"recipientId":"' .. rid ..
    '","kind":"CASH","amount":"300.00","idempotencyKey":"bench-' .. rid .. '"}}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

dofile("bench/check.lua")
