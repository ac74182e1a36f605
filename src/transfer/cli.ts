import { ConfigError, loadConfig } from '../config/config.js';
import { createLogger } from '../observability/log.js';

/**
 * `transfer/cli.js export DIR` writes every job of the configured store (DATABASE_URL or
 * JOBS_DATA_DIR, as for the service) into DIR as one YAML file per job; `transfer/cli.js import
 * DIR` upserts the YAML files of DIR into the configured store. Exit 0; 2 on usage errors;
 * 1 on failure.
 */
const usage = `usage: npm run export -- DIR    write every job of the configured store into DIR, one YAML file per job
       npm run import -- DIR    create or update the jobs of DIR's YAML files in the configured store
The store is the service's: DATABASE_URL, else the embedded store in JOBS_DATA_DIR.`;

async function main(args: string[]): Promise<number> {
  const [command, dir, ...rest] = args;
  if ([command, dir].some((a) => a === '-h' || a === '--help')) {
    console.log(usage);
    return 0;
  }
  const wrong =
    command === undefined
      ? 'no command given'
      : command !== 'export' && command !== 'import'
        ? `unknown command '${command}'`
        : dir === undefined || dir === ''
          ? 'DIR is missing'
          : dir.startsWith('-')
            ? `unknown option '${dir}'`
            : rest.length > 0
              ? `unexpected argument '${rest[0]}'`
              : null;
  if (wrong) {
    console.error(`jobs-service: ${wrong}\n${usage}`);
    return 2;
  }
  let config;
  try {
    // Service logs would only bury the counts: warnings and errors unless LOG_LEVEL says more.
    config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || 'warn' });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`jobs-service ${command}: configuration error: ${err.message}`);
      return 2;
    }
    throw err;
  }
  try {
    // Loaded after the arguments are checked: the service's modules take a while to load.
    const { exportFromConfig, importFromConfig } = await import('./transfer.js');
    if (command === 'export') {
      const { files, fired } = await exportFromConfig(config, dir);
      console.log(`exported ${files.length} job${files.length === 1 ? '' : 's'} from the ${config.storeKind} store to ${dir}`);
      if (fired.length > 0) {
        console.error(
          fired.length === 1
            ? `note: one-shot job ${fired[0]} has fired already; importing it into a store that does not have it runs it again, so delete its file to leave it out`
            : `note: ${fired.length} one-shot jobs have fired already (${fired.join(', ')}); importing them into a store that does not have them runs them again, so delete their files to leave them out`,
        );
      }
    } else {
      const { created, updated } = await importFromConfig(config, dir, createLogger(config.logLevel));
      const total = created.length + updated.length;
      console.log(`imported ${total} job${total === 1 ? '' : 's'} from ${dir} into the ${config.storeKind} store: ${created.length} created, ${updated.length} updated`);
    }
    return 0;
  } catch (err) {
    console.error(`jobs-service ${command}: ${err instanceof ConfigError ? `configuration error: ` : ''}${(err as Error).message}`);
    return 1;
  }
}

// Exit explicitly: a pool or timer left behind must not keep a finished command alive.
process.exit(await main(process.argv.slice(2)));
