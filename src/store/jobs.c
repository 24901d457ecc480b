#include "store/jobs.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_DEFAULT_MAX_ATTEMPTS 5
#define JOBS_DEFAULT_BACKOFF_BASE 1000
#define JOBS_DEFAULT_BACKOFF_MAX  (3600 * 1000)
/* Dead jobs skipped in one lease call before giving up for this round. */
#define JOBS_LEASE_SCAN_LIMIT 64

struct jobs {
	struct store *store;
	struct jobs_options options;
};

struct jobs *jobs_new(struct store *store, const struct jobs_options *options)
{
	struct jobs *jobs = xcalloc(1, sizeof(*jobs));
	jobs->store = store;
	if (options)
		jobs->options = *options;
	if (jobs->options.max_attempts <= 0)
		jobs->options.max_attempts = JOBS_DEFAULT_MAX_ATTEMPTS;
	if (jobs->options.backoff_base_ms <= 0)
		jobs->options.backoff_base_ms = JOBS_DEFAULT_BACKOFF_BASE;
	if (jobs->options.backoff_max_ms <= 0)
		jobs->options.backoff_max_ms = JOBS_DEFAULT_BACKOFF_MAX;
	return jobs;
}

void jobs_free(struct jobs *jobs)
{
	free(jobs);
}

int64_t jobs_now_ms(const struct jobs *jobs)
{
	return jobs->options.now_ms ? jobs->options.now_ms(jobs->options.ctx) : store_now_ms();
}

static uint32_t jobs_random(const struct jobs *jobs)
{
	return jobs->options.random ? jobs->options.random(jobs->options.ctx)
				    : randombytes_random();
}

int64_t jobs_backoff_ms(struct jobs *jobs, int attempts)
{
	int64_t delay = jobs->options.backoff_base_ms, cap = jobs->options.backoff_max_ms;
	for (int i = 1; i < attempts && delay < cap; i++)
		delay *= 2;
	if (delay > cap)
		delay = cap;
	/* "Equal jitter": at least half the delay, so retries still back off,
	 * and the rest random, so failed jobs do not return in lockstep. */
	int64_t half = delay / 2;
	return delay - half + (int64_t)(jobs_random(jobs) % (uint64_t)(half + 1));
}

/* ---- enqueue ---- */

static const char enqueue_sql[] =
	"INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_at, "
	"created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, ?)";

static int enqueue(struct jobs *jobs, struct store_tx *tx, const char *kind, const json_t *payload,
		   int64_t run_at_ms, char id_out[STORE_ID_SIZE], struct err *e)
{
	if (!kind || !*kind)
		return err_set(e, "job kind is empty");
	char id[STORE_ID_SIZE];
	store_new_id(id);
	char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int64_t now = jobs_now_ms(jobs);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(kind),
		STORE_TEXT_PARAM(text ? text : "{}"),
		STORE_INT_PARAM(jobs->options.max_attempts),
		STORE_INT_PARAM(run_at_ms > 0 ? run_at_ms : now),
		STORE_INT_PARAM(now),
		STORE_INT_PARAM(now),
	};
	size_t count = sizeof(params) / sizeof(params[0]);
	int rc = tx ? store_tx_exec(tx, enqueue_sql, params, count, NULL, e)
		    : store_exec(jobs->store, enqueue_sql, params, count, NULL, e);
	free(text);
	if (rc != 0)
		return err_prefix(e, "cannot queue a '%s' job", kind);
	if (id_out)
		memcpy(id_out, id, STORE_ID_SIZE);
	return 0;
}

int jobs_enqueue(struct jobs *jobs, const char *kind, const json_t *payload, int64_t run_at_ms,
		 char id[STORE_ID_SIZE], struct err *e)
{
	return enqueue(jobs, NULL, kind, payload, run_at_ms, id, e);
}

int jobs_enqueue_tx(struct jobs *jobs, struct store_tx *tx, const char *kind, const json_t *payload,
		    int64_t run_at_ms, char id[STORE_ID_SIZE], struct err *e)
{
	return enqueue(jobs, tx, kind, payload, run_at_ms, id, e);
}

/* ---- lease ---- */

void jobs_job_free(struct jobs_job *job)
{
	if (!job)
		return;
	free(job->kind);
	free(job->last_error);
	json_decref(job->payload);
	free(job);
}

static json_t *parse_payload(const char *text)
{
	json_t *value = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return value ? value : json_object();
}

static struct jobs_job *job_from_row(const json_t *row, int64_t lease_expires_at)
{
	struct jobs_job *job = xcalloc(1, sizeof(*job));
	const char *id = json_string_value(json_object_get(row, "id"));
	snprintf(job->id, sizeof(job->id), "%s", id ? id : "");
	const char *kind = json_string_value(json_object_get(row, "kind"));
	job->kind = xstrdup(kind ? kind : "");
	job->payload = parse_payload(json_string_value(json_object_get(row, "payload")));
	job->attempts = (int)json_integer_value(json_object_get(row, "attempts")) + 1;
	job->max_attempts = (int)json_integer_value(json_object_get(row, "max_attempts"));
	job->run_at_ms = json_integer_value(json_object_get(row, "run_at"));
	job->lease_expires_at_ms = lease_expires_at;
	const char *last_error = json_string_value(json_object_get(row, "last_error"));
	job->last_error = last_error ? xstrdup(last_error) : NULL;
	return job;
}

static void build_lease_query(struct jobs *jobs, const char *const *kinds, struct buf *sql)
{
	buf_adds(sql, "SELECT id, kind, payload, state, attempts, max_attempts, run_at, "
		      "lease_owner, last_error FROM jobs WHERE ((state = 'queued' AND run_at <= ?) "
		      "OR (state = 'running' AND lease_expires_at <= ?))");
	if (kinds && kinds[0]) {
		buf_adds(sql, " AND kind IN (");
		for (size_t i = 0; kinds[i]; i++)
			buf_adds(sql, i ? ", ?" : "?");
		buf_adds(sql, ")");
	}
	buf_adds(sql, " ORDER BY run_at, id LIMIT 1");
	/* PostgreSQL: concurrent workers skip each other's candidate rows instead
	 * of queueing on them; SQLite has one writer, so no one else is looking. */
	if (store_kind(jobs->store) == STORE_POSTGRES)
		buf_adds(sql, " FOR UPDATE SKIP LOCKED");
}

static int take_job(struct jobs *jobs, struct store_tx *tx, const json_t *row, const char *worker,
		    int lease_seconds, int64_t now, struct jobs_job **job, struct err *e)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	bool expired = str_eq(json_string_value(json_object_get(row, "state")), "running");
	int64_t attempts = json_integer_value(json_object_get(row, "attempts"));
	int64_t max_attempts = json_integer_value(json_object_get(row, "max_attempts"));
	struct buf message = BUF_INIT;
	if (expired) {
		const char *owner = json_string_value(json_object_get(row, "lease_owner"));
		buf_addf(&message, "lease of worker %s expired", owner ? owner : "?");
	}
	int rc;
	if (expired && attempts >= max_attempts) {
		/* The worker died on the last attempt: the job is what kills workers. */
		buf_adds(&message, " on the last attempt");
		struct store_param params[] = {
			STORE_TEXT_PARAM(buf_cstr(&message)),
			STORE_INT_PARAM(now),
			STORE_INT_PARAM(now),
			STORE_TEXT_PARAM(id),
		};
		rc = store_tx_exec(tx,
				   "UPDATE jobs SET state = 'dead', lease_owner = NULL, "
				   "lease_expires_at = NULL, last_error = ?, finished_at = ?, "
				   "updated_at = ? WHERE id = ?",
				   params, 4, NULL, e);
		buf_free(&message);
		return rc;
	}
	int64_t lease_expires_at = now + (int64_t)lease_seconds * 1000;
	struct store_param params[] = {
		STORE_TEXT_PARAM(worker),
		STORE_INT_PARAM(lease_expires_at),
		expired ? STORE_TEXT_PARAM(buf_cstr(&message)) : STORE_NULL_PARAM,
		STORE_INT_PARAM(now),
		STORE_TEXT_PARAM(id),
	};
	rc = store_tx_exec(tx,
			   "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
			   "lease_owner = ?, lease_expires_at = ?, last_error = COALESCE(?, "
			   "last_error), updated_at = ? WHERE id = ?",
			   params, 5, NULL, e);
	buf_free(&message);
	if (rc == 0)
		*job = job_from_row(row, lease_expires_at);
	return rc;
}

int jobs_lease(struct jobs *jobs, const char *worker, const char *const *kinds, int lease_seconds,
	       struct jobs_job **job, struct err *e)
{
	*job = NULL;
	if (!worker || !*worker)
		return err_set(e, "lease: the worker name is empty");
	if (lease_seconds <= 0)
		return err_set(e, "lease: lease_seconds must be positive, not %d", lease_seconds);
	int64_t now = jobs_now_ms(jobs);
	struct buf sql = BUF_INIT;
	build_lease_query(jobs, kinds, &sql);
	size_t count = 2;
	while (kinds && kinds[count - 2])
		count++;
	struct store_param *params = xcalloc(count, sizeof(*params));
	params[0] = STORE_INT_PARAM(now);
	params[1] = STORE_INT_PARAM(now);
	for (size_t i = 2; i < count; i++)
		params[i] = STORE_TEXT_PARAM(kinds[i - 2]);

	struct store_tx *tx;
	int rc = store_tx_begin(jobs->store, &tx, e);
	for (int round = 0; rc == 0 && !*job && round < JOBS_LEASE_SCAN_LIMIT; round++) {
		json_t *row = NULL;
		rc = store_tx_query_one(tx, buf_cstr(&sql), params, count, &row, e);
		if (rc != 0 || !row)
			break;
		rc = take_job(jobs, tx, row, worker, lease_seconds, now, job, e);
		json_decref(row);
	}
	if (tx && rc == 0)
		rc = store_tx_commit(tx, e);
	else if (tx)
		store_tx_rollback(tx);
	if (rc != 0) {
		jobs_job_free(*job);
		*job = NULL;
		err_prefix(e, "cannot lease a job");
	}
	free(params);
	buf_free(&sql);
	return rc;
}

/* ---- finishing ---- */

static int lease_lost(const char *id, const char *worker, struct err *e)
{
	return err_set(e,
		       "job %s: worker %s no longer holds its lease (it expired and was taken, "
		       "or the job finished)",
		       id, worker);
}

int jobs_heartbeat(struct jobs *jobs, const char *id, const char *worker, int lease_seconds,
		   struct err *e)
{
	if (lease_seconds <= 0)
		return err_set(e, "job %s: lease_seconds must be positive, not %d", id,
			       lease_seconds);
	int64_t now = jobs_now_ms(jobs), changed = 0;
	struct store_param params[] = {
		STORE_INT_PARAM(now + (int64_t)lease_seconds * 1000),
		STORE_INT_PARAM(now),
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(worker),
	};
	if (store_exec(jobs->store,
		       "UPDATE jobs SET lease_expires_at = ?, updated_at = ? WHERE id = ? AND "
		       "lease_owner = ? AND state = 'running'",
		       params, 4, &changed, e) != 0)
		return err_prefix(e, "job %s: cannot extend the lease", id);
	return changed ? 0 : lease_lost(id, worker, e);
}

int jobs_complete(struct jobs *jobs, const char *id, const char *worker, struct err *e)
{
	int64_t now = jobs_now_ms(jobs), changed = 0;
	struct store_param params[] = {
		STORE_INT_PARAM(now),
		STORE_INT_PARAM(now),
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(worker),
	};
	if (store_exec(jobs->store,
		       "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = "
		       "NULL, finished_at = ?, updated_at = ? WHERE id = ? AND lease_owner = ? AND "
		       "state = 'running'",
		       params, 4, &changed, e) != 0)
		return err_prefix(e, "job %s: cannot mark it done", id);
	return changed ? 0 : lease_lost(id, worker, e);
}

int jobs_fail(struct jobs *jobs, const char *id, const char *worker, const char *error, bool *dead,
	      struct err *e)
{
	json_t *row = NULL;
	struct store_param key[] = { STORE_TEXT_PARAM(id), STORE_TEXT_PARAM(worker) };
	if (store_query_one(jobs->store,
			    "SELECT attempts, max_attempts FROM jobs WHERE id = ? AND "
			    "lease_owner = ? AND state = 'running'",
			    key, 2, &row, e) != 0)
		return err_prefix(e, "job %s: cannot record the failure", id);
	if (!row)
		return lease_lost(id, worker, e);
	int attempts = (int)json_integer_value(json_object_get(row, "attempts"));
	int max_attempts = (int)json_integer_value(json_object_get(row, "max_attempts"));
	json_decref(row);
	bool is_dead = attempts >= max_attempts;
	int64_t now = jobs_now_ms(jobs), changed = 0;
	struct store_param params[] = {
		STORE_TEXT_PARAM(is_dead ? "dead" : "queued"),
		STORE_INT_PARAM(is_dead ? now : now + jobs_backoff_ms(jobs, attempts)),
		STORE_TEXT_PARAM(error ? error : "failed"),
		is_dead ? STORE_INT_PARAM(now) : STORE_NULL_PARAM,
		STORE_INT_PARAM(now),
		STORE_TEXT_PARAM(id),
		STORE_TEXT_PARAM(worker),
	};
	/* Guarded by the owner again: the lease may expire between the two statements. */
	if (store_exec(jobs->store,
		       "UPDATE jobs SET state = ?, run_at = ?, last_error = ?, finished_at = ?, "
		       "lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ? "
		       "AND lease_owner = ? AND state = 'running'",
		       params, 7, &changed, e) != 0)
		return err_prefix(e, "job %s: cannot record the failure", id);
	if (!changed)
		return lease_lost(id, worker, e);
	if (dead)
		*dead = is_dead;
	return 0;
}

int jobs_release(struct jobs *jobs, const char *worker, int64_t *released, struct err *e)
{
	int64_t changed = 0;
	struct store_param params[] = {
		STORE_INT_PARAM(jobs_now_ms(jobs)),
		STORE_TEXT_PARAM(worker),
	};
	if (store_exec(jobs->store,
		       "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = "
		       "NULL, lease_expires_at = NULL, updated_at = ? WHERE lease_owner = ? AND "
		       "state = 'running'",
		       params, 2, &changed, e) != 0)
		return err_prefix(e, "cannot release the leases of worker %s", worker);
	if (released)
		*released = changed;
	return 0;
}

/* ---- reading ---- */

int jobs_get(struct jobs *jobs, const char *id, json_t **row, struct err *e)
{
	struct store_param key = STORE_TEXT_PARAM(id);
	if (store_query_one(jobs->store,
			    "SELECT id, kind, payload, state, attempts, max_attempts, run_at, "
			    "lease_owner, lease_expires_at, last_error, created_at, updated_at, "
			    "finished_at FROM jobs WHERE id = ?",
			    &key, 1, row, e) != 0)
		return err_prefix(e, "cannot read job %s", id);
	if (*row)
		json_object_set_new(
			*row, "payload",
			parse_payload(json_string_value(json_object_get(*row, "payload"))));
	return 0;
}

int jobs_count_by_state(struct jobs *jobs, struct jobs_counts *counts, struct err *e)
{
	json_t *rows = NULL;
	memset(counts, 0, sizeof(*counts));
	if (store_query(jobs->store, "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state", NULL,
			0, &rows, e) != 0)
		return err_prefix(e, "cannot count jobs");
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *state = json_string_value(json_object_get(row, "state"));
		int64_t n = json_integer_value(json_object_get(row, "n"));
		if (!state)
			continue;
		if (strcmp(state, "queued") == 0)
			counts->queued = n;
		else if (strcmp(state, "running") == 0)
			counts->running = n;
		else if (strcmp(state, "done") == 0)
			counts->done = n;
		else if (strcmp(state, "dead") == 0)
			counts->dead = n;
	}
	json_decref(rows);
	return 0;
}
