/**
 * The store conformance suite: how runs end. A run's end is written with its last output and
 * only while it is running; every store keeps a run's output within the same number of bytes
 * (so the end always fits, MongoDB's 16 MB document included); and a run whose end the
 * database refuses does not keep the others of its batch unrecorded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EngineBackend } from '../../src/engine/index.js';
import { outputTrimmedNote, RunEndsError, type ExecutionEnd, type Store } from '../../src/store/types.js';
import { at, execution, range } from './fixtures.js';

const era = 31;
const bytes = (lines: string[] | undefined) => (lines ?? []).reduce((n, l) => n + Buffer.byteLength(l), 0);
const end = (id: string, over: Partial<ExecutionEnd> = {}): ExecutionEnd => ({
  id,
  status: 'succeeded',
  finished_at: at(era, 90),
  duration_ms: 1000,
  error: null,
  stack: null,
  progress: 100,
  output: [],
  job_id: null,
  ...over,
});

/**
 * Makes the database itself refuse to write a final status of run `id` (a check constraint on
 * SQL, a collection validator on MongoDB); resolves with the undo.
 */
export async function refuseEndOf(backend: EngineBackend, id: string): Promise<() => Promise<void>> {
  if (backend.kind === 'sql') {
    const name = `execution_refuses_${id.replace(/\W/g, '_')}`;
    await backend.sql.query(`ALTER TABLE execution ADD CONSTRAINT ${name} CHECK (id <> '${id}' OR status IN ('queued', 'running')) NOT VALID`, []);
    return async () => {
      await backend.sql.query(`ALTER TABLE execution DROP CONSTRAINT ${name}`, []);
    };
  }
  await backend.db.command({
    collMod: 'executions',
    validator: { $or: [{ _id: { $ne: id } }, { status: { $in: ['queued', 'running'] } }] },
    validationLevel: 'strict',
    validationAction: 'error',
  });
  return async () => {
    await backend.db.command({ collMod: 'executions', validator: {} });
  };
}

/** ExecutionStore: the end of runs, on every store. */
export function runEndContract(open: () => Store, engineBackend: () => EngineBackend): void {
  describe('run ends', () => {
    let store: Store;
    let undo: (() => Promise<void>) | undefined;
    before(() => {
      store = open();
    });
    after(async () => {
      await undo?.();
    });

    it('finishing a run already settled changes neither its status nor its output', async () => {
      await store.insertExecution(execution('re-settled', era, 0, { status: 'running', output: ['o1'] }));
      assert.equal(await store.transitionExecution('re-settled', 'running', { status: 'lost', finished_at: at(era, 5), error: 'worker gone' }), true);
      const settled = await store.getExecution('re-settled');
      assert.deepEqual(await store.finishExecutions([end('re-settled', { status: 'failed', error: 'late', output: ['late 1', 'late 2'] })], 100, 4096), []);
      assert.deepEqual(await store.getExecution('re-settled'), settled, 'the late end left the settled run as it was');
      assert.deepEqual([settled?.status, settled?.output, settled?.output_truncated], ['lost', ['o1'], false]);
    });

    it('appendOutput keeps the newest lines within maxBytes, after a note line, and says so', async () => {
      const note = outputTrimmedNote(200);
      await store.insertExecution(execution('re-bytes', era, 10, { status: 'running' }));
      const line = (i: number) => `line ${String(i).padStart(2, '0')} ${'é'.repeat(10)}`; // 28 bytes
      await store.appendOutput('re-bytes', range(7).map(line), 100, 200);
      let e = await store.getExecution('re-bytes');
      assert.deepEqual([e?.output, e?.output_truncated], [range(7).map(line), false], '196 bytes: all kept');
      await store.appendOutput('re-bytes', [line(7)], 100, 200);
      e = await store.getExecution('re-bytes');
      const fit = Math.floor((200 - Buffer.byteLength(note)) / 28);
      assert.deepEqual(
        e?.output,
        [
          note,
          ...range(8)
            .slice(8 - fit)
            .map(line),
        ],
        'the newest lines that fit after the note',
      );
      assert.equal(e?.output_truncated, true);
      assert.ok(bytes(e?.output) <= 200, `${bytes(e?.output)} bytes kept`);
      await store.appendOutput('re-bytes', [line(8), line(9)], 100, 200);
      e = await store.getExecution('re-bytes');
      assert.deepEqual(
        e?.output,
        [
          note,
          ...range(10)
            .slice(10 - fit)
            .map(line),
        ],
        'one note, however often trimmed',
      );
      assert.equal(e?.output_truncated, true);

      await store.insertExecution(execution('re-big-line', era, 11, { status: 'running' }));
      await store.appendOutput('re-big-line', ['old', 'x'.repeat(500), 'new ✓'], 100, 200);
      e = await store.getExecution('re-big-line');
      assert.deepEqual([e?.output, e?.output_truncated], [[note, 'new ✓'], true], 'a line larger than the cap goes, with the lines before it');

      await store.insertExecution(execution('re-lines-first', era, 12, { status: 'running' }));
      await store.appendOutput('re-lines-first', range(6).map(line), 3, 200);
      e = await store.getExecution('re-lines-first');
      assert.deepEqual([e?.output, e?.output_truncated], [[3, 4, 5].map(line), true], 'maxLines first: 84 bytes need no note');
    });

    it("a run's end whose output passes maxBytes is still written, with the newest output", async () => {
      await store.insertExecution(execution('re-flood', era, 20, { status: 'running', output: ['before'] }));
      const flood = range(400).map((i) => `flood ${i} ${'y'.repeat(90)}`);
      const ended = await store.finishExecutions([end('re-flood', { status: 'failed', error: 'boom', output: flood })], 1000, 4096);
      assert.deepEqual(ended, ['re-flood']);
      const e = await store.getExecution('re-flood');
      assert.equal(e?.status, 'failed');
      assert.equal(e?.output_truncated, true);
      assert.equal(e?.output[0], outputTrimmedNote(4096));
      assert.equal(e?.output.at(-1), flood.at(-1));
      assert.deepEqual(e?.output.slice(1), flood.slice(flood.length - (e!.output.length - 1)), 'a contiguous tail');
      assert.ok(bytes(e?.output) <= 4096 && bytes(e?.output) > 4096 - 200, `${bytes(e?.output)} bytes kept`);
    });

    it('a run whose end the database refuses does not keep the others of its batch unrecorded', async () => {
      await store.insertExecutions(['re-a', 're-b', 're-c'].map((id, i) => execution(id, era, 30 + i, { status: 'running' })));
      undo = await refuseEndOf(engineBackend(), 're-b');
      const ends = ['re-a', 're-b', 're-c'].map((id) => end(id, { output: [`${id} done`] }));
      const err = await store.finishExecutions(ends, 100, 4096).then(
        () => assert.fail('the refused end was reported written'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RunEndsError, `a RunEndsError, not ${String(err)}`);
      assert.deepEqual([...err.ended].sort(), ['re-a', 're-c']);
      assert.deepEqual([...err.failed.keys()], ['re-b']);
      for (const id of ['re-a', 're-c']) {
        const e = await store.getExecution(id);
        assert.deepEqual([e?.status, e?.output], ['succeeded', [`${id} done`]], `${id} recorded`);
      }
      const b = await store.getExecution('re-b');
      assert.deepEqual([b?.status, b?.output], ['running', []], 're-b left running, its output with its end');
      await assert.rejects(store.finishExecutions([end('re-b')], 100, 4096), (e: unknown) => !(e instanceof RunEndsError), 'alone: the database error itself');
      await undo();
      undo = undefined;
      assert.deepEqual(await store.finishExecutions([end('re-b')], 100, 4096), ['re-b'], 'written once the database takes it');
    });
  });
}
