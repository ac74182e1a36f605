import { timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { allows, hashToken, type ApiToken, type AuthMode, type Role } from '../config/tokens.js';
import { Problem } from '../operations/problem.js';

/** Who made a request: a token's name and role; name null when no checks are made. */
export interface Principal {
  name: string | null;
  role: Role;
}

const realm = 'Bearer realm="jobs-service"';

/** The host of a Host header without its port, lowercased; null when it is not host[:port]. */
function hostName(header: string): string | null {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::\d{1,5})?$/i.exec(header.trim());
  return m ? m[1].toLowerCase() : null;
}

function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name === '[::1]') return true;
  const v4 = name.startsWith('[::ffff:') ? name.slice(8, -1) : name;
  return isIPv4(v4) && v4.startsWith('127.');
}

/**
 * Bearer tokens. A presented token is hashed and compared with the hash of every configured
 * token with timingSafeEqual, with no early exit, so neither the comparison nor the loop tells
 * how much of a token was right or which entry it matched.
 */
export class Authenticator {
  constructor(
    readonly mode: AuthMode,
    private readonly tokens: readonly ApiToken[] = [],
    private readonly allowedHosts: readonly string[] = [],
  ) {}

  /**
   * Without tokens (`open`) nothing else is checked, so a web page the operator opens could
   * drive the API through DNS rebinding (its name resolving to 127.0.0.1): every request
   * must then name a loopback host, or one of JOBS_ALLOWED_HOSTS, in its Host header. A 403
   * Problem naming the Host otherwise. With tokens, or JOBS_AUTH=off, any Host passes.
   */
  checkHost(header: string | undefined) {
    if (this.mode !== 'open') return;
    const name = hostName(header ?? '');
    if (name !== null && (isLoopbackName(name) || this.allowedHosts.includes(name))) return;
    const shown = JSON.stringify((header ?? '').slice(0, 200));
    throw new Problem(
      403,
      'Forbidden host',
      header
        ? `Host ${shown} is not a loopback name: without API tokens the service answers only requests for localhost, 127.0.0.0/8 or [::1] (or a name in JOBS_ALLOWED_HOSTS)`
        : 'the request has no Host header: without API tokens the service answers only requests for localhost, 127.0.0.0/8 or [::1]',
    );
  }

  /** Whether requests are checked at all (false: no tokens on loopback, or JOBS_AUTH=off). */
  get enforced() {
    return this.mode === 'tokens';
  }

  /** The configured token equal to `secret`, or null. */
  find(secret: string): ApiToken | null {
    const hash = hashToken(secret);
    let found: ApiToken | null = null;
    for (const t of this.tokens) if (timingSafeEqual(t.hash, hash)) found = t;
    return found;
  }

  /**
   * The principal of a request to an operation that needs `need`: throws a 401 Problem
   * without a known token, a 403 Problem (after `onIdentified`) when its role is too small.
   */
  authorize(header: string | undefined, need: Role, operationId: string, onIdentified: (p: Principal) => void): Principal {
    if (!this.enforced) return { name: null, role: 'admin' };
    const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
    if (!m) {
      const detail = header ? 'the Authorization header must be "Bearer <token>"' : `${operationId} needs a token: send the header Authorization: Bearer <token>`;
      throw new Problem(401, 'Unauthorized', detail, undefined, { 'WWW-Authenticate': realm });
    }
    const token = this.find(m[1]);
    if (!token) throw new Problem(401, 'Unauthorized', 'the token is not valid', undefined, { 'WWW-Authenticate': `${realm}, error="invalid_token"` });
    const principal = { name: token.name, role: token.role };
    onIdentified(principal);
    if (!allows(token.role, need)) {
      throw new Problem(403, 'Forbidden', `${operationId} needs a token of role ${need} or above; token '${token.name}' has role ${token.role}`, undefined, {
        'WWW-Authenticate': `${realm}, error="insufficient_scope"`,
      });
    }
    return principal;
  }
}
