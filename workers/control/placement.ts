/** A provider as placement sees it. */
export interface PlacementProvider {
  name: string;
  hourlyCostUsd: number;
  /** Instances it runs for us now (booting or ready). */
  running: number;
}

/**
 * The order in which to try providers for one more instance: cheapest first, except that a provider already
 * holding `maxShare` of the fleet (after this launch) goes to the back, so losing any one provider costs at
 * most that share of capacity. Providers at the back are still tried, after the others failed, because an
 * unbalanced fleet beats a missing replica. `maxShare` 1 is plain cheapest-first.
 */
export function placementOrder(
  providers: readonly PlacementProvider[],
  fleetAfter: number,
  maxShare: number,
): string[] {
  const cap = Math.max(1, Math.ceil(maxShare * fleetAfter));
  const byCost = [...providers].sort(
    (a, b) => a.hourlyCostUsd - b.hourlyCostUsd || a.name.localeCompare(b.name),
  );
  const open = byCost.filter((p) => p.running + 1 <= cap);
  const full = byCost.filter((p) => p.running + 1 > cap);
  return [...open, ...full].map((p) => p.name);
}
