/**
 * The replica's queueing model: M/M/c with c = batch slots, each slot serving at 1/serviceMs. The Erlang-C
 * formula gives the chance a request waits and the exponential tail of the wait; the fleet-level backlog
 * beyond capacity is a separate fluid queue in the engine.
 */

/** Erlang C: probability an arrival waits, for c servers offered `a` erlangs (a < c). 1 when a ≥ c. */
export function erlangC(c: number, a: number): number {
  if (a <= 0) return 0;
  if (a >= c) return 1;
  // Iterative Erlang B, then C = B / (1 − ρ(1 − B)); stable for large c.
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  const rho = a / c;
  return b / (1 - rho * (1 - b));
}

export interface ReplicaModel {
  slots: number;
  serviceMs: number;
}

/** Requests/s one replica serves with every slot busy. */
export function replicaRate(m: ReplicaModel): number {
  return (m.slots * 1000) / m.serviceMs;
}

/** P(wait > budgetMs) for a replica offered `lambda` requests/s; 1 when overloaded or the budget is gone. */
export function waitTail(m: ReplicaModel, lambda: number, budgetMs: number): number {
  if (lambda <= 0) return 0;
  if (budgetMs <= 0) return 1;
  const mu = 1000 / m.serviceMs;
  const a = lambda / mu;
  if (a >= m.slots) return 1;
  return erlangC(m.slots, a) * Math.exp(-(m.slots * mu - lambda) * (budgetMs / 1000));
}

/** Mean requests in a replica (in service + waiting) at `lambda` requests/s (Little's law). */
export function meanInflight(m: ReplicaModel, lambda: number): number {
  if (lambda <= 0) return 0;
  const mu = 1000 / m.serviceMs;
  const a = lambda / mu;
  if (a >= m.slots) return m.slots;
  const wait = erlangC(m.slots, a) / (m.slots * mu - lambda);
  return lambda * (m.serviceMs / 1000 + wait);
}
