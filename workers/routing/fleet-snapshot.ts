import { z } from 'zod';
import { type OriginRecord, originRecordSchema } from '../../shared/fleet/origin-record.ts';
import { sha256HexSync } from '../../shared/sha256-sync.ts';
import type { LastKnownStore } from '../adapters/platform.ts';

/** A fleet as one successful registry read returned it, and when (epoch ms on the reader's clock). */
export interface KnownFleet {
  origins: OriginRecord[];
  readAt: number;
}

const snapshotSchema = z.object({
  readAt: z.number().int().nonnegative(),
  origins: z.array(originRecordSchema),
});

/**
 * The store key of one registry's snapshot: a hash of its URL, so edges of another deployment that share the
 * store (one Cache API zone for staging and production, one host's temporary directory) never read this
 * fleet, and the URL itself is not spelled out in the store.
 */
export function fleetSnapshotKey(registryUrl: string): string {
  return `fleet-${sha256HexSync(registryUrl).slice(0, 24)}`;
}

/** What makes two fleets the same for routing purposes: who is in it, where, and whether they take work. */
function membership(origins: readonly OriginRecord[]): string {
  return origins
    .map((o) => `${o.id} ${o.url} ${o.status} ${o.region}`)
    .sort()
    .join('\n');
}

export interface FleetSnapshotsOptions {
  store: LastKnownStore;
  key: string;
  /** Write at most this often while the membership is unchanged. */
  writeEveryMs: number;
  /** The entry's lifetime in the store: past the staleness bound it is of no use to anyone. */
  ttlSeconds: number;
}

/**
 * The last known fleet kept outside the isolate (`LastKnownStore`: the location's Cache API on Workers, a file
 * under Node), for a new isolate that finds Redis down. Written after a successful registry read, at most once
 * per `writeEveryMs` unless the membership changed; never an empty fleet (it could only route nowhere). Read
 * back validated: a malformed entry reads as none. Store errors reach the caller.
 */
export class FleetSnapshots {
  readonly #options: FleetSnapshotsOptions;
  #writtenAt: number | null = null;
  #written = '';

  constructor(options: FleetSnapshotsOptions) {
    this.#options = options;
  }

  async read(): Promise<KnownFleet | null> {
    const text = await this.#options.store.get(this.#options.key);
    if (text === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return null;
    }
    const parsed = snapshotSchema.safeParse(json);
    return parsed.success ? parsed.data : null;
  }

  /** Writes `fleet` when it is due (see the class); resolves false when nothing was written. */
  async offer(fleet: KnownFleet): Promise<boolean> {
    if (fleet.origins.length === 0) return false;
    const members = membership(fleet.origins);
    const due =
      this.#writtenAt === null ||
      members !== this.#written ||
      fleet.readAt - this.#writtenAt >= this.#options.writeEveryMs;
    if (!due) return false;
    // Marked before the write, so concurrent offers do not all write, and a failed write is tried again when
    // the next one is due rather than on every read.
    this.#writtenAt = fleet.readAt;
    this.#written = members;
    await this.#options.store.put(
      this.#options.key,
      JSON.stringify({ readAt: fleet.readAt, origins: fleet.origins }),
      this.#options.ttlSeconds,
    );
    return true;
  }
}
