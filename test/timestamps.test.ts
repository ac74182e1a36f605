import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { parseTimestamptz } from '../src/db/timestamps.js';

const pgParse = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (s: string) => Date;

describe('timestamptz parser', () => {
  it('gives the same instant as pg for every form PostgreSQL writes', () => {
    const forms = [
      '2026-11-26 18:05:24.241773+00',
      '2026-11-26 18:05:24+00',
      '2026-11-26 18:05:24.2+00',
      '2026-11-26 18:05:24.24+00',
      '2026-11-26 18:05:24.999999+00',
      '2026-03-29 01:59:59.5-03:30',
      '2026-11-26 23:30:00+05:30',
      '1900-01-01 00:00:00+00:19:32',
      '1969-12-31 23:59:59.999+00',
      '2024-02-29 12:00:00-11',
      '9999-12-31 23:59:59.999999+14',
      '0100-01-01 00:00:00+00',
      // The rest are pg's to parse.
      '0099-06-01 00:00:00+00',
      '0044-03-15 12:00:00+00 BC',
      '12026-01-01 00:00:00+00',
    ];
    for (const s of forms) assert.equal(parseTimestamptz(s).getTime(), pgParse(s).getTime(), s);
    // pg answers infinity with the string itself.
    assert.equal(parseTimestamptz('infinity'), pgParse('infinity'));
  });

  it('gives the same instant as pg over random times and offsets', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    for (let k = 0; k < 20_000; k++) {
      const frac = rand(3) === 0 ? '' : `.${pad(rand(1_000_000), 6).slice(0, 1 + rand(6))}`;
      const off = [`+${pad(rand(15), 2)}`, `-${pad(rand(13), 2)}:${pad(rand(60), 2)}`, `+${pad(rand(13), 2)}:${pad(rand(60), 2)}:${pad(rand(60), 2)}`][rand(3)];
      const s = `${pad(100 + rand(9900), 4)}-${pad(1 + rand(12), 2)}-${pad(1 + rand(28), 2)} ${pad(rand(24), 2)}:${pad(rand(60), 2)}:${pad(rand(60), 2)}${frac}${off}`;
      assert.equal(parseTimestamptz(s).getTime(), pgParse(s).getTime(), s);
    }
  });

  const url = process.env.TEST_POSTGRES_URL;
  it('reads back what PostgreSQL stored, in any session time zone', { skip: url ? false : 'TEST_POSTGRES_URL is not set, so the PostgreSQL leg did not run' }, async () => {
    const client = new pg.Client({
      connectionString: url,
      types: {
        getTypeParser: ((oid: number, f?: 'text' | 'binary') =>
          oid === 1184 && f !== 'binary' ? parseTimestamptz : pg.types.getTypeParser(oid, f)) as typeof pg.types.getTypeParser,
      },
    });
    await client.connect();
    try {
      const instants = [Date.UTC(2026, 10, 26, 18, 5, 24, 241), Date.UTC(1901, 0, 1), Date.UTC(2026, 2, 29, 1, 0, 0, 7), 0, Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
      for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Kiritimati']) {
        await client.query(`SET TimeZone = '${zone}'`);
        const r = await client.query<{ t: Date; text: string }>('SELECT t, t::text AS text FROM unnest($1::timestamptz[]) AS t', [instants.map((i) => new Date(i))]);
        assert.deepEqual(
          r.rows.map((x) => x.t.getTime()),
          instants,
          `${zone}: ${r.rows.map((x) => x.text).join(', ')}`,
        );
      }
    } finally {
      await client.end();
    }
  });
});
