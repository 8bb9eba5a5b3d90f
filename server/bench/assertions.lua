-- wrk script: each request posts the next pre-signed client assertion from
-- the file in BODIES (one form body per line). Assertions are single-use, so
-- the file must hold more lines than the run sends; reuse shows as errors.
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local i = 0
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", nil, headers, bodies[i])
end
