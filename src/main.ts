import { ConfigError, loadConfig } from './config/config.js';
import { createLogger, flushLogs } from './observability/log.js';
import { DefaultJobsError } from './service/default-jobs.js';
import { createService } from './service/service.js';

/**
 * `main.js` serves the API and runs jobs; `main.js worker` runs jobs without HTTP;
 * JOBS_WORKER=false serves the API without running jobs.
 */
async function main() {
  const started = Date.now();
  const mode = process.argv[2] ?? 'serve';
  if (mode !== 'serve' && mode !== 'worker') {
    console.error(`jobs-service: unknown command '${mode}'; use no argument (API and worker) or 'worker' (worker only)`);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig(mode === 'worker' ? { ...process.env, JOBS_WORKER: 'true' } : process.env);
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
    if (err instanceof DefaultJobsError) {
      // Checked before the store opens: each problem once, file, field and reason, no stack.
      for (const p of err.problems) console.error(`jobs-service: ${p.message}`);
      console.error(`jobs-service: cannot start: fix the default-jobs files above (${config.defaultJobsDir})`);
      process.exit(1);
    }
    log.fatal({ err }, `cannot start: ${(err as Error).message}`);
    flushLogs();
    process.exit(1);
  }
  if (mode === 'serve') {
    const port = await service.listen();
    log.info({ url: `http://${config.host}:${port}/api/v1`, ui: `http://${config.host}:${port}/api/v1/ui`, boot_ms: Date.now() - started }, 'listening');
  } else {
    log.info({ worker_id: service.worker?.id, boot_ms: Date.now() - started }, 'worker running');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, grace_s: config.shutdownGraceSeconds }, 'stopping: no new runs; running runs may finish within the grace');
    await service.close();
    log.info('stopped');
    flushLogs();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
