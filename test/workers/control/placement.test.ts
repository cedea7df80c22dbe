import { describe, expect, it } from 'vitest';
import { placementOrder } from '../../../workers/control/placement.ts';

type Running = [vast: number, runpod: number, lambda: number];

const providers = (running: Running) => [
  { name: 'lambda', hourlyCostUsd: 1.29, running: running[2] },
  { name: 'vast', hourlyCostUsd: 1.05, running: running[0] },
  { name: 'runpod', hourlyCostUsd: 1.19, running: running[1] },
];

describe('spread placement order', () => {
  it.each<[name: string, running: Running, after: number, order: string[]]>([
    ['empty fleet: cheapest first', [0, 0, 0], 1, ['vast', 'runpod', 'lambda']],
    ['cheapest at its share goes last', [4, 0, 0], 10, ['runpod', 'lambda', 'vast']],
    ['two at their share: the third first', [4, 4, 1], 10, ['lambda', 'vast', 'runpod']],
    ['below share: plain cost order', [3, 3, 0], 10, ['vast', 'runpod', 'lambda']],
  ])('%s', (_name, running, after, order) => {
    expect(placementOrder(providers(running), after, 0.4)).toEqual(order);
  });

  it('a share of 1 is plain cheapest-first', () => {
    expect(placementOrder(providers([30, 0, 0]), 31, 1)).toEqual(['vast', 'runpod', 'lambda']);
  });
});
