/*
 * workers: threads that take jobs from the durable queue and run them.
 *
 * The server registers one handler per job kind; each worker thread leases
 * a due job of a registered kind, keeps its lease alive with heartbeats
 * while the handler runs, and records the outcome (done, or failed and
 * retried with backoff by the queue). Handlers must be idempotent: after a
 * crash the lease expires and the job runs again, so a handler's effect is
 * keyed by the job (e.g. a row with the job id as a unique key).
 */
#ifndef AMPEL_STORE_WORKERS_H
#define AMPEL_STORE_WORKERS_H

#include <stdatomic.h>
#include <stdbool.h>

struct err;
struct jobs;
struct jobs_job;
struct workers;

/* Runs one job: 0 on success, -1 with e set to retry it later (or let it die). */
typedef int workers_handler_fn(const struct jobs_job *job, void *user, struct err *e);

struct workers_options {
	/*
	 * Lease owner name, e.g. "serve-1234" (copied). Thread i leases as
	 * "<worker>/<i>", so a thread whose lease expired and was taken by a
	 * sibling cannot record a result for it.
	 */
	const char *worker;
	int threads;	   /* 0: 2 */
	int lease_seconds; /* 0: 60; heartbeats every third of it */
	int idle_poll_ms;  /* sleep when no job is due; 0: 500 (woken early by workers_wake) */
};

/* options may be NULL for the defaults. The queue must outlive the pool. */
struct workers *workers_new(struct jobs *jobs, const struct workers_options *options);
/* Registers the handler of kind (before workers_start); fails on a duplicate kind. */
int workers_add_handler(struct workers *workers, const char *kind, workers_handler_fn *handler,
			void *user, struct err *e);
/* Starts the threads; a pool without handlers starts none (nothing to lease). */
int workers_start(struct workers *workers, struct err *e);
/* A job was queued: a sleeping worker looks now instead of at its next poll. */
void workers_wake(struct workers *workers);
/*
 * Nonzero once workers_stop began: handlers running a long child process
 * pass it as spawn_options.cancel so a graceful stop does not wait for the
 * child. A handler that fails while the pool stops is not counted as a
 * failed attempt: its lease is given back instead. NULL-safe (a NULL pool
 * gives a flag that stays 0).
 */
const atomic_int *workers_stop_flag(const struct workers *workers);
/*
 * Stops taking jobs, waits for running handlers to finish, then gives back
 * any lease still held. Safe to call when never started, and twice.
 */
void workers_stop(struct workers *workers);
void workers_free(struct workers *workers);

#endif
