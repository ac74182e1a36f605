import { defineHandler, type CatalogView, type Kwargs } from '../src/handlers/index.js';

interface FlowKwargs extends Kwargs {
  flow_name: string;
  flow_arguments: Kwargs[];
}

/** Checks a flow's target handler and every element of flow_arguments as that handler's kwargs. */
export function checkFlow(kwargs: FlowKwargs, catalog: CatalogView) {
  if (!catalog.has(kwargs.flow_name)) {
    return [{ field: 'flow_name', reason: `no handler named '${kwargs.flow_name}'` }];
  }
  return kwargs.flow_arguments.flatMap((args, i) => catalog.validateKwargs(kwargs.flow_name, args, `flow_arguments.${i}`));
}

/** The runs a flow starts: one of flow_name per element of flow_arguments. */
export function flowChildren(kwargs: Pick<FlowKwargs, 'flow_name' | 'flow_arguments'>) {
  return Array.isArray(kwargs.flow_arguments) ? kwargs.flow_arguments.map((args) => ({ handler: kwargs.flow_name, kwargs: args })) : [];
}

/** Starts one child run of `flow_name` per element of `flow_arguments`. */
export default defineHandler<FlowKwargs>({
  name: 'flow-scheduling',
  description: 'Starts one run of the handler flow_name for each element of flow_arguments, as child runs of this one.',
  kwargsSchema: 'FlowSchedulingKwargs',
  check: checkFlow,
  children: flowChildren,
  async execute(kwargs, context) {
    let started = 0;
    for (const args of kwargs.flow_arguments) {
      if (context.signal.aborted) throw new Error(`stopped after starting ${started} of ${kwargs.flow_arguments.length} runs`);
      const id = await context.startChild(kwargs.flow_name, args);
      context.log.info(`started ${kwargs.flow_name} run ${id}`);
      started += 1;
      await context.progress(Math.round((started / kwargs.flow_arguments.length) * 100));
    }
  },
});
