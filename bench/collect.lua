-- wrk script: every request is a new load of N tracker events (session/load ids unique per
-- request across threads), so the server really sessionizes and stores every event.
-- EVENTS (default 20) sets N. Session ids: <TAG>-<run>-<thread>-<counter> (TAG default "s").
-- SESSION_PARAM=1 adds the tracker's ?s=<session> to the URL (a balancer routes on it).
local n_events = tonumber(os.getenv("EVENTS") or "20")
local tag = os.getenv("TAG") or "s"
local session_param = os.getenv("SESSION_PARAM") == "1"
-- DELAY_MS paces each connection (a pause before each of its requests): a fixed offered
-- load below saturation, where latency is the service's own rather than the queue's.
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end
local threads = 0
-- setup() runs in the main Lua state; thread:set() defines a *global* in the thread's state
-- (a local of the same name would shadow it, and every thread would send the same ids).
function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end
function init(args)
  run_id = os.time()
  counter = 0
end
function request()
  counter = counter + 1
  local sid = string.format("%s-%d-%d-%d", tag, run_id, thread_no, counter)
  local parts = {}
  for i = 0, n_events - 1 do
    local typ = (i == 0) and "load" or ((i == 1) and "play" or "progress")
    local pos = (i == 0) and "" or string.format(',"position":%d', (i - 1) * 5)
    parts[#parts + 1] = string.format('{"type":"%s","video_id":"bench-video","session_id":"%s","load_id":"%s-l","seq":%d%s}', typ, sid, sid, i, pos)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  local path = session_param and ("/collect?s=" .. sid) or "/collect"
  return wrk.format("POST", path, {["Content-Type"] = "text/plain", ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"}, body)
end
