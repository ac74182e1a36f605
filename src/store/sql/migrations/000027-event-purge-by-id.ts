/**
 * 000027: event_at_idx goes. It served only the deletion of events past their retention, and
 * cost an index entry per event, three per run. The log is written in id order and nearly in
 * time order, so the deletion now walks event_pkey from its start to the first event still
 * kept (store/sql/events.ts). Additive: a release that deletes by time reads the table.
 */
export const name = 'event-purge-by-id';

export const sql = `
DROP INDEX IF EXISTS event_at_idx;
`;
