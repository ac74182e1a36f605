import type { Operation } from './types.js';
import { Problem } from './problem.js';
import type { Services } from './context.js';

export function healthOperations(s: Services): Record<string, Operation> {
  return {
    // Liveness touches nothing that can block: the process answering is the answer.
    getLiveness: () => ({ status: 200, body: {} }),
    getReadiness: async () => {
      try {
        await s.store.ping(2000);
      } catch (err) {
        throw new Problem(503, 'Not ready', `the database cannot be reached: ${(err as Error).message}`);
      }
      // A full or read-only disk: reads work, writes do not, until a write succeeds again.
      const storage = await s.storage?.check();
      if (storage) throw new Problem(503, 'Not ready', `the database cannot write: ${storage}`);
      return { status: 200, body: {} };
    },
  };
}
