/**
 * 000009: the kwargs a run request asked to override, kept in its audit record. Additive: a
 * release that does not know the column still works on the table.
 */
export const name = 'audit-overrides';

export const sql = `
ALTER TABLE audit ADD COLUMN IF NOT EXISTS overrides jsonb;
`;
