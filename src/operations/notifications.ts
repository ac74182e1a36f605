import type { Operation } from './types.js';
import type { operations } from '../generated/openapi.js';
import { Problem } from './problem.js';
import { inBody, locating } from './domain-problems.js';
import { CursorError } from '../store/cursor.js';
import type { DeliveryRecord, NotifyDefaults, Page } from '../store/types.js';
import { type Schemas, type Services } from './context.js';
import { isoTime, isoOrNull } from './iso-time.js';
import { checkSecretRefs } from './secrets.js';
import { pageWithin } from './quotas.js';
import { checkNotify, normalNotify, redactNotify, redactTarget } from '../notifications/rules.js';
import { InvalidError } from '../scheduling/errors.js';

type ListQuery = NonNullable<operations['listDeliveries']['parameters']['query']>;
type DefaultsBody = operations['setServiceNotify']['requestBody']['content']['application/json'];

export function deliveryBody(d: DeliveryRecord): Schemas['Delivery'] {
  return {
    id: d.id,
    job_id: d.job_id,
    execution_id: d.execution_id,
    event: d.event,
    channel: d.channel,
    target: redactTarget(d.target),
    payload: d.payload as Schemas['NotificationEvent'],
    status: d.status,
    attempts: d.attempts.map((a) => ({ at: isoTime(a.at), ok: a.ok, code: a.code, error: a.error, duration_ms: a.duration_ms })),
    next_attempt_at: isoTime(d.next_attempt_at),
    created_at: isoTime(d.created_at),
    delivered_at: isoOrNull(d.delivered_at),
  };
}

function defaultsBody(d: NotifyDefaults): Schemas['NotifyDefaults'] {
  return { notify: redactNotify(d.notify) as Schemas['NotifyRule'][], updated_at: isoOrNull(d.updated_at), updated_by: d.updated_by };
}

export function notificationOperations(s: Services): Record<string, Operation> {
  return {
    listDeliveries: async ({ query }) => {
      const q = query as ListQuery;
      let page: Page<DeliveryRecord>;
      try {
        page = await s.store.listDeliveries({ job_id: q.job_id, status: q.status }, q.cursor ?? null, q.limit ?? 100);
      } catch (err) {
        if (err instanceof CursorError) throw Problem.invalid([{ field: 'query.cursor', reason: err.message }]);
        throw err;
      }
      const shown = pageWithin(page, deliveryBody, s.config.limits.pageMaxBytes);
      return { status: 200, body: { deliveries: shown.items, next_cursor: shown.next } satisfies Schemas['DeliveryList'] };
    },

    getServiceNotify: async () => ({ status: 200, body: defaultsBody(await s.store.getNotifyDefaults()) }),

    setServiceNotify: async ({ body, caller }) => {
      const { notify } = body as DefaultsBody;
      const n = s.config.notify;
      await locating(inBody, async () => {
        const errors = checkNotify(notify, 'notify', {
          maxRules: n.maxRules,
          maxRecipients: n.maxRecipients,
          maxPauseAfterFailures: n.maxPauseAfterFailures,
          email: n.smtp !== null,
        });
        if (errors.length) throw new InvalidError(errors);
      });
      await checkSecretRefs(s, notify, 'body.notify', caller);
      const stored = await s.store.setNotifyDefaults(normalNotify(notify), caller);
      s.notifier?.setDefaults(stored.notify);
      return { status: 200, body: defaultsBody(stored) };
    },
  };
}
