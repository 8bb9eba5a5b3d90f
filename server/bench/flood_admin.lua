-- wrk script: GET the admin API with a new bogus bearer token each time
-- (the flood beside valid traffic). DELAY_MS paces each connection.
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/admin/v1/agents", { ["Authorization"] = "Bearer bogus-admin-token-" .. n })
end
local delay_ms = tonumber(os.getenv("DELAY_MS") or "")
if delay_ms then
  function delay()
    return delay_ms
  end
end
