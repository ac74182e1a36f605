import fs from 'node:fs/promises';
import { FolderInUseError, lockDataFolder } from './folder-lock.js';
import { PGliteClient } from './sql-client.js';
import { describeError } from './storage.js';

/** The embedded data folder cannot be opened: names the folder and the cause. */
export class DataFolderError extends Error {
  constructor(
    readonly dataDir: string,
    cause: unknown,
  ) {
    super(`cannot open the data folder ${dataDir}: ${describeError(cause)}`, { cause });
    this.name = 'DataFolderError';
  }
}

/**
 * The embedded database: PGlite in `dataDir` (created when missing), with a small
 * shared_buffers (see PGliteClient.open). One process at a time: the folder is locked for
 * this one (see lockDataFolder) until the client closes or the process ends.
 */
export async function openEmbedded(dataDir: string, sharedBuffers: string): Promise<PGliteClient> {
  let lock;
  try {
    await fs.mkdir(dataDir, { recursive: true });
    lock = lockDataFolder(dataDir);
  } catch (err) {
    if (err instanceof FolderInUseError) throw err;
    throw new DataFolderError(dataDir, err);
  }
  try {
    const client = await PGliteClient.open(dataDir, sharedBuffers);
    client.onClose(() => lock.release());
    return client;
  } catch (err) {
    lock.release();
    throw new DataFolderError(dataDir, err);
  }
}
