import type { Operation } from './types.js';
import type { Schemas, Services } from './context.js';

export function handlerOperations(s: Services): Record<string, Operation> {
  return {
    listHandlers: () => ({
      status: 200,
      body: {
        handlers: s.catalog.entries().map((e) => ({
          name: e.name,
          description: e.description,
          kwargs_schema: e.schema as Record<string, unknown>,
          steps: e.steps,
        })),
      } satisfies Schemas['HandlerList'],
    }),
  };
}
