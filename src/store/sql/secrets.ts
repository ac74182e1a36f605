import type { SqlClient } from '../../db/sql-client.js';
import type { Page } from '../records.js';
import type { SecretMeta, SecretRecord, SecretStore } from '../secrets.js';
import { keysetPage, type Keyset } from './keyset.js';
import type { Row } from './rows.js';

const insertSecret = `INSERT INTO secret (name, key_id, ciphertext, created_at, updated_at, created_by, updated_by)
  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING`;
// xmax = 0 only on a row this statement inserted: tells a creation from an update.
const putSecret = `INSERT INTO secret AS s (name, key_id, ciphertext, created_at, updated_at, created_by, updated_by)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (name) DO UPDATE SET key_id = EXCLUDED.key_id, ciphertext = EXCLUDED.ciphertext,
    updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
  RETURNING (xmax = 0) AS created`;
const selectSecrets = 'SELECT * FROM secret WHERE name = ANY($1::text[])';
const deleteSecret = 'DELETE FROM secret WHERE name = $1';

function rowToSecret(r: Row): SecretRecord {
  return {
    name: r.name as string,
    key_id: r.key_id as string,
    ciphertext: r.ciphertext as string,
    created_at: r.created_at as Date,
    updated_at: r.updated_at as Date,
    created_by: (r.created_by as string | null) ?? null,
    updated_by: (r.updated_by as string | null) ?? null,
  };
}

function metaOf(s: SecretRecord): SecretMeta {
  const { ciphertext: _sealed, ...meta } = s;
  return meta;
}

/** Secrets in name order: the primary key. */
const secretsByName: Keyset<SecretMeta> = {
  table: 'secret',
  columns: ['name'],
  direction: 'ASC',
  shape: ['string'],
  toItem: (r) => metaOf(rowToSecret(r)),
  keyOf: (s) => [s.name],
};

const params = (s: SecretRecord) => [s.name, s.key_id, s.ciphertext, s.created_at, s.updated_at, s.created_by, s.updated_by];

/** Secrets on PostgreSQL and PGlite: the `secret` table (migration 000004). */
export class SqlSecretStore implements SecretStore {
  constructor(private readonly db: SqlClient) {}

  async insertSecret(secret: SecretRecord): Promise<boolean> {
    const r = await this.db.query(insertSecret, params(secret));
    return (r.rowCount ?? 0) === 1;
  }

  async putSecret(secret: SecretRecord): Promise<boolean> {
    const r = await this.db.query<Row>(putSecret, params(secret));
    return r.rows[0]?.created === true;
  }

  async getSecrets(names: string[]): Promise<SecretRecord[]> {
    if (names.length === 0) return [];
    const r = await this.db.query<Row>(selectSecrets, [names]);
    return r.rows.map(rowToSecret);
  }

  listSecrets(after: string | null, limit: number): Promise<Page<SecretMeta>> {
    return keysetPage(this.db, secretsByName, [], after, limit);
  }

  async deleteSecret(name: string): Promise<boolean> {
    const r = await this.db.query(deleteSecret, [name]);
    return (r.rowCount ?? 0) === 1;
  }
}
