/*
 * jobs: the durable job queue — work that outlives a request.
 *
 * A job is a row (kind, JSON payload, state, attempts, run-at, lease).
 * Workers lease the oldest due job for a while; a crash loses nothing
 * because an expired lease makes the job leasable again. Failures retry
 * with exponential backoff and jitter until max attempts, then the job is
 * dead. Handlers must be idempotent: a job may run again after a crash.
 */
#ifndef AMPEL_STORE_JOBS_H
#define AMPEL_STORE_JOBS_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct err;
struct jobs;

struct jobs_options {
	/* The clock, for tests; NULL: store_now_ms(). */
	int64_t (*now_ms)(void *ctx);
	/* Random numbers for jitter, for tests; NULL: libsodium's. */
	uint32_t (*random)(void *ctx);
	void *ctx;
	int max_attempts;	 /* leases per job before it is dead; 0: 5 */
	int64_t backoff_base_ms; /* delay after the first failure; 0: 1 s */
	int64_t backoff_max_ms;	 /* cap on the delay; 0: 1 hour */
};

/* options may be NULL for the defaults. The store must outlive the queue. */
struct jobs *jobs_new(struct store *store, const struct jobs_options *options);
void jobs_free(struct jobs *jobs);
int64_t jobs_now_ms(const struct jobs *jobs);

/*
 * Queues a job due at run_at_ms (0: now). id (may be NULL) receives its id.
 * jobs_enqueue_tx queues inside the caller's transaction, so the job exists
 * exactly when the caller's other rows do.
 */
int jobs_enqueue(struct jobs *jobs, const char *kind, const json_t *payload, int64_t run_at_ms,
		 char id[STORE_ID_SIZE], struct err *e);
int jobs_enqueue_tx(struct jobs *jobs, struct store_tx *tx, const char *kind, const json_t *payload,
		    int64_t run_at_ms, char id[STORE_ID_SIZE], struct err *e);

/* A leased job; the caller frees it with jobs_job_free. */
struct jobs_job {
	char id[STORE_ID_SIZE];
	char *kind;
	json_t *payload;
	int attempts; /* this lease included */
	int max_attempts;
	int64_t run_at_ms;
	int64_t lease_expires_at_ms;
	char *last_error; /* of the previous attempt, or NULL */
};
void jobs_job_free(struct jobs_job *job);

/*
 * Leases the oldest due job (queued and due, or running with an expired
 * lease) of one of kinds (NULL-terminated; NULL: any kind) to worker for
 * lease_seconds, counting an attempt. *job is NULL when none is due. A job
 * whose lease expired on its last attempt becomes dead instead.
 */
int jobs_lease(struct jobs *jobs, const char *worker, const char *const *kinds, int lease_seconds,
	       struct jobs_job **job, struct err *e);
/* Extends a lease still held by worker; fails when the lease was lost. */
int jobs_heartbeat(struct jobs *jobs, const char *id, const char *worker, int lease_seconds,
		   struct err *e);
/* Marks a job done; fails when worker no longer holds its lease. */
int jobs_complete(struct jobs *jobs, const char *id, const char *worker, struct err *e);
/*
 * Records a failed attempt: the job is queued again after
 * min(base * 2^(attempts-1), max), the second half of it random (jitter),
 * or dead when it has had max_attempts. *dead (may be NULL) says which.
 */
int jobs_fail(struct jobs *jobs, const char *id, const char *worker, const char *error, bool *dead,
	      struct err *e);
/* Gives back every lease of worker (graceful shutdown) without counting the attempt. */
int jobs_release(struct jobs *jobs, const char *worker, int64_t *released, struct err *e);

/* The delay jobs_fail applies after `attempts` attempts, jitter included. */
int64_t jobs_backoff_ms(struct jobs *jobs, int attempts);

/* One job as a row of the jobs table (payload parsed), or *row NULL when unknown. */
int jobs_get(struct jobs *jobs, const char *id, json_t **row, struct err *e);

/* For /metrics. running includes leases that expired but were not yet taken again. */
struct jobs_counts {
	int64_t queued, running, done, dead;
};
int jobs_count_by_state(struct jobs *jobs, struct jobs_counts *counts, struct err *e);

#endif
