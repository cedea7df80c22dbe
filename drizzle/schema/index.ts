export * from './api-keys.ts';
export * from './audit-log.ts';
export * from './instances.ts';
export * from './models.ts';
export * from './tenants.ts';
export * from './usage-events.ts';
export * from './usage-rollups.ts';
