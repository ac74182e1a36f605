/**
 * Redaction: what reads, logs, run output and exports show in place of credentials.
 *
 * - Kwargs (`redactKwargs`): the value under a key that names a credential (`Authorization`,
 *   `Proxy-Authorization`, `Cookie`, `Set-Cookie`, any key containing `token`, `passw`,
 *   `secret`, `api_key`/`apikey`/`api-key`, `credential` or `private_key`, in any case)
 *   becomes `[redacted]`, and so does the password of a URL (`https://user:[redacted]@host`)
 *   and the value of a URL's query parameter named so (`?api_key=[redacted]`).
 *   A secret reference, `{"$secret": NAME}`, is a name, not a value, and stays.
 * - Text (`redactText`): URL passwords and query parameters, `"key": "value"` pairs of such keys (JSON written into
 *   a line) and `Authorization:`-style header lines.
 * - Known values (`Redactor`): the values a worker put into a run's kwargs (secrets, as
 *   `[secret:NAME]`, and inline credentials), wherever they appear in its output and errors.
 *
 * Every pattern here is linear in its input: bounded repetitions, no nested quantifiers.
 */

export const redacted = '[redacted]';
export const secretMarker = (name: string) => `[secret:${name}]`;

const headerKeys = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);
const sensitivePart = /token|passw|secret|api[-_]?key|credential|private[-_]?key/i;

/** Whether a kwargs key (or a header name) holds a credential. */
export function isSensitiveKey(key: string): boolean {
  return headerKeys.has(key.toLowerCase()) || sensitivePart.test(key);
}

/** A reference to a secret: an object with one key, `$secret`, naming it. */
export function isSecretRef(value: unknown): value is { $secret: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$secret' && typeof (value as { $secret: unknown }).$secret === 'string';
}

// scheme://user:password@ and scheme://token@ — the userinfo, up to its last '@' (a password may
// hold one), is replaced but for the user's name before a ':'. Characters a URL cannot hold
// unencoded end it, so JSON around a URL is not taken in.
const urlUserinfo = /\b([a-z][a-z0-9+.-]{0,30}:\/\/)([^\s/?#"'<>\\`{}|^]{1,1024})@/gi;
/** The secret part of a URL's userinfo (up to its last `@`): the password after the user's name, or all of it (a token given as the user). */
const userinfoSecret = (info: string) => (info.includes(':') ? info.slice(info.indexOf(':') + 1) : info);
const redactUserinfo = (_whole: string, scheme: string, info: string) => `${scheme}${info.includes(':') ? info.slice(0, info.indexOf(':') + 1) : ''}${redacted}@`;
/** A query parameter's name as its server reads it (`pass%77ord` is `password`). */
const queryName = (name: string) => {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
};
// ?api_key=... / &token=... in a URL: the value of a query parameter whose name is a credential's.
const queryParam = /([?&])([^=&#\s"']{1,100})=([^&#\s"']{1,4096})/g;
const redactQuery = (whole: string, sep: string, name: string) => (isSensitiveKey(queryName(name)) ? `${sep}${name}=${redacted}` : whole);
// "key": "value" with a JSON string value, as JSON.stringify writes a credential into a line.
const jsonPair = /"([^"\\]{1,100})"(\s{0,10}:\s{0,10})("(?:[^"\\]|\\.){0,10000}")/g;
// A value redacted already: kept, so a secret's marker still names it.
const marker = /^"\[(?:secret:[^\]"]{1,100}|redacted)\]"$/;
// Authorization: Bearer abc / Cookie: a=b; c=d — to the end of the line.
const headerLine = /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)(\s{0,10}[:=]\s{0,10})[^\r\n"]{1,10000}/gi;

/** A text with URL passwords, credential pairs and header lines replaced by `[redacted]`. */
export function redactText(text: string): string {
  if (text.length === 0) return text;
  return text
    .replace(urlUserinfo, redactUserinfo)
    .replace(queryParam, redactQuery)
    .replace(jsonPair, (whole, key: string, sep: string, value: string) => (isSensitiveKey(key) && !marker.test(value) ? `"${key}"${sep}"${redacted}"` : whole))
    .replace(headerLine, `$1$2${redacted}`);
}

function redactString(value: string): string {
  if (value.includes('@')) value = value.replace(urlUserinfo, redactUserinfo);
  return value.includes('=') ? value.replace(queryParam, redactQuery) : value;
}

/**
 * A copy of `value` (kwargs, or any JSON) with the values of credential keys and URL
 * passwords redacted; secret references kept. Walks with its own stack, so depth costs no
 * call stack.
 */
export function redactKwargs<T>(value: T): T {
  if (!needsRedaction(value)) return value;
  const root = { v: value as unknown };
  const out = { v: undefined as unknown };
  const stack: Array<{ from: unknown; to: Record<string, unknown> | unknown[]; key: string | number; sensitive: boolean }> = [
    { from: root.v, to: out as unknown as Record<string, unknown>, key: 'v', sensitive: false },
  ];
  while (stack.length > 0) {
    const { from, to, key, sensitive } = stack.pop()!;
    const put = (v: unknown) => ((to as Record<string | number, unknown>)[key] = v);
    if (isSecretRef(from)) put({ $secret: from.$secret });
    else if (Array.isArray(from)) {
      const copy: unknown[] = new Array(from.length);
      put(copy);
      from.forEach((item, i) => stack.push({ from: item, to: copy, key: i, sensitive }));
    } else if (typeof from === 'object' && from !== null) {
      const copy: Record<string, unknown> = {};
      put(copy);
      for (const [k, item] of Object.entries(from)) {
        // Each key in its order (an own property, even `__proto__`); the walk fills them in.
        Object.defineProperty(copy, k, { value: undefined, writable: true, enumerable: true, configurable: true });
        stack.push({ from: item, to: copy, key: k, sensitive: sensitive || isSensitiveKey(k) });
      }
    } else if (sensitive && from !== null && from !== undefined && typeof from !== 'boolean') put(redacted);
    else put(typeof from === 'string' ? redactString(from) : from);
  }
  return out.v as T;
}

/** Whether redactKwargs would change anything: most kwargs hold no credential, and are then not copied. */
function needsRedaction(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (redactString(v) !== v) return true;
    } else if (Array.isArray(v)) for (const item of v) stack.push(item);
    else if (typeof v === 'object' && v !== null && !isSecretRef(v)) {
      for (const [k, item] of Object.entries(v)) {
        if (isSensitiveKey(k) && item !== null && item !== undefined && typeof item !== 'boolean') return true;
        stack.push(item);
      }
    }
  }
  return false;
}

/** Values shorter than this are not searched for in text: they would match everywhere. */
export const shortestRedactedValue = 4;

/**
 * The values one run must not show, each with what shows instead: replaced in every text
 * given to `text()`, as written and as JSON writes it inside a string.
 */
/**
 * A value cut by a line's end (output kept to a number of bytes, a long line cut in pieces) shows
 * only in part: a line that ends with the value's start, or starts with its end (at least
 * shortestRedactedValue characters of it), has that part replaced too.
 */
function maskCutEnds(text: string, value: string, marker: string): string {
  const n = shortestRedactedValue;
  if (text.length < n || value.length <= n) return text;
  // The text's end as the value's start: the earliest such position is the longest part.
  const head = value.slice(0, n);
  for (let p = text.indexOf(head, Math.max(0, text.length - value.length + 1)); p >= 0; p = text.indexOf(head, p + 1)) {
    if (value.startsWith(text.slice(p))) {
      text = text.slice(0, p) + marker;
      break;
    }
  }
  // The text's start as the value's end.
  const tail = text.slice(0, n);
  for (let q = value.indexOf(tail, 1); q >= 0; q = value.indexOf(tail, q + 1)) {
    if (text.startsWith(value.slice(q))) {
      text = marker + text.slice(value.length - q);
      break;
    }
  }
  return text;
}

export class Redactor {
  private readonly values = new Map<string, string>();
  private ordered: Array<[string, string]> | null = null;

  add(value: string, marker: string) {
    if (value.length < shortestRedactedValue) return;
    for (const form of [value, JSON.stringify(value).slice(1, -1)]) {
      if (!this.values.has(form)) this.values.set(form, marker);
    }
    this.ordered = null;
  }

  /** Adds the inline credentials of kwargs: values under credential keys, URL passwords. */
  addInline(kwargs: unknown) {
    const stack: Array<{ v: unknown; sensitive: boolean }> = [{ v: kwargs, sensitive: false }];
    while (stack.length > 0) {
      const { v, sensitive } = stack.pop()!;
      if (isSecretRef(v)) continue;
      if (Array.isArray(v)) for (const item of v) stack.push({ v: item, sensitive });
      else if (typeof v === 'object' && v !== null) for (const [k, item] of Object.entries(v)) stack.push({ v: item, sensitive: sensitive || isSensitiveKey(k) });
      else if (typeof v === 'string') {
        if (sensitive) this.add(v, redacted);
        for (const m of v.matchAll(urlUserinfo)) this.add(userinfoSecret(m[2]), redacted);
        for (const m of v.matchAll(queryParam)) if (isSensitiveKey(queryName(m[2]))) this.add(m[3], redacted);
      } else if (sensitive && typeof v === 'number') this.add(String(v), redacted);
    }
  }

  get size() {
    return this.values.size;
  }

  text(text: string): string {
    if (this.values.size > 0) {
      // Longest first, so a value that contains another is replaced whole.
      this.ordered ??= [...this.values].sort((a, b) => b[0].length - a[0].length);
      for (const [value, marker] of this.ordered) {
        if (text.includes(value)) text = text.split(value).join(marker);
        text = maskCutEnds(text, value, marker);
      }
    }
    return redactText(text);
  }
}
