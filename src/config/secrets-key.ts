import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError } from './errors.js';

/**
 * The keys that seal secret values at rest (AES-256-GCM): JOBS_SECRETS_KEY, the key new values
 * are sealed with, and JOBS_SECRETS_OLD_KEYS, earlier keys still accepted for reading. Each
 * sealed value names its key by id (the first 16 hex digits of the key's SHA-256), so values
 * sealed before a key change stay readable while the old key is listed.
 */

/** A value as stored: the id of the key that sealed it and nonce, ciphertext and tag, base64. */
export interface SealedValue {
  key_id: string;
  ciphertext: string;
}

interface Key {
  id: string;
  bytes: Buffer;
}

const nonceBytes = 12;
const tagBytes = 16;

export function keyIdOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** A 32-byte key written as 64 hex digits or as base64 (44 characters with padding). */
function parseKey(variable: string, raw: string): Key {
  const text = raw.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!bytes || bytes.length !== 32) {
    throw new ConfigError(variable, 'must be 32 bytes written as 64 hex digits or as base64 (make one with `openssl rand -base64 32`)');
  }
  return { id: keyIdOf(bytes), bytes };
}

/** Seals and opens secret values; `null` from secretsKeyring() when no key is configured. */
export class SecretsKeyring {
  // Private fields: key material never shows in a dump of the configuration (JSON, inspect).
  readonly #current: Key;
  readonly #byId: Map<string, Key>;

  constructor(current: Key, older: Key[]) {
    this.#current = current;
    this.#byId = new Map([...older, current].map((k) => [k.id, k]));
  }

  get keyId(): string {
    return this.#current.id;
  }

  toJSON() {
    return { key_id: this.#current.id };
  }

  /** Seals `value` with the current key, bound to `name` (a value moved to another name does not open). */
  seal(name: string, value: string): SealedValue {
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv('aes-256-gcm', this.#current.bytes, nonce);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return { key_id: this.#current.id, ciphertext: Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64') };
  }

  /** Opens a sealed value; throws naming the reason (unknown key, altered or moved value). */
  open(name: string, sealed: SealedValue): string {
    const key = this.#byId.get(sealed.key_id);
    if (!key) throw new Error(`it was sealed with key ${sealed.key_id}, which neither JOBS_SECRETS_KEY nor JOBS_SECRETS_OLD_KEYS holds`);
    const all = Buffer.from(sealed.ciphertext, 'base64');
    if (all.length < nonceBytes + tagBytes) throw new Error('its stored value is damaged');
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, all.subarray(0, nonceBytes));
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(all.subarray(all.length - tagBytes));
    try {
      return Buffer.concat([decipher.update(all.subarray(nonceBytes, all.length - tagBytes)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('its stored value does not open with its key (altered, or stored under another name)');
    }
  }
}

/** Reads JOBS_SECRETS_KEY and JOBS_SECRETS_OLD_KEYS (comma-separated); null when no key is set. */
export function secretsKeyring(env: Record<string, string | undefined>): SecretsKeyring | null {
  const raw = env.JOBS_SECRETS_KEY?.trim();
  const olderRaw = env.JOBS_SECRETS_OLD_KEYS?.trim();
  if (!raw) {
    if (olderRaw) throw new ConfigError('JOBS_SECRETS_OLD_KEYS', 'is set, but JOBS_SECRETS_KEY is not: set the current key too');
    return null;
  }
  const older = olderRaw
    ? olderRaw
        .split(',')
        .filter((k) => k.trim() !== '')
        .map((k) => parseKey('JOBS_SECRETS_OLD_KEYS', k))
    : [];
  return new SecretsKeyring(parseKey('JOBS_SECRETS_KEY', raw), older);
}
