import { describe, expect, it } from 'vitest';
import { placementOrder } from '../../../workers/control/placement.ts';

type Running = [vast: number, runpod: number, lambda: number];

const providers = (running: Running) => [
  { name: 'lambda', hourlyCostUsd: 1.29, running: running[2] },
  { name: 'vast', hourlyCostUsd: 1.05, running: running[0] },
  { name: 'runpod', hourlyCostUsd: 1.19, running: running[1] },
];

describe('spread placement order', () => {
  it.each<{ name: string; running: Running; after: number; order: string[] }>([
    {
      name: 'empty fleet: cheapest first',
      running: [0, 0, 0],
      after: 1,
      order: ['vast', 'runpod', 'lambda'],
    },
    {
      name: 'cheapest at its share goes last',
      running: [4, 0, 0],
      after: 10,
      order: ['runpod', 'lambda', 'vast'],
    },
    {
      name: 'two at their share: the third first',
      running: [4, 4, 1],
      after: 10,
      order: ['lambda', 'vast', 'runpod'],
    },
    {
      name: 'below share: plain cost order',
      running: [3, 3, 0],
      after: 10,
      order: ['vast', 'runpod', 'lambda'],
    },
  ])('$name', ({ running, after, order }) => {
    expect(placementOrder(providers(running), after, 0.4)).toEqual(order);
  });

  it('a share of 1 is plain cheapest-first', () => {
    expect(placementOrder(providers([30, 0, 0]), 31, 1)).toEqual(['vast', 'runpod', 'lambda']);
  });
});
