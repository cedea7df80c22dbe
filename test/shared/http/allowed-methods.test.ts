import { describe, expect, it } from 'vitest';
import { allowedMethodsOf } from '../../../shared/http/allowed-methods.ts';

describe('allowedMethodsOf', () => {
  const routes = [
    { method: 'ALL', path: '/*' },
    { method: 'ALL', path: '/v2/models/*' },
    { method: 'GET', path: '/v2/models/:name' },
    { method: 'POST', path: '/v2/models/:name/infer' },
    { method: 'POST', path: '/admin/v1/tenants' },
    { method: 'GET', path: '/admin/v1/tenants' },
    { method: 'PATCH', path: '/admin/v1/models/:name' },
  ];
  const allowed = allowedMethodsOf(() => routes);

  it('lists the methods of the routes a path matches, HEAD with GET, and ignores middleware', () => {
    expect(allowed('/v2/models/ocr-cls/infer')).toEqual(['POST']);
    expect(allowed('/v2/models/ocr-cls')).toEqual(['GET', 'HEAD']);
    expect(allowed('/admin/v1/tenants')).toEqual(['GET', 'HEAD', 'POST']);
    expect(allowed('/admin/v1/models/m')).toEqual(['PATCH']);
  });

  it('is empty for a path no route matches, including an empty parameter or extra segments', () => {
    expect(allowed('/v2/models//infer')).toEqual([]);
    expect(allowed('/v2/models/a/b/c')).toEqual([]);
    expect(allowed('/nothing')).toEqual([]);
  });
});
