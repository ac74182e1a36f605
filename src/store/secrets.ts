import type { Page } from './records.js';

/**
 * A secret as stored: its name and its value sealed (AES-256-GCM, src/config/secrets-key.ts)
 * by the key `key_id`. The store never sees a value in clear.
 */
export interface SecretRecord {
  name: string;
  key_id: string;
  ciphertext: string;
  created_at: Date;
  updated_at: Date;
  /** The token name that created it, or that last changed it; null without tokens. */
  created_by: string | null;
  updated_by: string | null;
}

/** What lists show of a secret: everything but the sealed value. */
export type SecretMeta = Omit<SecretRecord, 'ciphertext'>;

/** Secrets, referenced from kwargs as {"$secret": name} and opened by workers at run time. */
export interface SecretStore {
  /** Stores a new secret; false when the name is taken (nothing changes then). */
  insertSecret(secret: SecretRecord): Promise<boolean>;
  /**
   * Stores a secret whether or not it exists: a new value and key for an existing one (its
   * creation time and author kept); true when it was created.
   */
  putSecret(secret: SecretRecord): Promise<boolean>;
  /** The secrets of these names that exist, sealed values included, in any order. */
  getSecrets(names: string[]): Promise<SecretRecord[]>;
  /** In name order, keyset paged by name; without sealed values. */
  listSecrets(after: string | null, limit: number): Promise<Page<SecretMeta>>;
  /** false when there was no such secret. */
  deleteSecret(name: string): Promise<boolean>;
}

/** The methods of SecretStore by name: what a store made of record stores delegates (see delegate.ts). */
export const secretStoreMethods: Record<keyof SecretStore, true> = {
  insertSecret: true,
  putSecret: true,
  getSecrets: true,
  listSecrets: true,
  deleteSecret: true,
};
