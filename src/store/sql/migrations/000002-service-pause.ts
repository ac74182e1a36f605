/**
 * 000002: since when and by whom the service is paused, kept with its state, so that a second
 * pause, a resume or a lost audit record cannot change the answer. Additive: a release that
 * does not know these columns still works on them.
 */
export const name = 'service-pause';

export const sql = `
ALTER TABLE service_state ADD COLUMN IF NOT EXISTS paused_at timestamptz;
ALTER TABLE service_state ADD COLUMN IF NOT EXISTS paused_by text;
`;
