import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { createService } from './service.js';

async function main() {
  const started = Date.now();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`jobs-service: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let service;
  try {
    service = await createService(config, { log });
  } catch (err) {
    log.fatal({ err }, `cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  const port = await service.listen();
  log.info({ url: `http://${config.host}:${port}/api/v1`, ui: `http://${config.host}:${port}/api/v1/ui`, boot_ms: Date.now() - started }, 'listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await service.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
