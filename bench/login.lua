-- wrk script: POST login mutations (the demo user "helpcentre").
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}","variables":{"u":"' ..
  (os.getenv("BENCH_USER") or "helpcentre") .. '","p":"' .. (os.getenv("BENCH_PASSWORD") or "") .. '"}}'

dofile("bench/check.lua")
