import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A PGlite data folder initialised once per PGlite version and machine, shared by every test
 * process: creating a cluster takes seconds (a minute on a loaded machine), copying one takes
 * milliseconds. Each suite still gets a fresh copy of its own. The folder is created under
 * another name and renamed when complete, so a crash never leaves a half-made template.
 */
export async function pgliteTemplate(): Promise<string> {
  // The package exports no package.json: read it from the project's node_modules.
  const manifest = new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const final = path.join(os.tmpdir(), `jobs-service-pglite-template-${version}`);
  if (await complete(final)) return final;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-service-template-'));
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(dir);
  await db.close();
  try {
    await fs.rename(dir, final);
  } catch (err) {
    // Another process renamed its template first: use that one.
    await fs.rm(dir, { recursive: true, force: true });
    if (!(await complete(final))) throw err;
  }
  return final;
}

const complete = (dir: string) =>
  fs.access(path.join(dir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
