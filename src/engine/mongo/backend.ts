import type { AgendaBackend, JobParameters, JobRepository, JobRepositoryOptions, RemoveJobsOptions } from 'agenda';
import type { Collection, Document, ObjectId } from 'mongodb';

/** The driver's ObjectId class, handed over by whoever loaded the driver. */
export type ObjectIdClass = new (id: string) => ObjectId;

/**
 * Agenda's MongoDB backend with the service's rules for its rows, where Agenda's own would
 * lose a row or the process (PostgreSQL's engine writes its rows with statements of its own):
 *
 * - A row's state saved at the start of its run, by a lock renewal and at its end never writes
 *   a null `nextRunAt` over a time: the row keeps the time it was locked at, or the one a
 *   reschedule gave it during the run. (Agenda nulls `nextRunAt` when a run starts and saves
 *   that at every renewal and at the end, so a reschedule during a run was lost.)
 * - The row of a run that ended with no next run is removed only while its `nextRunAt` is
 *   still the time it was locked at, as SQL's engine does: a row rescheduled during its run
 *   stays, unlocked, and fires at its new time. (Agenda removes a finished one-shot row by its
 *   id, whatever it holds.)
 * - `unlockJob`, which Agenda calls without awaiting it, never rejects: its error goes to
 *   `onError` rather than ending the process as an unhandled rejection.
 */
export class ServiceMongoBackend implements AgendaBackend {
  readonly name: string;
  readonly repository: JobRepository;
  /** The `nextRunAt` of each row this process locked, by row id, until the row is let go. */
  private readonly lockedAt = new Map<string, Date | null>();
  /** Rows whose run ended here with no next run: true when the end's save removed the row, false when it stays. */
  private readonly ended = new Map<string, boolean>();

  constructor(
    private readonly inner: AgendaBackend,
    private readonly collection: Collection<Document>,
    private readonly objectId: ObjectIdClass,
    private readonly onError: (err: Error, where: string) => void,
  ) {
    this.name = inner.name;
    const repo = inner.repository;
    const own: Partial<JobRepository> = {
      getNextJobToRun: async (...args) => this.locked(await repo.getNextJobToRun(...args)),
      lockJob: async (job, options) => this.locked(await repo.lockJob(job, options)),
      saveJobState: (job, options) => this.saveJobState(job, options),
      removeJobs: (options) => this.removeJobs(repo, options),
      unlockJob: async (job) => {
        if (job._id) this.lockedAt.delete(String(job._id));
        await repo.unlockJob(job).catch((err: unknown) => this.onError(err as Error, 'unlock'));
      },
    };
    this.repository = new Proxy(repo, {
      get(target, prop) {
        if (Object.hasOwn(own, prop)) return own[prop as keyof JobRepository];
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  get notificationChannel() {
    return this.inner.notificationChannel;
  }

  get logger() {
    return this.inner.logger;
  }

  get ownsConnection() {
    return this.inner.ownsConnection;
  }

  connect() {
    return this.inner.connect();
  }

  disconnect() {
    return this.inner.disconnect();
  }

  private locked(job: JobParameters | undefined) {
    if (job?._id) this.lockedAt.set(String(job._id), job.nextRunAt ?? null);
    return job;
  }

  /**
   * MongoJobRepository.saveJobState's fields, but a null nextRunAt keeps the stored one; and
   * the save at the end of a run that left the row no next run deletes the row instead, while
   * it is still locked, unless it was rescheduled during the run (its nextRunAt is no longer
   * the one it was locked at): then the row is only unlocked, at its new time. One statement
   * each, so no other process can take the row between its run's end and its removal.
   */
  private async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined) {
    if (!job._id) throw new Error('Cannot save job state without job ID');
    const id = String(job._id);
    const _id = new this.objectId(id);
    if (!job.lockedAt && !job.nextRunAt && this.lockedAt.has(id)) {
      const nextRunAt = this.lockedAt.get(id) ?? null;
      this.lockedAt.delete(id);
      // Until told otherwise, the row stays: a row whose removal failed stays locked, and is
      // taken again once its lock expires, as on SQL.
      this.ended.set(id, false);
      const r = await this.collection.deleteOne({ _id, name: job.name, nextRunAt });
      if (r.deletedCount === 1) {
        this.ended.set(id, true);
        return;
      }
    }
    const date = (d: Date | undefined | null) => ({ $literal: d ? new Date(d) : null });
    const r = await this.collection.updateOne({ _id, name: job.name }, [
      {
        $set: {
          lockedAt: date(job.lockedAt),
          nextRunAt: job.nextRunAt ? date(job.nextRunAt) : { $ifNull: ['$nextRunAt', null] },
          lastRunAt: date(job.lastRunAt),
          progress: { $literal: job.progress ?? null },
          failReason: { $literal: job.failReason ?? null },
          failCount: { $literal: job.failCount ?? null },
          failedAt: date(job.failedAt),
          lastFinishedAt: date(job.lastFinishedAt),
          lastModifiedBy: { $literal: options?.lastModifiedBy ?? null },
        },
      },
    ]);
    if (r.matchedCount !== 1) throw new Error(`job ${id} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`);
    // Unlocked with a next run: the row stays, and Agenda will not remove it.
    if (!job.lockedAt && job.nextRunAt) this.lockedAt.delete(id);
  }

  /**
   * Agenda removes a row whose run ended with no next run by its id alone, right after the
   * save above: that save has already removed it or kept it, and says which. Any other removal
   * (the engine's removeJob and removeRun, by data) is Agenda's.
   */
  private async removeJobs(repo: JobRepository, options: RemoveJobsOptions): Promise<number> {
    const given = Object.values(options).filter((v) => v !== undefined);
    const id = options.id === undefined ? undefined : String(options.id);
    if (given.length !== 1 || id === undefined || !this.ended.has(id)) return repo.removeJobs(options);
    const removed = this.ended.get(id) === true;
    this.ended.delete(id);
    return removed ? 1 : 0;
  }
}
