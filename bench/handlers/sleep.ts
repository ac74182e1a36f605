import { defineHandler } from '../../src/handlers/types.js';
import { recordRun } from '../children/ipc.js';

/** A long run for the recovery bench: reports its start at once, then waits for its signal or `ms`. */
export default defineHandler<{ ms?: number }>({
  name: 'sleep',
  description: 'Waits; the bench records each start at once.',
  kwargsSchema: 'EchoKwargs',
  async execute(kwargs, context) {
    recordRun({ id: context.jobId ?? context.executionId, t: Date.now(), kind: 'sleep' }, true);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, kwargs.ms ?? 600_000);
      context.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  },
});
