/**
 * Notification rules, a job's auto-pause and deadline: checked on create (and for the
 * service's defaults) as a whole, every bad field named; shown with their credentials redacted.
 */
import { outboundPolicy, urlProblem } from '../../handlers/_outbound.js';
import { isSecretRef, redacted } from '../observability/redact.js';
import type { FieldError } from '../scheduling/errors.js';
import { notifyEvents, type Deadline, type NotifyRule, type SecretString } from '../store/types.js';

export interface RuleLimits {
  maxRules: number;
  maxRecipients: number;
  maxPauseAfterFailures: number;
  /** Whether e-mail can be sent (JOBS_SMTP_HOST is set). */
  email: boolean;
}

const channels = ['webhook', 'slack', 'email'] as const;
const address = /^[^\s@<>,;"]{1,64}@[^\s@<>,;"]{1,255}$/;
const maxSeconds = 604_800;
const maxSecretLength = 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A URL given in clear: an http(s) URL the outbound policy lets through (a reference is checked when it is opened). */
function urlErrors(v: unknown, field: string): FieldError[] {
  if (isSecretRef(v)) return [];
  if (typeof v !== 'string' || v.length === 0 || v.length > 2048) return [{ field, reason: 'must be a URL of at most 2048 characters, or a secret reference {"$secret": NAME}' }];
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return [{ field, reason: `'${v}' is not a URL` }];
  }
  let policy;
  try {
    policy = outboundPolicy();
  } catch (err) {
    return [{ field, reason: `cannot be checked: ${(err as Error).message}` }];
  }
  const problem = urlProblem(policy, url);
  return problem ? [{ field, reason: `is refused by the outbound policy (JOBS_OUTBOUND_*): ${problem}` }] : [];
}

function onlyKeys(v: Record<string, unknown>, keys: string[], at: string): FieldError[] {
  return Object.keys(v)
    .filter((k) => !keys.includes(k))
    .map((k) => ({ field: `${at}.${k}`, reason: 'is not a known field' }));
}

/** Field errors of a list of rules, `at` naming it (`notify`). */
export function checkNotify(value: unknown, at: string, limits: RuleLimits): FieldError[] {
  if (!Array.isArray(value)) return [{ field: at, reason: 'must be a list of rules' }];
  if (value.length > limits.maxRules) return [{ field: at, reason: `holds ${value.length} rules; at most ${limits.maxRules} (JOBS_NOTIFY_MAX_RULES)` }];
  const errors: FieldError[] = [];
  value.forEach((rule, i) => {
    const r = `${at}.${i}`;
    if (!isObject(rule)) return errors.push({ field: r, reason: 'must be an object: {on, webhook | slack | email}' });
    errors.push(...onlyKeys(rule, ['on', ...channels], r));
    const on = rule.on;
    if (!Array.isArray(on) || on.length === 0) errors.push({ field: `${r}.on`, reason: `must be a non-empty list of ${notifyEvents.join(', ')}` });
    else
      on.forEach((e, j) => {
        if (!notifyEvents.includes(e as never)) errors.push({ field: `${r}.on.${j}`, reason: `must be one of ${notifyEvents.join(', ')}` });
      });
    const given = channels.filter((c) => rule[c] !== undefined);
    if (given.length !== 1) return errors.push({ field: r, reason: `must have exactly one channel of webhook, slack, email; has ${given.length ? given.join(', ') : 'none'}` });
    const c = given[0];
    const settings = rule[c];
    const s = `${r}.${c}`;
    if (!isObject(settings)) return errors.push({ field: s, reason: 'must be an object' });
    if (c === 'webhook') {
      errors.push(...onlyKeys(settings, ['url', 'secret'], s), ...urlErrors(settings.url, `${s}.url`));
      const secret = settings.secret;
      if (secret !== undefined && secret !== null && !isSecretRef(secret) && (typeof secret !== 'string' || secret.length === 0 || secret.length > maxSecretLength)) {
        errors.push({ field: `${s}.secret`, reason: `must be a string of 1 to ${maxSecretLength} characters, a secret reference {"$secret": NAME}, or null` });
      }
    } else if (c === 'slack') {
      errors.push(...onlyKeys(settings, ['url'], s), ...urlErrors(settings.url, `${s}.url`));
    } else {
      errors.push(...onlyKeys(settings, ['to'], s));
      if (!limits.email) errors.push({ field: s, reason: 'e-mail cannot be sent: JOBS_SMTP_HOST is not set' });
      const to = typeof settings.to === 'string' ? [settings.to] : settings.to;
      if (!Array.isArray(to) || to.length === 0) errors.push({ field: `${s}.to`, reason: 'must be an e-mail address or a non-empty list of them' });
      else if (to.length > limits.maxRecipients)
        errors.push({ field: `${s}.to`, reason: `holds ${to.length} addresses; at most ${limits.maxRecipients} (JOBS_NOTIFY_MAX_RECIPIENTS)` });
      else
        to.forEach((a, j) => {
          if (typeof a !== 'string' || !address.test(a))
            errors.push({ field: `${s}.to${typeof settings.to === 'string' ? '' : `.${j}`}`, reason: `${JSON.stringify(a)} is not an e-mail address` });
        });
    }
  });
  return errors;
}

/** The rules as stored: e-mail recipients always a list, a webhook without secret with secret null. */
export function normalNotify(rules: unknown[]): NotifyRule[] {
  return rules.map((raw) => {
    const rule = raw as Record<string, Record<string, unknown>> & { on: NotifyRule['on'] };
    const on = [...new Set(rule.on)];
    if (rule.webhook) return { on, webhook: { url: rule.webhook.url as SecretString, secret: (rule.webhook.secret as SecretString | undefined) ?? null } };
    if (rule.slack) return { on, slack: { url: rule.slack.url as SecretString } };
    const to = rule.email.to;
    return { on, email: { to: typeof to === 'string' ? [to] : (to as string[]) } };
  });
}

export function checkPauseAfterFailures(v: unknown, limits: RuleLimits): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > limits.maxPauseAfterFailures) {
    return [{ field: 'pause_after_failures', reason: `must be a whole number from 1 to ${limits.maxPauseAfterFailures} (JOBS_NOTIFY_MAX_PAUSE_AFTER_FAILURES), or null` }];
  }
  return [];
}

export function checkDeadline(v: unknown): FieldError[] {
  if (v === undefined || v === null) return [];
  if (!isObject(v)) return [{ field: 'deadline', reason: 'must be an object {start_within, run_within} (seconds), or null' }];
  const errors = onlyKeys(v, ['start_within', 'run_within'], 'deadline');
  for (const k of ['start_within', 'run_within'] as const) {
    const s = v[k];
    if (s === undefined || s === null) continue;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > maxSeconds)
      errors.push({ field: `deadline.${k}`, reason: `must be a whole number of seconds from 1 to ${maxSeconds}, or null` });
  }
  if ((v.start_within ?? null) === null && (v.run_within ?? null) === null) errors.push({ field: 'deadline', reason: 'must set start_within, run_within or both' });
  return errors;
}

export function normalDeadline(v: unknown): Deadline | null {
  if (!isObject(v)) return null;
  return { start_within: (v.start_within as number | null | undefined) ?? null, run_within: (v.run_within as number | null | undefined) ?? null };
}

/** A URL with its path and query hidden: they often carry the receiver's token (Slack's do). */
function redactUrl(v: SecretString): SecretString {
  if (isSecretRef(v)) return { $secret: v.$secret };
  try {
    const u = new URL(v);
    const hidden = u.pathname !== '/' || u.search !== '' || u.username !== '';
    return hidden ? `${u.protocol}//${u.host}/${redacted}` : `${u.protocol}//${u.host}/`;
  } catch {
    return redacted;
  }
}

/** Channel settings as reads show them: references as they are, URLs without path or query, secrets as [redacted]. */
export function redactTarget(target: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  if (out.url !== undefined) out.url = redactUrl(out.url as SecretString);
  if (out.secret !== undefined && out.secret !== null) out.secret = isSecretRef(out.secret) ? { $secret: out.secret.$secret } : redacted;
  return out;
}

export function redactNotify(rules: NotifyRule[]): NotifyRule[] {
  return rules.map((r) => {
    if (r.webhook) return { on: r.on, webhook: redactTarget(r.webhook) as NotifyRule['webhook'] };
    if (r.slack) return { on: r.on, slack: redactTarget(r.slack) as NotifyRule['slack'] };
    return { on: r.on, email: { to: [...(r.email?.to ?? [])] } };
  });
}
