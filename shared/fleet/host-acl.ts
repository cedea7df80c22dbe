import { DRAIN_KEY_PREFIX, ORIGIN_KEY_PREFIX, ORIGINS_INDEX_KEY } from '../redis-keys.ts';

/**
 * Redis ACL rules for the credential GPU hosts receive (`HOST_REGISTRY_REST_TOKEN`). Why: a marketplace host
 * is not trusted like the edge, and with the edge's own token it could write `aiserve:auth:*` records (keys
 * it invents would then pass every edge), poison cached answers or forge usage. With these rules it reaches
 * only the registry records, the origin index and the drain markers, with the commands the heartbeat uses
 * (MULTI/EXEC of SET + ZADD, DEL + ZREM on leaving, GET of its drain marker).
 */
export const HOST_REGISTRY_ACL_RULES: readonly string[] = [
  'resetkeys',
  `~${ORIGIN_KEY_PREFIX}*`,
  `~${ORIGINS_INDEX_KEY}`,
  `~${DRAIN_KEY_PREFIX}*`,
  'resetchannels',
  '-@all',
  '+multi',
  '+exec',
  '+set',
  '+zadd',
  '+del',
  '+zrem',
  '+get',
];

/** The `ACL SETUSER` line for a host user whose password (an Upstash `ACL GENTOKEN` token) is `token`. */
export function hostAclSetUser(user: string, token: string): string {
  return ['ACL', 'SETUSER', user, 'on', `>${token}`, ...HOST_REGISTRY_ACL_RULES].join(' ');
}
