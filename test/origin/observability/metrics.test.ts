import { describe, expect, it } from 'vitest';
import type { EventLoopMonitor } from '../../../origin/observability/event-loop.ts';
import type { GpuSampler } from '../../../origin/observability/gpu.ts';
import { createOriginMetrics, requestStatus } from '../../../origin/observability/metrics.ts';
import { AppError } from '../../../shared/errors/index.ts';

const fakeGpu = (available: boolean): GpuSampler => ({
  available,
  latest: () => [{ index: 0, utilizationRatio: 0.42, memoryUsedBytes: 1024, memoryTotalBytes: 4096 }],
  sampleNow: async () => [],
  start: () => {},
  stop: () => {},
});

const fakeLoop: EventLoopMonitor = {
  resolutionMs: 10,
  stats: () => ({ p50Ms: 1, p99Ms: 5, maxMs: 20, meanMs: 2, samples: 10 }),
  reset: () => {},
  stop: () => {},
};

describe('createOriginMetrics', () => {
  it('renders the recorded series with their labels', async () => {
    const metrics = createOriginMetrics({ eventLoop: fakeLoop });
    const m = { model: 'resnet', version: '1' };
    metrics.recordRequest({ ...m, status: 'success', durationSeconds: 0.012 });
    metrics.recordRequest({ ...m, status: 'QUEUE_FULL', durationSeconds: 0.001 });
    metrics.recordBatch({ ...m, batchSize: 4, computeSeconds: 0.008 });
    metrics.recordBatch({ ...m, batchSize: 2, computeSeconds: 0.004 });
    metrics.recordQueue(m, 0.0003);
    metrics.setPendingSource(() => [{ ...m, pending: 7 }]);

    const { contentType, body } = await metrics.render();
    expect(contentType).toContain('text/plain');
    expect(body).toContain('aiserve_origin_requests_total{model="resnet",version="1",status="success"} 1');
    expect(body).toContain('aiserve_origin_requests_total{model="resnet",version="1",status="QUEUE_FULL"} 1');
    expect(body).toContain('aiserve_origin_inference_count_total{model="resnet",version="1"} 6');
    expect(body).toContain('aiserve_origin_execution_count_total{model="resnet",version="1"} 2');
    expect(body).toContain('aiserve_origin_batch_size_bucket{le="4",model="resnet",version="1"} 2');
    expect(body).toContain('aiserve_origin_batch_size_sum{model="resnet",version="1"} 6');
    expect(body).toContain('aiserve_origin_queue_duration_seconds_count{model="resnet",version="1"} 1');
    expect(body).toContain('aiserve_origin_compute_duration_seconds_count{model="resnet",version="1"} 2');
    expect(body).toContain(
      'aiserve_origin_request_duration_seconds_bucket{le="0.0005",model="resnet",version="1"} 0',
    );
    expect(body).toContain(
      'aiserve_origin_request_duration_seconds_bucket{le="10",model="resnet",version="1"} 2',
    );
    expect(body).toContain('aiserve_origin_pending_requests{model="resnet",version="1"} 7');
    expect(body).toContain('aiserve_origin_event_loop_lag_seconds{quantile="0.99"} 0.005');
    expect(body).toContain('aiserve_origin_event_loop_lag_seconds{quantile="1"} 0.02');
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).not.toContain('aiserve_origin_gpu_');
    metrics.close();
  });

  it('reads pending counts at scrape time', async () => {
    let pending = 1;
    const metrics = createOriginMetrics({
      pending: () => [{ model: 'a', version: '1', pending }],
      defaultMetrics: false,
      eventLoop: fakeLoop,
    });
    expect((await metrics.render()).body).toContain(
      'aiserve_origin_pending_requests{model="a",version="1"} 1',
    );
    pending = 3;
    expect((await metrics.render()).body).toContain(
      'aiserve_origin_pending_requests{model="a",version="1"} 3',
    );
  });

  it('keeps registries separate between instances', async () => {
    const a = createOriginMetrics({ defaultMetrics: false, eventLoop: fakeLoop });
    const b = createOriginMetrics({ defaultMetrics: false, eventLoop: fakeLoop });
    a.recordRequest({ model: 'x', version: '1', status: 'success' });
    expect((await a.render()).body).toContain('status="success"} 1');
    expect((await b.render()).body).not.toContain('status="success"');
  });

  it('exposes GPU gauges only when a GPU sampler is available', async () => {
    const withGpu = createOriginMetrics({ defaultMetrics: false, eventLoop: fakeLoop, gpu: fakeGpu(true) });
    const body = (await withGpu.render()).body;
    expect(body).toContain('aiserve_origin_gpu_utilization_ratio{gpu="0"} 0.42');
    expect(body).toContain('aiserve_origin_gpu_memory_used_bytes{gpu="0"} 1024');
    expect(body).toContain('aiserve_origin_gpu_memory_total_bytes{gpu="0"} 4096');
    const noGpu = createOriginMetrics({ defaultMetrics: false, eventLoop: fakeLoop, gpu: fakeGpu(false) });
    expect((await noGpu.render()).body).not.toContain('gpu');
  });

  it('measures the real event loop with its own monitor', async () => {
    const metrics = createOriginMetrics({ defaultMetrics: false });
    await new Promise((r) => setTimeout(r, 50));
    const body = (await metrics.render()).body;
    expect(body).toMatch(/aiserve_origin_event_loop_lag_seconds\{quantile="0.5"\} [0-9.e-]+/);
    metrics.close();
  });
});

describe('requestStatus', () => {
  it('maps outcomes to the status label', () => {
    expect(requestStatus()).toBe('success');
    expect(requestStatus(new AppError('DEADLINE_EXCEEDED', 'late'))).toBe('DEADLINE_EXCEEDED');
    expect(requestStatus(new Error('boom'))).toBe('INTERNAL');
  });
});
