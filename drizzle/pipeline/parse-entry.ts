import { type UsageEvent, usageEventSchema } from '../../shared/usage/event.ts';

/** One stream entry as ioredis returns it: the entry id and a flat field/value list. */
export type StreamEntry = [id: string, fields: string[] | null];

export type ParsedEntry =
  | { ok: true; entryId: string; event: UsageEvent }
  | { ok: false; entryId: string; reason: string; fields: Record<string, string> };

function fieldMap(fields: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
  return map;
}

/**
 * Validates one entry of the usage stream. Anything the drain cannot write (no `e` field, bad JSON, a schema
 * violation, an `id` field that disagrees with the event) is rejected with a reason for the dead-letter stream,
 * so one bad producer never blocks the pipeline.
 */
export function parseUsageEntry([entryId, rawFields]: StreamEntry): ParsedEntry {
  const fields = fieldMap(rawFields ?? []);
  const json = fields['e'];
  if (json === undefined) return { ok: false, entryId, reason: 'missing field "e"', fields };
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return { ok: false, entryId, reason: 'field "e" is not valid JSON', fields };
  }
  const parsed = usageEventSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, entryId, reason: `invalid usage event: ${issues.join('; ')}`, fields };
  }
  if (fields['id'] !== undefined && fields['id'] !== parsed.data.id) {
    return { ok: false, entryId, reason: `field "id" (${fields['id']}) differs from the event id`, fields };
  }
  return { ok: true, entryId, event: parsed.data };
}
