import fs from 'node:fs/promises';
import path from 'node:path';
import { startService, tempDir, testDatabase, type Running, type StoreName } from '../helpers.js';

/** A service on a database of its own whose run-script jobs find `scripts` (name -> text) in a folder of their own. */
export interface ScriptService {
  svc: Running;
  close(): Promise<void>;
}

export async function startScriptService(store: StoreName, scripts: Record<string, string>, env: Record<string, string> = {}): Promise<ScriptService> {
  const dir = await tempDir('scripts');
  for (const [name, text] of Object.entries(scripts)) await fs.writeFile(path.join(dir, name), text, { mode: 0o755 });
  // run-script reads its folder and isolation from the environment at each call.
  process.env.JOBS_SCRIPTS_DIR = dir;
  process.env.JOBS_SCRIPT_ISOLATION = 'group';
  const db = await testDatabase(store);
  const svc = await startService(db, { ...env, JOBS_SCRIPTS_DIR: dir });
  return {
    svc,
    close: async () => {
      await svc.close();
      await db.drop();
      await fs.rm(dir, { recursive: true, force: true });
      delete process.env.JOBS_SCRIPTS_DIR;
      delete process.env.JOBS_SCRIPT_ISOLATION;
    },
  };
}
