import type { Role } from '../config/tokens.js';
import type { AuditRecord } from '../store/types.js';

/**
 * The signature every operation implements, whatever serves it: the HTTP app
 * (src/http/app.ts) hands each request to the operation named by its operationId.
 */

/** Where the API lives; operations write Location headers and links under it. */
export const basePath = '/api/v1';

export interface OperationInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  operationId: string;
  /** The calling token's name; null when no token is checked (loopback without tokens, JOBS_AUTH=off). */
  caller: string | null;
  /** The calling token's role; null when no token is checked. Handler roles are checked against it. */
  role: Role | null;
  /**
   * The call's audit record, for an audited call: an operation whose write can store it in
   * the same statement does so (one write and one commit per call, not two), and says so.
   */
  audit?: CallAudit;
}

/** The audit record of an audited call, to be stored with the call's own write. */
export interface CallAudit {
  /** The record of this call answered with `result`. */
  of(result: OperationResult): AuditRecord;
  /**
   * Told once the operation's write stored `record`: the service writes no other record of the
   * call, and should its answer come to another status, gives that record the answer's.
   */
  stored(record: AuditRecord): void;
}

export interface OperationResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Content type when not JSON. */
  type?: string;
}

export type Operation = (input: OperationInput) => Promise<OperationResult> | OperationResult;

/** openapi.yaml and the operations disagree: the service refuses to start. */
export class ContractError extends Error {}
