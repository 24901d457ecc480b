/*
 * The worker pool on both drivers: every queued job runs once, failures
 * are retried with backoff, kinds without a handler are left alone,
 * workers_stop waits for a running handler, and heartbeats keep the lease
 * of a handler slower than the lease.
 */
#include "store/workers.h"

#include "store/jobs.h"
#include "store/store.h"
#include "support/pg_server.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static struct pg_server pg;

#define JOB_COUNT 24
/* Waiting for something to happen; never an assertion on how long it took. */
#define DEADLINE_MS 60000

struct fixture {
	char dir[256];
	struct buf url;
	struct store *store;
	struct jobs *jobs;
	struct workers *workers;

	pthread_mutex_t lock;
	pthread_cond_t changed;
	int runs[JOB_COUNT]; /* handler calls per payload n */
	int calls;
	bool started;  /* the blocking handler runs */
	bool release;  /* the blocking handler may return */
	bool finished; /* the blocking handler returned */
};

#define OK(call)                                                  \
	do {                                                      \
		struct err e_ = ERR_INIT;                         \
		struct err *e = &e_;                              \
		if ((call) != 0)                                  \
			fail_msg("%s failed: %s", #call, e_.msg); \
	} while (0)

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0 ||
	    store_migrate(f->store, &fail) != 0) {
		print_error("store (%s): %s\n", buf_cstr(&f->url), fail.msg);
		return -1;
	}
	/* Short backoff so a retried job comes back at once. */
	struct jobs_options options = { .backoff_base_ms = 20, .backoff_max_ms = 100 };
	f->jobs = jobs_new(f->store, &options);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->changed, NULL);
	*state = f;
	return 0;
}

static int setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-workers-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	buf_addf(&f->url, "sqlite:%s/ampel.db", f->dir);
	return open_fixture(f, state);
}

static int setup_pg(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err fail = ERR_INIT;
	if (pg_server_create_database(&pg, &f->url, &fail) != 0) {
		print_error("%s\n", fail.msg);
		return -1;
	}
	return open_fixture(f, state);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	/* A failed test may have left the blocking handler waiting: let it end. */
	pthread_mutex_lock(&f->lock);
	f->release = true;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	workers_free(f->workers);
	jobs_free(f->jobs);
	store_close(f->store);
	if (f->dir[0])
		nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	pthread_cond_destroy(&f->changed);
	pthread_mutex_destroy(&f->lock);
	buf_free(&f->url);
	free(f);
	return 0;
}

static int group_setup_pg(void **state)
{
	(void)state;
	struct err fail = ERR_INIT;
	if (pg_server_start(&pg, &fail) != 0) {
		print_error("the PostgreSQL half of this suite needs a server: %s\n", fail.msg);
		return -1;
	}
	return 0;
}

static int group_teardown_pg(void **state)
{
	(void)state;
	pg_server_stop(&pg);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void start_pool(struct fixture *f, int threads, int lease_seconds)
{
	struct workers_options options = { .worker = "test",
					   .threads = threads,
					   .lease_seconds = lease_seconds,
					   .idle_poll_ms = 50 };
	f->workers = workers_new(f->jobs, &options);
}

static char *enqueue(struct fixture *f, const char *kind, int n)
{
	char id[STORE_ID_SIZE];
	json_t *payload = json_pack("{s:i}", "n", n);
	OK(jobs_enqueue(f->jobs, kind, payload, 0, id, e));
	json_decref(payload);
	return xstrdup(id);
}

static json_t *job_row(struct fixture *f, const char *id)
{
	json_t *row = NULL;
	OK(jobs_get(f->jobs, id, &row, e));
	assert_non_null(row);
	return row;
}

static int64_t count_state(struct fixture *f, const char *state)
{
	struct jobs_counts counts;
	OK(jobs_count_by_state(f->jobs, &counts, e));
	if (strcmp(state, "done") == 0)
		return counts.done;
	if (strcmp(state, "queued") == 0)
		return counts.queued;
	if (strcmp(state, "running") == 0)
		return counts.running;
	return counts.dead;
}

static void wait_for_done(struct fixture *f, int64_t want)
{
	int64_t until = now_ms() + DEADLINE_MS;
	while (count_state(f, "done") < want) {
		if (now_ms() > until)
			fail_msg("only %lld of %lld jobs done before the deadline",
				 (long long)count_state(f, "done"), (long long)want);
		sleep_ms(10);
	}
}

/* Counts the call per payload n. */
static int counting_handler(const struct jobs_job *job, void *user, struct err *e)
{
	(void)e;
	struct fixture *f = user;
	int n = (int)json_integer_value(json_object_get(job->payload, "n"));
	pthread_mutex_lock(&f->lock);
	if (n >= 0 && n < JOB_COUNT)
		f->runs[n]++;
	f->calls++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* Fails its first two attempts. */
static int flaky_handler(const struct jobs_job *job, void *user, struct err *e)
{
	struct fixture *f = user;
	pthread_mutex_lock(&f->lock);
	f->calls++;
	pthread_mutex_unlock(&f->lock);
	if (job->attempts < 3)
		return err_set(e, "flaky failure on attempt %d", job->attempts);
	return 0;
}

/* Runs until the test sets release. */
static int blocking_handler(const struct jobs_job *job, void *user, struct err *e)
{
	(void)job;
	(void)e;
	struct fixture *f = user;
	pthread_mutex_lock(&f->lock);
	f->started = true;
	f->calls++;
	pthread_cond_broadcast(&f->changed);
	while (!f->release)
		pthread_cond_wait(&f->changed, &f->lock);
	f->finished = true;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void wait_started(struct fixture *f)
{
	int64_t until = now_ms() + DEADLINE_MS;
	pthread_mutex_lock(&f->lock);
	while (!f->started && now_ms() < until) {
		pthread_mutex_unlock(&f->lock);
		sleep_ms(5);
		pthread_mutex_lock(&f->lock);
	}
	bool started = f->started;
	pthread_mutex_unlock(&f->lock);
	if (!started)
		fail_msg("the handler never started");
}

static void release_handler(struct fixture *f)
{
	pthread_mutex_lock(&f->lock);
	f->release = true;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

static void test_each_job_runs_once(void **state)
{
	struct fixture *f = *state;
	start_pool(f, 3, 30);
	OK(workers_add_handler(f->workers, "count", counting_handler, f, e));
	/* A kind is registered once. */
	struct err dup = ERR_INIT;
	assert_int_equal(workers_add_handler(f->workers, "count", counting_handler, f, &dup), -1);
	assert_non_null(strstr(dup.msg, "already has a handler"));
	char *ids[JOB_COUNT];
	for (int i = 0; i < JOB_COUNT / 2; i++)
		ids[i] = enqueue(f, "count", i);
	OK(workers_start(f->workers, e));
	/* More while it runs, announced with a wake. */
	for (int i = JOB_COUNT / 2; i < JOB_COUNT; i++) {
		ids[i] = enqueue(f, "count", i);
		workers_wake(f->workers);
	}
	wait_for_done(f, JOB_COUNT);
	workers_stop(f->workers);
	assert_int_equal(f->calls, JOB_COUNT);
	for (int i = 0; i < JOB_COUNT; i++) {
		assert_int_equal(f->runs[i], 1);
		json_t *row = job_row(f, ids[i]);
		assert_string_equal(json_string_value(json_object_get(row, "state")), "done");
		assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 1);
		json_decref(row);
		free(ids[i]);
	}
	/* Stopping twice, and freeing after a stop, are fine. */
	workers_stop(f->workers);
}

static void test_failing_handler_is_retried(void **state)
{
	struct fixture *f = *state;
	start_pool(f, 2, 30);
	OK(workers_add_handler(f->workers, "flaky", flaky_handler, f, e));
	char *id = enqueue(f, "flaky", 0);
	OK(workers_start(f->workers, e));
	wait_for_done(f, 1);
	workers_stop(f->workers);
	assert_int_equal(f->calls, 3);
	json_t *row = job_row(f, id);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "done");
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 3);
	assert_string_equal(json_string_value(json_object_get(row, "last_error")),
			    "flaky failure on attempt 2");
	json_decref(row);
	free(id);
}

static void test_unregistered_kind_is_not_taken(void **state)
{
	struct fixture *f = *state;
	start_pool(f, 2, 30);
	OK(workers_add_handler(f->workers, "count", counting_handler, f, e));
	/* Older, so a pool leasing any kind would take it first. */
	char *other = enqueue(f, "somebody-else", 0);
	sleep_ms(5);
	char *mine = enqueue(f, "count", 1);
	OK(workers_start(f->workers, e));
	wait_for_done(f, 1);
	workers_stop(f->workers);
	json_t *row = job_row(f, other);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "queued");
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 0);
	assert_true(json_is_null(json_object_get(row, "lease_owner")));
	json_decref(row);
	row = job_row(f, mine);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "done");
	json_decref(row);
	assert_int_equal(f->runs[0], 0);
	assert_int_equal(f->runs[1], 1);
	free(other);
	free(mine);
}

struct stopper {
	struct fixture *f;
	atomic_bool returned;
	bool finished_when_returned;
};

static void *stop_thread(void *arg)
{
	struct stopper *s = arg;
	workers_stop(s->f->workers);
	pthread_mutex_lock(&s->f->lock);
	s->finished_when_returned = s->f->finished;
	pthread_mutex_unlock(&s->f->lock);
	atomic_store(&s->returned, true);
	return NULL;
}

static void test_stop_waits_for_running_handler(void **state)
{
	struct fixture *f = *state;
	start_pool(f, 2, 30);
	OK(workers_add_handler(f->workers, "block", blocking_handler, f, e));
	char *id = enqueue(f, "block", 0);
	OK(workers_start(f->workers, e));
	wait_started(f);
	struct stopper s = { .f = f };
	atomic_init(&s.returned, false);
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, stop_thread, &s), 0);
	/* The stop has begun... */
	int64_t until = now_ms() + DEADLINE_MS;
	while (!atomic_load(workers_stop_flag(f->workers)) && now_ms() < until)
		sleep_ms(5);
	assert_true(atomic_load(workers_stop_flag(f->workers)));
	/* ...and cannot have ended: the handler is still held. */
	assert_false(atomic_load(&s.returned));
	release_handler(f);
	pthread_join(thread, NULL);
	assert_true(atomic_load(&s.returned));
	assert_true(s.finished_when_returned);
	/* The handler succeeded, so its job is done rather than given back. */
	json_t *row = job_row(f, id);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "done");
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 1);
	json_decref(row);
	assert_int_equal(f->calls, 1);
	free(id);
}

static void test_heartbeat_keeps_the_lease(void **state)
{
	struct fixture *f = *state;
	const int lease_seconds = 1;
	start_pool(f, 1, lease_seconds);
	OK(workers_add_handler(f->workers, "block", blocking_handler, f, e));
	char *id = enqueue(f, "block", 0);
	OK(workers_start(f->workers, e));
	wait_started(f);
	json_t *row = job_row(f, id);
	int64_t first_expiry = json_integer_value(json_object_get(row, "lease_expires_at"));
	json_decref(row);
	/* For several lease lengths, another worker finds nothing to take. */
	int64_t watch_until = now_ms() + 4000L * lease_seconds;
	int tries = 0;
	while (now_ms() < watch_until) {
		struct jobs_job *job = NULL;
		const char *kinds[] = { "block", NULL };
		OK(jobs_lease(f->jobs, "intruder", kinds, 30, &job, e));
		if (job) {
			char *taken = xstrdup(job->id);
			jobs_job_free(job);
			fail_msg("job %s was leased by another worker while its handler ran",
				 taken);
		}
		tries++;
		sleep_ms(50);
	}
	assert_true(tries > 0);
	row = job_row(f, id);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "running");
	assert_string_equal(json_string_value(json_object_get(row, "lease_owner")), "test/0");
	/* The lease was extended, well past where it first ended. */
	assert_true(json_integer_value(json_object_get(row, "lease_expires_at")) >
		    first_expiry + 1000);
	json_decref(row);
	release_handler(f);
	wait_for_done(f, 1);
	workers_stop(f->workers);
	row = job_row(f, id);
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 1);
	json_decref(row);
	assert_int_equal(f->calls, 1);
	free(id);
}

/* A stop while a handler is blocked in a cancellable child gives the lease back. */
static int cancellable_handler(const struct jobs_job *job, void *user, struct err *e)
{
	(void)job;
	struct fixture *f = user;
	pthread_mutex_lock(&f->lock);
	f->started = true;
	f->calls++;
	pthread_mutex_unlock(&f->lock);
	int64_t until = now_ms() + DEADLINE_MS;
	while (!atomic_load(workers_stop_flag(f->workers)) && now_ms() < until)
		sleep_ms(5);
	return err_set(e, "cancelled");
}

static void test_stop_gives_back_an_interrupted_job(void **state)
{
	struct fixture *f = *state;
	start_pool(f, 1, 30);
	OK(workers_add_handler(f->workers, "cancel", cancellable_handler, f, e));
	char *id = enqueue(f, "cancel", 0);
	OK(workers_start(f->workers, e));
	wait_started(f);
	workers_stop(f->workers);
	json_t *row = job_row(f, id);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "queued");
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 0);
	assert_true(json_is_null(json_object_get(row, "lease_owner")));
	json_decref(row);
	free(id);
}

static void test_pool_without_handlers(void **state)
{
	struct fixture *f = *state;
	start_pool(f, 2, 30);
	char *id = enqueue(f, "count", 0);
	OK(workers_start(f->workers, e));
	struct err again = ERR_INIT;
	assert_int_equal(workers_start(f->workers, &again), -1);
	workers_wake(f->workers);
	workers_stop(f->workers);
	json_t *row = job_row(f, id);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "queued");
	json_decref(row);
	free(id);
	/* A NULL pool is harmless where the server may not have one. */
	workers_wake(NULL);
	workers_stop(NULL);
	assert_int_equal(atomic_load(workers_stop_flag(NULL)), 0);
}

#define WORKER_TESTS(setup)                                                                        \
	cmocka_unit_test_setup_teardown(test_each_job_runs_once, setup, teardown),                 \
		cmocka_unit_test_setup_teardown(test_failing_handler_is_retried, setup, teardown), \
		cmocka_unit_test_setup_teardown(test_unregistered_kind_is_not_taken, setup,        \
						teardown),                                         \
		cmocka_unit_test_setup_teardown(test_stop_waits_for_running_handler, setup,        \
						teardown),                                         \
		cmocka_unit_test_setup_teardown(test_heartbeat_keeps_the_lease, setup, teardown),  \
		cmocka_unit_test_setup_teardown(test_stop_gives_back_an_interrupted_job, setup,    \
						teardown),                                         \
		cmocka_unit_test_setup_teardown(test_pool_without_handlers, setup, teardown)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = { WORKER_TESTS(setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { WORKER_TESTS(setup_pg) };
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, group_setup_pg,
					      group_teardown_pg);
	return failed;
}
