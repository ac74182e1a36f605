import cliProgress from 'cli-progress';
import { isFinal, WaitTimeoutError, type Batch, type Execution, type JobsClient } from '../client/index.js';
import type { Io } from './context.js';
import * as fmt from './format.js';

/**
 * Waits for the runs to end: a progress bar on a terminal, a line per change otherwise (both
 * on stderr, so stdout holds only the result). A batch counts ended runs; one run shows the
 * progress its handler reports.
 */
export async function waitForRuns(
  client: JobsClient,
  ids: string[],
  batchId: string | null,
  timeoutSeconds: number | undefined,
  io: Io,
): Promise<{ batch: Batch | null; executions: Execution[]; timedOut: boolean }> {
  const total = batchId ? ids.length : 100;
  const unit = batchId ? 'runs ended' : '%';
  const bar = io.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: io.stderr, format: ` {bar} {value}/{total} ${unit} | {statuses}`, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(total, 0, { statuses: 'queued' });
  let lastLine = '';
  const report = (value: number, statuses: string) => {
    if (bar) return bar.update(value, { statuses });
    const line = batchId ? `${value}/${total} runs ended: ${statuses}` : `run ${ids[0]}: ${statuses}${statuses === 'running' && value ? ` ${value}%` : ''}`;
    if (line !== lastLine) io.stderr.write(`${line}\n`);
    lastLine = line;
  };
  const wait = { intervalMs: 250, timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000 };
  let batch: Batch | null = null;
  let timedOut = false;
  try {
    if (batchId) {
      batch = await client.waitForBatch(batchId, {
        ...wait,
        onUpdate: (b) => report(b.total - (b.counts.queued ?? 0) - (b.counts.running ?? 0), fmt.counts(b.counts)),
      });
    } else {
      await client.waitForExecution(ids[0], {
        ...wait,
        onUpdate: (e) => report(isFinal(e.status) ? 100 : Math.round(e.progress ?? 0), e.status),
      });
    }
  } catch (e) {
    if (!(e instanceof WaitTimeoutError)) throw e;
    timedOut = true;
    if (batchId) batch = e.last as Batch;
  } finally {
    bar?.stop();
  }
  const executions = batchId ? (await client.executions.list({ batch_id: batchId, limit: 1000 })).executions.reverse() : [await client.executions.get(ids[0])];
  return { batch, executions, timedOut };
}
