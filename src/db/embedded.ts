import fs from 'node:fs/promises';
import { PGliteClient } from './sql-client.js';

/**
 * The embedded database: PGlite in `dataDir` (created when missing), with a small
 * shared_buffers (see PGliteClient.open).
 */
export async function openEmbedded(dataDir: string, sharedBuffers: string): Promise<PGliteClient> {
  await fs.mkdir(dataDir, { recursive: true });
  return PGliteClient.open(dataDir, sharedBuffers);
}
