/** jobsctl's exit codes: the service said no (1), usage (2), unreachable (3), a waited-for run did not succeed (4). */
export const exitCodes = { ok: 0, refused: 1, usage: 2, unreachable: 3, runNotSucceeded: 4 } as const;
