import type { Operation } from './types.js';
import type { operations } from '../generated/openapi.js';
import { Problem } from './problem.js';
import { CursorError } from '../store/cursor.js';
import { auditBody, queryDate, type Schemas, type Services } from './context.js';
import { pageWithin } from './quotas.js';
import { streamEvents } from './streams.js';

type AuditQuery = NonNullable<operations['listAudit']['parameters']['query']>;

export function monitoringOperations(s: Services): Record<string, Operation> {
  return {
    streamEvents: (input) => streamEvents(s, input),
    getMetrics: async () => ({ status: 200, body: await s.metrics.render(), type: s.metrics.contentType }),
    listAudit: async ({ query }) => {
      const q = query as AuditQuery;
      const filter = { operation: q.operation, token_name: q.token, since: queryDate('query.since', q.since), until: queryDate('query.until', q.until) };
      try {
        const page = await s.store.listAudit(filter, q.cursor ?? null, q.limit ?? 100);
        const shown = pageWithin(page, auditBody, s.config.limits.pageMaxBytes);
        return { status: 200, body: { audit: shown.items, next_cursor: shown.next } satisfies Schemas['AuditList'] };
      } catch (err) {
        if (err instanceof CursorError) throw Problem.invalid([{ field: 'query.cursor', reason: err.message }]);
        throw err;
      }
    },
  };
}
