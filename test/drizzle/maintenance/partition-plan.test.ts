import { describe, expect, it } from 'vitest';
import {
  type PartitionedTable,
  parsePartitionName,
  partitionName,
  planPartitions,
} from '../../../drizzle/maintenance/partition-plan.ts';

const none: Record<PartitionedTable, string[]> = { usage_events: [], audit_log: [], usage_rollups: [] };

describe('planPartitions', () => {
  it('creates the current month and the months ahead, across a year end, with UTC bounds', () => {
    const actions = planPartitions({
      now: new Date('2026-11-30T23:59:59Z'),
      monthsAhead: 2,
      mode: 'archive',
      existing: none,
      policies: [{ table: 'usage_events', retentionMonths: 0 }],
    });
    expect(actions).toEqual([
      {
        kind: 'create',
        table: 'usage_events',
        name: 'usage_events_p202611',
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-12-01T00:00:00.000Z',
      },
      {
        kind: 'create',
        table: 'usage_events',
        name: 'usage_events_p202612',
        from: '2026-12-01T00:00:00.000Z',
        to: '2027-01-01T00:00:00.000Z',
      },
      {
        kind: 'create',
        table: 'usage_events',
        name: 'usage_events_p202701',
        from: '2027-01-01T00:00:00.000Z',
        to: '2027-02-01T00:00:00.000Z',
      },
    ]);
  });

  it('plans nothing when every month exists and retention keeps everything (idempotent)', () => {
    const actions = planPartitions({
      now: new Date('2026-11-15T00:00:00Z'),
      monthsAhead: 1,
      mode: 'drop',
      existing: {
        usage_events: [
          'usage_events_p202410',
          'usage_events_p202611',
          'usage_events_p202612',
          'usage_events_default',
        ],
        audit_log: ['audit_log_p202611', 'audit_log_p202612'],
      },
      policies: [
        { table: 'usage_events', retentionMonths: 0 },
        { table: 'audit_log', retentionMonths: 0 },
      ],
    });
    expect(actions).toEqual([]);
  });

  it('detaches, oldest first, only monthly partitions older than the retention window, after the creates', () => {
    const actions = planPartitions({
      now: new Date('2027-01-10T00:00:00Z'),
      monthsAhead: 0,
      mode: 'drop',
      existing: {
        usage_events: [
          'usage_events_p202610',
          'usage_events_p202608',
          'usage_events_p202611',
          'usage_events_p202612',
          'usage_events_default',
          'usage_events_old_copy',
        ],
        audit_log: ['audit_log_p202608'],
      },
      policies: [
        { table: 'usage_events', retentionMonths: 2 },
        { table: 'audit_log', retentionMonths: 0 },
      ],
    });
    expect(actions.map((a) => `${a.kind} ${a.name}${a.kind === 'detach' ? ` ${a.mode}` : ''}`)).toEqual([
      'create usage_events_p202701',
      'create audit_log_p202701',
      'detach usage_events_p202608 drop',
      'detach usage_events_p202610 drop',
    ]);
  });

  it('with a retention of one month keeps the current and the previous month', () => {
    const actions = planPartitions({
      now: new Date('2026-03-01T00:00:00Z'),
      monthsAhead: 0,
      mode: 'archive',
      existing: {
        usage_events: [],
        audit_log: ['audit_log_p202601', 'audit_log_p202602', 'audit_log_p202603'],
      },
      policies: [{ table: 'audit_log', retentionMonths: 1 }],
    });
    expect(actions).toEqual([
      {
        kind: 'detach',
        table: 'audit_log',
        name: 'audit_log_p202601',
        from: '2026-01-01T00:00:00.000Z',
        to: '2026-02-01T00:00:00.000Z',
        mode: 'archive',
      },
    ]);
  });
});

describe('partition names', () => {
  it('round-trip and reject names that are not monthly partitions of that table', () => {
    const index = 2026 * 12 + 0;
    expect(partitionName('audit_log', index)).toBe('audit_log_p202601');
    expect(parsePartitionName('audit_log', 'audit_log_p202601')).toBe(index);
    expect(parsePartitionName('audit_log', 'audit_log_p202613')).toBeNull();
    expect(parsePartitionName('audit_log', 'usage_events_p202601')).toBeNull();
    expect(parsePartitionName('audit_log', 'audit_log_default')).toBeNull();
  });
});
