import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface GpuSample {
  index: number;
  /** 0..1; null when the driver reports it as unsupported. */
  utilizationRatio: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
}

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,utilization.gpu,memory.used,memory.total',
  '--format=csv,noheader,nounits',
] as const;

const MIB = 1024 * 1024;

function num(field: string | undefined): number | null {
  if (field === undefined) return null;
  const trimmed = field.trim();
  if (!/^\d+(?:\.\d+)?$/.test(trimmed)) return null; // "[N/A]", "[Not Supported]", ""
  return Number(trimmed);
}

/** Parses `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): GpuSample[] {
  const samples: GpuSample[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const fields = line.split(',');
    const index = num(fields[0]);
    if (index === null || !Number.isInteger(index)) continue;
    const util = num(fields[1]);
    const used = num(fields[2]);
    const total = num(fields[3]);
    samples.push({
      index,
      utilizationRatio: util === null ? null : Math.min(1, util / 100),
      memoryUsedBytes: used === null ? null : used * MIB,
      memoryTotalBytes: total === null ? null : total * MIB,
    });
  }
  return samples;
}

/** Looks an executable up on PATH once; null when absent. */
export function findExecutable(
  name: string,
  pathEnv: string | undefined = process.env['PATH'],
): string | null {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface GpuSampler {
  /** False when no `nvidia-smi` was found: no GPU metrics at all. */
  readonly available: boolean;
  /** The last successful sample; empty before the first or while sampling fails. */
  latest(): readonly GpuSample[];
  sampleNow(): Promise<readonly GpuSample[]>;
  start(): void;
  stop(): void;
}

type RunCommand = (file: string, args: readonly string[]) => Promise<string>;

export interface GpuSamplerOptions {
  /** Path to nvidia-smi; default: looked up on PATH once. `null` disables sampling. */
  binary?: string | null;
  intervalMs?: number;
  run?: RunCommand;
  /** Told once about the first failure; later failures are silent until a sample succeeds again. */
  onError?: (err: unknown) => void;
}

const defaultRun: RunCommand = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 3000, windowsHide: true }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });

/** Samples GPUs via nvidia-smi every `intervalMs` (default 5 s) on an unref'd timer. */
export function createGpuSampler(options: GpuSamplerOptions = {}): GpuSampler {
  const binary = options.binary === undefined ? findExecutable('nvidia-smi') : options.binary;
  const intervalMs = options.intervalMs ?? 5000;
  const run = options.run ?? defaultRun;
  let latest: readonly GpuSample[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let inFlight: Promise<readonly GpuSample[]> | undefined;
  let failing = false;

  const sampleNow = (): Promise<readonly GpuSample[]> => {
    if (!binary) return Promise.resolve(latest);
    inFlight ??= run(binary, NVIDIA_SMI_ARGS)
      .then((out) => {
        latest = parseNvidiaSmi(out);
        failing = false;
        return latest;
      })
      .catch((err: unknown) => {
        latest = [];
        if (!failing) options.onError?.(err);
        failing = true;
        return latest;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    available: binary !== null,
    latest: () => latest,
    sampleNow,
    start() {
      if (!binary || timer) return;
      void sampleNow();
      timer = setInterval(() => void sampleNow(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
