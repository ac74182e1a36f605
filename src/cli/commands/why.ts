import { InvalidArgumentError, type Command } from 'commander';
import type { Execution, Fire } from '../../client/index.js';
import type { CliContext } from '../context.js';
import * as fmt from '../format.js';

/** What each outcome of the fire ledger means, in a sentence. */
const meaning: Record<Fire['outcome'], string> = {
  ran: 'it ran',
  missed: 'it did not run: it was missed (too late for its misfire grace, a queue limit, or the service was down)',
  skipped_concurrency: 'it did not run: another run of the job was still active and its concurrency_policy is forbid',
  skipped_paused: 'it did not run: the job was paused',
  service_paused: 'it did not run: the service was paused',
  caught_up: 'it ran late, caught up after downtime or a pause',
  backfilled: 'it ran from a backfill',
  pending: 'not decided yet: it is due now or later',
};

function parseTime(value: string): Date {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new InvalidArgumentError(`'${value}' is not a time (ISO-8601, such as 2026-11-30T03:15:00Z)`);
  return t;
}

/** `jobsctl why JOB [TIME]`: the fire ledger of a job, or what became of its fire nearest TIME. */
export function addWhyCommand(program: Command, { ctx, show }: CliContext) {
  program
    .command('why')
    .description('why a job did or did not run: its fires of the last day and their outcomes, or the fire nearest TIME explained (the fire ledger)')
    .argument('<job>', 'job id')
    .argument('[time]', 'a time (ISO-8601): explain the fire due nearest to it', parseTime)
    .option('--since <time>', 'the first fire time to list (default: a day before --until)', parseTime)
    .option('--until <time>', 'list fires due before this (default: now)', parseTime)
    .action(async (id: string, at: Date | undefined, o: { since?: Date; until?: Date }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      if (!at) {
        const ledger = await client.jobs.fires(id, { since: o.since?.toISOString(), until: o.until?.toISOString() });
        show(json, ledger, () => {
          const rows = ledger.fires.map((f) => [fmt.time(f.time), f.outcome, String(f.version), f.execution_id ?? null, f.active_execution_id ?? null]);
          const more = ledger.next_since ? `more fires: jobsctl why ${id} --since ${ledger.next_since}\n` : '';
          return fmt.table(['FIRE', 'OUTCOME', 'VERSION', 'RUN', 'ACTIVE RUN'], rows, 'no fires expected in this range') + more;
        });
        return;
      }
      // A window around TIME wide enough for a daily schedule; the nearest fire in it is explained.
      const day = 86_400_000;
      const ledger = await client.jobs.fires(id, {
        since: new Date(at.getTime() - day).toISOString(),
        until: new Date(Math.min(at.getTime() + day, Date.now() + day)).toISOString(),
      });
      const nearest = ledger.fires.reduce<Fire | null>(
        (best, f) => (best === null || Math.abs(Date.parse(f.time) - at.getTime()) < Math.abs(Date.parse(best.time) - at.getTime()) ? f : best),
        null,
      );
      const run: Execution | null = nearest?.execution_id ? await client.executions.get(nearest.execution_id) : null;
      show(json, { fire: nearest, execution: run }, () => {
        if (!nearest) return `job ${id} expected no fire within a day of ${at.toISOString()}\n`;
        const lines = [`job ${id}, fire due ${fmt.time(nearest.time)} (version ${nearest.version}): ${meaning[nearest.outcome]}`];
        if (run) lines.push(`run ${run.id}: ${run.status}${run.error ? ` - ${run.error.split('\n')[0]}` : ''}`);
        if (nearest.active_execution_id) lines.push(`the active run: ${nearest.active_execution_id}`);
        if (nearest.version > 1) lines.push(`the schedule then: jobsctl jobs versions ${id} --from ${nearest.version} --limit 1`);
        return `${lines.join('\n')}\n`;
      });
    });
}
