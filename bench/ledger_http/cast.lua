-- wrk script for bench_append.py: every request casts one ballot as the next voter.
--   wrk ... -s cast.lua URL -- VOTERS_FILE THREADS CAST_PATH OPTION_KEY
-- VOTERS_FILE has one "cookie<TAB>csrf token<TAB>cast token" line per logged-in voter (the
-- cast token is the one-time token a review step issues); wrk thread k takes
-- lines k, k + THREADS, ... so no voter casts twice. A thread that runs out of voters
-- sends GET /healthz instead and says so at the end (the run then had too few voters).

local threads, counter = {}, 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  cast_path, option = args[3], args[4]
  voters, next_voter, exhausted = {}, 0, 0
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == id then
      local cookie, token, cast = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
      table.insert(voters, { cookie, token, cast })
    end
    n = n + 1
  end
end

function request()
  next_voter = next_voter + 1
  local v = voters[next_voter]
  if v == nil then
    exhausted = exhausted + 1
    return wrk.format("GET", "/healthz")
  end
  return wrk.format("POST", cast_path, {
    ["Cookie"] = v[1],
    ["User-Agent"] = "civicforum-bench",  -- the sessions are bound to it (Flask-Login "strong")
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "approve=" .. option .. "&action=cast&csrf_token=" .. v[2] .. "&cast_token=" .. v[3])
end

function done(summary, latency, requests)
  local spare = 0
  for _, thread in ipairs(threads) do
    spare = spare + thread:get("exhausted")
  end
  io.write(string.format("requests after the voters ran out: %d\n", spare))
end
