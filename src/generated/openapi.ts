// Generated from openapi.yaml by `npm run generate`. Do not edit.

export type paths = {
    "/liveness": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The process is up
         * @description Answers 200 while the process runs; touches nothing that can block.
         *
         *     Open to anyone; with `JOBS_HEALTH_AUTH=true` requires the `read` role.
         */
        get: operations["getLiveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readiness": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The service can reach its database
         * @description Pings the database with a short timeout; 503 with the reason when it does not answer.
         *
         *     Open to anyone; with `JOBS_HEALTH_AUTH=true` requires the `read` role.
         */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Metrics in the Prometheus text format
         * @description Runs started and finished by handler and status, run durations and start lag, queued
         *     runs and workers by state (read from the database at each scrape), HTTP requests by
         *     operation and status, and the process's own metrics.
         *
         *     Open to anyone; with `JOBS_METRICS_AUTH=true` requires the `read` role.
         */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Calls that change something, newest first
         * @description Every call of an operation other than GET, whatever its outcome: who (the token's
         *     name; null when auth is off), what (operationId, method, path, the ids it touched)
         *     and how it ended (status and outcome). Pages as `GET /executions` does.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        get: operations["listAudit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A live stream of run, job and service changes
         * @description A `text/event-stream` (Server-Sent Events) of changes, from every process of the
         *     deployment: each event's name is its `type` and its data an `Event`.
         *
         *     - runs: `execution.created`, `execution.started`, `execution.progress`, `execution.ended`
         *     - jobs: `job.created`, `job.updated`, `job.paused`, `job.resumed`, `job.deleted`
         *     - the service: `service.paused`, `service.resumed`
         *
         *     The filters keep only matching events (an event without the field filtered on, such as
         *     `service.paused` under `job_id`, does not match). Each event's `id` can be sent back as
         *     `Last-Event-ID` to resume after it: events of the last `JOBS_SSE_RETENTION` seconds are
         *     replayed. Comment lines (`: heartbeat`) every `JOBS_SSE_HEARTBEAT` seconds; a client
         *     reading too slowly for `JOBS_SSE_BUFFER_BYTES` is disconnected; beyond
         *     `JOBS_SSE_MAX_CLIENTS` open streams a new one answers 503; streams close when the
         *     service stops. Browsers: read it with `fetch` and the `Authorization` header; the client
         *     SDK's `events` does.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["streamEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/service/state": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Whether the scheduler runs jobs or is paused
         * @description `running`, or `paused`: then no run starts on any worker until `PUT
         *     /service/state?state=running`. While paused, `paused_at` and `paused_by` say since when
         *     and by whom.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getServiceState"];
        /**
         * Pause or resume the whole scheduler (idempotent)
         * @description Paused, no run starts on any worker; runs in progress finish. On resume, runs that
         *     fell due while paused start once, unless they are later than their misfire grace time,
         *     in which case they are recorded as missed.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        put: operations["setServiceState"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/service/caller": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Who is calling, with which role
         * @description The name and role of the token this call carries, and whether tokens are checked at
         *     all. With no tokens checked (loopback without tokens, or `JOBS_AUTH=off`) every call may
         *     do everything: `role` is `admin` and `name` null. The dashboard shows only the actions
         *     the role may take; the API refuses the others whatever a client shows.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getCaller"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/service/notify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The service-wide notification rules
         * @description Rules applied to every job besides its own `notify` rules. Channel URLs are shown
         *     without their path and query, inline secrets as `[redacted]`; secret references as
         *     they are.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        get: operations["getServiceNotify"];
        /**
         * Replace the service-wide notification rules
         * @description Checked as a job's `notify` is (every bad field named, nothing changed). An empty list
         *     removes the defaults. Every process reads them again within `JOBS_NOTIFY_POLL_MS`;
         *     runs made before that follow the rules known when they were made.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        put: operations["setServiceNotify"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/notifications/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Notifications queued and sent, newest first
         * @description One delivery per event and channel: `pending` (waiting for its next try), `sending`,
         *     `delivered` or `failed` (no tries left, `JOBS_NOTIFY_MAX_ATTEMPTS`). Each try is
         *     recorded in `attempts`. The channel settings (`target`) are shown redacted.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List jobs, failure records, or both
         * @description `user` lists the jobs in `job_id` order; `failed` lists failure records, newest first;
         *     `all` lists the jobs followed by the failure records. Pages hold `limit` entries;
         *     pass `next_cursor` back as `cursor` for the next page.
         *
         *     `search`, `handler`, `state`, `source` and `last_status` keep only the jobs that match
         *     all of them (and then list no failure records); the cursor of a filtered page is for
         *     the same filters.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listJobs"];
        put?: never;
        /**
         * Create a job for any handler
         * @description The generic form of the handler routes: the handler, its kwargs and the scheduling
         *     options all travel in the body. kwargs are checked against the handler's schema.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["createJob"];
        /**
         * Not allowed; delete jobs one by one
         * @description Always answers 405, so that a `DELETE` without a job_id never removes every job. Delete
         *     jobs one by one with `DELETE /jobs/{job_id}`.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        delete: operations["deleteAllJobs"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/bulk": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create many jobs at once, all or nothing
         * @description Each entry is the body of `POST /jobs` and is checked as that route checks it; the jobs
         *     are stored together, or none of them is. An invalid entry answers 400 naming every bad
         *     field as `body.jobs[i].field`; a `job_id` that exists already, or that two entries share,
         *     creates none of them (409 or 400). At most `JOBS_MAX_BULK_JOBS` entries (10,000 by
         *     default) within the body limit (`JOBS_BODY_LIMIT`).
         *
         *     `Prefer: return=minimal` (RFC 7240) answers only the ids of the jobs created, in the
         *     order given, with `Preference-Applied: return=minimal`: the whole jobs are several
         *     times the size of the request, and a client that loads thousands of jobs seldom reads
         *     them back. Without it (or with `return=representation`) the answer holds every job.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["createJobs"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/clean-failed": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete every failure record
         * @description Removes every failure record (`GET /jobs?job_type=failed`) and answers their ids. Run
         *     records stay.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        delete: operations["cleanFailed"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/{job_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        /**
         * One job with its next and last run and the stats of its runs
         * @description The job as stored (`next_run_time` is null while it is paused), with `stats`: total,
         *     succeeded and failed runs, their average duration, the latest run and the next one.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getJob"];
        /**
         * Pause or resume one job
         * @description `paused` keeps the job and its schedule but starts no run of it; `running` plans its
         *     next run from its schedule. Idempotent.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        put: operations["setJobState"];
        post?: never;
        /**
         * Delete one job and its schedule (its run records stay)
         * @description Removes the job and its schedule; runs in progress finish and every run record stays. A
         *     job_id that does not exist (never created, or deleted already) answers 410.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        delete: operations["deleteJob"];
        options?: never;
        head?: never;
        /**
         * Change a job's definition, keeping the previous one as a version
         * @description Sets the fields the body gives, checked exactly as a create checks them: every bad
         *     field answers 400 naming it, and nothing changes. A field set to `null` goes back to
         *     its default; `kwargs` replaces the kwargs as a whole; giving `periodically` or `cron`
         *     replaces the schedule (the other schedule fields not given are unset). The next fire
         *     is planned again when the schedule changed; a run in progress goes on as it was. Each
         *     change that changes something makes a new `version` (`GET /jobs/{job_id}/versions`).
         *
         *     `If-Match` with the version read (the `ETag` of the job's reads) answers 412 when the
         *     job changed since. A job from a default-jobs file answers 409 unless the body says
         *     `detach: true`: it then becomes a job of the API, which the next boot leaves alone.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        patch: operations["updateJob"];
        trace?: never;
    };
    "/jobs/{job_id}/executions": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        /**
         * Runs of one job, newest first
         * @description The job's runs, newest first, paged with `limit` and `cursor` (`next_cursor` in the
         *     answer).
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listJobExecutions"];
        put?: never;
        /**
         * Run a job now, once or N times
         * @description Queues `times` runs (1 to 1000) of the job, with `kwargs` merged over the job's own
         *     (the result is checked against the handler's schema). With `times` > 1 the runs form a
         *     batch (`GET /batches/{batch_id}`). Under `forbid`, a job with an active run answers 409;
         *     under `replace` the active run is cancelled first. A paused job can still be run.
         *
         *     A run may override only the kwargs the job's handler lists in `x-run-overridable` (its
         *     kwargs schema): never a URL, headers, a script or its environment; another field answers
         *     400 naming it. The overrides given are kept in the call's audit record. A job whose
         *     handler needs `admin` (`x-role` of its kwargs schema) needs an admin token to run.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["runJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/{job_id}/next-fires": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        /**
         * The next fires of a job
         * @description The job's next `count` fire times (UTC), computed in its time zone and exact across
         *     daylight-saving changes: from its next run on (a paused job: from now, as if resumed
         *     now), none after `end_at`, no more than `max_runs` has left. `schedule_ended` says why
         *     the list is empty when the schedule is over. `count` is at most JOBS_MAX_NEXT_FIRES.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getNextFires"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/{job_id}/backfill": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run the fires of a past time range
         * @description Queues one run per fire of the job's schedule from `since` (inclusive) to `until`
         *     (exclusive, not in the future), within its `start_at`/`end_at`: each with the trigger
         *     `backfill`, its fire's time as `scheduled_at`, all in one batch. A range of more than
         *     JOBS_CATCH_UP_MAX_FIRES fires answers 400; more runs than the queue limits allow, 429.
         *     Backfilled runs do not count against `max_runs`; the concurrency policy (which decides
         *     at fire time) does not apply to them. A one-shot job has no schedule to backfill (400).
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["backfillJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/schedules/preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The first fires of a schedule not yet saved
         * @description Takes the schedule fields of a create (`periodically`, `cron` with `timezone`, `when`,
         *     `start_at`, `end_at`), checks them exactly as a create does (400 naming every bad
         *     field), and answers the first `count` fires a job created now would have. Nothing is
         *     stored.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        post: operations["previewSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/{job_id}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        /**
         * The definitions a job has had, oldest first
         * @description Every version of the job: when it was made, by whom (the token's name, as the audit
         *     record names it; null for a create, a change from its default-jobs file or without
         *     tokens), which fields changed from the version before, and the whole definition. Pages
         *     of `limit` versions from `from` on; `next_from` continues.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listJobVersions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/{job_id}/versions/{version}/rollback": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
                version: number;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Make an earlier version's definition the job's again, as a new version
         * @description The definition of `version` (every field; its state aside: a paused job stays paused)
         *     becomes the job's, checked as a change is, as a new version. Same `If-Match` and
         *     default-jobs file rules as `PATCH /jobs/{job_id}` (a file job needs `?detach=true`).
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["rollbackJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/{job_id}/fires": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        /**
         * The fire ledger: every fire the job's schedule expected, and what became of it
         * @description Each time the schedule in force then (its version) expected a fire in [`since`,
         *     `until`), oldest first, with its outcome: `ran` (the run), `missed` (beyond the misfire
         *     grace, a queue limit, or no record at all: the service was down), `skipped_concurrency`
         *     (under `forbid`, with the run that was active), `skipped_paused` (the job was paused),
         *     `service_paused`, `caught_up`, `backfilled`, or `pending` (not decided yet). Read from
         *     the runs' records, the versions and the times the job and the service were paused.
         *
         *     `until` defaults to now, `since` to a day before `until`; the range is at most
         *     `JOBS_LEDGER_MAX_RANGE_SECONDS`, an answer at most `JOBS_LEDGER_MAX_FIRES` fires, with
         *     `next_since` to continue from.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listJobFires"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/flow-scheduling": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Schedule flows
         * @description Each run starts one child run of the handler `flow_name` per element of `flow_arguments`.
         *     Creating, changing or running a flow also needs the role of the handler `flow_name`
         *     (`admin` for `cleanup-executions`).
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["scheduleFlowScheduling"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/selective-flow-scheduling": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Schedule flows that run only some steps
         * @description Like flow-scheduling, but each child runs only the steps `task_names` of its handler
         *     (and every later step when `run_subsequent`).
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["scheduleSelectiveFlowScheduling"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/http-request": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Schedule an HTTP request
         * @description Each run sends one HTTP request; an answer status other than `expected_status` (any 2xx
         *     when omitted), or no answer within `request_timeout` seconds, fails the run.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["scheduleHttpRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/echo": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Schedule an echo (writes its kwargs to the run's output)
         * @description Each run writes its kwargs to the run's output: a harmless job to try the service with.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["scheduleEcho"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/cleanup-executions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Schedule the deletion of old run and failure records
         * @description Each run deletes run and failure records that ended more than `older_than` ago (steps
         *     `executions` and `failures`). Destructive: consider `state=paused` until the schedule is
         *     right. Its jobs need the `admin` role to be created, changed, run or started by a flow
         *     (`x-role` of its kwargs schema), as `DELETE /jobs/clean-failed` does.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        post: operations["scheduleCleanupExecutions"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/run-script": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Schedule a script from the scripts folder
         * @description Runs a script by name from `JOBS_SCRIPTS_DIR` (no paths, no shell): `args` as its argv,
         *     `env` limited to the names in `JOBS_SCRIPT_ENV_ALLOW`, the scripts folder as working
         *     directory. stdout and stderr become the run's output; exit code 0 is success. On
         *     timeout or cancel the whole process group gets SIGTERM, then SIGKILL after a grace.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["scheduleRunScript"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/jobs/container": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Register an image and schedule runs of it on the container engine
         * @description Registers an image: the service starts pulling it at once, and the job's `image_status`
         *     goes from `importing` to `ready`, or to `error` with the engine's reason in
         *     `image_error`. Each run creates a container of the image on the engine at
         *     `JOBS_CONTAINER_ENGINE` (Docker, or Podman's Docker-compatible service), streams its
         *     stdout and stderr into the run's output, and removes it; exit code 0 is success, another
         *     fails the run naming the code. On timeout or cancel the container gets SIGTERM, then
         *     SIGKILL after `JOBS_CONTAINER_STOP_GRACE_SECONDS`, and is removed. No host mounts,
         *     network `none` unless asked, `cpus` and `memory` limits as given.
         *
         *     The `container` handler needs `admin` (`JOBS_CONTAINER_ROLE` changes it), checked after
         *     the operation's own role.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["scheduleContainer"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/executions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Runs of every job, newest first
         * @description Runs of every job, newest first, filtered by job, status, handler, batch, parent run and
         *     creation time; paged with `limit` and `cursor`.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listExecutions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/executions/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        /**
         * One run
         * @description One run: its job, handler, kwargs, status, trigger, times, duration, worker, attempt,
         *     progress, and the error and stack when it failed.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getExecution"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/executions/{execution_id}/output": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        /**
         * The lines a run logged, or a live stream of them
         * @description What the handler logged during the run, oldest first (the newest `JOBS_OUTPUT_LINES` are
         *     kept, and of those the newest within `JOBS_OUTPUT_MAX_BYTES`, after a first line saying
         *     that earlier output was dropped; `truncated` says when older ones were dropped).
         *
         *     With `follow=true` the answer is a `text/event-stream` (Server-Sent Events) that follows
         *     the run live, whichever process runs it:
         *
         *     - `output` (data `OutputEvent`): new lines; the event's `id` is the number of lines the
         *       run has written up to and including them. Sending that id back as `Last-Event-ID`
         *       resumes after them (lines that fell out of the kept output meanwhile are counted in
         *       `dropped`).
         *     - `status` (data `StatusEvent`): the run's status or progress, first as it stands, then
         *       on each change.
         *     - `end` (data `EndEvent`): the run ended; the stream then closes. A run that has already
         *       ended answers its output and `end` at once.
         *
         *     Comment lines (`: heartbeat`) are sent every `JOBS_SSE_HEARTBEAT` seconds. A client that
         *     reads too slowly for `JOBS_SSE_BUFFER_BYTES` of pending events is disconnected; beyond
         *     `JOBS_SSE_MAX_CLIENTS` open streams, a new one answers 503. Streams close when the
         *     service stops. Browsers: read the stream with `fetch` and the `Authorization` header
         *     (EventSource cannot send it); the client SDK's `followOutput` does.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getExecutionOutput"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/executions/{execution_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a queued or running run
         * @description A queued run is cancelled at once (200) and never starts. A running run gets its
         *     AbortSignal fired by its worker (202); it becomes cancelled when the handler returns, or
         *     after the cancel grace period when it does not.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["cancelExecution"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/executions/{execution_id}/restart": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run an ended run again
         * @description Queues a new run of an ended run's job with the same kwargs and step selection
         *     (`trigger: restart`, `restarted_from`: the ended run). The job's concurrency policy and
         *     the queue quotas (`JOBS_MAX_QUEUED_RUNS_PER_JOB`, `JOBS_MAX_QUEUED_RUNS`) hold as for
         *     `POST /jobs/{job_id}/executions`. A queued or running run answers 409, as do a flow's
         *     child run (restart its parent) and a run whose job was deleted since.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["restartExecution"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/executions/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run again every ended run a filter matches
         * @description Queues a new run (`trigger: restart`, `restarted_from` set) of every ended run matching
         *     the filters of `GET /executions`, all in one new batch. Without `status` it retries the
         *     runs that did not succeed (failed, timed_out, lost, cancelled, missed); `status` may name
         *     any ended status, `succeeded` included. Flow child runs and runs whose job was deleted
         *     since are left out. All or nothing: more than `JOBS_MAX_BULK_RUNS` matching runs, or
         *     more queued runs than `JOBS_MAX_QUEUED_RUNS_PER_JOB` / `JOBS_MAX_QUEUED_RUNS` allow,
         *     answer 429 and queue nothing.
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["retryExecutions"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/executions/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel every queued or running run a filter matches
         * @description Cancels every queued and running run matching the filters of `GET /executions`, as
         *     `POST /executions/{execution_id}/cancel` does for one (queued runs at once, running runs
         *     through their worker). `status`, when given, must be `queued` or `running`. More than
         *     `JOBS_MAX_BULK_RUNS` matching runs answer 429 and cancel nothing. `count` is the runs
         *     cancelled or asked to stop; `batch_id` echoes the filter's batch (null without one).
         *
         *     Requires the `write` role (or a higher one) when API tokens are configured.
         */
        post: operations["cancelExecutions"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/batches/{batch_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                batch_id: string;
            };
            cookie?: never;
        };
        /**
         * The runs of one batch, counted by status
         * @description The runs queued together by `POST /jobs/{job_id}/executions` with `times` over 1: their
         *     count by status, and when the first started and the last ended.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getBatch"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/workers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Worker processes, newest first
         * @description Every process that runs jobs, active, blocked or gone, with its host, pid, version,
         *     handlers, running runs, load and memory; paged with `limit` and `cursor`.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listWorkers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/workers/{worker_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                worker_id: components["parameters"]["WorkerIdPath"];
            };
            cookie?: never;
        };
        /**
         * One worker
         * @description One worker process as `GET /workers` lists it.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getWorker"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/workers/{worker_id}/state": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                worker_id: components["parameters"]["WorkerIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Block or unblock a worker
         * @description A blocked worker takes no new runs; its runs in progress finish.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        put: operations["setWorkerState"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Counts of workers by state, jobs, and runs by status
         * @description Workers by state, the number of jobs, and runs by status, over the whole deployment.
         *     While the service is paused, also `paused_at` and `paused_by`.
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["getStats"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/handlers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The handler catalog
         * @description Every handler this service can run: its name, description, kwargs schema and steps. A
         *     job names one as `handler` (or `flow_name` in the flow routes).
         *
         *     Requires the `read` role (or a higher one) when API tokens are configured.
         */
        get: operations["listHandlers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This document as JSON
         * @description The OpenAPI document this service routes and validates with, as JSON.
         *
         *     Open to anyone: needs no token.
         */
        get: operations["getOpenApiJson"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/swagger.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This document as JSON, at the path the Python (Connexion) service served it
         * @description The same document as `GET /openapi.json`, also served here because the Python
         *     (Connexion) service this one replaces served it at this path.
         *
         *     Open to anyone: needs no token.
         */
        get: operations["getSwaggerJson"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.yaml": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This document as YAML
         * @description The OpenAPI document this service routes and validates with, as YAML.
         *
         *     Open to anyone: needs no token.
         */
        get: operations["getOpenApiYaml"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ui": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Swagger UI for this document
         * @description Swagger UI for this document, served from local files. The **Authorize** button takes an
         *     API token.
         *
         *     Open to anyone: needs no token.
         */
        get: operations["getSwaggerUi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ui/{asset}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A file of Swagger UI
         * @description A file of Swagger UI: compressed (brotli or gzip, as `Accept-Encoding` allows), with
         *     `ETag` and `Cache-Control`; a matching `If-None-Match` answers 304.
         *
         *     Open to anyone: needs no token.
         */
        get: operations["getSwaggerUiAsset"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/secrets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Secrets, by name (never their values)
         * @description Names, when each secret was created and changed and by which token, and the id of the
         *     key that seals its value; in name order, paged by `next_cursor`. Values are write-only:
         *     no route answers them.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        get: operations["listSecrets"];
        put?: never;
        /**
         * Store a new secret
         * @description Seals `value` (AES-256-GCM with `JOBS_SECRETS_KEY`) and stores it under `name`. Kwargs
         *     refer to it as `{"$secret": "NAME"}`; a worker puts the value in its place only when it
         *     runs the handler, and writes `[secret:NAME]` wherever the value would show in the run's
         *     output, error or the log.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        post: operations["createSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/secrets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One secret's name and dates (never its value)
         * @description When the secret was created and last changed, by which token, and the id of the key that
         *     seals it.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        get: operations["getSecret"];
        /**
         * Set a secret's value (rotate it, or create it)
         * @description Seals `value` with the current key and stores it, replacing the value (and key) of an
         *     existing secret: the next run that refers to it gets the new value. Creates the secret
         *     when there is none of this name.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        put: operations["putSecret"];
        post?: never;
        /**
         * Delete a secret
         * @description Removes the secret and its value. Jobs that refer to it are kept; their next run fails
         *     with an error naming the missing secret, until a secret of that name exists again.
         *
         *     Requires the `admin` role (or a higher one) when API tokens are configured.
         */
        delete: operations["deleteSecret"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
};
export type webhooks = Record<string, never>;
export type components = {
    schemas: {
        Empty: Record<string, never>;
        Problem: {
            /** @example about:blank */
            type: string;
            title: string;
            status: number;
            detail: string;
            instance?: string;
            errors?: {
                /** @example body.flow_name */
                field: string;
                /** @example is required */
                reason: string;
            }[];
        };
        /**
         * @description `running`: workers take runs; `paused`: no run starts anywhere.
         * @enum {string}
         */
        ServiceState: "running" | "paused";
        /**
         * @description While paused, also since when and by whom, stored with the pause: pausing a paused
         *     service changes neither. `paused_by` is the token's name, `anonymous` when the call had
         *     none, or `JOB_SERVICE_PAUSED` when a boot paused the service; both are null for a pause
         *     made before this was recorded.
         * @example {
         *       "state": "paused",
         *       "paused_at": "2027-01-04T09:12:44.512Z",
         *       "paused_by": "ops"
         *     }
         */
        ServiceStateBody: {
            state: components["schemas"]["ServiceState"];
            /**
             * Format: date-time
             * @description Since when the service is paused; only while paused.
             */
            paused_at?: string | null;
            /** @description Who paused it; only while paused. */
            paused_by?: string | null;
        };
        /**
         * @example {
         *       "name": "ops",
         *       "role": "write",
         *       "tokens_checked": true
         *     }
         */
        Caller: {
            /** @description The token's name; null when no token is checked. */
            name: string | null;
            /**
             * @description What the caller may do: read < write < admin.
             * @enum {string}
             */
            role: "read" | "write" | "admin";
            /** @description false: calls need no token here (loopback without tokens, or JOBS_AUTH=off). */
            tokens_checked: boolean;
        };
        /**
         * @description `running` (the contract's word for an active job: it fires as scheduled) or `paused`. A run's status `running` is another thing.
         * @enum {string}
         */
        JobState: "running" | "paused";
        JobId: string;
        /** @description Keyword arguments for the handler, checked against its kwargs schema. */
        Kwargs: {
            [key: string]: unknown;
        };
        /** @description Seconds, or a duration such as "10 minutes". */
        GraceTime: number | string;
        CreateJobRequest: {
            /** @example http-request */
            handler: string;
            kwargs?: components["schemas"]["Kwargs"];
            job_id?: components["schemas"]["JobId"];
            /** @example 2 days */
            periodically?: string;
            /** @example 0 3 * * * */
            cron?: string;
            /** @example UTC */
            timezone?: string;
            /** @example Mon Feb 20, 14:56 */
            when?: string;
            misfire_grace_time?: components["schemas"]["GraceTime"];
            state?: components["schemas"]["JobState"];
            /** @description Seconds a run may take. */
            timeout?: number;
            concurrency_policy?: components["schemas"]["ConcurrencyPolicy"];
            retries?: number;
            /** @description Seconds before the first retry. */
            retry_backoff?: number;
            catch_up?: components["schemas"]["CatchUp"];
            /**
             * @description No fire before this time (ISO-8601, UTC unless it carries an offset). An interval job without `when` is anchored here.
             * @example 2027-01-01T00:00:00Z
             */
            start_at?: string | null;
            /**
             * @description No fire after this time; must be later than `start_at` and not past.
             * @example 2027-12-31T23:59:59Z
             */
            end_at?: string | null;
            /** @description Runs the job's fires may start (scheduled and caught-up runs; not retries, manual runs or backfills); then it has no next fire. */
            max_runs?: number | null;
            /** @description Seconds: each scheduled run starts after a random delay up to this (at most JOBS_MAX_JITTER_SECONDS), recorded as the run's `jitter_ms`. */
            jitter?: number | null;
            /** @description Jobs started when a run of this job succeeds. */
            on_success?: components["schemas"]["ChainLink"][];
            /** @description Jobs started when a run fails, times out or is lost and no retry follows. */
            on_failure?: components["schemas"]["ChainLink"][];
            /** @description Jobs started when a run ends in any way but missed (after its last retry). */
            on_finish?: components["schemas"]["ChainLink"][];
            /** @description Fan-in: this job runs once every listed job has succeeded since its last run. */
            after_all?: string[];
            /** @description Notification rules (see NotifyRule); besides them, the service's (`GET /service/notify`). At most `JOBS_NOTIFY_MAX_RULES`. */
            notify?: components["schemas"]["NotifyRule"][] | null;
            pause_after_failures?: components["schemas"]["PauseAfterFailures"];
            deadline?: components["schemas"]["Deadline"];
        };
        /**
         * @description What a fire found overdue does (later than `misfire_grace_time`, or with later fires
         *     overdue too: the service was down, the job or the service paused). `none`: one run
         *     recorded `missed` beyond the grace (within it, one run of the first overdue fire).
         *     `last`: one run, of the latest overdue fire. `all`: one run per overdue fire, the
         *     latest JOBS_CATCH_UP_MAX_FIRES of them (older ones make one `missed` record). Runs of a
         *     catch-up have the trigger `catch_up` and their fire's time as `scheduled_at`. Under
         *     `concurrency_policy: forbid` a fire that finds a run active is recorded `missed`,
         *     catch-up or not.
         * @default none
         * @enum {string}
         */
        CatchUp: "none" | "last" | "all";
        /**
         * @description Why the job has no next fire: `end_at` passed, or its fires started `max_runs` runs; null while it has one (and for a one-shot job that ran).
         * @enum {string|null}
         */
        ScheduleEnd: "end_at" | "max_runs" | null;
        /**
         * @description Any field of a create but `job_id`; `null` unsets a field. Every field of
         *     CreateJobRequest but `job_id` is here too (a test checks it).
         */
        UpdateJobRequest: {
            handler?: string;
            kwargs?: components["schemas"]["Kwargs"];
            periodically?: string | null;
            cron?: string | null;
            timezone?: string | null;
            when?: string | null;
            misfire_grace_time?: (number | null) | string;
            state?: components["schemas"]["JobState"];
            timeout?: number | null;
            /** @enum {string|null} */
            concurrency_policy?: "allow" | "forbid" | "replace" | null;
            retries?: number | null;
            retry_backoff?: number | null;
            catch_up?: components["schemas"]["CatchUp"];
            /**
             * @description No fire before this time (ISO-8601, UTC unless it carries an offset). An interval job without `when` is anchored here.
             * @example 2027-01-01T00:00:00Z
             */
            start_at?: string | null;
            /**
             * @description No fire after this time; must be later than `start_at` and not past.
             * @example 2027-12-31T23:59:59Z
             */
            end_at?: string | null;
            /** @description Runs the job's fires may start (scheduled and caught-up runs; not retries, manual runs or backfills); then it has no next fire. */
            max_runs?: number | null;
            /** @description Seconds: each scheduled run starts after a random delay up to this (at most JOBS_MAX_JITTER_SECONDS), recorded as the run's `jitter_ms`. */
            jitter?: number | null;
            /** @description Jobs started when a run of this job succeeds. */
            on_success?: components["schemas"]["ChainLink"][] | null;
            /** @description Jobs started when a run fails, times out or is lost and no retry follows. */
            on_failure?: components["schemas"]["ChainLink"][] | null;
            /** @description Jobs started when a run ends in any way but missed (after its last retry). */
            on_finish?: components["schemas"]["ChainLink"][] | null;
            /** @description Fan-in: this job runs once every listed job has succeeded since its last run. */
            after_all?: string[] | null;
            /** @description Notification rules (see NotifyRule); besides them, the service's (`GET /service/notify`). At most `JOBS_NOTIFY_MAX_RULES`. */
            notify?: components["schemas"]["NotifyRule"][] | null;
            pause_after_failures?: components["schemas"]["PauseAfterFailures"];
            deadline?: components["schemas"]["Deadline"];
            /** @description A job from a default-jobs file becomes a job of the API (`source` api), which the next boot leaves alone. */
            detach?: boolean;
        };
        JobVersion: {
            version: number;
            /** Format: date-time */
            changed_at: string;
            /** @description The token's name; null for a create, a file's change or without tokens. */
            changed_by: string | null;
            /** @description The fields that differ from the version before (every field for version 1). */
            changed: string[];
            /** @description The whole definition, as a create body gives it (kwargs redacted as in every read). */
            definition: {
                [key: string]: unknown;
            };
        };
        JobVersionList: {
            job_id: string;
            /** @description The job's version now. */
            version: number;
            versions: components["schemas"]["JobVersion"][];
            /** @description Pass as `from` for the next page; null on the last. */
            next_from: number | null;
        };
        Fire: {
            /**
             * Format: date-time
             * @description When the fire was due.
             */
            time: string;
            /** @enum {string} */
            outcome: "ran" | "missed" | "skipped_concurrency" | "skipped_paused" | "service_paused" | "caught_up" | "backfilled" | "pending";
            /** @description The version whose schedule expected it. */
            version: number;
            /** @description The run or the missed record of this fire. */
            execution_id?: string;
            /** @description skipped_concurrency: the run that was active. */
            active_execution_id?: string;
        };
        FireLedger: {
            job_id: string;
            /** Format: date-time */
            since: string;
            /** Format: date-time */
            until: string;
            fires: components["schemas"]["Fire"][];
            /**
             * Format: date-time
             * @description More fires follow: pass as `since`.
             */
            next_since: string | null;
        };
        /**
         * @description What a fire or a manual run does while a run of the job is active: run anyway, record the fire as missed (a manual run answers 409), or cancel the active run first.
         * @enum {string}
         */
        ConcurrencyPolicy: "allow" | "forbid" | "replace";
        /**
         * @description queued: waiting for a worker; running; succeeded; failed (the handler raised); cancelled
         *     (on request, by a replacing run, or at shutdown); timed_out (ran past its timeout);
         *     missed (not run: later than the misfire grace, or a fire while the previous run was
         *     still active under `forbid`); lost (its worker died).
         * @enum {string}
         */
        ExecutionStatus: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "missed" | "lost";
        Job: {
            job_id: string;
            handler: string;
            kwargs: components["schemas"]["Kwargs"];
            state: components["schemas"]["JobState"];
            /** @description The interval as given. */
            periodically: string | null;
            cron: string | null;
            timezone: string | null;
            /**
             * Format: date-time
             * @description The first run time asked for.
             */
            when: string | null;
            /** @description Seconds. */
            misfire_grace_time: number | null;
            /** @description Seconds a run may take; null: the handler's or the service's default. */
            timeout: number | null;
            /**
             * @description null: forbid for periodic jobs, allow for one-shot jobs.
             * @enum {string|null}
             */
            concurrency_policy: "allow" | "forbid" | "replace" | null;
            /** @description Further attempts after a failed, timed-out or lost run. */
            retries: number;
            /** @description Seconds before the first retry; doubled for each further one. */
            retry_backoff: number;
            catch_up: components["schemas"]["CatchUp"];
            /**
             * Format: date-time
             * @description No fire before this time.
             */
            start_at: string | null;
            /**
             * Format: date-time
             * @description No fire after this time.
             */
            end_at: string | null;
            /** @description Runs the job's fires may start; null for no limit. */
            max_runs: number | null;
            /** @description Seconds of random delay before each scheduled run; null: none. */
            jitter: number | null;
            schedule_ended: components["schemas"]["ScheduleEnd"];
            /**
             * Format: date-time
             * @description Null while paused, and once the schedule is over (see schedule_ended).
             */
            next_run_time: string | null;
            /** Format: date-time */
            last_run_time: string | null;
            /**
             * @description Status of the latest run; null before the first.
             * @enum {string|null}
             */
            last_status: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "missed" | "lost" | null;
            /**
             * @description Created through the API or from a default-jobs file.
             * @enum {string}
             */
            source: "api" | "file";
            /** @description Jobs started when a run of this job succeeds. */
            on_success: components["schemas"]["ChainLink"][];
            /** @description Jobs started when a run fails, times out or is lost and no retry follows. */
            on_failure: components["schemas"]["ChainLink"][];
            /** @description Jobs started when a run ends in any way but missed (after its last retry). */
            on_finish: components["schemas"]["ChainLink"][];
            /** @description Fan-in: this job runs once every listed job has succeeded since its last run. */
            after_all: string[];
            /**
             * @description Jobs of the `container` handler: their image's pull, started when the job is created:
             *     importing, ready, or error (see `image_error`). null for every other handler.
             * @enum {string|null}
             */
            image_status: "importing" | "ready" | "error" | null;
            /** @description The engine's reason when `image_status` is error; null otherwise. */
            image_error: string | null;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /** @description 1 at create, one more for each change of the definition (`PATCH`, a rollback, its default-jobs file changed). */
            version: number;
            /** @description The job's notification rules, redacted: URLs without path and query, inline secrets as `[redacted]`. */
            notify: components["schemas"]["NotifyRule"][];
            pause_after_failures: components["schemas"]["PauseAfterFailures"];
            deadline: components["schemas"]["Deadline"];
        };
        JobDetail: components["schemas"]["Job"] & {
            stats: components["schemas"]["JobStats"];
        };
        JobStats: {
            total: number;
            succeeded: number;
            /** @description Runs that failed, timed out or were lost. */
            failed: number;
            /** @description Of the succeeded runs. */
            average_duration_ms: number | null;
            /** @description The newest run; absent before the first. */
            latest_execution?: components["schemas"]["Execution"];
            next_execution: {
                /** Format: date-time */
                scheduled_at: string;
            } | null;
        };
        /** @description The record a failed, timed-out or lost run leaves. */
        Failure: {
            failed_job_id: string | null;
            execution_id: string;
            handler: string;
            kwargs: components["schemas"]["Kwargs"];
            error: string;
            traceback: string | null;
            /** Format: date-time */
            time: string;
        };
        JobList: {
            jobs: (components["schemas"]["Job"] | components["schemas"]["Failure"])[];
            /** @description Entries on this page. */
            jobs_count: number;
            /** @description Pass as `cursor` for the next page; null on the last page. */
            next_cursor: string | null;
        };
        CreateJobsRequest: {
            jobs: components["schemas"]["CreateJobRequest"][];
        };
        JobsCreated: {
            jobs: components["schemas"]["Job"][];
            /** @description Jobs created. */
            jobs_count: number;
        };
        /** @description A bulk create's answer under `Prefer: return=minimal`. */
        JobIdsCreated: {
            /** @description The ids of the jobs created, in the order given (generated ones included). */
            job_ids: string[];
            /** @description Jobs created. */
            jobs_count: number;
        };
        JobCreated: {
            job: components["schemas"]["Job"];
        };
        JobStateResult: {
            job_id: string;
            state: components["schemas"]["JobState"];
        };
        Removed: {
            removed: string[];
        };
        Fires: {
            /** @description Fire times, oldest first, in UTC; computed in the schedule's time zone, exact across clock changes. */
            fires: string[];
        };
        NextFires: components["schemas"]["Fires"] & {
            job_id: string;
            /** @description The zone of a cron schedule; null for others. */
            timezone: string | null;
            schedule_ended: components["schemas"]["ScheduleEnd"];
        };
        /** @description The schedule fields of a create, checked as a create checks them. */
        SchedulePreviewRequest: {
            /** @example 1 hour */
            periodically?: string;
            /** @example 30 2 * * * */
            cron?: string;
            /** @example Europe/Berlin */
            timezone?: string;
            when?: string;
            start_at?: string | null;
            end_at?: string | null;
            /**
             * @description Fires to list, at most JOBS_MAX_NEXT_FIRES.
             * @default 10
             */
            count?: number;
        };
        BackfillRequest: {
            /**
             * Format: date-time
             * @description First time of the range (inclusive).
             */
            since: string;
            /**
             * Format: date-time
             * @description End of the range (exclusive); not in the future.
             */
            until: string;
        };
        BackfillAccepted: {
            /** @description Runs queued, one per fire of the range. */
            count: number;
            /** @description The runs' batch (`GET /batches/{batch_id}`); null when the range held no fire. */
            batch_id: string | null;
            execution_ids: string[];
        };
        Execution: {
            id: string;
            job_id: string | null;
            handler: string;
            kwargs: components["schemas"]["Kwargs"];
            status: components["schemas"]["ExecutionStatus"];
            /**
             * @description What started the run: its schedule, a flow (child run), a request, a restart or bulk retry of an ended run, or another run's end (on_success, on_failure, on_finish, after_all).
             * @enum {string}
             */
            trigger: "schedule" | "flow" | "manual" | "catch_up" | "backfill" | "restart" | "chain";
            parent_id: string | null;
            /** @description The ended run this one runs again (trigger restart). */
            restarted_from: string | null;
            /** @description The run whose end started this one (trigger chain); null otherwise. */
            triggered_by: components["schemas"]["TriggeredBy"] | null;
            /** @description Set on runs started together with `times` > 1. */
            batch_id: string | null;
            /** @description 1 for the first try, one more per retry. */
            attempt: number;
            /** @description Seconds this run may take. */
            timeout: number | null;
            /** @description The worker that ran it. */
            worker_id: string | null;
            /** Format: date-time */
            cancel_requested_at: string | null;
            /** @description The steps a selective run executes; null for a whole run. */
            selection: {
                task_names: string[];
                run_subsequent: boolean;
            } | null;
            /**
             * Format: date-time
             * @description When the run was due.
             */
            scheduled_at: string;
            /** Format: date-time */
            started_at: string | null;
            /** Format: date-time */
            finished_at: string | null;
            duration_ms: number | null;
            progress: number | null;
            error: string | null;
            stack: string | null;
            output_truncated: boolean;
            /** Format: date-time */
            created_at: string;
            /** @description The same for every attempt of one fire or request (the first attempt's id); handed to the target so it can refuse a duplicate. */
            idempotency_key?: string;
            /**
             * Format: int64
             * @description Drawn when the run starts, larger than every token drawn before it (a retry's is larger than the attempt it retries); null until the run starts.
             */
            fencing_token?: number | null;
            /** @description The version of its job's definition the run was made from; null for a run without a job. */
            job_version: number | null;
            /** @description The random delay (ms) its job's `jitter` put between the fire and the run's start; null without jitter. */
            jitter_ms: number | null;
        };
        /**
         * @description A job a run's end starts. The started run gets its job's kwargs with `kwargs` merged
         *     over them (only kwargs its handler lets a run override, `x-run-overridable`). Each value
         *     of `kwargs` is a literal, or a reference to the ending run: `$.kwargs.<path>` (its
         *     kwargs; `$.kwargs` alone is all of them) or `$.result.<field>`, where the result is how
         *     the run ended: execution_id, job_id, status, error, attempt, started_at, finished_at,
         *     duration_ms. A reference to nothing leaves its kwarg out. Targets need not exist yet; a
         *     chain to a job missing when the run ends starts nothing (logged).
         * @example {
         *       "job_id": "notify-done",
         *       "kwargs": {
         *         "message": "$.kwargs.url",
         *         "status": "$.result.status",
         *         "channel": "ops"
         *       }
         *     }
         */
        ChainLink: {
            job_id: string;
            /** @description The started run's kwargs, by name. */
            kwargs?: {
                [key: string]: unknown;
            };
        };
        TriggeredBy: {
            /** @description The run whose end started this one; for after_all the last of the runs it waited for. */
            execution_id: string;
            job_id: string;
            /** @enum {string} */
            on: "success" | "failure" | "finish" | "after_all";
        };
        /** @description The filters of `GET /executions`; every run matching all given filters. */
        BulkFilter: {
            status?: components["schemas"]["ExecutionStatus"];
            handler?: string;
            job_id?: string;
            batch_id?: string;
            /**
             * Format: date-time
             * @description Runs created at or after this time.
             */
            since?: string;
            /**
             * Format: date-time
             * @description Runs created before this time.
             */
            until?: string;
        };
        BulkResult: {
            /** @description Runs queued again (retry) or cancelled and asked to stop (cancel). */
            count: number;
            /** @description retry: the batch of the new runs (GET /batches/{batch_id}); cancel: the filter's batch_id. */
            batch_id: string | null;
        };
        ExecutionList: {
            executions: components["schemas"]["Execution"][];
            next_cursor: string | null;
        };
        ExecutionOutput: {
            execution_id: string;
            lines: string[];
            /** @description Older lines were dropped to keep the newest within the limit. */
            truncated: boolean;
        };
        /** @description Data of an `output` event: lines the run wrote. */
        OutputEvent: {
            execution_id: string;
            /** @description The number of lines the run wrote before the first of these. */
            offset: number;
            lines: string[];
            /** @description Lines written since the previous event (or the resumed id) that fell out of the kept output before they could be sent. */
            dropped: number;
        };
        /** @description Data of a `status` event: the run's status and progress. */
        StatusEvent: {
            execution_id: string;
            status: components["schemas"]["ExecutionStatus"];
            progress: number | null;
        };
        /** @description Data of the `end` event: how the run ended; the stream closes after it. */
        EndEvent: {
            execution_id: string;
            status: components["schemas"]["ExecutionStatus"];
            error: string | null;
            /** Format: date-time */
            finished_at: string | null;
            /** @description The number of lines the run wrote in all. */
            lines: number;
        };
        /** @enum {string} */
        EventType: "execution.created" | "execution.started" | "execution.progress" | "execution.ended" | "job.created" | "job.updated" | "job.paused" | "job.resumed" | "job.deleted" | "service.paused" | "service.resumed";
        /**
         * @description One change. Fields that do not apply to the type are null: `status` and `progress` are
         *     a run's (`execution.*`), `state` a job's or the service's (`job.*`, `service.*`).
         */
        Event: {
            /** @description Send back as `Last-Event-ID` to resume after this event. */
            id: string;
            type: components["schemas"]["EventType"];
            /** Format: date-time */
            at: string;
            job_id: string | null;
            execution_id: string | null;
            batch_id: string | null;
            handler: string | null;
            status: components["schemas"]["ExecutionStatus"] | null;
            progress: number | null;
            /**
             * @description The job's or the service's state after the change.
             * @enum {string|null}
             */
            state: "running" | "paused" | null;
        };
        RunRequest: {
            kwargs?: components["schemas"]["Kwargs"];
            /** @default 1 */
            times?: number;
        };
        RunAccepted: {
            execution_ids: string[];
            batch_id: string | null;
        };
        Batch: {
            batch_id: string;
            job_id: string | null;
            total: number;
            /** @description Runs by status. */
            counts: {
                [key: string]: number;
            };
            /** Format: date-time */
            submitted_at: string;
            /**
             * Format: date-time
             * @description When the first run started.
             */
            started_at: string | null;
            /**
             * Format: date-time
             * @description When the last run ended, once all have.
             */
            finished_at: string | null;
            /** @description From the first start to the last end, once all have ended. */
            duration_ms: number | null;
        };
        Worker: {
            id: string;
            name: string;
            host: string;
            pid: number;
            version: string;
            /** Format: date-time */
            started_at: string;
            /** Format: date-time */
            heartbeat_at: string;
            handlers: string[];
            /** @description Runs in progress at the last heartbeat. */
            running: number;
            /** @description One-minute load average per core. */
            cpu_load: number;
            memory: {
                /** @description Bytes. */
                process_rss: number;
                system_total: number;
                system_free: number;
            };
            /** @enum {string} */
            state: "active" | "blocked" | "gone";
        };
        WorkerList: {
            workers: components["schemas"]["Worker"][];
            next_cursor: string | null;
        };
        /**
         * @description While the service is paused, also `paused_at` and `paused_by`, as in `GET /service/state`.
         * @example {
         *       "paused_at": "2027-01-04T09:12:44.512Z",
         *       "paused_by": "ops",
         *       "workers": {
         *         "active": 2,
         *         "gone": 1
         *       },
         *       "jobs": 14,
         *       "executions": {
         *         "succeeded": 5120,
         *         "failed": 3,
         *         "queued": 7
         *       }
         *     }
         */
        Stats: {
            /**
             * Format: date-time
             * @description Since when the service is paused; only while paused.
             */
            paused_at?: string | null;
            /** @description Who paused it; only while paused. */
            paused_by?: string | null;
            /** @description Workers by state. */
            workers: {
                [key: string]: number;
            };
            jobs: number;
            /** @description Runs by status. */
            executions: {
                [key: string]: number;
            };
        };
        AuditRecord: {
            id: string;
            /** Format: date-time */
            time: string;
            /** @description The call's X-Request-Id. */
            request_id: string | null;
            /** @description The name of the token used; null when auth is off or the token was missing or unknown. */
            token_name: string | null;
            /** @description The operationId. */
            operation: string;
            method: string;
            path: string;
            job_id: string | null;
            execution_id: string | null;
            worker_id: string | null;
            batch_id: string | null;
            /** @description The HTTP status of the answer. */
            status: number;
            /**
             * @description success: 1xx to 3xx; denied: 401 or 403; rejected: another 4xx; error: 5xx.
             * @enum {string}
             */
            outcome: "success" | "denied" | "rejected" | "error";
            /** @description The caller's address (from X-Forwarded-For when the peer is one of JOBS_TRUSTED_PROXIES); null for records older than this field, or when more clients were denied in one window than are counted apart. */
            client_address: string | null;
            /** @description Calls this record stands for: 1, or for calls without a valid token (401), every such call of this operation and client within one JOBS_AUDIT_DENIED_WINDOW_SECONDS window; `time` is the first one's. */
            count: number;
            /** @description The kwargs a run request (runJob) gave to merge over the job's, whether it was accepted or refused; null for other calls. */
            overrides?: {
                [key: string]: unknown;
            } | null;
        };
        AuditList: {
            audit: components["schemas"]["AuditRecord"][];
            next_cursor: string | null;
        };
        HandlerInfo: {
            name: string;
            description: string;
            kwargs_schema: {
                [key: string]: unknown;
            };
            steps: string[];
        };
        HandlerList: {
            handlers: components["schemas"]["HandlerInfo"][];
        };
        /**
         * @example {
         *       "flow_name": "echo",
         *       "flow_arguments": [
         *         {
         *           "ecosystem": "npm",
         *           "force": true,
         *           "name": "serve-static",
         *           "version": "1.7.1"
         *         }
         *       ]
         *     }
         */
        FlowSchedulingKwargs: {
            /** @description The handler each child run uses. */
            flow_name: string;
            /** @description One child run per element, with the element as its kwargs. */
            flow_arguments: Record<string, never>[];
        };
        /**
         * @example {
         *       "flow_name": "cleanup-executions",
         *       "task_names": [
         *         "failures"
         *       ],
         *       "run_subsequent": false,
         *       "flow_arguments": [
         *         {
         *           "older_than": "90 days"
         *         }
         *       ]
         *     }
         */
        SelectiveFlowSchedulingKwargs: {
            flow_name: string;
            /** @description Steps of the flow's handler to run. */
            task_names: string[];
            /**
             * @description Also run every step after the first named one.
             * @default false
             */
            run_subsequent?: boolean;
            flow_arguments: Record<string, never>[];
        };
        /**
         * @example {
         *       "url": "http://127.0.0.1:34000/api/v1/liveness",
         *       "method": "GET",
         *       "expected_status": 200,
         *       "request_timeout": 10
         *     }
         */
        HttpRequestKwargs: {
            url: string;
            /**
             * @default GET
             * @enum {string}
             */
            method?: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";
            /** @description Each value a string, or a secret: {"$secret": NAME}. */
            headers?: {
                [key: string]: string | components["schemas"]["SecretRef"];
            };
            /** @description Sent as JSON unless it is a string. */
            body?: unknown;
            /** @description The status (or list of statuses) that counts as success; any 2xx when omitted. */
            expected_status?: number | number[];
            /**
             * @description Seconds to wait for the answer; then the run fails. Not the job's `timeout` option,
             *     which limits the whole run.
             * @default 30
             */
            request_timeout?: number;
            /**
             * @deprecated
             * @description The old name of `request_timeout`, still accepted; `request_timeout` wins when both are given.
             */
            timeout?: number;
            /**
             * @description Log the start of the answer's body (up to `JOBS_OUTBOUND_CAPTURE_BYTES`) in the run's
             *     output, which every read token sees. Off by default: the output says the status and
             *     the number of bytes only.
             * @default false
             */
            capture_body?: boolean;
        };
        /**
         * @description Anything; written to the run's output.
         * @example {
         *       "message": "hello from jobs-service"
         *     }
         */
        EchoKwargs: {
            [key: string]: unknown;
        };
        /**
         * @example {
         *       "script": "hello.sh",
         *       "args": [
         *         "world"
         *       ]
         *     }
         */
        RunScriptKwargs: {
            /** @description A file name in the scripts folder; no path separators. */
            script: string;
            /** @description Passed as argv, without a shell. An argument may be a secret: {"$secret": NAME}. */
            args?: (string | components["schemas"]["SecretRef"])[];
            /** @description Extra environment variables; each name must be allowed by JOBS_SCRIPT_ENV_ALLOW. A value may be a secret: {"$secret": NAME}. */
            env?: {
                [key: string]: string | components["schemas"]["SecretRef"];
            };
        };
        /**
         * @description Runs an image on the container engine at JOBS_CONTAINER_ENGINE (Docker, or Podman's
         *     Docker-compatible service). Creating a job pulls its image: the job's `image_status`
         *     follows it. Creating, changing or running these jobs needs the admin role unless
         *     JOBS_CONTAINER_ROLE says otherwise.
         * @example {
         *       "image": "busybox:1.36",
         *       "command": [
         *         "sh",
         *         "-c",
         *         "echo hello from a container"
         *       ],
         *       "memory": 67108864,
         *       "cpus": 0.5
         *     }
         */
        ContainerKwargs: {
            /** @description The image by repository name, with a tag or digest (`busybox:1.36`, `registry.example/team/app@sha256:...`); no tag means `latest`. */
            image: string;
            /** @description The argv run in the container, replacing the image's command; the image's own when omitted. */
            command?: string[];
            /** @description Environment variables of the container, each name of letters, digits and _ (not starting with a digit). A value may be a secret: {"$secret": NAME}. */
            env?: {
                [key: string]: string | components["schemas"]["SecretRef"];
            };
            /** @description The working directory in the container (absolute). */
            workdir?: string;
            /** @description user or user:group, by name or number. */
            user?: string;
            /** @description CPUs the container may use (0.5: half of one); unlimited when omitted. */
            cpus?: number;
            /** @description Bytes of memory the container may use (at least 4 MiB); unlimited when omitted. */
            memory?: number;
            /**
             * @description The container's network: none (no network, the default), bridge (the engine's default network) or host (the host's own, refused unless JOBS_CONTAINER_NETWORKS lists it).
             * @default none
             * @enum {string}
             */
            network?: "none" | "bridge" | "host";
            /**
             * @description When the image is pulled: `missing` (the default) when the engine lacks it, `always`
             *     at job creation and before every run, `never` (the engine must have it: a run fails
             *     clearly when it does not).
             * @default missing
             * @enum {string}
             */
            pull?: "always" | "missing" | "never";
        };
        /**
         * @example {
         *       "older_than": "30 days"
         *     }
         */
        CleanupExecutionsKwargs: {
            /**
             * @description Records older than this duration are deleted.
             * @default 30 days
             */
            older_than?: string;
        };
        /**
         * @description failed, timed_out, lost, missed: a run ended so (missed: a fire recorded as not run);
         *     recovered: the first run that succeeded after failed ones; late: a run did not start
         *     within `deadline.start_within` seconds of its due time, or ran longer than
         *     `deadline.run_within`; paused: the job paused itself after `pause_after_failures`
         *     failed runs in a row (also sent to rules on the failure that caused it).
         * @enum {string}
         */
        NotifyEvent: "failed" | "timed_out" | "lost" | "missed" | "recovered" | "late" | "paused";
        /** @description A string, or a secret reference standing for one (opened when a notification is sent). */
        SecretString: string | components["schemas"]["SecretRef"];
        /**
         * @description On which events, to which channel: exactly one of `webhook`, `slack`, `email`. URLs
         *     must pass the outbound policy (`JOBS_OUTBOUND_*`); e-mail needs `JOBS_SMTP_HOST`.
         *     Referring to a secret needs the admin role, as in kwargs.
         * @example {
         *       "on": [
         *         "failed",
         *         "recovered"
         *       ],
         *       "webhook": {
         *         "url": "https://hooks.example.com/jobs",
         *         "secret": {
         *           "$secret": "hook-signing-key"
         *         }
         *       }
         *     }
         */
        NotifyRule: {
            on: components["schemas"]["NotifyEvent"][];
            /**
             * @description POSTs a NotificationEvent as JSON. With `secret`, the request carries
             *     `X-Jobs-Timestamp` (Unix seconds) and `X-Jobs-Signature: sha256=<hex>`, the
             *     HMAC-SHA256 keyed by the secret of `<timestamp>.<raw body>`.
             */
            webhook?: {
                url: components["schemas"]["SecretString"];
                secret?: (string | null) | components["schemas"]["SecretRef"];
            };
            /** @description POSTs `{"text": message}`, the payload of a Slack (or compatible) incoming webhook. */
            slack?: {
                url: components["schemas"]["SecretString"];
            };
            /** @description Sends an e-mail through JOBS_SMTP_HOST; the subject and first line are the message, the event follows as JSON. */
            email?: {
                to: string | string[];
            };
        };
        /**
         * @description Pause the job after this many failed, timed-out or lost runs in a row (a `paused` notification says so); null: never. Resuming counts afresh.
         * @example 3
         */
        PauseAfterFailures: number | null;
        /**
         * @description A run is late (event `late`, notified once) when it has not started `start_within` seconds after its due time, or runs longer than `run_within` seconds.
         * @example {
         *       "start_within": 120,
         *       "run_within": 1800
         *     }
         */
        Deadline: {
            start_within?: number | null;
            run_within?: number | null;
        } | null;
        NotifyDefaultsRequest: {
            /** @description At most `JOBS_NOTIFY_MAX_RULES`. */
            notify: components["schemas"]["NotifyRule"][];
        };
        /**
         * @example {
         *       "notify": [
         *         {
         *           "on": [
         *             "failed"
         *           ],
         *           "slack": {
         *             "url": "https://hooks.slack.com/[redacted]"
         *           }
         *         }
         *       ],
         *       "updated_at": "2026-11-30T09:00:00.000Z",
         *       "updated_by": "ops-admin"
         *     }
         */
        NotifyDefaults: {
            notify: components["schemas"]["NotifyRule"][];
            /** Format: date-time */
            updated_at: string | null;
            /** @description The token name that set them; null without tokens or before any were set. */
            updated_by: string | null;
        };
        /**
         * @description The body of a webhook notification (the Slack text and the e-mail are made from
         *     `message`). To verify a signed one: take `X-Jobs-Timestamp` and the raw body, compute
         *     `hex(HMAC-SHA256(secret, timestamp + "." + body))`, compare it in constant time with
         *     `X-Jobs-Signature` after its `sha256=`, and refuse a timestamp more than a few minutes
         *     from your clock. A delivery tried again carries the same `event_id` (and
         *     `X-Jobs-Delivery`): receivers can drop repeats by it.
         * @example {
         *       "event_id": "6b1f0a52-3f0e-4d55-9d4c-0c4b1e6f9a10",
         *       "event": "failed",
         *       "time": "2026-11-30T09:00:03.120Z",
         *       "message": "job nightly-export (http-request): run 0d3c... failed: POST https://exports.example.com/run answered 500",
         *       "subject": "[jobs-service] failed: job nightly-export",
         *       "job": {
         *         "job_id": "nightly-export",
         *         "handler": "http-request",
         *         "state": "running",
         *         "failure_streak": 1,
         *         "pause_after_failures": 3
         *       },
         *       "execution": {
         *         "id": "0d3c6d0e-8f1a-4a51-a1c4-3e2b9a7c5d11",
         *         "status": "failed",
         *         "trigger": "schedule",
         *         "attempt": 1,
         *         "scheduled_at": "2026-11-30T09:00:00.000Z",
         *         "started_at": "2026-11-30T09:00:00.010Z",
         *         "finished_at": "2026-11-30T09:00:03.100Z",
         *         "error": "POST https://exports.example.com/run answered 500"
         *       }
         *     }
         */
        NotificationEvent: {
            /** Format: uuid */
            event_id: string;
            event: components["schemas"]["NotifyEvent"];
            /** Format: date-time */
            time: string;
            message: string;
            subject: string;
            job: {
                job_id: string;
                handler: string;
                state: components["schemas"]["JobState"];
                /** @description Failed runs in a row. */
                failure_streak: number;
                pause_after_failures: number | null;
            };
            /** @description The run; null for a fire that has not started (late). */
            execution: {
                id: string;
                status: components["schemas"]["ExecutionStatus"];
                trigger: string;
                attempt: number;
                /** Format: date-time */
                scheduled_at: string;
                /** Format: date-time */
                started_at: string | null;
                /** Format: date-time */
                finished_at: string | null;
                error: string | null;
            } | null;
            /** @description For `late`: why. */
            late?: string | null;
        };
        /** @enum {string} */
        DeliveryStatus: "pending" | "sending" | "delivered" | "failed";
        DeliveryAttempt: {
            /** Format: date-time */
            at: string;
            ok: boolean;
            /** @description The HTTP status or SMTP reply code; null without an answer. */
            code: number | null;
            error: string | null;
            duration_ms: number;
        };
        Delivery: {
            id: string;
            job_id: string | null;
            execution_id: string | null;
            event: components["schemas"]["NotifyEvent"];
            /** @enum {string} */
            channel: "webhook" | "slack" | "email";
            /** @description The rule's channel settings, redacted. */
            target: {
                [key: string]: unknown;
            };
            payload: components["schemas"]["NotificationEvent"];
            status: components["schemas"]["DeliveryStatus"];
            attempts: components["schemas"]["DeliveryAttempt"][];
            /** Format: date-time */
            next_attempt_at: string;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            delivered_at: string | null;
        };
        DeliveryList: {
            deliveries: components["schemas"]["Delivery"][];
            next_cursor: string | null;
        };
        /** @description Letters, digits, dot, underscore and hyphen; starts with a letter or digit. */
        SecretName: string;
        /**
         * @description In kwargs, in place of a string: the value of the secret of this name, put there by the
         *     worker when it runs the handler. The stored job, its runs and every read keep the
         *     reference.
         * @example {
         *       "$secret": "billing-token"
         *     }
         */
        SecretRef: {
            $secret: components["schemas"]["SecretName"];
        };
        /**
         * @example {
         *       "name": "billing-token",
         *       "value": "Bearer 0c8f..."
         *     }
         */
        SecretCreate: {
            name: components["schemas"]["SecretName"];
            /** @description Write-only: sealed at once, never answered. */
            value: string;
        };
        /**
         * @example {
         *       "value": "Bearer 9a41..."
         *     }
         */
        SecretValue: {
            /** @description Write-only: sealed at once, never answered. */
            value: string;
        };
        /**
         * @example {
         *       "name": "billing-token",
         *       "key_id": "3f2a9c0d4e5b6a71",
         *       "created_at": "2026-11-26T09:30:12.345Z",
         *       "updated_at": "2026-11-27T10:02:00.001Z",
         *       "created_by": "ops-admin",
         *       "updated_by": "ops-admin"
         *     }
         */
        Secret: {
            name: components["schemas"]["SecretName"];
            /** @description The id of the key that seals the value (the first 16 hex digits of its SHA-256). */
            key_id: string;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /** @description The name of the token that created it; null without tokens. */
            created_by: string | null;
            /** @description The name of the token that last set its value; null without tokens. */
            updated_by: string | null;
        };
        SecretList: {
            secrets: components["schemas"]["Secret"][];
            next_cursor: string | null;
        };
    };
    responses: {
        /** @description The job comes from a default-jobs file, which the next boot applies again; send `detach` to change it */
        JobFromFile: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Job from a file",
                 *       "status": 409,
                 *       "detail": "job 'nightly-report' comes from the default-jobs file /etc/jobs/default-jobs/reports.yaml, which the next boot applies again; send detach: true to make it a job of the API and change it",
                 *       "errors": [
                 *         {
                 *           "field": "body.detach",
                 *           "reason": "must be true to change a job that comes from a file"
                 *         }
                 *       ]
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The job is no longer at the version `If-Match` names; `ETag` gives its version now */
        VersionChanged: {
            headers: {
                ETag: components["headers"]["ETag"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Version changed",
                 *       "status": 412,
                 *       "detail": "job 'nightly-report' is at version 4, not 3: read it again and apply the change to that version"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Queuing these runs would pass JOBS_MAX_QUEUED_RUNS_PER_JOB or JOBS_MAX_QUEUED_RUNS; the detail names the limit */
        TooManyQueued: {
            headers: {
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Too many queued runs",
                 *       "status": 429,
                 *       "detail": "job 'nightly-report' has 1000 queued runs; 1 more would pass the limit of 1000 (JOBS_MAX_QUEUED_RUNS_PER_JOB)"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description More runs match than JOBS_MAX_BULK_RUNS, or queuing them would pass JOBS_MAX_QUEUED_RUNS_PER_JOB or JOBS_MAX_QUEUED_RUNS; the detail names the limit */
        TooManyRuns: {
            headers: {
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Too many runs match",
                 *       "status": 429,
                 *       "detail": "more than 1000 runs match; narrow the filter (the limit is JOBS_MAX_BULK_RUNS)"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The run has not ended, is a flow's child run, its job was deleted since, or the job forbids a run while one is active */
        RunNotRestartable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Run has not ended",
                 *       "status": 409,
                 *       "detail": "run 0b7e8c1e-4f5a-4d8e-9a51-3c2f0f6b9d10 is running; only an ended run can be restarted",
                 *       "instance": "/api/v1/executions/0b7e8c1e-4f5a-4d8e-9a51-3c2f0f6b9d10/restart"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The job is stored and scheduled */
        JobCreated: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["JobCreated"];
            };
        };
        /** @description Invalid input, a query parameter the operation does not know among them; `errors` names each field and why */
        Invalid: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Invalid request",
                 *       "status": 400,
                 *       "detail": "query.periodically: must be longer than zero, got '0 seconds'",
                 *       "errors": [
                 *         {
                 *           "field": "query.periodically",
                 *           "reason": "must be longer than zero, got '0 seconds'"
                 *         }
                 *       ]
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No such resource */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Job not found",
                 *       "status": 404,
                 *       "detail": "no job with job_id 'nightly-report'",
                 *       "instance": "/api/v1/jobs/nightly-report"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No such job (never created, or deleted already) */
        Gone: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Job gone",
                 *       "status": 410,
                 *       "detail": "no job with job_id 'nightly-report': it was never created or is deleted already",
                 *       "instance": "/api/v1/jobs/nightly-report"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description A job with this job_id exists */
        JobExists: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Job exists",
                 *       "status": 409,
                 *       "detail": "a job with job_id 'nightly-report' exists already; delete it first or choose another job_id",
                 *       "instance": "/api/v1/jobs",
                 *       "errors": [
                 *         {
                 *           "field": "body.job_id",
                 *           "reason": "is taken"
                 *         }
                 *       ]
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description A run of the job is queued or running and the job's `concurrency_policy` is `forbid` */
        RunInProgress: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Run in progress",
                 *       "status": 409,
                 *       "detail": "run 0b7e8c1e-4f5a-4d8e-9a51-3c2f0f6b9d10 of job 'nightly-report' is running and the job's concurrency_policy is forbid",
                 *       "instance": "/api/v1/jobs/nightly-report/executions"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The run has ended already (or ended before it could be cancelled); only queued and running runs can be cancelled */
        RunEnded: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Run has ended",
                 *       "status": 409,
                 *       "detail": "run 0b7e8c1e-4f5a-4d8e-9a51-3c2f0f6b9d10 ended succeeded; only queued and running runs can be cancelled",
                 *       "instance": "/api/v1/executions/0b7e8c1e-4f5a-4d8e-9a51-3c2f0f6b9d10/cancel"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The worker is gone; a gone worker can be neither blocked nor unblocked */
        WorkerGone: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Worker gone",
                 *       "status": 409,
                 *       "detail": "worker 7c0e4d1a-2b3c-4d5e-8f90-1a2b3c4d5e6f is gone; it cannot be blocked or unblocked",
                 *       "instance": "/api/v1/workers/7c0e4d1a-2b3c-4d5e-8f90-1a2b3c4d5e6f/state"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request body is over the size limit (`JOBS_BODY_LIMIT`); operations that take no body refuse one like any other */
        TooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Body too large",
                 *       "status": 413,
                 *       "detail": "the request body has 2097152 bytes; the limit is 1048576",
                 *       "instance": "/api/v1/jobs"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request body is not JSON; operations that take no body refuse one like any other */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Unsupported media type",
                 *       "status": 415,
                 *       "detail": "send the body as application/json, not 'text/plain'",
                 *       "instance": "/api/v1/jobs"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /**
         * @description No token, or a token this service does not know (the answer carries `WWW-Authenticate`).
         *     Liveness and readiness answer it only with `JOBS_HEALTH_AUTH=true`, `/metrics` only
         *     with `JOBS_METRICS_AUTH=true`.
         */
        Unauthorized: {
            headers: {
                "WWW-Authenticate"?: string;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Unauthorized",
                 *       "status": 401,
                 *       "detail": "createJob needs a token: send the header Authorization: Bearer <token>",
                 *       "instance": "/api/v1/jobs"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /**
         * @description The token's role is too small for this operation, or for the handler of the job it
         *     creates, changes or runs (`x-role` of the handler's kwargs schema). Without API
         *     tokens: the request's `Host` is not a loopback name (see `JOBS_ALLOWED_HOSTS`).
         */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Forbidden",
                 *       "status": 403,
                 *       "detail": "setServiceState needs a token of role admin or above; token 'dashboard' has role read",
                 *       "instance": "/api/v1/service/state"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The database cannot be reached; try again shortly */
        Unavailable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Not ready",
                 *       "status": 503,
                 *       "detail": "the database cannot be reached: connect ECONNREFUSED 127.0.0.1:5432",
                 *       "instance": "/api/v1/readiness"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No secret of this name */
        SecretNotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "about:blank",
                 *       "title": "Secret not found",
                 *       "status": 404,
                 *       "detail": "no secret named 'billing-token'",
                 *       "instance": "/api/v1/secrets/billing-token"
                 *     }
                 */
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description A secret of this name exists (creating one), or no key to seal values is configured */
        SecretConflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /** @description The `id` of the last event received, to resume a stream after it. */
        LastEventId: string;
        /**
         * @description Preferences (RFC 7240). `return=minimal` asks for a short answer; preferences the
         *     route does not know are ignored.
         * @example return=minimal
         */
        Prefer: string;
        /**
         * @description The version the change is made to, as the job's `ETag` gives it (`"3"`); another version answers 412.
         * @example "3"
         */
        IfMatch: string;
        /** @example ping-example */
        JobIdPath: string;
        ExecutionIdPath: string;
        /** @description Entries per page. */
        Limit: number;
        /** @description The `next_cursor` of the previous page. */
        Cursor: string;
        ExecutionStatusFilter: components["schemas"]["ExecutionStatus"];
        /**
         * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
         * @example running
         */
        State: components["schemas"]["JobState"];
        /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
        JobId: components["schemas"]["JobId"];
        /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
        Periodically: string;
        /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
        Cron: string;
        /** @description IANA time zone of the cron schedule; UTC when omitted. */
        Timezone: string;
        /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
        When: string;
        /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
        MisfireGraceTime: string;
        /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
        Timeout: number;
        /**
         * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
         *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
         *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
         */
        ConcurrencyPolicyParam: components["schemas"]["ConcurrencyPolicy"];
        /** @description Further attempts after a failed, timed-out or lost run. */
        Retries: number;
        /** @description Seconds before the first retry; doubled for each further attempt. */
        RetryBackoff: number;
        WorkerIdPath: string;
        SecretNamePath: components["schemas"]["SecretName"];
    };
    requestBodies: never;
    headers: {
        /**
         * @description The job's version, quoted; send it back as `If-Match` to change that version only.
         * @example "3"
         */
        ETag: string;
    };
    pathItems: never;
};
export type $defs = Record<string, never>;
export interface operations {
    getLiveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Empty"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Empty"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The metrics of this process */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example # HELP jobs_runs_finished_total Runs that ended, by handler and final status.
                     *     # TYPE jobs_runs_finished_total counter
                     *     jobs_runs_finished_total{handler="echo",status="succeeded"} 42
                     *     # HELP jobs_runs_queued Runs waiting for a worker (status queued), read from the database at each scrape.
                     *     # TYPE jobs_runs_queued gauge
                     *     jobs_runs_queued 3
                     */
                    "text/plain": string;
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listAudit: {
        parameters: {
            query?: {
                /** @description Only calls of this operationId. */
                operation?: string;
                /** @description Only calls made with the token of this name. */
                token?: string;
                /** @description Calls at or after this time (ISO-8601). */
                since?: string;
                /** @description Calls before this time (ISO-8601). */
                until?: string;
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of audit records */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "audit": [
                     *         {
                     *           "id": "0f8c2b1e-5d0a-4c3e-9b7a-2f1d6e4a8c90",
                     *           "time": "2026-11-26T09:30:12.345Z",
                     *           "request_id": "6b1e3c6a-8d2f-4f7e-a1c9-3e5d7b9f0a12",
                     *           "token_name": "deploy-bot",
                     *           "operation": "setJobState",
                     *           "method": "PUT",
                     *           "path": "/api/v1/jobs/nightly-report",
                     *           "job_id": "nightly-report",
                     *           "execution_id": null,
                     *           "worker_id": null,
                     *           "batch_id": null,
                     *           "status": 200,
                     *           "outcome": "success"
                     *         }
                     *       ],
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["AuditList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    streamEvents: {
        parameters: {
            query?: {
                /**
                 * @description Only these event types (see `EventType`), comma-separated.
                 * @example execution.started,execution.ended
                 */
                types?: string;
                job_id?: string;
                execution_id?: string;
                batch_id?: string;
                handler?: string;
            };
            header?: {
                /** @description The `id` of the last event received, to resume a stream after it. */
                "Last-Event-ID"?: components["parameters"]["LastEventId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The stream */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example id: 1042
                     *     event: execution.started
                     *     data: {"id":"1042","type":"execution.started","at":"2026-11-30T10:00:00.120Z","job_id":"nightly-report","execution_id":"3f1c","batch_id":null,"handler":"echo","status":"running","progress":null,"state":null}
                     *
                     *     : heartbeat
                     */
                    "text/event-stream": string;
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getServiceState: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The service state */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ServiceStateBody"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    setServiceState: {
        parameters: {
            query: {
                /** @example paused */
                state: components["schemas"]["ServiceState"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The new state */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ServiceStateBody"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getCaller: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Caller"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getServiceNotify: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The default rules */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotifyDefaults"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    setServiceNotify: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "notify": [
                 *         {
                 *           "on": [
                 *             "failed",
                 *             "timed_out",
                 *             "lost",
                 *             "recovered"
                 *           ],
                 *           "slack": {
                 *             "url": {
                 *               "$secret": "slack-ops"
                 *             }
                 *           }
                 *         },
                 *         {
                 *           "on": [
                 *             "late",
                 *             "paused"
                 *           ],
                 *           "email": {
                 *             "to": [
                 *               "ops@example.com"
                 *             ]
                 *           }
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["NotifyDefaultsRequest"];
            };
        };
        responses: {
            /** @description The default rules as stored */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotifyDefaults"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listDeliveries: {
        parameters: {
            query?: {
                /** @description Only deliveries of this job. */
                job_id?: string;
                status?: components["schemas"]["DeliveryStatus"];
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listJobs: {
        parameters: {
            query?: {
                job_type?: "all" | "failed" | "user";
                /**
                 * @description Only jobs whose `job_id` starts with this text.
                 * @example nightly-
                 */
                search?: string;
                /** @description Only jobs of this handler. */
                handler?: string;
                /** @description Only jobs in this state. */
                state?: components["schemas"]["JobState"];
                /** @description Only jobs created through the API (`api`) or from a default-jobs file (`file`). */
                source?: "api" | "file";
                /** @description Only jobs whose latest run has this status. */
                last_status?: components["schemas"]["ExecutionStatus"];
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    createJob: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateJobRequest"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteAllJobs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description Deleting every job at once is not allowed */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    createJobs: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Preferences (RFC 7240). `return=minimal` asks for a short answer; preferences the
                 *     route does not know are ignored.
                 * @example return=minimal
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "jobs": [
                 *         {
                 *           "job_id": "report-eu",
                 *           "handler": "echo",
                 *           "kwargs": {
                 *             "message": "eu"
                 *           },
                 *           "cron": "0 6 * * *",
                 *           "timezone": "Europe/Prague"
                 *         },
                 *         {
                 *           "job_id": "report-us",
                 *           "handler": "echo",
                 *           "kwargs": {
                 *             "message": "us"
                 *           },
                 *           "cron": "0 6 * * *",
                 *           "timezone": "America/New_York"
                 *         },
                 *         {
                 *           "handler": "echo",
                 *           "kwargs": {
                 *             "message": "once"
                 *           },
                 *           "when": "2030-01-01T00:00:00Z"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["CreateJobsRequest"];
            };
        };
        responses: {
            /** @description Every job is stored and scheduled, in the order given */
            201: {
                headers: {
                    /** @description `return=minimal` when the answer holds only the ids (`Prefer: return=minimal`). */
                    "Preference-Applied"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobsCreated"] | components["schemas"]["JobIdsCreated"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    cleanFailed: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The ids of the removed failure records */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Removed"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobDetail"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    setJobState: {
        parameters: {
            query: {
                /** @example paused */
                state: components["schemas"]["JobState"];
            };
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job's new state */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobStateResult"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The removed job id */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Removed"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            410: components["responses"]["Gone"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateJob: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The version the change is made to, as the job's `ETag` gives it (`"3"`); another version answers 412.
                 * @example "3"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateJobRequest"];
            };
        };
        responses: {
            /** @description The job as changed (or as it was, when nothing differs) */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobCreated"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["JobFromFile"];
            412: components["responses"]["VersionChanged"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listJobExecutions: {
        parameters: {
            query?: {
                status?: components["parameters"]["ExecutionStatusFilter"];
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of runs */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    runJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["RunRequest"];
            };
        };
        responses: {
            /** @description The runs are queued; Location names the run, or the batch when times > 1 */
            202: {
                headers: {
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunAccepted"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["RunInProgress"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyQueued"];
            503: components["responses"]["Unavailable"];
        };
    };
    getNextFires: {
        parameters: {
            query?: {
                /** @description Fires to list (at most JOBS_MAX_NEXT_FIRES). */
                count?: number;
            };
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The next fires */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "job_id": "nightly",
                     *       "timezone": "Europe/Berlin",
                     *       "schedule_ended": null,
                     *       "fires": [
                     *         "2027-03-27T01:30:00.000Z",
                     *         "2027-03-28T01:30:00.000Z",
                     *         "2027-03-29T00:30:00.000Z"
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["NextFires"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    backfillJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "since": "2027-03-01T00:00:00Z",
                 *       "until": "2027-03-08T00:00:00Z"
                 *     }
                 */
                "application/json": components["schemas"]["BackfillRequest"];
            };
        };
        responses: {
            /** @description The runs are queued */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "count": 7,
                     *       "batch_id": "9b2f0c1e-4d0a-4c55-9d1e-2f7c8a1b3c4d",
                     *       "execution_ids": [
                     *         "…"
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["BackfillAccepted"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyQueued"];
            503: components["responses"]["Unavailable"];
        };
    };
    previewSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SchedulePreviewRequest"];
            };
        };
        responses: {
            /** @description The first fires */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Fires"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listJobVersions: {
        parameters: {
            query?: {
                /** @description The first version to list. */
                from?: number;
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job's versions */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobVersionList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    rollbackJob: {
        parameters: {
            query?: {
                /** @description A job from a default-jobs file becomes a job of the API. */
                detach?: boolean;
            };
            header?: {
                /**
                 * @description The version the change is made to, as the job's `ETag` gives it (`"3"`); another version answers 412.
                 * @example "3"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
                version: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job as rolled back */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobCreated"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["JobFromFile"];
            412: components["responses"]["VersionChanged"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listJobFires: {
        parameters: {
            query?: {
                /** @example 2026-11-29T00:00:00Z */
                since?: string;
                /** @example 2026-11-30T00:00:00Z */
                until?: string;
            };
            header?: never;
            path: {
                /** @example ping-example */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The fires */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FireLedger"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    scheduleFlowScheduling: {
        parameters: {
            query?: {
                /**
                 * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
                 * @example running
                 */
                state?: components["parameters"]["State"];
                /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
                job_id?: components["parameters"]["JobId"];
                /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
                periodically?: components["parameters"]["Periodically"];
                /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
                cron?: components["parameters"]["Cron"];
                /** @description IANA time zone of the cron schedule; UTC when omitted. */
                timezone?: components["parameters"]["Timezone"];
                /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
                when?: components["parameters"]["When"];
                /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
                misfire_grace_time?: components["parameters"]["MisfireGraceTime"];
                /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
                timeout?: components["parameters"]["Timeout"];
                /**
                 * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
                 *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
                 *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
                 */
                concurrency_policy?: components["parameters"]["ConcurrencyPolicyParam"];
                /** @description Further attempts after a failed, timed-out or lost run. */
                retries?: components["parameters"]["Retries"];
                /** @description Seconds before the first retry; doubled for each further attempt. */
                retry_backoff?: components["parameters"]["RetryBackoff"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "flow_name": "echo",
                 *       "flow_arguments": [
                 *         {
                 *           "ecosystem": "npm",
                 *           "force": true,
                 *           "name": "serve-static",
                 *           "version": "1.7.1"
                 *         },
                 *         {
                 *           "ecosystem": "maven",
                 *           "force": true,
                 *           "name": "net.iharder:base64",
                 *           "version": "2.3.9"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["FlowSchedulingKwargs"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    scheduleSelectiveFlowScheduling: {
        parameters: {
            query?: {
                /**
                 * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
                 * @example running
                 */
                state?: components["parameters"]["State"];
                /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
                job_id?: components["parameters"]["JobId"];
                /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
                periodically?: components["parameters"]["Periodically"];
                /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
                cron?: components["parameters"]["Cron"];
                /** @description IANA time zone of the cron schedule; UTC when omitted. */
                timezone?: components["parameters"]["Timezone"];
                /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
                when?: components["parameters"]["When"];
                /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
                misfire_grace_time?: components["parameters"]["MisfireGraceTime"];
                /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
                timeout?: components["parameters"]["Timeout"];
                /**
                 * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
                 *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
                 *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
                 */
                concurrency_policy?: components["parameters"]["ConcurrencyPolicyParam"];
                /** @description Further attempts after a failed, timed-out or lost run. */
                retries?: components["parameters"]["Retries"];
                /** @description Seconds before the first retry; doubled for each further attempt. */
                retry_backoff?: components["parameters"]["RetryBackoff"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "flow_name": "cleanup-executions",
                 *       "task_names": [
                 *         "failures"
                 *       ],
                 *       "run_subsequent": false,
                 *       "flow_arguments": [
                 *         {
                 *           "older_than": "90 days"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["SelectiveFlowSchedulingKwargs"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    scheduleHttpRequest: {
        parameters: {
            query?: {
                /**
                 * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
                 * @example running
                 */
                state?: components["parameters"]["State"];
                /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
                job_id?: components["parameters"]["JobId"];
                /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
                periodically?: components["parameters"]["Periodically"];
                /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
                cron?: components["parameters"]["Cron"];
                /** @description IANA time zone of the cron schedule; UTC when omitted. */
                timezone?: components["parameters"]["Timezone"];
                /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
                when?: components["parameters"]["When"];
                /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
                misfire_grace_time?: components["parameters"]["MisfireGraceTime"];
                /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
                timeout?: components["parameters"]["Timeout"];
                /**
                 * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
                 *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
                 *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
                 */
                concurrency_policy?: components["parameters"]["ConcurrencyPolicyParam"];
                /** @description Further attempts after a failed, timed-out or lost run. */
                retries?: components["parameters"]["Retries"];
                /** @description Seconds before the first retry; doubled for each further attempt. */
                retry_backoff?: components["parameters"]["RetryBackoff"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "url": "http://127.0.0.1:34000/api/v1/liveness",
                 *       "method": "GET",
                 *       "headers": {
                 *         "Accept": "application/json"
                 *       },
                 *       "expected_status": 200,
                 *       "request_timeout": 10
                 *     }
                 */
                "application/json": components["schemas"]["HttpRequestKwargs"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    scheduleEcho: {
        parameters: {
            query?: {
                /**
                 * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
                 * @example running
                 */
                state?: components["parameters"]["State"];
                /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
                job_id?: components["parameters"]["JobId"];
                /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
                periodically?: components["parameters"]["Periodically"];
                /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
                cron?: components["parameters"]["Cron"];
                /** @description IANA time zone of the cron schedule; UTC when omitted. */
                timezone?: components["parameters"]["Timezone"];
                /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
                when?: components["parameters"]["When"];
                /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
                misfire_grace_time?: components["parameters"]["MisfireGraceTime"];
                /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
                timeout?: components["parameters"]["Timeout"];
                /**
                 * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
                 *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
                 *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
                 */
                concurrency_policy?: components["parameters"]["ConcurrencyPolicyParam"];
                /** @description Further attempts after a failed, timed-out or lost run. */
                retries?: components["parameters"]["Retries"];
                /** @description Seconds before the first retry; doubled for each further attempt. */
                retry_backoff?: components["parameters"]["RetryBackoff"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "message": "hello from jobs-service"
                 *     }
                 */
                "application/json": components["schemas"]["EchoKwargs"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    scheduleCleanupExecutions: {
        parameters: {
            query?: {
                /**
                 * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
                 * @example running
                 */
                state?: components["parameters"]["State"];
                /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
                job_id?: components["parameters"]["JobId"];
                /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
                periodically?: components["parameters"]["Periodically"];
                /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
                cron?: components["parameters"]["Cron"];
                /** @description IANA time zone of the cron schedule; UTC when omitted. */
                timezone?: components["parameters"]["Timezone"];
                /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
                when?: components["parameters"]["When"];
                /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
                misfire_grace_time?: components["parameters"]["MisfireGraceTime"];
                /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
                timeout?: components["parameters"]["Timeout"];
                /**
                 * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
                 *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
                 *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
                 */
                concurrency_policy?: components["parameters"]["ConcurrencyPolicyParam"];
                /** @description Further attempts after a failed, timed-out or lost run. */
                retries?: components["parameters"]["Retries"];
                /** @description Seconds before the first retry; doubled for each further attempt. */
                retry_backoff?: components["parameters"]["RetryBackoff"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "older_than": "30 days"
                 *     }
                 */
                "application/json": components["schemas"]["CleanupExecutionsKwargs"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    scheduleRunScript: {
        parameters: {
            query?: {
                /**
                 * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
                 * @example running
                 */
                state?: components["parameters"]["State"];
                /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
                job_id?: components["parameters"]["JobId"];
                /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
                periodically?: components["parameters"]["Periodically"];
                /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
                cron?: components["parameters"]["Cron"];
                /** @description IANA time zone of the cron schedule; UTC when omitted. */
                timezone?: components["parameters"]["Timezone"];
                /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
                when?: components["parameters"]["When"];
                /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
                misfire_grace_time?: components["parameters"]["MisfireGraceTime"];
                /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
                timeout?: components["parameters"]["Timeout"];
                /**
                 * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
                 *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
                 *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
                 */
                concurrency_policy?: components["parameters"]["ConcurrencyPolicyParam"];
                /** @description Further attempts after a failed, timed-out or lost run. */
                retries?: components["parameters"]["Retries"];
                /** @description Seconds before the first retry; doubled for each further attempt. */
                retry_backoff?: components["parameters"]["RetryBackoff"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "script": "hello.sh",
                 *       "args": [
                 *         "world"
                 *       ],
                 *       "env": {}
                 *     }
                 */
                "application/json": components["schemas"]["RunScriptKwargs"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    scheduleContainer: {
        parameters: {
            query?: {
                /**
                 * @description Whether the job is active and fires as scheduled (`running`, the contract's name for it) or waits until resumed (`paused`).
                 * @example running
                 */
                state?: components["parameters"]["State"];
                /** @description A unique id for the job; generated when omitted (a time-ordered UUID, version 7). An id in use answers 409. */
                job_id?: components["parameters"]["JobId"];
                /** @description Repeat every interval: "1 week", "2 days", "5:00:00" (h:mm:ss), "90 seconds". Without it (and without cron) the job runs once. */
                periodically?: components["parameters"]["Periodically"];
                /** @description Repeat on a cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first. */
                cron?: components["parameters"]["Cron"];
                /** @description IANA time zone of the cron schedule; UTC when omitted. */
                timezone?: components["parameters"]["Timezone"];
                /** @description First run time, UTC unless it says otherwise: ISO-8601 or "Mon Feb 20, 14:56". Must be in the future. Without it a one-shot job runs now and a periodic job one period from now. */
                when?: components["parameters"]["When"];
                /** @description How late a run may start (seconds, or a duration like "10 minutes"); a run later than this is recorded as missed and skipped. Omitted: no limit. */
                misfire_grace_time?: components["parameters"]["MisfireGraceTime"];
                /** @description Seconds a run may take; then its signal fires and it ends timed_out. */
                timeout?: components["parameters"]["Timeout"];
                /**
                 * @description What a fire or a manual run does while a run of the job is active: `allow` runs anyway,
                 *     `forbid` records the fire as missed (a manual run answers 409; the default for periodic
                 *     jobs), `replace` cancels the active run first. One-shot jobs default to `allow`.
                 */
                concurrency_policy?: components["parameters"]["ConcurrencyPolicyParam"];
                /** @description Further attempts after a failed, timed-out or lost run. */
                retries?: components["parameters"]["Retries"];
                /** @description Seconds before the first retry; doubled for each further attempt. */
                retry_backoff?: components["parameters"]["RetryBackoff"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "image": "busybox:1.36",
                 *       "command": [
                 *         "sh",
                 *         "-c",
                 *         "echo hello from a container"
                 *       ],
                 *       "memory": 67108864,
                 *       "cpus": 0.5
                 *     }
                 */
                "application/json": components["schemas"]["ContainerKwargs"];
            };
        };
        responses: {
            201: components["responses"]["JobCreated"];
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["JobExists"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listExecutions: {
        parameters: {
            query?: {
                job_id?: string;
                status?: components["parameters"]["ExecutionStatusFilter"];
                /** @description Only the child runs of this run. */
                parent_id?: string;
                handler?: string;
                batch_id?: string;
                /** @description Runs created at or after this time (ISO-8601). */
                since?: string;
                /** @description Runs created before this time (ISO-8601). */
                until?: string;
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of runs */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getExecution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The run */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Execution"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getExecutionOutput: {
        parameters: {
            query?: {
                /** @description Answer a `text/event-stream` that follows the run until it ends. */
                follow?: boolean;
            };
            header?: {
                /** @description The `id` of the last event received, to resume a stream after it. */
                "Last-Event-ID"?: components["parameters"]["LastEventId"];
            };
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The run's output; with `follow=true` a live stream of it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionOutput"];
                    /**
                     * @example event: status
                     *     data: {"execution_id":"3f1c","status":"running","progress":null}
                     *
                     *     id: 2
                     *     event: output
                     *     data: {"execution_id":"3f1c","offset":0,"lines":["starting","step 1 done"],"dropped":0}
                     *
                     *     : heartbeat
                     *
                     *     event: end
                     *     data: {"execution_id":"3f1c","status":"succeeded","error":null,"finished_at":"2026-11-30T10:00:03.120Z","lines":2}
                     */
                    "text/event-stream": string;
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    cancelExecution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The run was queued and is now cancelled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Execution"];
                };
            };
            /** @description The run is running; its worker is stopping it */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Execution"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["RunEnded"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    restartExecution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: components["parameters"]["ExecutionIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The new run is queued */
            202: {
                headers: {
                    /** @description The new run. */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Execution"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["RunNotRestartable"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyQueued"];
            503: components["responses"]["Unavailable"];
        };
    };
    retryExecutions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BulkFilter"];
            };
        };
        responses: {
            /** @description The runs queued, as one batch (`batch_id` null when nothing matched) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BulkResult"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRuns"];
            503: components["responses"]["Unavailable"];
        };
    };
    cancelExecutions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BulkFilter"];
            };
        };
        responses: {
            /** @description The runs cancelled or asked to stop */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BulkResult"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRuns"];
            503: components["responses"]["Unavailable"];
        };
    };
    getBatch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                batch_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The batch */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Batch"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listWorkers: {
        parameters: {
            query?: {
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of workers */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkerList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getWorker: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                worker_id: components["parameters"]["WorkerIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The worker */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Worker"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    setWorkerState: {
        parameters: {
            query: {
                state: "active" | "blocked";
            };
            header?: never;
            path: {
                worker_id: components["parameters"]["WorkerIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The worker */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Worker"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["WorkerGone"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getStats: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The counts */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Stats"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    listHandlers: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every handler this service can run */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HandlerList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getOpenApiJson: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            400: components["responses"]["Invalid"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    getSwaggerJson: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            400: components["responses"]["Invalid"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    getOpenApiYaml: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/yaml": string;
                };
            };
            400: components["responses"]["Invalid"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    getSwaggerUi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            400: components["responses"]["Invalid"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    getSwaggerUiAsset: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                asset: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            400: components["responses"]["Invalid"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    listSecrets: {
        parameters: {
            query?: {
                /** @description Entries per page. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of secrets */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretList"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    createSecret: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SecretCreate"];
            };
        };
        responses: {
            /** @description Stored */
            201: {
                headers: {
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Secret"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["SecretConflict"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    getSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: components["parameters"]["SecretNamePath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The secret, without its value */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Secret"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["SecretNotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    putSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: components["parameters"]["SecretNamePath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SecretValue"];
            };
        };
        responses: {
            /** @description Changed */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Secret"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Secret"];
                };
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["SecretConflict"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: components["parameters"]["SecretNamePath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["Invalid"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["SecretNotFound"];
            413: components["responses"]["TooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            503: components["responses"]["Unavailable"];
        };
    };
}
