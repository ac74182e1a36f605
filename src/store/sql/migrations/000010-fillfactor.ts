/**
 * 000010: room in every page of job and execution for the next versions of their rows. A fire
 * and a run's end rewrite the job's next and last run (no index holds them), and a start draws
 * the run's fencing token: with the room, each such update stays in its row's page as a HOT
 * update, which writes no index entry. Pages written before keep their fill until rewritten.
 * Additive: no column or index changes.
 */
export const name = 'fillfactor';

export const sql = `
ALTER TABLE job SET (fillfactor = 80);
ALTER TABLE execution SET (fillfactor = 80);
`;
