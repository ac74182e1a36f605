/**
 * Benchmarks of jobs-service side by side with raw Agenda 6, pg-boss 12 and graphile-worker
 * 0.18, each in child processes of its own on the same PostgreSQL (a schema each, ANALYZEd
 * after every seeding) or, where it can, on an embedded PGlite. See bench/README.md.
 *
 *   npm run bench -- SCENARIO[,SCENARIO...] [--store embedded|postgres] [--quick] [--json] [--systems a,b] [--profile DIR]
 *
 * SCENARIO: memory, dispatch, lag, api, recovery, startup, several of them separated by commas
 * (run in that order), or all. Exit status 0 whenever the harness ran, whether or not the
 * targets were met; 1 when the harness itself failed; 2 for bad arguments.
 */
import { parseArgs } from 'node:util';
import { buildForBench } from './lib/build.js';
import { dropStaleSchemas, removeTempDirs, type StoreKind } from './lib/db.js';
import { output, progress, table } from './lib/report.js';
import { api } from './scenarios/api.js';
import { releaseShared, type Context } from './scenarios/context.js';
import { dispatch } from './scenarios/dispatch.js';
import { lag } from './scenarios/lag.js';
import { memory } from './scenarios/memory.js';
import { recovery } from './scenarios/recovery.js';
import { startup } from './scenarios/startup.js';
import { jobsService } from './systems/jobs-service.js';
import { peers } from './systems/peers.js';

// In this order for `all`: memory first (an idle process), recovery after the scenarios that
// share a deployment in --quick (it kills one of its processes), startup last (fresh boots).
const scenarios = { memory, dispatch, lag, api, recovery, startup } as const;
type Name = keyof typeof scenarios;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    store: { type: 'string', default: 'postgres' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    systems: { type: 'string' },
    profile: { type: 'string' },
  },
});

// One scenario, several separated by commas (run in the order of `all`), or all.
const which = positionals[0] ?? 'all';
const asked = which === 'all' ? Object.keys(scenarios) : which.split(',').map((s) => s.trim());
const unknownScenarios = asked.filter((s) => !(s in scenarios));
if (unknownScenarios.length) {
  console.error(`unknown scenario(s) ${unknownScenarios.join(', ')}; one or more of ${Object.keys(scenarios).join(', ')} (comma-separated), or all`);
  process.exit(2);
}
if (values.store !== 'postgres' && values.store !== 'embedded') {
  console.error(`--store must be embedded or postgres, got '${values.store}'`);
  process.exit(2);
}
const all = [jobsService, ...peers];
const wanted = values.systems?.split(',').map((s) => s.trim());
const unknown = wanted?.filter((w) => !all.some((s) => s.name === w));
if (unknown?.length) {
  console.error(`unknown system(s) ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const ctx: Context = {
  store: values.store as StoreKind,
  quick: values.quick!,
  // --quick compares with raw Agenda only unless --systems says otherwise: every boot counts there.
  systems: wanted ? all.filter((s) => wanted.includes(s.name)) : values.quick ? all.filter((s) => ['jobs-service', 'agenda'].includes(s.name)) : all,
  profileDir: values.profile,
};
output.json = values.json!;
output.quick = values.quick!;

const started = performance.now();
let failed = false;
try {
  await buildForBench(progress);
  if (ctx.store === 'postgres') await dropStaleSchemas();
  const names = (Object.keys(scenarios) as Name[]).filter((s) => asked.includes(s));
  for (const name of names) {
    const t = performance.now();
    progress(`${name} on ${ctx.store}${ctx.quick ? ' (quick)' : ''}`);
    await scenarios[name](ctx);
    progress(`${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
} catch (err) {
  failed = true;
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
} finally {
  await releaseShared();
  await removeTempDirs();
}
if (!output.json && output.rows.length) console.log(table(output.rows));
const missed = output.rows.filter((r) => r.met === false);
progress(
  `finished in ${((performance.now() - started) / 1000).toFixed(1)} s; ${missed.length} target(s) not met${missed.length ? `: ${missed.map((r) => `${r.scenario}/${r.metric}`).join(', ')}` : ''}`,
);
process.exit(failed ? 1 : 0);
