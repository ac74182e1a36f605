import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { exitCodes } from '../exit-codes.js';
import * as fmt from '../format.js';
import { integer, jsonObject } from '../options.js';
import { waitForRuns } from '../wait.js';

/** `jobsctl run <job>`: runs now, once or as a batch, and with --wait until the runs end. */
export function addRunCommand(program: Command, { ctx, show, err, io, exit }: CliContext) {
  program
    .command('run')
    .description('run a job now, once or --times N (a batch), optionally waiting for the runs to end')
    .argument('<job>', 'job id')
    .option('--times <n>', 'how many runs (1 to 1000)', integer(1), 1)
    .option('--kwargs <json>', "merged over the job's kwargs for these runs, a JSON object", jsonObject)
    .option('--wait', 'wait for the runs to end; exit 4 unless all succeeded')
    .option('--wait-timeout <seconds>', 'stop waiting after this long (exit 4)', integer(1))
    .action(async (jobId: string, o: { times: number; kwargs?: Record<string, unknown>; wait?: boolean; waitTimeout?: number }, cmd: Command) => {
      const { client, json } = ctx(cmd);
      const accepted = await client.jobs.run(jobId, { times: o.times, kwargs: o.kwargs });
      if (!o.wait) {
        show(json, accepted, () =>
          accepted.batch_id ? `queued ${accepted.execution_ids.length} runs as batch ${accepted.batch_id}\n` : `queued run ${accepted.execution_ids[0]}\n`,
        );
        return;
      }
      if (!json) {
        err(accepted.batch_id ? `queued ${accepted.execution_ids.length} runs as batch ${accepted.batch_id}\n` : `queued run ${accepted.execution_ids[0]}\n`);
      }
      const waited = await waitForRuns(client, accepted.execution_ids, accepted.batch_id, o.waitTimeout, io);
      const summary = { batch: waited.batch, executions: waited.executions, timed_out: waited.timedOut };
      show(json, summary, () => {
        // A big batch lists only the runs that did not succeed; executions list --batch has them all.
        const listed = waited.executions.length <= 20 ? waited.executions : waited.executions.filter((e) => e.status !== 'succeeded').slice(0, 20);
        const lines = listed.length ? [fmt.executionsTable(listed)] : [];
        if (listed.length < waited.executions.length)
          lines.push(`(${waited.executions.length - listed.length} run(s) not listed; all of them: jobsctl executions list --batch ${accepted.batch_id})\n`);
        const byStatus: Record<string, number> = {};
        for (const e of waited.executions) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
        const took = waited.batch
          ? ` in ${fmt.duration(waited.batch.duration_ms)}`
          : waited.executions[0]?.duration_ms != null
            ? ` in ${fmt.duration(waited.executions[0].duration_ms)}`
            : '';
        lines.push(`${waited.executions.length} run(s): ${fmt.counts(byStatus)}${waited.timedOut ? ' (stopped waiting)' : took}\n`);
        return lines.join('');
      });
      if (waited.timedOut) err(`jobsctl: stopped waiting after ${o.waitTimeout}s; the runs go on\n`);
      if (waited.timedOut || waited.executions.some((e) => e.status !== 'succeeded')) exit(exitCodes.runNotSucceeded);
    });
}
