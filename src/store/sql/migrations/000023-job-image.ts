/**
 * 000023: the pull of a job's image (container jobs): its status and the engine's reason for
 * an error. Additive: a release that does not know the columns still works on the table.
 */
export const name = 'job-image';

export const sql = `
ALTER TABLE job ADD COLUMN IF NOT EXISTS image_status text CHECK (image_status IN ('importing', 'ready', 'error'));
ALTER TABLE job ADD COLUMN IF NOT EXISTS image_error text;
`;
