import { ConfigError, loadConfig } from '../shared/config/load.ts';
import { originConfigSchema } from '../shared/config/origin.ts';
import { createLogger } from './observability/logger.ts';
import { startOrigin } from './start-origin.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof originConfigSchema.parse>;
  try {
    config = loadConfig(originConfigSchema, process.env, 'origin');
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'origin' });
  let origin: Awaited<ReturnType<typeof startOrigin>> | undefined;
  // The control plane's drain (scale-down) ends the process like SIGTERM: the host is terminated next.
  let drainRequested = false;
  let shuttingDown = false;
  try {
    origin = await startOrigin(config, {
      logger,
      onDrainRequested: () => {
        drainRequested = true;
        if (origin) shutdown('control-plane drain');
      },
    });
    if (drainRequested) shutdown('control-plane drain');
  } catch (err) {
    logger.fatal({ err }, `origin failed to start: ${(err as Error).message}`);
    // A file the configuration names but that cannot be read is bad configuration, like a bad variable.
    process.exit(err instanceof ConfigError ? 2 : 1);
  }

  function shutdown(signal: string): void {
    if (shuttingDown || !origin) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutdown requested');
    // The bound holds even if a model run never returns.
    setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'drain exceeded SHUTDOWN_TIMEOUT_MS; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    origin.drain().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
