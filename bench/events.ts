import type Redis from "ioredis";
import { CLICK_QUEUE } from "../src/clickstore/clickstore";

/** What Redis holds after a run, split into main-link and tail-link events. */
export interface EventCount {
  total: number;
  main: number;
  tail: number;
  /** Events whose click_id was already seen: a click stored twice. */
  duplicates: number;
  /** Main-link clicks, each counted once however often it was stored. */
  distinctMain: number;
}

// Counted inside Redis, in chunks, so a few hundred MB of events need not cross the socket.
const COUNT_SCRIPT = `
local length = redis.call('LLEN', KEYS[1])
local main, tail, duplicates, distinct_main = 0, 0, 0, 0
local seen = {}
local start = 0
while start < length do
  local chunk = redis.call('LRANGE', KEYS[1], start, start + 9999)
  for _, event in ipairs(chunk) do
    local is_tail = string.find(event, ARGV[1], 1, true) ~= nil
    if is_tail then tail = tail + 1 else main = main + 1 end
    local id = string.match(event, 'click_id=([%x%-]+)')
    if id ~= nil and seen[id] then
      duplicates = duplicates + 1
    else
      if id ~= nil then seen[id] = true end
      if not is_tail then distinct_main = distinct_main + 1 end
    end
  end
  start = start + 10000
end
return {length, main, tail, duplicates, distinct_main}
`;

export async function countEvents(redis: Redis, tailLinkId: number): Promise<EventCount> {
  const [total, main, tail, duplicates, distinctMain] = (await redis.eval(
    COUNT_SCRIPT,
    1,
    CLICK_QUEUE,
    `campaign_link_id=${tailLinkId}&`,
  )) as [number, number, number, number, number];
  return { total, main, tail, duplicates, distinctMain };
}

/** Waits until no more events arrive (clicks still in the service when wrk stopped), for at most `timeoutMs`. */
export async function settle(redis: Redis, quietMs = 300, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await redis.llen(CLICK_QUEUE);
  while (Date.now() < deadline) {
    await Bun.sleep(quietMs);
    const now = await redis.llen(CLICK_QUEUE);
    if (now === last) return now;
    last = now;
  }
  return last;
}

export async function clearEvents(redis: Redis): Promise<void> {
  await redis.del(CLICK_QUEUE);
}
