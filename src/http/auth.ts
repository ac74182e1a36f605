import { timingSafeEqual } from 'node:crypto';
import { allows, hashToken, type ApiToken, type AuthMode, type Role } from '../config/tokens.js';
import { Problem } from '../operations/problem.js';

/** Who made a request: a token's name and role; name null when no checks are made. */
export interface Principal {
  name: string | null;
  role: Role;
}

const realm = 'Bearer realm="jobs-service"';

/**
 * Bearer tokens. A presented token is hashed and compared with the hash of every configured
 * token with timingSafeEqual, with no early exit, so neither the comparison nor the loop tells
 * how much of a token was right or which entry it matched.
 */
export class Authenticator {
  constructor(
    readonly mode: AuthMode,
    private readonly tokens: readonly ApiToken[] = [],
  ) {}

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
