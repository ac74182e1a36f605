/**
 * The handlers folder jobs-service runs with in the bench (JOBS_HANDLERS_DIR): every handler
 * of the project (the routes of openapi.yaml name them, so the service refuses to boot
 * without them) plus the bench's own `noop` and `sleep`, each as a one-line re-export of its
 * compiled module.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { distBenchDir, distDir } from './paths.js';
import { tempDir } from './db.js';

let made: Promise<string> | undefined;

export function benchHandlersDir(): Promise<string> {
  made ??= (async () => {
    const dir = await tempDir('handlers');
    for (const from of [path.join(distDir, 'handlers'), path.join(distBenchDir, 'handlers')]) {
      for (const file of await fs.readdir(from)) {
        if (!file.endsWith('.js') || file.startsWith('_')) continue;
        const stem = file.replace(/\.js$/, '');
        await fs.writeFile(path.join(dir, `${stem}.mjs`), `export { default } from '${pathToFileURL(path.join(from, file)).href}';\n`);
      }
    }
    return dir;
  })();
  return made;
}
