//! The Lua scripts of the Redis backend: each step that reads and writes several keys runs
//! as one script, so that it is atomic across replicas and costs one round trip.
//!
//! Keys, under the prefix `P`: `P j:<id>` (a job: api, runner, session, state; and the outcome
//! itself, `k` and `d`, of a `/call` job recorded already finished), `P m:<id>` (the stream
//! of a `/call` job's messages, then its outcome), `P u` (unfinished jobs),
//! `P d` (finished results in finishing order: ms × 1000 + a sequence), `P r:<runner>` (a runner's lease),
//! `P rj:<runner>` (its unfinished jobs), `P rs` (runners), `P s:<hash>` (a session's stream),
//! `P sm:<hash>` (its pending jobs and reader generation), `P ss` (sessions by last use),
//! `P f:<path>` (a file the service created, expiring a TTL after its last use), `P epoch`
//! (a random value, made again only when the store lost its keys).
//! Channels: `P n:j:<id>`, `P n:s:<hash>` (something to read; a job's finish carries its
//! outcome entry when small: `<entry id> <kind> <data>`), `P n:c:<runner>` (cancel).

use redis::Script;

/// A Lua helper: the server's clock in milliseconds (one clock for every replica).
const NOW: &str = "local function now_ms() local t = redis.call('TIME') \
                   return t[1] * 1000 + math.floor(t[2] / 1000) end\n";

/// ARGV: prefix, id, api, runner, session ('' for none), max_unfinished, max_sessions,
/// max_session_jobs. Returns 'ok', 'full', 'sessions' or 'busy'.
const BEGIN: &str = r#"
local P, id, api, runner, session = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if tonumber(redis.call('GET', P .. 'u') or '0') >= tonumber(ARGV[6]) then return 'full' end
if redis.call('EXISTS', P .. 'j:' .. id) == 1 then return 'full' end
if session ~= '' then
  local meta = P .. 'sm:' .. session
  local pending = redis.call('HGET', meta, 'pending')
  if not pending then
    if redis.call('ZCARD', P .. 'ss') >= tonumber(ARGV[7]) then return 'sessions' end
    pending = 0
  else
    pending = tonumber(pending)
  end
  if pending >= tonumber(ARGV[8]) then return 'busy' end
  redis.call('HINCRBY', meta, 'pending', 1)
  redis.call('HDEL', meta, 'idle')
  redis.call('ZADD', P .. 'ss', now_ms(), session)
end
redis.call('INCR', P .. 'u')
redis.call('HSET', P .. 'j:' .. id, 'api', api, 'runner', runner, 'session', session, 'st', 'r')
redis.call('SADD', P .. 'rj:' .. runner, id)
return 'ok'
"#;

/// ARGV: prefix, id, message, droppable ('1' or '0'), max_unread. Returns 1 when stored.
const PUBLISH: &str = r#"
local P, id = ARGV[1], ARGV[2]
local job = redis.call('HMGET', P .. 'j:' .. id, 'st', 'session')
if job[1] ~= 'r' then return 0 end
local session = job[2]
if session == '' then
  redis.call('XADD', P .. 'm:' .. id, 'MAXLEN', ARGV[5], '*', 'k', 'm', 'd', ARGV[3])
  redis.call('PUBLISH', P .. 'n:j:' .. id, '')
  return 1
end
if redis.call('EXISTS', P .. 'sm:' .. session) == 0 then return 0 end
local stream = P .. 's:' .. session
if ARGV[4] == '1' and redis.call('XLEN', stream) >= 4 * tonumber(ARGV[5]) then return 0 end
redis.call('XADD', stream, '*', 'k', 'm', 'd', ARGV[3])
redis.call('PUBLISH', P .. 'n:s:' .. session, '')
return 1
"#;

/// A Lua helper: keeps the outcome of `/call` job `id` (whose hash exists) as its result: state
/// `d`, the outcome appended to its stream; or, with `runner` given (a job recorded already
/// finished, which has no messages and so needs no stream), kept in the hash itself as fields
/// `k` and `d` with the rest of the job. Kept a TTL, in finishing order under the capacity.
/// Returns the outcome's entry id (`0-1` inline).
const STORE_RESULT: &str = r#"
local function store_result(P, id, kind, data, capacity, ttl, runner)
  local key = P .. 'j:' .. id
  local now = now_ms()
  local keep = tonumber(ttl) + 60000
  local entry = '0-1'
  if runner then
    redis.call('HSET', key, 'runner', runner, 'session', '', 'st', 'd', 'at', now, 'k', kind,
      'd', data)
  else
    local stream = P .. 'm:' .. id
    redis.call('HSET', key, 'st', 'd', 'at', now)
    entry = redis.call('XADD', stream, '*', 'k', kind, 'd', data)
    redis.call('PEXPIRE', stream, keep)
  end
  redis.call('PEXPIRE', key, keep)
  -- Finishing order: milliseconds, then a sequence within the millisecond.
  redis.call('ZADD', P .. 'd', now * 1000 + redis.call('INCR', P .. 'seq') % 1000, id)
  local over = redis.call('ZCARD', P .. 'd') - tonumber(capacity)
  if over > 0 then
    local oldest = redis.call('ZPOPMIN', P .. 'd', over)
    for i = 1, #oldest, 2 do redis.call('DEL', P .. 'j:' .. oldest[i], P .. 'm:' .. oldest[i]) end
  end
  return entry
end
"#;

/// ARGV: prefix, id, api, runner, kind ('o' or 'e'), outcome data, result capacity, result
/// ttl (ms). Records a `/call` job already finished (begin and finish in one). Returns 'ok',
/// or 'full' when the id is taken.
const BEGIN_FINISHED: &str = r#"
local P, id = ARGV[1], ARGV[2]
local key = P .. 'j:' .. id
if redis.call('HSETNX', key, 'api', ARGV[3]) == 0 then return 'full' end
store_result(P, id, ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[4])
return 'ok'
"#;

/// ARGV: prefix, id, api, kind, outcome data, result capacity, result ttl (ms). Puts back a
/// taken result that was not delivered, unless the id exists again. Returns 1 when restored.
const RESTORE: &str = r#"
local P, id = ARGV[1], ARGV[2]
local key = P .. 'j:' .. id
if redis.call('EXISTS', key) == 1 then return 0 end
if redis.call('HSETNX', key, 'api', ARGV[3]) == 0 then return 0 end
store_result(P, id, ARGV[4], ARGV[5], ARGV[6], ARGV[7], '')
return 1
"#;

/// ARGV: prefix, id, kind ('o' complete, 'e' error, 'l' lost), outcome data, session
/// message, has message ('1' or '0'), result capacity, result ttl (ms). A lost session job
/// gets a `l` item carrying its id (the message). Returns 1 when the job was unfinished.
const FINISH: &str = r#"
local P, id, kind = ARGV[1], ARGV[2], ARGV[3]
local key = P .. 'j:' .. id
local job = redis.call('HMGET', key, 'st', 'session', 'runner')
if job[1] ~= 'r' then return 0 end
redis.call('DECR', P .. 'u')
redis.call('SREM', P .. 'rj:' .. job[3], id)
local session = job[2]
if session == '' then
  if kind == 'l' then kind = 'e' end
  local entry = store_result(P, id, kind, ARGV[4], ARGV[7], ARGV[8], nil)
  -- A small outcome travels with the wake-up, so that a waiting poll needs no read.
  local payload = ''
  if #ARGV[4] <= 8192 then payload = entry .. ' ' .. kind .. ' ' .. ARGV[4] end
  redis.call('PUBLISH', P .. 'n:j:' .. id, payload)
  return 1
end
redis.call('DEL', key)
local meta = P .. 'sm:' .. session
if redis.call('EXISTS', meta) == 1 then
  redis.call('HINCRBY', meta, 'pending', -1)
  if ARGV[6] == '1' then
    local item = 'm'
    if kind == 'l' then item = 'l' end
    redis.call('XADD', P .. 's:' .. session, '*', 'k', item, 'd', ARGV[5])
  end
end
redis.call('PUBLISH', P .. 'n:s:' .. session, '')
return 1
"#;

/// Appends the entries of stream `key` after `start` (at most `count`) to `out` as id, kind,
/// data triples; `job_entry` gives a job's outcome kept inline in its hash as such a triple.
const ENTRIES: &str = r#"
local function job_entry(out, job_key)
  local inline = redis.call('HMGET', job_key, 'k', 'd')
  if not inline[1] then return 0 end
  out[#out + 1] = '0-1'
  out[#out + 1] = inline[1]
  out[#out + 1] = inline[2]
  return 1
end
local function entries(out, key, start, count)
  local found = redis.call('XRANGE', key, start, '+', 'COUNT', count)
  for _, e in ipairs(found) do
    out[#out + 1] = e[1]
    out[#out + 1] = e[2][2]
    out[#out + 1] = e[2][4]
  end
  return #found
end
"#;

/// A Lua helper: the store's epoch (`P epoch`), set to `candidate` when missing. It changes only
/// when the store loses its keys (a restart without persistence, a flush, a failover to a copy
/// without them), so a reader that sees it change knows the store lost what it waited for.
const EPOCH: &str = r#"
local function epoch(P, candidate)
  local e = redis.call('GET', P .. 'epoch')
  if not e then
    redis.call('SET', P .. 'epoch', candidate)
    e = candidate
  end
  return e
end
"#;

/// ARGV: prefix, id, api, count, epoch candidate. Returns {'nf'}, {'api', actual} or {'ok',
/// epoch, entries...}.
const WATCH: &str = r#"
local P, id = ARGV[1], ARGV[2]
local job = redis.call('HMGET', P .. 'j:' .. id, 'api', 'session')
if not job[1] then return {'nf'} end
if job[1] ~= ARGV[3] then return {'api', job[1]} end
if job[2] ~= '' then return {'nf'} end
local out = {'ok', epoch(P, ARGV[5])}
if job_entry(out, P .. 'j:' .. id) == 0 then entries(out, P .. 'm:' .. id, '-', ARGV[4]) end
return out
"#;

/// A Lua helper (needs NOW): whether a request's deadline (the server's clock, ms; 0 for none)
/// has passed. Scripts that take a result or a session's items check it before they change
/// anything: a request that waited in a stalled link past its caller's timeout must not take
/// what nobody will receive.
const LATE: &str = "local function late(deadline) local d = tonumber(deadline) or 0 \
                    return d > 0 and now_ms() > d end\n";

/// ARGV: prefix, id, api, count, epoch candidate, deadline. As WATCH, but a finished job whose
/// stream holds only its outcome is taken: removed in the same step. Returns {'nf'},
/// {'api', actual}, {'taken', entry}, {'ok', epoch, entries...}, or {'late', server time}
/// past the deadline (nothing read or changed).
const TAKE: &str = r#"
local P, id = ARGV[1], ARGV[2]
if late(ARGV[6]) then return {'late', now_ms()} end
local key = P .. 'j:' .. id
local job = redis.call('HMGET', key, 'api', 'session', 'st', 'k', 'd')
if not job[1] then return {'nf'} end
if job[1] ~= ARGV[3] then return {'api', job[1]} end
if job[2] ~= '' then return {'nf'} end
if job[4] then
  redis.call('DEL', key)
  redis.call('ZREM', P .. 'd', id)
  return {'taken', '0-1', job[4], job[5]}
end
local out = {'ok', epoch(P, ARGV[5])}
local n = entries(out, P .. 'm:' .. id, '-', ARGV[4])
if job[3] == 'd' and n == 1 then
  table.remove(out, 2)
  out[1] = 'taken'
  redis.call('DEL', key, P .. 'm:' .. id)
  redis.call('ZREM', P .. 'd', id)
end
return out
"#;

/// ARGV: prefix, id, cursor, count, epoch candidate. Returns {'gone', epoch} or {'ok', epoch,
/// entries...}.
const READ: &str = r#"
local P, id = ARGV[1], ARGV[2]
local out = {'ok', epoch(P, ARGV[5])}
if entries(out, P .. 'm:' .. id, '(' .. ARGV[3], ARGV[4]) == 0
   and redis.call('EXISTS', P .. 'j:' .. id) == 0 then
  return {'gone', out[2]}
end
return out
"#;

/// ARGV: prefix, id, epoch candidate, deadline. A reader that reached a finished job's
/// outcome takes it: removes the job, unless another reader did first. Returns {1 or 0,
/// epoch}, or {'late', server time} past the deadline (nothing changed).
const CLAIM: &str = r#"
local P, id = ARGV[1], ARGV[2]
if late(ARGV[4]) then return {'late', now_ms()} end
local e = epoch(P, ARGV[3])
if redis.call('HGET', P .. 'j:' .. id, 'st') ~= 'd' then return {0, e} end
redis.call('DEL', P .. 'j:' .. id, P .. 'm:' .. id)
redis.call('ZREM', P .. 'd', id)
return {1, e}
"#;

/// ARGV: prefix, id. Removes a finished job.
const CONSUME: &str = r#"
local P, id = ARGV[1], ARGV[2]
if redis.call('HGET', P .. 'j:' .. id, 'st') ~= 'd' then return 0 end
redis.call('DEL', P .. 'j:' .. id, P .. 'm:' .. id)
redis.call('ZREM', P .. 'd', id)
return 1
"#;

/// ARGV: prefix, id. Asks the runner of an unfinished job to cancel it.
const CANCEL: &str = r#"
local P, id = ARGV[1], ARGV[2]
local job = redis.call('HMGET', P .. 'j:' .. id, 'st', 'runner')
if job[1] ~= 'r' then return 0 end
redis.call('PUBLISH', P .. 'n:c:' .. job[2], id)
return 1
"#;

/// ARGV: prefix, hash. Takes over a session's reading: its new generation, or nil.
const WATCH_SESSION: &str = r#"
local P, hash = ARGV[1], ARGV[2]
local meta = P .. 'sm:' .. hash
if redis.call('EXISTS', meta) == 0 then return false end
local generation = redis.call('HINCRBY', meta, 'gen', 1)
redis.call('ZADD', P .. 'ss', now_ms(), hash)
redis.call('PUBLISH', P .. 'n:s:' .. hash, '')
return generation
"#;

/// ARGV: prefix, hash, generation, count, close grace (ms), deadline. Reads and removes a
/// session's items, closing the session once nothing was pending or unread for the grace.
/// Returns {'replaced'}, {'closed'}, {'wait'}, {'idle', ms left}, {'ok', kind, data, ...}, or
/// {'late', server time} past the deadline (nothing read or removed).
const READ_SESSION: &str = r#"
local P, hash = ARGV[1], ARGV[2]
if late(ARGV[6]) then return {'late', now_ms()} end
local meta = P .. 'sm:' .. hash
local state = redis.call('HMGET', meta, 'gen', 'pending')
if not state[1] then return {'closed'} end
if state[1] ~= ARGV[3] then return {'replaced'} end
redis.call('ZADD', P .. 'ss', now_ms(), hash)
local stream = P .. 's:' .. hash
local found = redis.call('XRANGE', stream, '-', '+', 'COUNT', ARGV[4])
if #found > 0 then
  local out = {'ok'}
  for _, e in ipairs(found) do
    out[#out + 1] = e[2][2]
    out[#out + 1] = e[2][4]
    redis.call('XDEL', stream, e[1])
  end
  return out
end
if tonumber(state[2]) <= 0 then
  local now = now_ms()
  local since = tonumber(redis.call('HGET', meta, 'idle') or '-1')
  if since < 0 then
    redis.call('HSET', meta, 'idle', now)
    since = now
  end
  local left = since + tonumber(ARGV[5]) - now
  if left > 0 then return {'idle', left} end
  redis.call('DEL', meta, stream)
  redis.call('ZREM', P .. 'ss', hash)
  return {'closed'}
end
redis.call('HDEL', meta, 'idle')
return {'wait'}
"#;

/// ARGV: prefix, hash, generation. The reader of that generation left: the session goes if
/// nothing is pending or unread.
const LEFT_SESSION: &str = r#"
local P, hash = ARGV[1], ARGV[2]
local meta = P .. 'sm:' .. hash
local state = redis.call('HMGET', meta, 'gen', 'pending')
if state[1] ~= ARGV[3] or tonumber(state[2] or '0') > 0 then return 0 end
if redis.call('XLEN', P .. 's:' .. hash) > 0 then return 0 end
redis.call('DEL', meta, P .. 's:' .. hash)
redis.call('ZREM', P .. 'ss', hash)
return 1
"#;

/// ARGV: prefix, runner, lease (ms). Renews a runner's lease; returns the server's time (ms),
/// which the replica's clock of the server is set by.
const RENEW: &str = r#"
redis.call('SET', ARGV[1] .. 'r:' .. ARGV[2], '1', 'PX', ARGV[3])
redis.call('SADD', ARGV[1] .. 'rs', ARGV[2])
return now_ms()
"#;

/// ARGV: prefix, offset (ms added to the server's clock), result ttl (ms). Drops expired
/// results and idle sessions; returns {dropped, lost job ids...}: the unfinished jobs of
/// runners whose lease lapsed (the caller ends each).
const SWEEP: &str = r#"
local P = ARGV[1]
local offset, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local cutoff = now_ms() + offset - ttl
local old = redis.call('ZRANGEBYSCORE', P .. 'd', '-inf', cutoff * 1000)
for _, id in ipairs(old) do redis.call('DEL', P .. 'j:' .. id, P .. 'm:' .. id) end
redis.call('ZREMRANGEBYSCORE', P .. 'd', '-inf', cutoff * 1000)
local idle = redis.call('ZRANGEBYSCORE', P .. 'ss', '-inf', cutoff)
for _, hash in ipairs(idle) do redis.call('DEL', P .. 'sm:' .. hash, P .. 's:' .. hash) end
redis.call('ZREMRANGEBYSCORE', P .. 'ss', '-inf', cutoff)
local out = {#old + #idle}
for _, runner in ipairs(redis.call('SMEMBERS', P .. 'rs')) do
  local left = redis.call('PTTL', P .. 'r:' .. runner)
  if left < 0 or left <= offset then
    local jobs = redis.call('SMEMBERS', P .. 'rj:' .. runner)
    if #jobs == 0 then redis.call('SREM', P .. 'rs', runner) end
    for _, id in ipairs(jobs) do out[#out + 1] = id end
  end
end
return out
"#;

/// ARGV: prefix, path, orig_name, owned ('1' or '0'), ttl (ms).
const RECORD_FILE: &str = r#"
local key = ARGV[1] .. 'f:' .. ARGV[2]
redis.call('HSET', key, 'name', ARGV[3], 'owned', ARGV[4])
redis.call('PEXPIRE', key, ARGV[5])
return 1
"#;

/// ARGV: prefix, path, ttl (ms; 0 leaves it). Returns {name, owned} or an empty array.
const FILE_RECORD: &str = r#"
local key = ARGV[1] .. 'f:' .. ARGV[2]
local file = redis.call('HMGET', key, 'name', 'owned')
if not file[1] then return {} end
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', key, ARGV[3]) end
return file
"#;

/// Every script, compiled once.
pub(super) struct Scripts {
    pub(super) begin: Script,
    pub(super) begin_finished: Script,
    pub(super) take: Script,
    pub(super) restore: Script,
    pub(super) publish: Script,
    pub(super) finish: Script,
    pub(super) watch: Script,
    pub(super) read: Script,
    pub(super) consume: Script,
    pub(super) claim: Script,
    pub(super) cancel: Script,
    pub(super) watch_session: Script,
    pub(super) read_session: Script,
    pub(super) left_session: Script,
    pub(super) renew: Script,
    pub(super) sweep: Script,
    pub(super) record_file: Script,
    pub(super) file_record: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let with = |helpers: &[&str], body: &str| {
            let mut code: String = helpers.concat();
            code.push_str(body);
            Script::new(&code)
        };
        Self {
            begin: with(&[NOW], BEGIN),
            begin_finished: with(&[NOW, STORE_RESULT], BEGIN_FINISHED),
            take: with(&[NOW, LATE, ENTRIES, EPOCH], TAKE),
            restore: with(&[NOW, STORE_RESULT], RESTORE),
            publish: with(&[], PUBLISH),
            finish: with(&[NOW, STORE_RESULT], FINISH),
            watch: with(&[ENTRIES, EPOCH], WATCH),
            read: with(&[ENTRIES, EPOCH], READ),
            consume: with(&[], CONSUME),
            claim: with(&[NOW, LATE, EPOCH], CLAIM),
            cancel: with(&[], CANCEL),
            watch_session: with(&[NOW], WATCH_SESSION),
            read_session: with(&[NOW, LATE], READ_SESSION),
            left_session: with(&[], LEFT_SESSION),
            renew: with(&[NOW], RENEW),
            sweep: with(&[NOW], SWEEP),
            record_file: with(&[], RECORD_FILE),
            file_record: with(&[], FILE_RECORD),
        }
    }
}
