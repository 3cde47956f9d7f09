-- wrk script: POST login mutations (the demo user "helpcentre").
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}","variables":{"u":"' ..
  (os.getenv("BENCH_USER") or "helpcentre") .. '","p":"' .. (os.getenv("BENCH_PASSWORD") or "") .. '"}}'

local errors = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
end
