/**
 * 000030: new `dispatch` rows get time-ordered ids (UUID version 7, RFC 9562: the first 48 bits
 * the time in ms, the rest random, as `src/store/ids.ts` makes them for jobs and runs) instead
 * of random ones. Every create writes a row, and a random key lands on any leaf of
 * `dispatch_pkey`: a bulk create of 1,000 jobs dirtied a leaf per row once the table was large
 * (each written whole to the WAL after a checkpoint), where time-ordered keys fill the
 * index's right edge.
 *
 * Additive: only the column's default changes; rows keep their ids, and an older release's
 * inserts take the new default too.
 */
export const name = 'dispatch-time-ordered-ids';

export const sql = `
CREATE OR REPLACE FUNCTION time_ordered_uuid() RETURNS uuid LANGUAGE sql VOLATILE AS $fn$
  SELECT encode(set_byte(v, 6, (get_byte(v, 6) & 15) | 112), 'hex')::uuid
    FROM (SELECT overlay(uuid_send(gen_random_uuid())
                         PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                         FROM 1 FOR 6) AS v) s
$fn$;
ALTER TABLE dispatch ALTER COLUMN id SET DEFAULT time_ordered_uuid();
`;
