/**
 * 000005: the caller's address on each audit record, and the number of calls a record stands
 * for (denied calls without a token are counted in one record per window). Additive: older
 * records read as one call from an unknown address.
 */
export const name = 'audit-client';

export const sql = `
ALTER TABLE audit ADD COLUMN IF NOT EXISTS client_address text;
ALTER TABLE audit ADD COLUMN IF NOT EXISTS count integer NOT NULL DEFAULT 1;
`;
