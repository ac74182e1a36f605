import { defineHandler, DurationError, parseDuration, type Kwargs } from '../src/handlers/index.js';

interface CleanupKwargs extends Kwargs {
  older_than?: string;
}

function cutoff(kwargs: CleanupKwargs): Date {
  return new Date(Date.now() - parseDuration(kwargs.older_than ?? '30 days') * 1000);
}

/** Deletes finished run records and failure records older than a duration, as two steps. */
export default defineHandler<CleanupKwargs>({
  name: 'cleanup-executions',
  description: 'Deletes finished run records (step executions) and failure records (step failures) older than older_than.',
  kwargsSchema: 'CleanupExecutionsKwargs',
  check(kwargs) {
    try {
      cutoff(kwargs);
      return [];
    } catch (err) {
      return [{ field: 'older_than', reason: err instanceof DurationError ? err.reason : (err as Error).message }];
    }
  },
  steps: [
    {
      name: 'executions',
      async run(kwargs, context) {
        const before = cutoff(kwargs);
        const n = await context.records.deleteExecutionsBefore(before);
        context.log.info(`deleted ${n} run records created before ${before.toISOString()}`);
      },
    },
    {
      name: 'failures',
      async run(kwargs, context) {
        const before = cutoff(kwargs);
        const n = await context.records.deleteFailuresBefore(before);
        context.log.info(`deleted ${n} failure records from before ${before.toISOString()}`);
      },
    },
  ],
});
