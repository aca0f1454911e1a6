-- wrk script: every request is a new load of N tracker events (distinct session/load ids per
-- request and thread), so the server really sessionizes and stores them.
local n_events = tonumber(os.getenv("EVENTS") or "20")
local counter = 0
local tid = 0
setup = function(thread) thread:set("tid", tid); tid = tid + 1 end
init = function(args) math.randomseed(os.time() + (tid or 0)) end
request = function()
  counter = counter + 1
  local sid = string.format("s%d-%d-%d", tid or 0, counter, math.random(1, 1e9))
  local parts = {}
  for i = 0, n_events - 1 do
    local typ = (i == 0) and "load" or ((i == 1) and "play" or "progress")
    local pos = (i == 0) and "" or string.format(',"position":%d', (i - 1) * 5)
    parts[#parts + 1] = string.format('{"type":"%s","video_id":"bench-video","session_id":"%s","load_id":"%s-l","seq":%d%s}', typ, sid, sid, i, pos)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "/collect", {["Content-Type"] = "text/plain", ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"}, body)
end
