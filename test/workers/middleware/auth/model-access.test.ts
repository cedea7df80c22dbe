import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CACHE_SETTINGS } from '../../../../workers/cache/policy.ts';
import { checkModelAccess } from '../../../../workers/middleware/auth/model-access.ts';

const privateTo = (owner: string) => ({
  ...DEFAULT_MODEL_CACHE_SETTINGS,
  visibility: 'private' as const,
  ownerTenantId: owner,
});

describe('checkModelAccess', () => {
  it('lets only the owner’s keys use a private model, refusing others as a scope refusal would', () => {
    expect(() => checkModelAccess('mine', privateTo('t-a'), 't-a')).not.toThrow();
    expect(() => checkModelAccess('mine', privateTo('t-a'), 't-b')).toThrowError(
      expect.objectContaining({
        code: 'FORBIDDEN',
        status: 403,
        message: 'API key is not allowed to use model "mine"',
      }),
    );
  });

  it('refuses everybody on a private model without an owner', () => {
    expect(() => checkModelAccess('m', { ...privateTo('x'), ownerTenantId: null }, 't-a')).toThrow();
  });

  it('allows public models, models without a settings row and settings that could not be loaded', () => {
    expect(() => checkModelAccess('m', DEFAULT_MODEL_CACHE_SETTINGS, 't-a')).not.toThrow();
    expect(() => checkModelAccess('m', null, 't-a')).not.toThrow();
  });
});
