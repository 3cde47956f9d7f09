-- Shared by the wrk scripts (`dofile("bench/check.lua")`, run from the repository root): an
-- answer counts as an error when it is not HTTP 200, carries "errors", or lacks `must_contain`
-- (a global the script may set); the first three are printed.
local errors = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true)
    or (must_contain and not string.find(body, must_contain, 1, true)) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
end
