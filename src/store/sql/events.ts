import type { SqlClient } from '../../db/sql-client.js';
import type { EventInput, EventRecord, EventStore, RunEventType } from '../events.js';
import type { ExecutionStatus } from '../records.js';
import { rowToExecution, type Row } from './rows.js';

/** The columns of an event a writer gives (id and time are the table's). */
export const eventColumns = 'type, job_id, execution_id, batch_id, handler, status, progress, state';

/** The NOTIFY channel of a schema's event log: deployments sharing a database do not wake each other. */
export const eventChannelOf = (schema: string) => `jobs_service_events_${schema}`.slice(0, 63);

const channels = new WeakMap<SqlClient, Promise<string>>();

/** The event log's channel of the schema a client works in, asked once per client. */
export function eventChannel(db: SqlClient): Promise<string> {
  let channel = channels.get(db);
  if (!channel) {
    channel = db
      .query<{ s: string }>('SELECT current_schema() AS s')
      .then((r) => eventChannelOf(r.rows[0]?.s ?? 'public'))
      .catch((err: unknown) => {
        channels.delete(db);
        throw err;
      });
    channels.set(db, channel);
  }
  return channel;
}

/**
 * A CTE `name` inserting events given as one JSON parameter (`param`), for a statement that
 * writes what they describe; with `notifyEvents` after it, its readers are woken.
 */
export const eventsCte = (name: string, param: string) => `${name} AS (
    INSERT INTO event (${eventColumns})
    SELECT ${eventColumns} FROM json_to_recordset(${param}::json)
        AS v(type text, job_id text, execution_id text, batch_id text, handler text, status text, progress real, state text)
    RETURNING 1)`;

/**
 * A SELECT of one row when `rows` (a query) has any: with a NOTIFY on `channel` (SQL of a
 * text value) where the client notifies in the write's statement (SqlClient.notifiesInline),
 * else without, and the caller announces it once the statement has committed.
 */
export const announceWhen = (rows: string, channel: string, inline: boolean) => `SELECT ${inline ? `pg_notify(${channel}, '')` : `${channel}::text`} FROM (${rows} LIMIT 1) x`;

/** 1 when the CTE `cte` inserted any event, else 0; see announceWhen for the NOTIFY on `channel` (a parameter). */
export const notifyEvents = (cte: string, channel: string, inline: boolean) => `(SELECT count(*) FROM (${announceWhen(`SELECT 1 FROM ${cte}`, channel, inline)}) y)`;
// Inserted rows are announced once per statement ($1: the channel).
const insertEvents = (inline: boolean) => `WITH ${eventsCte('e', '$2')}
  ${announceWhen('SELECT 1 FROM e', '$1', inline)}`;
// execution_pkey: the fields come from the runs as stored.
const insertRunEvents = (inline: boolean) => `WITH e AS (
    INSERT INTO event (${eventColumns})
    SELECT $3, t.job_id, t.id, t.batch_id, t.handler, t.status, t.progress, NULL FROM execution t WHERE t.id = ANY($2::text[])
    RETURNING 1)
  ${announceWhen('SELECT 1 FROM e', '$1', inline)}`;
// event_pkey
const selectEventsAfter = `SELECT * FROM event WHERE id > $1 OR id = ANY($2::bigint[]) ORDER BY id LIMIT $3`;
const selectLastEventId = 'SELECT coalesce(max(id), 0) AS id FROM event';
// event_pkey: the events before the first one still kept, in id order. Ids are drawn as
// events are written, so an event a little older than one with a smaller id (written by a
// transaction that began earlier and committed later) waits for the next pass.
const deleteEventsBefore = `DELETE FROM event
  WHERE id < coalesce((SELECT id FROM event WHERE at >= $1 ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM event))`;
const selectFollowedRun = 'SELECT * FROM execution WHERE id = $1';

function rowToEvent(r: Row): EventRecord {
  return {
    id: Number(r.id),
    at: r.at as Date,
    type: r.type as EventRecord['type'],
    job_id: (r.job_id as string | null) ?? null,
    execution_id: (r.execution_id as string | null) ?? null,
    batch_id: (r.batch_id as string | null) ?? null,
    handler: (r.handler as string | null) ?? null,
    status: (r.status as ExecutionStatus | null) ?? null,
    progress: r.progress === null || r.progress === undefined ? null : Number(r.progress),
    state: (r.state as EventRecord['state']) ?? null,
  };
}

/** The event log on PostgreSQL and PGlite: the `event` table, announced by NOTIFY. */
export class SqlEventStore implements EventStore {
  constructor(private readonly db: SqlClient) {}

  private channel(): Promise<string> {
    return eventChannel(this.db);
  }

  async appendEvents(events: EventInput[]) {
    if (events.length === 0) return;
    await this.write(insertEvents(this.db.notifiesInline), [JSON.stringify(events)]);
  }

  async appendRunEvents(type: RunEventType, ids: string[]) {
    if (ids.length === 0) return;
    await this.write(insertRunEvents(this.db.notifiesInline), [ids, type]);
  }

  /** Runs an insert of events ($1: the channel) and announces those it wrote. */
  private async write(text: string, params: unknown[]) {
    const channel = await this.channel();
    const r = await this.db.query(text, [channel, ...params]);
    if (r.rows.length) this.db.announce(channel);
  }

  async readEvents(after: number, also: number[], limit: number) {
    const r = await this.db.query<Row>(selectEventsAfter, [after, also, limit]);
    return r.rows.map(rowToEvent);
  }

  async lastEventId() {
    const r = await this.db.query<Row>(selectLastEventId);
    return Number(r.rows[0]?.id ?? 0);
  }

  async deleteEventsBefore(before: Date) {
    return (await this.db.query(deleteEventsBefore, [before])).rowCount;
  }

  async followedRun(id: string) {
    const r = await this.db.query<Row>(selectFollowedRun, [id], { prepare: true });
    const row = r.rows[0];
    return row ? { execution: rowToExecution(row), lines: Number(row.output_lines ?? 0) } : null;
  }

  async watchEvents(onWake: () => void, onError: (err: Error) => void) {
    return this.db.listen(await this.channel(), onWake, onError);
  }
}
