/**
 * Notifications: what a watched run's end (or a late run) means for its job's rules and the
 * service's defaults, queued as deliveries in the store; and the loop every process runs to
 * send due deliveries (retried with backoff, each try recorded), look for late runs, and read
 * the default rules again.
 */
import { randomUUID } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { NotifySettings, OutboundSettings } from '../config/config.js';
import type { SecretsKeyring } from '../config/secrets-key.js';
import type { Logger } from '../observability/log.js';
import { redactText } from '../observability/redact.js';
import type { RunNotifications } from '../scheduling/run/deps.js';
import { openSecrets } from '../scheduling/run/secrets.js';
import { failedStatuses, type DeliveryRecord, type ExecutionRecord, type JobRecord, type Kwargs, type NotifyEvent, type NotifyRule, type Store } from '../store/types.js';
import { send, smtpTransport, type ChannelOptions } from './channels.js';

export interface NotifierOptions {
  settings: NotifySettings;
  outbound: Pick<OutboundSettings, 'maxRedirects'>;
  secretsKeyring: SecretsKeyring | null;
  /** A job paused itself: its schedule row is disabled (as a pause through the API does). */
  paused(job: JobRecord): Promise<void>;
}

/** Where an event came from: a run, or a fire that has not started. */
interface EventSource {
  job: JobRecord;
  execution: ExecutionRecord | null;
  /** For a late event: why it is late. */
  detail?: string;
  streakBefore?: number;
}

const errorChars = 1000;
/** How long a held delivery is given beyond its try's timeout before another process takes it. */
const lockSlackMs = 30_000;

export class Notifier implements RunNotifications {
  private defaults: NotifyRule[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private transport: Transporter | undefined;
  private lastPurge = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: NotifierOptions,
  ) {}

  watches(job: JobRecord): boolean {
    return job.notify.length > 0 || job.pause_after_failures !== null || this.defaults.length > 0;
  }

  async runEnded(execution: ExecutionRecord): Promise<void> {
    try {
      await this.handleEnd(execution);
    } catch (err) {
      this.log.error({ err, execution_id: execution.id, job_id: execution.job_id, status: execution.status }, 'notifications of a run not queued');
    }
  }

  private async handleEnd(execution: ExecutionRecord) {
    const { status } = execution;
    const failed = failedStatuses.includes(status);
    if (!execution.job_id || !(failed || status === 'succeeded' || status === 'missed')) return;
    if (status === 'missed') {
      const job = await this.store.getJob(execution.job_id);
      if (job) await this.queue(['missed'], { job, execution });
      return;
    }
    const counted = await this.store.countRunEnd(execution.job_id, failed);
    if (!counted) return;
    const { job, streak_before, state_before } = counted;
    const events: NotifyEvent[] = [];
    if (failed) events.push(status as NotifyEvent);
    if (status === 'succeeded' && streak_before > 0) events.push('recovered');
    const pausedNow = state_before === 'running' && job.state === 'paused';
    if (pausedNow) {
      this.log.warn({ job_id: job.job_id, failures: job.failure_streak, pause_after_failures: job.pause_after_failures }, 'job paused itself after failed runs in a row');
      await this.options.paused(job);
      events.push('paused');
    }
    await this.queue(events, { job, execution, streakBefore: streak_before });
  }

  /** The rules of a job, its own first, then the service's. */
  private rulesOf(job: JobRecord): NotifyRule[] {
    return [...job.notify, ...this.defaults];
  }

  /** Queues a delivery per event and per rule that asks for it; a `paused` goes also to rules of the failure that caused it. */
  private async queue(events: NotifyEvent[], source: EventSource) {
    if (events.length === 0) return;
    const rules = this.rulesOf(source.job);
    const now = new Date();
    const deliveries: DeliveryRecord[] = [];
    for (const event of events) {
      const payload = this.payloadOf(event, source, now);
      for (const rule of rules) {
        const wanted = rule.on.includes(event) || (event === 'paused' && source.execution !== null && rule.on.includes(source.execution.status as NotifyEvent));
        if (!wanted) continue;
        const channel = rule.webhook ? 'webhook' : rule.slack ? 'slack' : 'email';
        const target = (rule.webhook ?? rule.slack ?? rule.email) as unknown as Record<string, unknown>;
        deliveries.push({
          id: randomUUID(),
          job_id: source.job.job_id,
          execution_id: source.execution?.id ?? null,
          event,
          channel,
          target,
          payload,
          status: 'pending',
          attempts: [],
          next_attempt_at: now,
          locked_until: null,
          created_at: now,
          delivered_at: null,
        });
      }
    }
    if (deliveries.length === 0) return;
    await this.store.insertDeliveries(deliveries);
    this.log.info({ job_id: source.job.job_id, events, deliveries: deliveries.length }, 'notifications queued');
    this.kick();
  }

  /** The webhook body (openapi.yaml NotificationEvent): the same for every channel of one event. */
  private payloadOf(event: NotifyEvent, source: EventSource, now: Date): Record<string, unknown> {
    const { job, execution } = source;
    const e = execution;
    const error = e?.error ? redactText(e.error).slice(0, errorChars) : null;
    const run = e ? `run ${e.id}` : 'a run';
    const messages: Record<NotifyEvent, () => string> = {
      failed: () => `${run} failed${error ? `: ${error}` : ''}`,
      timed_out: () => `${run} timed out${error ? `: ${error}` : ''}`,
      lost: () => `${run} was lost${error ? `: ${error}` : ''}`,
      missed: () => `the fire due at ${e?.scheduled_at.toISOString()} was missed${error ? `: ${error}` : ''}`,
      recovered: () => `${run} succeeded after ${source.streakBefore} failed run(s) in a row`,
      late: () => `${source.detail ?? 'a run is late'}`,
      paused: () =>
        `paused itself after ${job.failure_streak} failed run(s) in a row (pause_after_failures ${job.pause_after_failures}); resume it with PUT /api/v1/jobs/${job.job_id}?state=running`,
    };
    const message = `job ${job.job_id} (${job.handler}): ${messages[event]()}`;
    return {
      event_id: randomUUID(),
      event,
      time: now.toISOString(),
      message,
      subject: `[jobs-service] ${event.replace('_', ' ')}: job ${job.job_id}`,
      job: { job_id: job.job_id, handler: job.handler, state: job.state, failure_streak: job.failure_streak, pause_after_failures: job.pause_after_failures },
      execution: e
        ? {
            id: e.id,
            status: e.status,
            trigger: e.trigger,
            attempt: e.attempt,
            scheduled_at: e.scheduled_at.toISOString(),
            started_at: e.started_at?.toISOString() ?? null,
            finished_at: e.finished_at?.toISOString() ?? null,
            error,
          }
        : null,
      ...(event === 'late' ? { late: source.detail ?? null } : {}),
    };
  }

  // The loop.

  start() {
    this.stopped = false;
    this.schedule(0);
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    this.transport?.close();
  }

  /** Sends soon: a delivery was just queued here. */
  private kick() {
    if (this.stopped) return;
    if (this.ticking) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number) {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  /** One round: the defaults read again, late runs looked for, due deliveries sent. Exposed for tests. */
  async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = (async () => {
      try {
        do {
          this.again = false;
          this.defaults = (await this.store.getNotifyDefaults()).notify;
          await this.sweepLate(new Date());
          await this.sendDue();
          await this.purge();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.log.warn({ err }, 'notifications: a round failed; the next one tries again');
      } finally {
        this.ticking = null;
        this.schedule(this.options.settings.pollMs);
      }
    })();
    return this.ticking;
  }

  /** The default rules as this process knows them (read every round). */
  setDefaults(rules: NotifyRule[]) {
    this.defaults = rules;
  }

  private async sendDue() {
    const { batch, timeoutMs } = this.options.settings;
    for (;;) {
      const now = new Date();
      const claimed = await this.store.claimDeliveries(now, new Date(now.getTime() + timeoutMs + lockSlackMs), batch);
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((d) => this.deliver(d)));
      if (claimed.length < batch || this.stopped) return;
    }
  }

  private channelOptions(): ChannelOptions {
    const { settings, outbound, secretsKeyring } = this.options;
    return {
      timeoutMs: settings.timeoutMs,
      maxRedirects: outbound.maxRedirects,
      smtp: settings.smtp,
      smtpPassword: async () => {
        const smtp = settings.smtp;
        if (!smtp?.passwordSecret) return smtp?.password ?? null;
        const opened = await openSecrets(this.store, secretsKeyring, { p: { $secret: smtp.passwordSecret } });
        return opened.kwargs.p as string;
      },
    };
  }

  private async deliver(d: DeliveryRecord) {
    const { maxAttempts, backoffMs, maxBackoffMs } = this.options.settings;
    const options = this.channelOptions();
    const started = Date.now();
    let result;
    try {
      const target = (await openSecrets(this.store, this.options.secretsKeyring, d.target as Kwargs)).kwargs;
      result = await send(d, target, options, async () => {
        this.transport ??= smtpTransport(options.smtp!, await options.smtpPassword(), options.timeoutMs);
        return this.transport;
      });
    } catch (err) {
      result = { ok: false, code: null, error: (err as Error).message };
    }
    const now = new Date();
    const tries = d.attempts.length + 1;
    const attempt = {
      at: now,
      ok: result.ok,
      code: result.code,
      error: result.error === null ? null : redactText(result.error).slice(0, errorChars),
      duration_ms: now.getTime() - started,
    };
    const last = !result.ok && tries >= maxAttempts;
    const next = result.ok || last ? now : new Date(now.getTime() + Math.min(maxBackoffMs, backoffMs * 2 ** (tries - 1)));
    await this.store.settleDelivery(d.id, result.ok ? 'delivered' : last ? 'failed' : 'pending', attempt, next, result.ok ? now : null);
    const fields = { delivery_id: d.id, job_id: d.job_id, event: d.event, channel: d.channel, attempt: tries, code: result.code };
    if (result.ok) this.log.info(fields, 'notification delivered');
    else
      this.log.warn(
        { ...fields, error: attempt.error, next_attempt_at: last ? null : next },
        last ? 'notification not delivered; no tries left' : 'notification not delivered; tried again later',
      );
  }

  /**
   * Late runs of jobs with a deadline: a fire or a queued run not started within start_within
   * seconds of its due time, a run started later than that, a run running longer than
   * run_within. Each is notified once across processes: a mark in the store decides who.
   */
  async sweepLate(now: Date) {
    const jobs = await this.store.jobsWithDeadlines();
    if (jobs.length === 0) return;
    const active = await this.store.activeExecutionsOf(jobs.map((j) => j.job_id));
    const found: Array<{ key: string; source: EventSource }> = [];
    for (const job of jobs) {
      const { start_within: startWithin, run_within: runWithin } = job.deadline!;
      const runs = active.filter((e) => e.job_id === job.job_id && e.trigger !== 'flow');
      const late = (kind: 'start' | 'run', dueOrRun: string, execution: ExecutionRecord | null, detail: string) =>
        found.push({ key: `late:${kind}:${job.job_id}:${dueOrRun}`, source: { job, execution, detail } });
      if (startWithin !== null) {
        const limit = startWithin * 1000;
        const due = job.next_run_at;
        if (job.state === 'running' && due && now.getTime() - due.getTime() > limit && !runs.some((e) => e.scheduled_at.getTime() === due.getTime())) {
          late('start', due.toISOString(), null, `the fire due at ${due.toISOString()} has not started within ${startWithin} s (deadline.start_within)`);
        }
        // A backfill or catch-up run stands for a past fire: it is late by design, not by fault.
        // A jittered run is due at its fire plus its jitter.
        for (const e of runs.filter((r) => r.trigger !== 'backfill' && r.trigger !== 'catch_up')) {
          const startedAt = e.started_at ?? now;
          if (startedAt.getTime() - e.scheduled_at.getTime() - (e.jitter_ms ?? 0) > limit) {
            const how = e.started_at ? `started at ${e.started_at.toISOString()}` : 'has not started';
            late('start', e.scheduled_at.toISOString(), e, `run ${e.id} due at ${e.scheduled_at.toISOString()} ${how}, not within ${startWithin} s (deadline.start_within)`);
          }
        }
      }
      if (runWithin !== null) {
        for (const e of runs) {
          if (e.status === 'running' && e.started_at && now.getTime() - e.started_at.getTime() > runWithin * 1000) {
            late('run', e.id, e, `run ${e.id} has been running since ${e.started_at.toISOString()}, longer than ${runWithin} s (deadline.run_within)`);
          }
        }
      }
    }
    if (found.length === 0) return;
    const marked = new Set(await this.store.markOnce([...new Set(found.map((f) => f.key))], now));
    for (const f of found) {
      if (!marked.delete(f.key)) continue;
      this.log.warn({ job_id: f.source.job.job_id, execution_id: f.source.execution?.id ?? null, detail: f.source.detail }, 'run late');
      await this.queue(['late'], f.source);
    }
  }

  /** Once an hour: settled deliveries and marks past JOBS_NOTIFY_RETENTION_DAYS go. */
  private async purge() {
    const days = this.options.settings.retentionDays;
    if (days === 0 || Date.now() - this.lastPurge < 3_600_000) return;
    this.lastPurge = Date.now();
    const before = new Date(Date.now() - days * 86_400_000);
    const deleted = await this.store.deleteDeliveriesBefore(before);
    await this.store.deleteMarksBefore(before);
    if (deleted) this.log.info({ deleted, before }, 'old notification deliveries deleted');
  }
}
