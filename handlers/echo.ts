import { defineHandler } from '../src/handlers/index.js';

/** Writes its kwargs to the run's output and succeeds: a flow target and a smoke test. */
export default defineHandler({
  name: 'echo',
  description: "Writes its kwargs to the run's output and succeeds.",
  kwargsSchema: 'EchoKwargs',
  async execute(kwargs, context) {
    context.log.info(JSON.stringify(kwargs));
  },
});
