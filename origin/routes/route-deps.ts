import type { Clock } from '../../shared/clock.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import type { Readiness } from '../readiness.ts';
import type { ModelRepository } from '../repository/repository.ts';
import type { RequestDecoder } from '../server/request-decoder.ts';
import type { TurnBudget } from '../server/turn-budget.ts';
import type { ServedModel } from '../serving/served-model.ts';

/** What the origin's routes are built from; each route takes the part it uses. */
export interface RouteDeps {
  repository: ModelRepository<ServedModel>;
  lifecycle: Lifecycle;
  /** What `/v2/health/ready` answers; the repository routes tell it what is loaded and unloaded. */
  readiness: Readiness;
  metrics: OriginMetrics;
  clock: Clock;
  maxBodyBytes: number;
  modelControl: 'none' | 'explicit';
  /** Decodes inference bodies (off the main thread when large), paced by `turns`. */
  decodeRequest: RequestDecoder;
  /** Paces response encoding across event-loop turns. */
  turns: TurnBudget;
}
