-- wrk script: POST /v1/sdk/messages as SDK customers, over keep-alive connections.
--
-- Environment (set by run.sh):
--   LIBCHAT_PK        the app's publishable key (X-API-Key)
--   LIBCHAT_SESSIONS  comma-separated "conversation_id:session_token" pairs
--   LIBCHAT_RUN_ID    a prefix that makes client_msg_id unique across runs on one database
--   LIBCHAT_WRK_THREADS  wrk's -t
--   LIBCHAT_TEXT_BYTES   message text size (default 64)
--
-- Each wrk thread owns the sessions whose index modulo the thread count is its
-- own, and its requests go round-robin over them, so the load is spread over
-- every conversation. Every request carries a client_msg_id that is never
-- repeated, so every 2xx is a 201 for a newly stored message.
--
-- done() prints one machine-readable line for run.sh (non2xx is wrk's
-- errors.status, i.e. responses with status >= 400; this route answers no 1xx/3xx):
--   RESULT requests=N duration_us=N non2xx=N connect=N read=N write=N timeout=N p50_us=N p90_us=N p99_us=N max_us=N

local thread_count = 0

-- Runs in wrk's main Lua state once per thread before they start: numbers the
-- threads (the thread count itself comes from LIBCHAT_WRK_THREADS, which run.sh
-- sets to wrk's -t).
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local function split(text, sep)
  local out = {}
  for part in string.gmatch(text, "([^" .. sep .. "]+)") do
    out[#out + 1] = part
  end
  return out
end

local sessions = {}
local next_session = 1
local counter = 0
local prefix = ""
local text = ""

function init(args)
  local pk = os.getenv("LIBCHAT_PK") or error("LIBCHAT_PK is not set")
  local all = split(os.getenv("LIBCHAT_SESSIONS") or error("LIBCHAT_SESSIONS is not set"), ",")
  local threads = tonumber(os.getenv("LIBCHAT_WRK_THREADS") or "1")
  local index = thread_index or 0
  for i, pair in ipairs(all) do
    if (i - 1) % threads == index then
      local fields = split(pair, ":")
      sessions[#sessions + 1] = {
        conversation_id = fields[1],
        headers = {
          ["Content-Type"] = "application/json",
          ["X-API-Key"] = pk,
          ["Authorization"] = "Bearer " .. fields[2],
        },
      }
    end
  end
  if #sessions == 0 then
    error("thread " .. index .. " has no session: give at least as many sessions as wrk threads")
  end
  prefix = (os.getenv("LIBCHAT_RUN_ID") or "run") .. "-t" .. index .. "-"
  local bytes = tonumber(os.getenv("LIBCHAT_TEXT_BYTES") or "64")
  text = string.sub(string.rep("benchmark message abcdefghijklmnopqrstuvwxyz ", math.ceil(bytes / 45) + 1), 1, bytes)
end

function request()
  local s = sessions[next_session]
  next_session = next_session % #sessions + 1
  counter = counter + 1
  local body = '{"text":"' .. text .. '","conversation_id":"' .. s.conversation_id ..
               '","client_msg_id":"' .. prefix .. counter .. '"}'
  return wrk.format("POST", "/v1/sdk/messages", s.headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
