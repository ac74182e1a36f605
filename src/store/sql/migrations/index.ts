import * as m000001 from './000001-initial.js';
import * as m000002 from './000002-service-pause.js';
import * as m000004 from './000004-secrets.js';
import * as m000005 from './000005-audit-client.js';
import * as m000006 from './000006-worker-fencing.js';
import * as m000009 from './000009-audit-overrides.js';
import * as m000010 from './000010-fillfactor.js';
import * as m000013 from './000013-job-versions.js';
import * as m000016 from './000016-notifications.js';
import * as m000019 from './000019-chains.js';
import * as m000021 from './000021-schedule-bounds.js';
import * as m000023 from './000023-job-image.js';
import * as m000024 from './000024-events.js';
import * as m000025 from './000025-active-runs.js';
import * as m000026 from './000026-dispatch.js';
import * as m000027 from './000027-event-purge-by-id.js';
import * as m000028 from './000028-active-runs-per-statement.js';
import * as m000029 from './000029-execution-counts.js';
import * as m000030 from './000030-dispatch-time-ordered-ids.js';

export interface Migration {
  /** The number in the file name: migrations run in this order, each once. */
  version: number;
  name: string;
  /** Statements without parameters, run together. */
  sql: string;
  /**
   * True when code of an earlier release cannot run on the schema after it (a column dropped
   * or renamed): such a release then refuses the database. Additive migrations leave it unset,
   * so an older process can still boot during a rolling upgrade or after a rollback.
   */
  breaking?: boolean;
}

/** Every migration, in order. A new one is a new file, `NNNNNN-what-it-does.ts`, added here. */
export const migrations: readonly Migration[] = [
  { version: 1, ...m000001 },
  { version: 2, ...m000002 },
  { version: 4, ...m000004 },
  { version: 5, ...m000005 },
  { version: 6, ...m000006 },
  { version: 9, ...m000009 },
  { version: 10, ...m000010 },
  { version: 13, ...m000013 },
  { version: 16, ...m000016 },
  { version: 19, ...m000019 },
  { version: 21, ...m000021 },
  { version: 23, ...m000023 },
  { version: 24, ...m000024 },
  { version: 25, ...m000025 },
  { version: 26, ...m000026 },
  { version: 27, ...m000027 },
  { version: 28, ...m000028 },
  { version: 29, ...m000029 },
  { version: 30, ...m000030 },
];
