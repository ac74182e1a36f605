/**
 * The dashboard's one way to the API: `jobs-service/client`, with the viewer's token from
 * sessionStorage, and what the contract says each operation needs (its `x-role`).
 */
import { createClient, operationRoutes, ProblemError, type Caller, type JobsClient, type OperationId } from 'jobs-service/client';

const tokenKey = 'jobs-service.token';
export const apiBase = `${location.origin}/api/v1`;

export function storedToken(): string | null {
  return sessionStorage.getItem(tokenKey);
}

export function storeToken(token: string | null) {
  if (token) sessionStorage.setItem(tokenKey, token);
  else sessionStorage.removeItem(tokenKey);
}

export function makeClient(token: string | null): JobsClient {
  return createClient({ baseUrl: apiBase, ...(token ? { token } : {}), timeoutMs: 30_000 });
}

export type Role = Caller['role'];
const rank: Record<Role, number> = { read: 1, write: 2, admin: 3 };

/** Each operation's `x-role`, read from the served contract at start. */
export type Roles = Record<string, Role>;

export interface Contract {
  roles: Roles;
  /** components.schemas of the served document (the create options' help text comes from there). */
  schemas: Record<string, Record<string, unknown>>;
}

/** What the dashboard reads of the served contract: each operation's role, and the schemas. */
export async function loadContract(client: JobsClient): Promise<Contract> {
  const doc = (await client.openapi()) as unknown as {
    paths: Record<string, Record<string, { operationId?: string; 'x-role'?: Role }>>;
    components?: { schemas?: Contract['schemas'] };
  };
  const roles: Roles = {};
  for (const methods of Object.values(doc.paths)) {
    for (const op of Object.values(methods)) if (op && typeof op === 'object' && op.operationId && op['x-role']) roles[op.operationId] = op['x-role'];
  }
  return { roles, schemas: doc.components?.schemas ?? {} };
}

/** May a caller of `role` call the operation? Unknown to the contract: no. */
export function may(roles: Roles, role: Role, operationId: string): boolean {
  const need = roles[operationId];
  return need !== undefined && rank[role] >= rank[need];
}

export const roleAtLeast = (have: Role, need: Role) => rank[have] >= rank[need];

/** Is there an operation at this method and path in the contract this dashboard was built with? */
export function operationAt(method: string, path: string): OperationId | null {
  for (const [id, r] of Object.entries(operationRoutes)) if (r.method === method && r.path === path) return id as OperationId;
  return null;
}

/** The text of an error for a person; a Problem's detail and field errors. */
export function messageOf(err: unknown): string {
  if (err instanceof ProblemError) {
    const fields = err.errors?.map((e) => `${e.field}: ${e.reason}`).join('; ');
    return `${err.title}: ${err.detail}${fields ? ` (${fields})` : ''}`;
  }
  return (err as Error)?.message ?? String(err);
}

export { ProblemError };
