import type { SecretsKeyring } from '../../config/secrets-key.js';
import type { HandlerContext } from '../../handlers/types.js';
import { isSecretRef, Redactor, secretMarker } from '../../observability/redact.js';
import type { Kwargs, Store } from '../../store/types.js';

/** Every secret reference, `{"$secret": NAME}`, in `value`, with where it sits (`headers.Authorization`). */
export function secretRefsIn(value: unknown, at = ''): Array<{ name: string; field: string }> {
  const found: Array<{ name: string; field: string }> = [];
  const stack: Array<{ v: unknown; field: string }> = [{ v: value, field: at }];
  while (stack.length > 0) {
    const { v, field } = stack.pop()!;
    if (isSecretRef(v)) found.push({ name: v.$secret, field });
    else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) stack.push({ v: item, field: field ? `${field}.${k}` : k });
    }
  }
  return found.reverse();
}

/** A copy of `value` with each reference replaced by `fill(name)`. */
function replaceRefs(value: unknown, fill: (name: string) => unknown): unknown {
  if (isSecretRef(value)) return fill(value.$secret);
  if (Array.isArray(value)) return value.map((v) => replaceRefs(v, fill));
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(copy, k, { value: replaceRefs(v, fill), writable: true, enumerable: true, configurable: true });
    return copy;
  }
  return value;
}

/**
 * Kwargs as a handler's check() sees them: each reference as the marker string of its secret,
 * so checks made for strings hold (a value is a string, has no NUL) without the value.
 */
export function withMarkers(kwargs: Kwargs): Kwargs {
  return secretRefsIn(kwargs).length === 0 ? kwargs : (replaceRefs(kwargs, secretMarker) as Kwargs);
}

/** The secrets of a run, opened: its kwargs with values in place, and what its output must not show. */
export interface OpenedRun {
  kwargs: Kwargs;
  redactor: Redactor;
  /** Kwargs a handler hands on (a flow's child): each opened value put back as its reference, any other trace of it as its marker. */
  restore(kwargs: Kwargs): Kwargs;
}

/**
 * Opens the secrets a run's kwargs refer to, just before its handler gets them. Throws, naming
 * the secret, when one does not exist or cannot be opened: the run then fails with that error.
 * The redactor also knows the run's inline credentials.
 */
export async function openSecrets(store: Store, keyring: SecretsKeyring | null, kwargs: Kwargs): Promise<OpenedRun> {
  const redactor = new Redactor();
  redactor.addInline(kwargs);
  const names = [...new Set(secretRefsIn(kwargs).map((r) => r.name))];
  const values = new Map<string, string>();
  if (names.length > 0) {
    if (!keyring) throw new Error(`secret '${names[0]}' cannot be opened: JOBS_SECRETS_KEY is not set in this worker`);
    const stored = new Map((await store.getSecrets(names)).map((s) => [s.name, s]));
    for (const name of names) {
      const secret = stored.get(name);
      if (!secret) throw new Error(`secret '${name}' does not exist (deleted, or never created); create it with PUT /secrets/${name}`);
      try {
        values.set(name, keyring.open(name, secret));
      } catch (err) {
        throw new Error(`secret '${name}' cannot be opened: ${(err as Error).message}`, { cause: err });
      }
    }
    for (const [name, value] of values) redactor.add(value, secretMarker(name));
  }
  const byValue = new Map([...values].map(([name, value]) => [value, name]));
  const restore = (given: Kwargs): Kwargs => {
    if (values.size === 0) return given;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return byValue.has(v) ? { $secret: byValue.get(v)! } : redactValues(v);
      if (Array.isArray(v)) return v.map(walk);
      if (typeof v === 'object' && v !== null) {
        const copy: Record<string, unknown> = {};
        for (const [k, item] of Object.entries(v)) Object.defineProperty(copy, k, { value: walk(item), writable: true, enumerable: true, configurable: true });
        return copy;
      }
      return v;
    };
    return walk(given) as Kwargs;
  };
  /** A string that contains an opened value: the value replaced by its marker. */
  const redactValues = (v: string) => {
    for (const [value, name] of byValue) if (value.length > 0) v = v.split(value).join(secretMarker(name));
    return v;
  };
  return { kwargs: values.size ? (replaceRefs(kwargs, (name) => values.get(name)) as Kwargs) : kwargs, redactor, restore };
}

/** The handler's context, its log lines redacted and its child runs given references, not values. */
export function guardedContext(context: HandlerContext, run: OpenedRun): HandlerContext {
  const line = (write: (message: string) => void) => (message: string) => write(run.redactor.text(String(message)));
  return {
    ...context,
    log: { info: line(context.log.info), warn: line(context.log.warn), error: line(context.log.error) },
    startChild: (handler, kwargs, selection) => context.startChild(handler, run.restore(kwargs), selection),
  };
}

/** An error of a run with what its run must not show redacted from message and stack. */
export function redactedError(err: Error, redactor: Redactor): Error {
  const message = redactor.text(err.message);
  const stack = err.stack === undefined ? undefined : redactor.text(err.stack);
  if (message === err.message && stack === err.stack) return err;
  const copy = new Error(message);
  copy.name = err.name;
  copy.stack = stack;
  return copy;
}
