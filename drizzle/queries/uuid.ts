const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a reference is an id (tenants and keys are addressed by id or by name/prefix in the same place). */
export function isUuid(ref: string): boolean {
  return UUID.test(ref);
}
