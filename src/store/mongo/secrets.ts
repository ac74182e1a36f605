import { MongoServerError } from 'mongodb';
import type { Page } from '../records.js';
import type { SecretMeta, SecretRecord, SecretStore } from '../secrets.js';
import type { Collections } from './collections.js';
import { keysetPage, type Keyset } from './keyset.js';

/** A secret as a document of `secrets`: the name as `_id`. */
export interface SecretDoc {
  _id: string;
  key_id: string;
  ciphertext: string;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  updated_by: string | null;
}

function docToSecret(d: SecretDoc): SecretRecord {
  return {
    name: d._id,
    key_id: d.key_id,
    ciphertext: d.ciphertext,
    created_at: d.created_at,
    updated_at: d.updated_at,
    created_by: d.created_by ?? null,
    updated_by: d.updated_by ?? null,
  };
}

function secretToDoc(s: SecretRecord): SecretDoc {
  const { name, ...rest } = s;
  return { _id: name, ...rest };
}

/** Secrets in name order: by `_id`. */
const secretsByName: Keyset<SecretDoc, SecretMeta> = {
  order: 'id',
  toItem: (d) => {
    const { ciphertext: _sealed, ...meta } = docToSecret(d);
    return meta;
  },
  keyOf: (s) => [s.name],
};

/** Secrets on MongoDB: the `secrets` collection, each write one single-document operation. */
export class MongoSecretStore implements SecretStore {
  constructor(private readonly c: Collections) {}

  async insertSecret(secret: SecretRecord): Promise<boolean> {
    try {
      await this.c.secrets.insertOne(secretToDoc(secret));
      return true;
    } catch (err) {
      if (err instanceof MongoServerError && err.code === 11000) return false;
      throw err;
    }
  }

  async putSecret(secret: SecretRecord): Promise<boolean> {
    const { _id, created_at, created_by, ...changed } = secretToDoc(secret);
    const r = await this.c.secrets.updateOne({ _id }, { $set: changed, $setOnInsert: { created_at, created_by } }, { upsert: true });
    return r.upsertedCount === 1;
  }

  async getSecrets(names: string[]): Promise<SecretRecord[]> {
    if (names.length === 0) return [];
    return (await this.c.secrets.find({ _id: { $in: names } }).toArray()).map(docToSecret);
  }

  listSecrets(after: string | null, limit: number): Promise<Page<SecretMeta>> {
    return keysetPage(this.c.secrets, secretsByName, {}, after, limit);
  }

  async deleteSecret(name: string): Promise<boolean> {
    return (await this.c.secrets.deleteOne({ _id: name })).deletedCount === 1;
  }
}
