/** The store conformance suite: SecretStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { SecretRecord, Store } from '../../src/store/types.js';
import { encodeCursor } from '../../src/store/cursor.js';
import { allPages, at, pad, range, rejectsCursor } from './fixtures.js';

const secret = (name: string, i: number, fields: Partial<SecretRecord> = {}): SecretRecord => ({
  name,
  key_id: '0123456789abcdef',
  ciphertext: Buffer.from(`sealed ${name} ${i}`).toString('base64'),
  created_at: at(30, i),
  updated_at: at(30, i),
  created_by: 'admin',
  updated_by: 'admin',
  ...fields,
});

export function secretStoreContract(open: () => Store): void {
  describe('secrets', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    it('insert stores a secret once; a taken name changes nothing', async () => {
      const s = secret('sc-first', 1);
      assert.equal(await store.insertSecret(s), true);
      assert.equal(await store.insertSecret(secret('sc-first', 2, { ciphertext: 'other' })), false);
      assert.deepEqual(await store.getSecrets(['sc-first']), [s]);
    });

    it('put creates, then replaces value and key keeping when and by whom it was created', async () => {
      const s = secret('sc-put', 3, { created_by: null, updated_by: null });
      assert.equal(await store.putSecret(s), true);
      assert.deepEqual(await store.getSecrets(['sc-put']), [s]);
      const changed = secret('sc-put', 4, { key_id: 'fedcba9876543210', ciphertext: 'bmV3', created_by: 'ops', updated_by: 'ops' });
      assert.equal(await store.putSecret(changed), false);
      assert.deepEqual(await store.getSecrets(['sc-put']), [{ ...changed, created_at: s.created_at, created_by: null }]);
    });

    it('getSecrets answers the names that exist; a name is matched exactly', async () => {
      const found = await store.getSecrets(['sc-first', 'sc-none', 'sc-put', 'SC-FIRST', '$where']);
      assert.deepEqual(found.map((s) => s.name).sort(), ['sc-first', 'sc-put']);
      assert.deepEqual(await store.getSecrets([]), []);
    });

    it('lists names in order, in pages, without sealed values', async () => {
      for (const i of range(7)) await store.insertSecret(secret(`sc-list-${pad(i)}`, 10 + i));
      const all = await allPages((after) => store.listSecrets(after, 3), 3);
      const names = all.map((s) => s.name);
      assert.deepEqual(names, [...names].sort());
      assert.deepEqual(
        names.filter((n) => n.startsWith('sc-list-')),
        range(7).map((i) => `sc-list-${pad(i)}`),
      );
      for (const s of all) assert.equal('ciphertext' in s, false, `listed ${s.name} without its sealed value`);
      const listed = all.find((s) => s.name === 'sc-list-03')!;
      const { ciphertext: _sealed, ...meta } = secret('sc-list-03', 13);
      assert.deepEqual(listed, meta);
    });

    it('a cursor listSecrets did not issue is refused', async () => {
      for (const c of ['', 'not a cursor', encodeCursor([]), encodeCursor([1000, 'x']), encodeCursor([1000])]) {
        await rejectsCursor(() => store.listSecrets(c, 5), `listSecrets(${JSON.stringify(c)})`);
      }
    });

    it('delete removes one secret; deleting again says there was none', async () => {
      assert.equal(await store.deleteSecret('sc-first'), true);
      assert.equal(await store.deleteSecret('sc-first'), false);
      assert.deepEqual(await store.getSecrets(['sc-first']), []);
      for (const i of range(7)) assert.equal(await store.deleteSecret(`sc-list-${pad(i)}`), true);
      assert.equal(await store.deleteSecret('sc-put'), true);
      assert.deepEqual((await store.listSecrets(null, 10)).items, []);
    });
  });
}
