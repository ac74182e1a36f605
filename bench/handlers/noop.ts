import { defineHandler } from '../../src/handlers/types.js';
import { recordRun } from '../children/ipc.js';

/** The bench's trivial handler: records that it started (and when the run was due), nothing else. */
export default defineHandler<{ due?: number }>({
  name: 'noop',
  description: 'Does nothing; the bench records each start.',
  kwargsSchema: 'EchoKwargs',
  async execute(kwargs, context) {
    recordRun({ id: context.jobId ?? context.executionId, t: Date.now(), due: kwargs.due });
  },
});
