/*
 * The durable job queue on both drivers: SQLite (temp file) and a real
 * PostgreSQL started by this program. Time comes from a test clock.
 */
#include "store/jobs.h"

#include "store/store.h"
#include "support/pg_server.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct pg_server pg;

#define T0 1800000000000LL /* the test clock's start, ms */

struct fixture {
	char dir[256];
	struct buf url;
	struct store *store;
	struct jobs *jobs;
	_Atomic int64_t now;
	uint32_t random_value;
	bool fixed_random;
};

static int64_t test_clock(void *ctx)
{
	struct fixture *f = ctx;
	return atomic_load(&f->now);
}

static uint32_t test_random(void *ctx)
{
	struct fixture *f = ctx;
	return f->random_value;
}

static void advance(struct fixture *f, int64_t ms)
{
	atomic_fetch_add(&f->now, ms);
}

static void make_queue(struct fixture *f, int max_attempts)
{
	jobs_free(f->jobs);
	struct jobs_options options = {
		.now_ms = test_clock,
		.random = f->fixed_random ? test_random : NULL,
		.ctx = f,
		.max_attempts = max_attempts,
		.backoff_base_ms = 1000,
		.backoff_max_ms = 10000,
	};
	f->jobs = jobs_new(f->store, &options);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static int open_fixture(struct fixture *f, void **state)
{
	struct err fail = ERR_INIT;
	if (store_open(&f->store, buf_cstr(&f->url), &fail) != 0 ||
	    store_migrate(f->store, &fail) != 0) {
		print_error("%s: %s\n", buf_cstr(&f->url), fail.msg);
		return -1;
	}
	atomic_store(&f->now, T0);
	make_queue(f, 3);
	*state = f;
	return 0;
}

static int setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ampel-jobs-XXXXXX");
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
	jobs_free(f->jobs);
	store_close(f->store);
	if (f->dir[0])
		nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	buf_free(&f->url);
	free(f);
	return 0;
}

static int group_setup_pg(void **state)
{
	struct err fail = ERR_INIT;
	if (pg_server_start(&pg, &fail) != 0) {
		print_error("the PostgreSQL half of this suite needs a server and none could be "
			    "started: %s\n",
			    fail.msg);
		return -1;
	}
	return 0;
}

static int group_teardown_pg(void **state)
{
	pg_server_stop(&pg);
	return 0;
}

#define OK(call)                                                  \
	do {                                                      \
		struct err e_ = ERR_INIT;                         \
		struct err *e = &e_;                              \
		if ((call) != 0)                                  \
			fail_msg("%s failed: %s", #call, e_.msg); \
	} while (0)

static struct jobs_job *lease(struct fixture *f, const char *worker, const char *const *kinds)
{
	struct jobs_job *job = NULL;
	OK(jobs_lease(f->jobs, worker, kinds, 30, &job, e));
	return job;
}

static json_t *get(struct fixture *f, const char *id)
{
	json_t *row = NULL;
	OK(jobs_get(f->jobs, id, &row, e));
	assert_non_null(row);
	return row;
}

static const char *state_of(json_t *row)
{
	return json_string_value(json_object_get(row, "state"));
}

static void assert_counts(struct fixture *f, int64_t queued, int64_t running, int64_t done,
			  int64_t dead)
{
	struct jobs_counts c;
	OK(jobs_count_by_state(f->jobs, &c, e));
	assert_int_equal(c.queued, queued);
	assert_int_equal(c.running, running);
	assert_int_equal(c.done, done);
	assert_int_equal(c.dead, dead);
}

/* ---- tests ---- */

static void test_enqueue_lease_complete(void **state)
{
	struct fixture *f = *state;
	json_t *payload =
		json_pack("{s:s, s:i, s:s}", "repository", "r-1", "depth", 2, "note", "Grüße 🚦");
	char id[STORE_ID_SIZE], other[STORE_ID_SIZE];
	OK(jobs_enqueue(f->jobs, "analyze", payload, 0, id, e));
	OK(jobs_enqueue(f->jobs, "webhook", NULL, 0, other, e));
	assert_counts(f, 2, 0, 0, 0);

	const char *analyze_only[] = { "analyze", NULL };
	struct jobs_job *job = lease(f, "w1", analyze_only);
	assert_non_null(job);
	assert_string_equal(job->id, id);
	assert_string_equal(job->kind, "analyze");
	assert_true(json_equal(job->payload, payload));
	assert_int_equal(job->attempts, 1);
	assert_int_equal(job->max_attempts, 3);
	assert_true(job->lease_expires_at_ms == T0 + 30000);
	assert_null(job->last_error);
	assert_null(lease(f, "w2", analyze_only)); /* the only one is leased */
	assert_counts(f, 1, 1, 0, 0);

	OK(jobs_complete(f->jobs, job->id, "w1", e));
	json_t *row = get(f, id);
	assert_string_equal(state_of(row), "done");
	assert_true(json_equal(json_object_get(row, "payload"), payload));
	assert_true(json_is_null(json_object_get(row, "lease_owner")));
	json_decref(row);
	struct err fail = ERR_INIT;
	assert_int_equal(jobs_complete(f->jobs, job->id, "w1", &fail), -1); /* only once */
	jobs_job_free(job);

	/* Any kind; the webhook job's payload defaults to {}. */
	job = lease(f, "w2", NULL);
	assert_non_null(job);
	assert_string_equal(job->id, other);
	assert_true(json_is_object(job->payload) && json_object_size(job->payload) == 0);
	OK(jobs_complete(f->jobs, job->id, "w2", e));
	jobs_job_free(job);
	assert_null(lease(f, "w2", NULL));
	assert_counts(f, 0, 0, 2, 0);

	json_t *missing = NULL;
	OK(jobs_get(f->jobs, "00000000-0000-7000-8000-000000000000", &missing, e));
	assert_null(missing);
	json_decref(payload);
}

static void test_due_time_and_order(void **state)
{
	struct fixture *f = *state;
	char later[STORE_ID_SIZE], first[STORE_ID_SIZE], second[STORE_ID_SIZE];
	OK(jobs_enqueue(f->jobs, "k", NULL, T0 + 60000, later, e));
	advance(f, 1);
	OK(jobs_enqueue(f->jobs, "k", NULL, 0, first, e));
	advance(f, 1);
	OK(jobs_enqueue(f->jobs, "k", NULL, 0, second, e));

	struct jobs_job *a = lease(f, "w", NULL), *b = lease(f, "w", NULL);
	assert_string_equal(a->id, first);
	assert_string_equal(b->id, second);
	assert_null(lease(f, "w", NULL)); /* `later` is not due */
	OK(jobs_complete(f->jobs, a->id, "w", e));
	OK(jobs_complete(f->jobs, b->id, "w", e));
	advance(f, 60000);
	struct jobs_job *c = lease(f, "w", NULL);
	assert_non_null(c);
	assert_string_equal(c->id, later);
	jobs_job_free(a);
	jobs_job_free(b);
	jobs_job_free(c);

	struct err fail = ERR_INIT;
	struct jobs_job *none = NULL;
	assert_int_equal(jobs_lease(f->jobs, "", NULL, 30, &none, &fail), -1);
	assert_int_equal(jobs_lease(f->jobs, "w", NULL, 0, &none, &fail), -1);
	assert_int_equal(jobs_enqueue(f->jobs, "", NULL, 0, NULL, &fail), -1);
}

static void test_expired_lease_returns_the_job(void **state)
{
	struct fixture *f = *state;
	char id[STORE_ID_SIZE];
	OK(jobs_enqueue(f->jobs, "k", NULL, 0, id, e));
	struct jobs_job *held = lease(f, "crashed", NULL);
	assert_non_null(held);

	advance(f, 20000);
	OK(jobs_heartbeat(f->jobs, id, "crashed", 30, e)); /* now until T0+50s */
	advance(f, 29000);
	assert_null(lease(f, "w2", NULL));
	advance(f, 1000); /* T0+50s: expired */
	struct jobs_job *taken = lease(f, "w2", NULL);
	assert_non_null(taken);
	assert_string_equal(taken->id, id);
	assert_int_equal(taken->attempts, 2);

	/* The first worker lost it: heartbeat, complete and fail all refuse. */
	struct err fail = ERR_INIT;
	assert_int_equal(jobs_heartbeat(f->jobs, id, "crashed", 30, &fail), -1);
	assert_non_null(strstr(fail.msg, "lease"));
	assert_int_equal(jobs_complete(f->jobs, id, "crashed", &fail), -1);
	assert_int_equal(jobs_fail(f->jobs, id, "crashed", "boom", NULL, &fail), -1);

	OK(jobs_complete(f->jobs, id, "w2", e));
	json_t *row = get(f, id);
	assert_string_equal(state_of(row), "done");
	assert_non_null(strstr(json_string_value(json_object_get(row, "last_error")),
			       "lease of worker crashed expired"));
	json_decref(row);
	jobs_job_free(held);
	jobs_job_free(taken);
}

static void test_backoff_and_dead(void **state)
{
	struct fixture *f = *state;
	/* Backoff bounds, real random: base * 2^(n-1) capped, at least half of it. */
	const int64_t expected[] = { 1000, 2000, 4000, 8000, 10000, 10000 };
	for (int attempts = 1; attempts <= 6; attempts++) {
		for (int i = 0; i < 50; i++) {
			int64_t d = jobs_backoff_ms(f->jobs, attempts);
			int64_t full = expected[attempts - 1];
			assert_true(d >= full - full / 2 && d <= full);
		}
	}

	f->fixed_random = true;
	f->random_value = 0; /* jitter at its minimum: exactly half */
	make_queue(f, 3);
	char id[STORE_ID_SIZE];
	OK(jobs_enqueue(f->jobs, "k", NULL, 0, id, e));
	const int64_t waits[] = { 500, 1000 };
	for (int attempt = 1; attempt <= 3; attempt++) {
		struct jobs_job *job = lease(f, "w", NULL);
		assert_non_null(job);
		assert_int_equal(job->attempts, attempt);
		if (attempt > 1)
			assert_string_equal(job->last_error, "boom");
		bool dead = false;
		OK(jobs_fail(f->jobs, id, "w", "boom", &dead, e));
		jobs_job_free(job);
		json_t *row = get(f, id);
		if (attempt < 3) {
			assert_false(dead);
			assert_string_equal(state_of(row), "queued");
			int64_t run_at = json_integer_value(json_object_get(row, "run_at"));
			assert_true(run_at == atomic_load(&f->now) + waits[attempt - 1]);
			advance(f, waits[attempt - 1] - 1);
			assert_null(lease(f, "w", NULL)); /* not before its time */
			advance(f, 1);
		} else {
			assert_true(dead);
			assert_string_equal(state_of(row), "dead");
			assert_string_equal(json_string_value(json_object_get(row, "last_error")),
					    "boom");
		}
		json_decref(row);
	}
	advance(f, 3600 * 1000);
	assert_null(lease(f, "w", NULL));
	assert_counts(f, 0, 0, 0, 1);

	/* A job whose worker dies on the last attempt is dead too, not leased again. */
	f->random_value = UINT32_MAX;
	make_queue(f, 1);
	OK(jobs_enqueue(f->jobs, "k", NULL, 0, id, e));
	struct jobs_job *job = lease(f, "w", NULL);
	assert_non_null(job);
	jobs_job_free(job);
	advance(f, 31000);
	assert_null(lease(f, "w", NULL));
	json_t *row = get(f, id);
	assert_string_equal(state_of(row), "dead");
	json_decref(row);
	assert_counts(f, 0, 0, 0, 2);
}

static void test_release_and_enqueue_in_a_transaction(void **state)
{
	struct fixture *f = *state;
	char id[STORE_ID_SIZE];
	OK(jobs_enqueue(f->jobs, "k", NULL, 0, id, e));
	struct jobs_job *job = lease(f, "shutting-down", NULL);
	int64_t released = 0;
	OK(jobs_release(f->jobs, "shutting-down", &released, e));
	assert_int_equal(released, 1);
	json_t *row = get(f, id);
	assert_string_equal(state_of(row), "queued");
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 0);
	json_decref(row);
	jobs_job_free(job);
	job = lease(f, "w", NULL); /* at once, no backoff */
	assert_non_null(job);
	assert_int_equal(job->attempts, 1);
	jobs_job_free(job);

	struct store_tx *tx;
	char in_tx[STORE_ID_SIZE];
	OK(store_tx_begin(f->store, &tx, e));
	OK(jobs_enqueue_tx(f->jobs, tx, "k", NULL, 0, in_tx, e));
	store_tx_rollback(tx);
	json_t *missing = NULL;
	OK(jobs_get(f->jobs, in_tx, &missing, e));
	assert_null(missing);
	OK(store_tx_begin(f->store, &tx, e));
	OK(jobs_enqueue_tx(f->jobs, tx, "k", NULL, 0, in_tx, e));
	OK(store_tx_commit(tx, e));
	row = get(f, in_tx);
	assert_string_equal(state_of(row), "queued");
	json_decref(row);
}

enum { RACE_JOBS = 150, RACE_WORKERS = 6 };

struct racer {
	struct fixture *fixture;
	char name[32];
	char (*ids)[STORE_ID_SIZE];
	size_t count;
	int failures;
	char msg[1024];
};

static void *race_worker(void *arg)
{
	struct racer *r = arg;
	r->ids = xcalloc(RACE_JOBS, sizeof(*r->ids));
	for (;;) {
		struct err fail = ERR_INIT;
		struct jobs_job *job = NULL;
		if (jobs_lease(r->fixture->jobs, r->name, NULL, 60, &job, &fail) != 0) {
			r->failures++;
			snprintf(r->msg, sizeof(r->msg), "%s", fail.msg);
			break;
		}
		if (!job)
			break;
		memcpy(r->ids[r->count++], job->id, STORE_ID_SIZE);
		if (jobs_complete(r->fixture->jobs, job->id, r->name, &fail) != 0) {
			r->failures++;
			snprintf(r->msg, sizeof(r->msg), "%s", fail.msg);
		}
		jobs_job_free(job);
	}
	return NULL;
}

static int compare_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_workers_never_share_a_job(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < RACE_JOBS; i++)
		OK(jobs_enqueue(f->jobs, "k", NULL, 0, NULL, e));
	struct racer racers[RACE_WORKERS];
	pthread_t threads[RACE_WORKERS];
	for (int i = 0; i < RACE_WORKERS; i++) {
		racers[i] = (struct racer){ .fixture = f };
		snprintf(racers[i].name, sizeof(racers[i].name), "worker-%d", i);
		pthread_create(&threads[i], NULL, race_worker, &racers[i]);
	}
	char(*all)[STORE_ID_SIZE] = xcalloc(RACE_JOBS * RACE_WORKERS, sizeof(*all));
	size_t total = 0;
	for (int i = 0; i < RACE_WORKERS; i++) {
		pthread_join(threads[i], NULL);
		if (racers[i].failures)
			fail_msg("%s: %s", racers[i].name, racers[i].msg);
		memcpy(all[total], racers[i].ids, racers[i].count * STORE_ID_SIZE);
		total += racers[i].count;
		free(racers[i].ids);
	}
	assert_int_equal(total, RACE_JOBS);
	qsort(all, total, STORE_ID_SIZE, compare_ids);
	for (size_t i = 1; i < total; i++)
		assert_true(strcmp(all[i - 1], all[i]) != 0);
	free(all);
	assert_counts(f, 0, 0, RACE_JOBS, 0);
}

#define JOBS_TESTS(setup)                                                                          \
	{                                                                                          \
		cmocka_unit_test_setup_teardown(test_enqueue_lease_complete, setup, teardown),     \
			cmocka_unit_test_setup_teardown(test_due_time_and_order, setup, teardown), \
			cmocka_unit_test_setup_teardown(test_expired_lease_returns_the_job, setup, \
							teardown),                                 \
			cmocka_unit_test_setup_teardown(test_backoff_and_dead, setup, teardown),   \
			cmocka_unit_test_setup_teardown(test_release_and_enqueue_in_a_transaction, \
							setup, teardown),                          \
			cmocka_unit_test_setup_teardown(test_workers_never_share_a_job, setup,     \
							teardown),                                 \
	}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest sqlite[] = JOBS_TESTS(setup_sqlite);
	const struct CMUnitTest postgres[] = JOBS_TESTS(setup_pg);
	int failed = cmocka_run_group_tests_name("jobs_sqlite", sqlite, NULL, NULL);
	failed += cmocka_run_group_tests_name("jobs_postgres", postgres, group_setup_pg,
					      group_teardown_pg);
	return failed ? 1 : 0;
}
