import type { operations } from '../generated/openapi.js';
import type { SecretsKeyring } from '../config/secrets-key.js';
import { allows } from '../config/tokens.js';
import { isSecretRef } from '../observability/redact.js';
import { secretRefsIn } from '../scheduling/run/secrets.js';
import { CursorError } from '../store/cursor.js';
import type { SecretMeta } from '../store/types.js';
import type { Schemas, Services } from './context.js';
import { isoTime } from './iso-time.js';
import { Problem } from './problem.js';
import type { Operation } from './types.js';

type ListQuery = NonNullable<operations['listSecrets']['parameters']['query']>;
type CreateBody = Schemas['SecretCreate'];
type NamePath = operations['getSecret']['parameters']['path'];

function secretBody(s: SecretMeta): Schemas['Secret'] {
  return {
    name: s.name,
    key_id: s.key_id,
    created_at: isoTime(s.created_at),
    updated_at: isoTime(s.updated_at),
    created_by: s.created_by,
    updated_by: s.updated_by,
  };
}

const location = (name: string) => `/api/v1/secrets/${encodeURIComponent(name)}`;
const notFound = (name: string) => new Problem(404, 'Secret not found', `no secret named '${name}'`);

/** The keyring, or the 409 that says none is configured: nothing can be sealed without it. */
function keyringOf(s: Services): SecretsKeyring {
  const keyring = s.config.secretsKeyring;
  if (!keyring) {
    throw new Problem(409, 'Secrets key not configured', 'secrets cannot be stored: JOBS_SECRETS_KEY is not set; set it to 32 random bytes (openssl rand -base64 32) and restart');
  }
  return keyring;
}

/**
 * Secrets: admin-only, values write-only. A value is sealed here, before the store sees it;
 * only the worker that runs a handler opens it again (src/scheduling/run/secrets.ts).
 */
export function secretOperations(s: Services): Record<string, Operation> {
  const sealed = (keyring: SecretsKeyring, name: string, value: string, caller: string | null) => {
    const now = new Date();
    return { name, ...keyring.seal(name, value), created_at: now, updated_at: now, created_by: caller, updated_by: caller };
  };

  return {
    listSecrets: async ({ query }) => {
      const q = query as ListQuery;
      try {
        const page = await s.store.listSecrets(q.cursor ?? null, q.limit ?? 100);
        return { status: 200, body: { secrets: page.items.map(secretBody), next_cursor: page.next } satisfies Schemas['SecretList'] };
      } catch (err) {
        if (err instanceof CursorError) throw Problem.invalid([{ field: 'query.cursor', reason: err.message }]);
        throw err;
      }
    },

    createSecret: async ({ body, caller }) => {
      const b = body as CreateBody;
      const record = sealed(keyringOf(s), b.name, b.value, caller);
      if (!(await s.store.insertSecret(record))) {
        throw new Problem(409, 'Secret exists', `a secret named '${b.name}' exists already; change its value with PUT ${location(b.name).slice('/api/v1'.length)}`, [
          { field: 'body.name', reason: 'is taken' },
        ]);
      }
      const { ciphertext: _sealed, ...meta } = record;
      return { status: 201, headers: { Location: location(b.name) }, body: secretBody(meta) };
    },

    getSecret: async ({ params }) => {
      const { name } = params as NamePath;
      const [found] = await s.store.getSecrets([name]);
      if (!found) throw notFound(name);
      const { ciphertext: _sealed, ...meta } = found;
      return { status: 200, body: secretBody(meta) };
    },

    putSecret: async ({ params, body, caller }) => {
      const { name } = params as NamePath;
      const record = sealed(keyringOf(s), name, (body as Schemas['SecretValue']).value, caller);
      const created = await s.store.putSecret(record);
      // The stored creation time and author stay on a change: read them back for the answer.
      const [stored] = created ? [record] : await s.store.getSecrets([name]);
      const { ciphertext: _sealed, ...meta } = stored ?? record;
      return created ? { status: 201, headers: { Location: location(name) }, body: secretBody(meta) } : { status: 200, body: secretBody(meta) };
    },

    deleteSecret: async ({ params }) => {
      const { name } = params as NamePath;
      if (!(await s.store.deleteSecret(name))) throw notFound(name);
      return { status: 204 };
    },
  };
}

/**
 * 403 unless the caller is admin, then 400 naming each kwargs field that refers to a secret that does not exist (`at` is where the
 * kwargs sit in the request: `body.kwargs`, `body`). A secret deleted later fails the run instead.
 */
export async function checkSecretRefs(s: Services, kwargs: unknown, at: string, caller: string | null): Promise<void> {
  if (isSecretRef(kwargs)) throw Problem.invalid([{ field: at, reason: 'must be an object of kwargs; a secret reference stands for a value inside them' }]);
  const refs = secretRefsIn(kwargs, at);
  if (refs.length === 0) return;
  // A job that refers to a secret sends its value where the job says: only admin chooses that.
  if (!isAdmin(s, caller)) {
    throw new Problem(403, 'Forbidden', `${refs[0].field} refers to secret '${refs[0].name}': only an admin token may refer to secrets`, [
      { field: refs[0].field, reason: 'refers to a secret, which needs the admin role' },
    ]);
  }
  const found = new Set((await s.store.getSecrets([...new Set(refs.map((r) => r.name))])).map((x) => x.name));
  const missing = refs.filter((r) => !found.has(r.name));
  if (missing.length > 0)
    throw Problem.invalid(missing.map((r) => ({ field: r.field, reason: `refers to secret '${r.name}', which does not exist; create it first (POST /secrets)` })));
}

/** Whether the caller may do what only admin may; true without token checks. */
function isAdmin(s: Services, caller: string | null): boolean {
  const { mode, tokens } = s.config.auth;
  if (mode !== 'tokens') return true;
  const role = tokens.find((t) => t.name === caller)?.role;
  return role !== undefined && allows(role, 'admin');
}

/**
 * 403 when a caller below admin gives run-time kwargs for a job whose kwargs refer to a
 * secret: merged over the job's, they could send its value elsewhere (another url, host or
 * script). Runs without kwargs stay open to write tokens.
 */
export async function checkRunOverrides(s: Services, jobId: string, kwargs: unknown, caller: string | null): Promise<void> {
  if (kwargs === undefined || kwargs === null || (typeof kwargs === 'object' && Object.keys(kwargs).length === 0) || isAdmin(s, caller)) return;
  const job = await s.store.getJob(jobId);
  if (job && secretRefsIn(job.kwargs).length > 0) {
    throw new Problem(403, 'Forbidden', `job '${jobId}' refers to secrets: only an admin token may run it with kwargs of its own`, [
      { field: 'body.kwargs', reason: 'overrides the kwargs of a job that refers to secrets, which needs the admin role' },
    ]);
  }
}
