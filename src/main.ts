import os from 'node:os';
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger, flushLogs } from './observability/log.js';
import { DefaultJobsError } from './service/default-jobs.js';
import { createService } from './service/service.js';
import { unreachable } from './db/errors.js';

/**
 * How the process ends, for its supervisor: 0 after a graceful stop on SIGTERM or SIGINT, 1 when
 * it cannot start or meets an error nothing handles, 2 on a bad command or configuration,
 * 128 + the signal's number (143, 130) when a second signal cuts the graceful stop short.
 */
const exitCodes = { stopped: 0, fatal: 1, usage: 2 } as const;

/**
 * `main.js` serves the API and runs jobs; `main.js worker` runs jobs without HTTP;
 * JOBS_WORKER=false serves the API without running jobs.
 */
async function main() {
  const started = Date.now();
  const mode = process.argv[2] ?? 'serve';
  if (mode !== 'serve' && mode !== 'worker') {
    console.error(`jobs-service: unknown command '${mode}'; use no argument (API and worker) or 'worker' (worker only)`);
    process.exit(exitCodes.usage);
  }
  let config;
  try {
    config = loadConfig(mode === 'worker' ? { ...process.env, JOBS_WORKER: 'true' } : process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`jobs-service: configuration error: ${err.message}`);
      process.exit(exitCodes.usage);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  // Never a silent death: a bug that escapes every handler is logged, then the process exits
  // non-zero for its supervisor to restart it.
  const fatal = (err: unknown, what: string) => {
    log.fatal({ err }, `${what}: exiting with code ${exitCodes.fatal}`);
    flushLogs();
    console.error(`jobs-service: ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(exitCodes.fatal);
  };
  process.on('uncaughtException', (err) => fatal(err, 'uncaught exception'));
  process.on('unhandledRejection', (reason) => fatal(reason, 'unhandled promise rejection'));
  const defaultJobsDir = config.defaultJobsDir;
  let service: Awaited<ReturnType<typeof createService>> | undefined;
  // A signal during the boot is kept and acted on once the boot has finished (or at once
  // between two attempts to reach the database): a half-made service is not torn down.
  let signalled: NodeJS.Signals | null = null;
  let stopping = false;
  // The process runs until a signal, whatever its connections do: while the database is
  // away a worker holds no socket and its timers are unref'd, and would otherwise end.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const secondSignal = (signal: NodeJS.Signals): never => {
    // A second signal: stop at once, as a process killed by it.
    log.warn({ signal }, 'second signal: stopping without waiting for running runs');
    flushLogs();
    process.exit(128 + os.constants.signals[signal]);
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) secondSignal(signal);
    if (!service) {
      if (signalled) secondSignal(signal);
      signalled = signal;
      log.info({ signal }, 'stopping once the boot has finished');
      return;
    }
    stopping = true;
    log.info({ signal, grace_s: config.shutdownGraceSeconds }, 'stopping: no new runs; running runs may finish within the grace');
    try {
      await service.close();
    } catch (err) {
      fatal(err, 'shutdown failed');
    }
    clearInterval(keepAlive);
    log.info({ exit_code: exitCodes.stopped }, 'stopped');
    flushLogs();
    process.exit(exitCodes.stopped);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A database that cannot be reached at boot (restarting, or started after this process) is
  // waited for, up to JOBS_DB_BOOT_WAIT_SECONDS, as a running process waits out an outage.
  const bootDeadline = Date.now() + config.dbBootWaitSeconds * 1000;
  let delay = 250;
  let attempts = 0;
  for (;;) {
    try {
      service = await createService(config, { log });
      if (attempts > 0) log.warn({ failed_attempts: attempts, waited_ms: Date.now() - started }, 'database reachable: booting');
      break;
    } catch (err) {
      if (signalled) {
        log.info({ exit_code: exitCodes.stopped }, 'stopped before the database answered');
        flushLogs();
        process.exit(exitCodes.stopped);
      }
      if (unreachable(err) && Date.now() + delay < bootDeadline) {
        if (attempts++ === 0) log.error({ err, wait_s: config.dbBootWaitSeconds }, 'database unreachable at boot: trying again until it answers (JOBS_DB_BOOT_WAIT_SECONDS)');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, config.dbRetryMaxMs);
        continue;
      }
      bootFailed(err);
    }
  }
  function bootFailed(err: unknown): never {
    if (err instanceof DefaultJobsError) {
      // Checked before the store opens: each problem once, file, field and reason, no stack.
      for (const p of err.problems) console.error(`jobs-service: ${p.message}`);
      console.error(`jobs-service: cannot start: fix the default-jobs files above (${defaultJobsDir})`);
      process.exit(exitCodes.fatal);
    }
    log.fatal({ err }, `cannot start: ${err instanceof Error ? err.message : String(err)}`);
    flushLogs();
    process.exit(exitCodes.fatal);
  }

  if (signalled) {
    await stop(signalled);
    return;
  }
  if (mode === 'serve') {
    const port = await service.listen();
    log.info(
      {
        url: `http://${config.host}:${port}/api/v1`,
        dashboard: `http://${config.host}:${port}/dashboard/`,
        ui: `http://${config.host}:${port}/api/v1/ui`,
        boot_ms: Date.now() - started,
      },
      'listening',
    );
  } else {
    log.info({ worker_id: service.worker?.id, boot_ms: Date.now() - started }, 'worker running');
  }
}

await main();
