import type { UsageStreamClient } from './usage-stream.ts';

/**
 * Removes the stream entries every consumer group has acknowledged, and nothing else, in one script so no
 * group moves in between. For each group the floor is its oldest pending entry (delivered, not acknowledged)
 * or, with nothing pending, the entry after its last delivered one; `XTRIM MINID ~` to the lowest floor removes
 * only entries below it (approximate: whole macro nodes, so it may keep a few more, never fewer). A stream
 * without any group is left whole: nothing has acknowledged anything. Entry ids must only grow (`XADD *`),
 * which is how the edge appends.
 */
const TRIM = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local floorMs, floorSeq
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local id = info['last-delivered-id']
  local bump = 1
  if tonumber(info['pending']) > 0 then
    id = redis.call('XPENDING', KEYS[1], info['name'])[2]
    bump = 0
  end
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  ms = tonumber(ms)
  seq = tonumber(seq) + bump
  if floorMs == nil or ms < floorMs or (ms == floorMs and seq < floorSeq) then
    floorMs, floorSeq = ms, seq
  end
end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f-%.0f', floorMs, floorSeq))`;

/**
 * Trims what the drain has acknowledged from the usage stream (the edge appends without MAXLEN, so this is the
 * only trimming). Called after each acknowledged batch; a failure is logged and left for the next batch, never
 * failing the round. Returns how many entries were removed.
 */
export async function trimAcknowledged(s: {
  redis: Pick<UsageStreamClient, 'runScript'>;
  stream: string;
  logger: { warn(fields: object, msg: string): void };
}): Promise<number> {
  try {
    return Number(await s.redis.runScript(TRIM, [s.stream], []));
  } catch (err) {
    s.logger.warn({ err }, 'usage stream trim failed; retried after the next batch');
    return 0;
  }
}
