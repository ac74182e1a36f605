import type { EngineBackend } from './agenda.js';
import { MongoEngine } from './mongo/engine.js';
import { SqlEngine } from './sql/engine.js';
import type { Engine, EngineOptions } from './types.js';

export type { EngineBackend, MongoEngineBackend, SqlEngineBackend } from './agenda.js';
export type * from './types.js';
export { MongoEngine } from './mongo/engine.js';
export { SqlEngine } from './sql/engine.js';

/** The engine of the database the store was opened on: the one place that asks which it is. */
export function createEngine(backend: EngineBackend, options: EngineOptions): Engine {
  return backend.kind === 'sql' ? new SqlEngine(backend.sql, options) : new MongoEngine(backend.db, backend.changeStreams, options);
}
