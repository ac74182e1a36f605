import { defineHandler, type CatalogView, type Kwargs } from '../src/handlers/index.js';
import { checkFlow, flowChildren } from './flow-scheduling.js';

interface SelectiveFlowKwargs extends Kwargs {
  flow_name: string;
  task_names: string[];
  run_subsequent?: boolean;
  flow_arguments: Kwargs[];
}

function check(kwargs: SelectiveFlowKwargs, catalog: CatalogView) {
  const errors = checkFlow(kwargs, catalog);
  if (errors.length) return errors;
  const steps = catalog.stepsOf(kwargs.flow_name) ?? [];
  if (steps.length === 0) return [{ field: 'flow_name', reason: `handler '${kwargs.flow_name}' has no named steps to select from` }];
  return kwargs.task_names.flatMap((name, i) =>
    steps.includes(name) ? [] : [{ field: `task_names.${i}`, reason: `'${name}' is not a step of ${kwargs.flow_name} (steps: ${steps.join(', ')})` }],
  );
}

/** Like flow-scheduling, but each child runs only the named steps (and the later ones when run_subsequent). */
export default defineHandler<SelectiveFlowKwargs>({
  name: 'selective-flow-scheduling',
  description: 'Starts one run of flow_name per element of flow_arguments, each running only the steps task_names (and every later step when run_subsequent).',
  kwargsSchema: 'SelectiveFlowSchedulingKwargs',
  check,
  children: flowChildren,
  async execute(kwargs, context) {
    const selection = { task_names: kwargs.task_names, run_subsequent: kwargs.run_subsequent ?? false };
    let started = 0;
    for (const args of kwargs.flow_arguments) {
      if (context.signal.aborted) throw new Error(`stopped after starting ${started} of ${kwargs.flow_arguments.length} runs`);
      const id = await context.startChild(kwargs.flow_name, args, selection);
      context.log.info(`started ${kwargs.flow_name} run ${id} with steps ${selection.task_names.join(', ')}${selection.run_subsequent ? ' and later' : ''}`);
      started += 1;
      await context.progress(Math.round((started / kwargs.flow_arguments.length) * 100));
    }
  },
});
