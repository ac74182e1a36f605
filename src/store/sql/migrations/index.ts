import * as m000001 from './000001-initial.js';

export interface Migration {
  /** The number in the file name: migrations run in this order, each once. */
  version: number;
  name: string;
  /** Statements without parameters, run together. */
  sql: string;
}

/** Every migration, in order. A new one is a new file, `NNNNNN-what-it-does.ts`, added here. */
export const migrations: readonly Migration[] = [{ version: 1, ...m000001 }];
