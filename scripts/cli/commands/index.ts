import type { CommandGroup } from '../types.ts';
import { auditGroup } from './audit.ts';
import { fleetGroup } from './fleet.ts';
import { inferenceGroup } from './inference.ts';
import { keysGroup } from './keys.ts';
import { modelsGroup } from './models.ts';
import { partitionsGroup } from './partitions.ts';
import { tenantsGroup } from './tenants.ts';
import { usageGroup } from './usage.ts';

/**
 * Every command group of `npm run cli`, in help order. Other areas add theirs here (one import, one entry),
 * e.g. CONTROL-PROVIDERS `fleet`.
 */
export const commandGroups: CommandGroup[] = [
  tenantsGroup,
  keysGroup,
  modelsGroup,
  usageGroup,
  auditGroup,
  partitionsGroup,
  fleetGroup,
  inferenceGroup,
];
