import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.js';

/**
 * The auth model: roles, API tokens and how they are read and hashed. The configuration
 * reads JOBS_API_TOKENS through it; the HTTP layer checks requests against it.
 */

/** What a token may do: read (every GET), write (read and changing jobs and runs), admin (everything). */
export type Role = 'read' | 'write' | 'admin';
export const roles: readonly Role[] = ['read', 'write', 'admin'];

/** An API token as kept in memory: its name, role and the SHA-256 of its secret, never the secret. */
export interface ApiToken {
  name: string;
  role: Role;
  hash: Buffer;
}

/**
 * How requests are checked: `tokens` (bearer tokens, per role), `open` (no tokens configured:
 * no checks, and the service binds to loopback only), `off` (JOBS_AUTH=off: no checks, on any
 * address).
 */
export type AuthMode = 'tokens' | 'open' | 'off';

/** How far each role reaches: a role may do what every lower one may. */
const rank: Record<Role, number> = { read: 1, write: 2, admin: 3 };

/** Whether a token of role `have` may call an operation that needs `need`. */
export const allows = (have: Role, need: Role) => rank[have] >= rank[need];

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest();

const tokenName = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const minTokenLength = 16;

/**
 * Reads JOBS_API_TOKENS: `name:token:role` entries, comma-separated, or `@path` to a file of
 * them (one per line or comma-separated; `#` starts a comment). Errors name the entry by its
 * number, never its token.
 */
export function parseApiTokens(raw: string | undefined, variable = 'JOBS_API_TOKENS'): ApiToken[] {
  let text = raw?.trim() ?? '';
  if (text === '') return [];
  let where = '';
  if (text.startsWith('@')) {
    const file = path.resolve(text.slice(1).trim());
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(variable, `cannot read the token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    where = ` of ${file}`;
    text = text
      .split(/\r?\n/)
      .map((line) => line.replace(/#.*$/, ''))
      .join(',');
  }
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new ConfigError(variable, `holds no token entry${where}`);
  const tokens: ApiToken[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  entries.forEach((entry, i) => {
    const at = `entry ${i + 1}${where}`;
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || last === first) throw new ConfigError(variable, `${at} must be name:token:role`);
    const name = entry.slice(0, first).trim();
    const token = entry.slice(first + 1, last).trim();
    const role = entry.slice(last + 1).trim();
    if (!tokenName.test(name)) throw new ConfigError(variable, `${at}: the name must be 1 to 100 letters, digits or . _ @ - (starting with a letter or digit)`);
    // No part of an entry is quoted back: a token written in the wrong place would be shown.
    if (!(roles as string[]).includes(role)) throw new ConfigError(variable, `${at}: the role (after the last ':') must be read, write or admin`);
    if (token.length < minTokenLength) throw new ConfigError(variable, `${at}: the token must be at least ${minTokenLength} characters`);
    if (/\s/.test(token)) throw new ConfigError(variable, `${at}: the token must not contain white space`);
    if (names.has(name)) throw new ConfigError(variable, `${at}: the name is used by an earlier entry`);
    const hash = hashToken(token);
    if (hashes.has(hash.toString('hex'))) throw new ConfigError(variable, `${at}: the token is used by an earlier entry`);
    names.add(name);
    hashes.add(hash.toString('hex'));
    tokens.push({ name, role: role as Role, hash });
  });
  return tokens;
}
