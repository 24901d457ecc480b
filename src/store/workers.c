/*
 * workers: a pool of threads running jobs of the durable queue (see workers.h).
 *
 * One mutex guards the pool's state. Worker threads sleep on `wake` when no
 * job is due; one heartbeat thread extends the leases of the jobs that are
 * running, so a handler needs to know nothing about leases. Everything the
 * database is asked happens outside the mutex.
 */
#include "store/workers.h"

#include "store/jobs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_DEFAULT_THREADS	      2
#define WORKERS_DEFAULT_LEASE_SECONDS 60
#define WORKERS_DEFAULT_IDLE_POLL_MS  500
/* After a store error the thread waits this long at least, so it does not spin. */
#define WORKERS_ERROR_PAUSE_MS 1000

struct handler {
	char *kind;
	workers_handler_fn *fn;
	void *user;
};

struct worker_slot {
	struct workers *pool;
	pthread_t thread;
	bool thread_started;
	char name[160];		    /* the lease owner */
	char job_id[STORE_ID_SIZE]; /* while busy */
	bool busy;		    /* a handler runs */
};

struct workers {
	struct jobs *jobs;
	char *worker;
	int threads, lease_seconds, idle_poll_ms;
	struct handler *handlers;
	size_t handler_count;
	const char **kinds; /* NULL-terminated, built at start */

	pthread_mutex_t lock;
	pthread_cond_t wake;	  /* workers: a job was queued, or stop */
	pthread_cond_t heartbeat; /* the heartbeat thread: stop */
	unsigned long wake_seq;	  /* counts workers_wake calls, so no wake-up is lost */
	bool running;		  /* threads were started and not yet joined */
	bool stopping;		  /* workers must not lease any more */
	bool heartbeat_stopping;
	atomic_int stop_flag;

	struct worker_slot *slots;
	pthread_t heartbeat_thread;
	bool heartbeat_started;
};

static const atomic_int never_stopped = 0;

/* An absolute CLOCK_MONOTONIC time ms from now (the condition variables use that clock). */
static struct timespec deadline_in(long ms)
{
	struct timespec at;
	clock_gettime(CLOCK_MONOTONIC, &at);
	at.tv_sec += ms / 1000;
	at.tv_nsec += (ms % 1000) * 1000000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	return at;
}

static void cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

struct workers *workers_new(struct jobs *jobs, const struct workers_options *options)
{
	struct workers *pool = xcalloc(1, sizeof(*pool));
	pool->jobs = jobs;
	struct workers_options given = options ? *options : (struct workers_options){ 0 };
	if (given.worker && *given.worker) {
		pool->worker = xstrdup(given.worker);
	} else {
		struct buf name = BUF_INIT;
		buf_addf(&name, "worker-%ld", (long)getpid());
		pool->worker = buf_detach(&name);
	}
	pool->threads = given.threads > 0 ? given.threads : WORKERS_DEFAULT_THREADS;
	pool->lease_seconds =
		given.lease_seconds > 0 ? given.lease_seconds : WORKERS_DEFAULT_LEASE_SECONDS;
	pool->idle_poll_ms =
		given.idle_poll_ms > 0 ? given.idle_poll_ms : WORKERS_DEFAULT_IDLE_POLL_MS;
	pthread_mutex_init(&pool->lock, NULL);
	cond_init_monotonic(&pool->wake);
	cond_init_monotonic(&pool->heartbeat);
	atomic_init(&pool->stop_flag, 0);
	return pool;
}

int workers_add_handler(struct workers *pool, const char *kind, workers_handler_fn *handler,
			void *user, struct err *e)
{
	if (!pool)
		return err_set(e, "workers: no pool to add the '%s' handler to", kind ? kind : "");
	if (!kind || !*kind || !handler)
		return err_set(e, "workers: a handler needs a job kind and a function");
	pthread_mutex_lock(&pool->lock);
	int rc = 0;
	if (pool->running) {
		rc = err_set(e, "workers: cannot add the '%s' handler after the pool started",
			     kind);
	} else {
		for (size_t i = 0; i < pool->handler_count; i++)
			if (strcmp(pool->handlers[i].kind, kind) == 0)
				rc = err_set(e, "workers: job kind '%s' already has a handler",
					     kind);
	}
	if (rc == 0) {
		pool->handlers = xrealloc(pool->handlers,
					  (pool->handler_count + 1) * sizeof(*pool->handlers));
		pool->handlers[pool->handler_count++] =
			(struct handler){ .kind = xstrdup(kind), .fn = handler, .user = user };
	}
	pthread_mutex_unlock(&pool->lock);
	return rc;
}

static const struct handler *handler_for(const struct workers *pool, const char *kind)
{
	for (size_t i = 0; i < pool->handler_count; i++)
		if (strcmp(pool->handlers[i].kind, kind) == 0)
			return &pool->handlers[i];
	return NULL;
}

/* Sleeps until woken, stopped or ms passed, unless a wake came since seen_seq. */
static void idle_wait(struct workers *pool, unsigned long seen_seq, long ms)
{
	pthread_mutex_lock(&pool->lock);
	struct timespec until = deadline_in(ms);
	while (!pool->stopping && pool->wake_seq == seen_seq) {
		if (pthread_cond_timedwait(&pool->wake, &pool->lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&pool->lock);
}

static void run_job(struct worker_slot *slot, struct jobs_job *job)
{
	struct workers *pool = slot->pool;
	const struct handler *handler = handler_for(pool, job->kind);
	pthread_mutex_lock(&pool->lock);
	memcpy(slot->job_id, job->id, STORE_ID_SIZE);
	slot->busy = true;
	pthread_mutex_unlock(&pool->lock);

	char attempt[32];
	snprintf(attempt, sizeof(attempt), "%d/%d", job->attempts, job->max_attempts);
	log_debug("workers", "job started", "job", job->id, "kind", job->kind, "attempt", attempt,
		  "worker", slot->name);
	struct err failure = ERR_INIT;
	int rc = handler ? handler->fn(job, handler->user, &failure)
			 : err_set(&failure, "no handler for job kind '%s'", job->kind);
	if (rc != 0 && !err_is_set(&failure))
		err_set(&failure, "the '%s' handler failed without saying why", job->kind);

	/* The outcome is recorded while the heartbeat still keeps the lease. */
	struct err e = ERR_INIT;
	if (rc == 0) {
		if (jobs_complete(pool->jobs, job->id, slot->name, &e) != 0)
			log_warn("workers", "job ran but could not be marked done", "job", job->id,
				 "kind", job->kind, "error", e.msg);
		else
			log_info("workers", "job done", "job", job->id, "kind", job->kind,
				 "attempt", attempt);
	} else if (atomic_load(&pool->stop_flag)) {
		/* Most likely cancelled by the stop: workers_stop gives the lease back
		 * without counting the attempt. */
		log_info("workers", "job interrupted by shutdown", "job", job->id, "kind",
			 job->kind, "error", failure.msg);
	} else {
		bool dead = false;
		if (jobs_fail(pool->jobs, job->id, slot->name, failure.msg, &dead, &e) != 0)
			log_warn("workers", "job failed and the failure could not be recorded",
				 "job", job->id, "kind", job->kind, "error", failure.msg,
				 "store_error", e.msg);
		else if (dead)
			log_error("workers", "job failed on its last attempt", "job", job->id,
				  "kind", job->kind, "attempt", attempt, "error", failure.msg);
		else
			log_warn("workers", "job failed, will retry", "job", job->id, "kind",
				 job->kind, "attempt", attempt, "error", failure.msg);
	}

	pthread_mutex_lock(&pool->lock);
	slot->busy = false;
	slot->job_id[0] = '\0';
	pthread_mutex_unlock(&pool->lock);
}

static void *worker_main(void *arg)
{
	struct worker_slot *slot = arg;
	struct workers *pool = slot->pool;
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		bool stopping = pool->stopping;
		unsigned long seen_seq = pool->wake_seq;
		pthread_mutex_unlock(&pool->lock);
		if (stopping)
			break;
		struct jobs_job *job = NULL;
		struct err e = ERR_INIT;
		if (jobs_lease(pool->jobs, slot->name, pool->kinds, pool->lease_seconds, &job,
			       &e) != 0) {
			log_warn("workers", "cannot lease a job", "worker", slot->name, "error",
				 e.msg);
			idle_wait(pool, seen_seq,
				  pool->idle_poll_ms > WORKERS_ERROR_PAUSE_MS
					  ? pool->idle_poll_ms
					  : WORKERS_ERROR_PAUSE_MS);
			continue;
		}
		if (!job) {
			idle_wait(pool, seen_seq, pool->idle_poll_ms);
			continue;
		}
		run_job(slot, job);
		jobs_job_free(job);
	}
	return NULL;
}

/* Extends the leases of running jobs every third of the lease, until told to stop. */
static void *heartbeat_main(void *arg)
{
	struct workers *pool = arg;
	long interval_ms = (long)pool->lease_seconds * 1000 / 3;
	if (interval_ms < 1)
		interval_ms = 1;
	char(*ids)[STORE_ID_SIZE] = xcalloc((size_t)pool->threads, sizeof(*ids));
	pthread_mutex_lock(&pool->lock);
	while (!pool->heartbeat_stopping) {
		struct timespec until = deadline_in(interval_ms);
		while (!pool->heartbeat_stopping &&
		       pthread_cond_timedwait(&pool->heartbeat, &pool->lock, &until) != ETIMEDOUT)
			;
		if (pool->heartbeat_stopping)
			break;
		for (int i = 0; i < pool->threads; i++)
			memcpy(ids[i], pool->slots[i].busy ? pool->slots[i].job_id : "",
			       pool->slots[i].busy ? STORE_ID_SIZE : 1);
		pthread_mutex_unlock(&pool->lock);
		for (int i = 0; i < pool->threads; i++) {
			if (!ids[i][0])
				continue;
			struct err e = ERR_INIT;
			if (jobs_heartbeat(pool->jobs, ids[i], pool->slots[i].name,
					   pool->lease_seconds, &e) == 0)
				continue;
			/* Only worth a word when the job still runs: it may just have ended. */
			pthread_mutex_lock(&pool->lock);
			bool still =
				pool->slots[i].busy && strcmp(pool->slots[i].job_id, ids[i]) == 0;
			pthread_mutex_unlock(&pool->lock);
			if (still)
				log_warn("workers", "cannot extend a job's lease", "job", ids[i],
					 "worker", pool->slots[i].name, "error", e.msg);
		}
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	free(ids);
	return NULL;
}

static void join_all(struct workers *pool)
{
	for (int i = 0; pool->slots && i < pool->threads; i++) {
		if (pool->slots[i].thread_started) {
			pthread_join(pool->slots[i].thread, NULL);
			pool->slots[i].thread_started = false;
		}
	}
	if (pool->heartbeat_started) {
		pthread_mutex_lock(&pool->lock);
		pool->heartbeat_stopping = true;
		pthread_cond_broadcast(&pool->heartbeat);
		pthread_mutex_unlock(&pool->lock);
		pthread_join(pool->heartbeat_thread, NULL);
		pool->heartbeat_started = false;
	}
}

int workers_start(struct workers *pool, struct err *e)
{
	if (!pool)
		return err_set(e, "workers: no pool to start");
	pthread_mutex_lock(&pool->lock);
	bool already = pool->running;
	if (!already) {
		pool->running = true;
		pool->stopping = false;
		pool->heartbeat_stopping = false;
		atomic_store(&pool->stop_flag, 0);
	}
	pthread_mutex_unlock(&pool->lock);
	if (already)
		return err_set(e, "workers: the pool is already running");
	if (pool->handler_count == 0)
		return 0; /* nothing could be leased; workers_stop has nothing to wait for */

	free(pool->kinds);
	pool->kinds = xcalloc(pool->handler_count + 1, sizeof(*pool->kinds));
	for (size_t i = 0; i < pool->handler_count; i++)
		pool->kinds[i] = pool->handlers[i].kind;
	if (!pool->slots)
		pool->slots = xcalloc((size_t)pool->threads, sizeof(*pool->slots));
	for (int i = 0; i < pool->threads; i++) {
		struct worker_slot *slot = &pool->slots[i];
		slot->pool = pool;
		snprintf(slot->name, sizeof(slot->name), "%s/%d", pool->worker, i);
	}
	int rc = 0;
	if (pthread_create(&pool->heartbeat_thread, NULL, heartbeat_main, pool) != 0)
		rc = err_set(e, "workers: cannot start the heartbeat thread");
	else
		pool->heartbeat_started = true;
	for (int i = 0; rc == 0 && i < pool->threads; i++) {
		if (pthread_create(&pool->slots[i].thread, NULL, worker_main, &pool->slots[i]) != 0)
			rc = err_set(e, "workers: cannot start worker thread %d of %d", i + 1,
				     pool->threads);
		else
			pool->slots[i].thread_started = true;
	}
	if (rc != 0)
		workers_stop(pool);
	else
		log_info("workers", "started", "worker", pool->worker);
	return rc;
}

void workers_wake(struct workers *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->wake_seq++;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
}

const atomic_int *workers_stop_flag(const struct workers *pool)
{
	return pool ? &pool->stop_flag : &never_stopped;
}

void workers_stop(struct workers *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	bool running = pool->running;
	pool->stopping = true;
	atomic_store(&pool->stop_flag, 1);
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	if (!running)
		return;
	join_all(pool);
	/* A job whose outcome could not be recorded, or that shutdown interrupted,
	 * goes back to the queue now rather than when its lease runs out. */
	for (int i = 0; pool->slots && i < pool->threads; i++) {
		int64_t released = 0;
		struct err e = ERR_INIT;
		if (jobs_release(pool->jobs, pool->slots[i].name, &released, &e) != 0)
			log_warn("workers", "cannot give back job leases", "worker",
				 pool->slots[i].name, "error", e.msg);
		else if (released > 0)
			log_info("workers", "gave back job leases", "worker", pool->slots[i].name);
	}
	pthread_mutex_lock(&pool->lock);
	pool->running = false;
	pthread_mutex_unlock(&pool->lock);
	log_info("workers", "stopped", "worker", pool->worker);
}

void workers_free(struct workers *pool)
{
	if (!pool)
		return;
	workers_stop(pool);
	for (size_t i = 0; i < pool->handler_count; i++)
		free(pool->handlers[i].kind);
	free(pool->handlers);
	free(pool->kinds);
	free(pool->slots);
	free(pool->worker);
	pthread_cond_destroy(&pool->wake);
	pthread_cond_destroy(&pool->heartbeat);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
