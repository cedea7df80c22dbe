import { AppError } from '../../../shared/errors/index.ts';
import type { ModelCacheSettings } from '../../cache/policy.ts';

/**
 * Whether a tenant's key may use a model, by the model's settings row: a `private` model is its owner's alone.
 * Refused like a model outside the key's scopes (403, the same words), so another tenant learns nothing about
 * whose it is. Unknown settings (no row: public; Postgres unreachable in an isolate that never loaded them)
 * allow the call: the models table is the only record of privacy, and refusing every model while Postgres is
 * down would turn a database outage into an inference outage (R3). Isolates that loaded the settings keep them.
 */
export function checkModelAccess(model: string, settings: ModelCacheSettings | null, tenantId: string): void {
  if (settings?.visibility !== 'private') return;
  if (settings.ownerTenantId !== tenantId) {
    throw new AppError('FORBIDDEN', `API key is not allowed to use model "${model}"`);
  }
}
