/*
 * The intelligence API on both drivers: a real git repository (a small
 * Express app) registered as a repositories row, its analysis queued and
 * run by the job handler (twice, as after a crash), suggestions listed,
 * accepted, rejected and applied as a branch made with plumbing (the
 * working tree, index and HEAD untouched), and who may see or change what.
 */
#include "api/intelligence.h"
#include "api/intelligence_internal.h"
#include "store/jobs.h"
#include "unit/api_auth_harness.h"
#include "util/spawn.h"
#include "util/str.h"

#include <sys/stat.h>

/* What one test case adds to the harness' fixture. */
static struct {
	char repo_parent[256]; /* temp dir holding the git repositories */
	char repo[300];	       /* the Express app */
	char repo_id[STORE_ID_SIZE];
	struct jobs *jobs;
	char *root_token, *dev_token, *viewer_token, *stranger_token;
} t;

#define OK(call)                                                  \
	do {                                                      \
		struct err e_ = ERR_INIT;                         \
		struct err *e = &e_;                              \
		if ((call) != 0)                                  \
			fail_msg("%s failed: %s", #call, e_.msg); \
	} while (0)

/* Runs git in dir; returns its stdout (trimmed, a new string) and checks the exit status. */
static char *git_out(const char *dir, const char *const *args)
{
	const char *argv[16] = { "git", "-C", dir };
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	if (spawn_capture(argv, NULL, &out, NULL, &e) != 0)
		fail_msg("git %s: %s", args[0], e.msg);
	buf_rtrim(&out);
	return buf_detach(&out);
}

#define GIT(dir, ...) free(git_out((dir), (const char *const[]){ __VA_ARGS__, NULL }))

/* Exit status of git in dir (output discarded). */
static int git_status(const char *dir, const char *const *args)
{
	const char *argv[16] = { "git", "-C", dir };
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	int code = -1;
	if (spawn_capture(argv, NULL, &out, &code, &e) != 0)
		fail_msg("git %s: %s", args[0], e.msg);
	buf_free(&out);
	return code;
}

static void write_file(const char *dir, const char *name, const char *content)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	buf_adds(&text, content);
	struct err e = ERR_INIT;
	if (buf_write_file(&text, buf_cstr(&path), &e) != 0)
		fail_msg("write %s: %s", buf_cstr(&path), e.msg);
	buf_free(&path);
	buf_free(&text);
}

static const char package_json[] =
	"{\n  \"name\": \"hello-express\",\n  \"version\": \"1.0.0\",\n"
	"  \"scripts\": { \"start\": \"node index.js\", \"test\": \"node --test\" },\n"
	"  \"dependencies\": { \"express\": \"^4.19.2\" }\n}\n";
static const char package_lock[] =
	"{\n  \"name\": \"hello-express\",\n  \"version\": \"1.0.0\",\n"
	"  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n"
	"    \"\": { \"name\": \"hello-express\", \"version\": \"1.0.0\",\n"
	"      \"dependencies\": { \"express\": \"^4.19.2\" } },\n"
	"    \"node_modules/express\": { \"version\": \"419.2\" }\n  }\n}\n";
static const char index_js[] = "const express = require('express');\n"
			       "const app = express();\n"
			       "app.get('/', (req, res) => res.send('hello'));\n"
			       "app.listen(process.env.PORT || 3000);\n";

/* A new git repository at dir with the Express app, committed when commit is set. */
static void make_repo(const char *dir, bool commit)
{
	if (mkdir(dir, 0700) != 0)
		fail_msg("mkdir %s", dir);
	GIT(dir, "init", "-q", "-b", "main");
	write_file(dir, "package.json", package_json);
	write_file(dir, "package-lock.json", package_lock);
	write_file(dir, "index.js", index_js);
	if (commit) {
		GIT(dir, "add", "-A");
		GIT(dir, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "-c",
		    "commit.gpgsign=false", "commit", "-q", "-m", "first");
	}
}

static void user_id(struct fixture *f, const char *name, char out[STORE_ID_SIZE])
{
	struct store_param p = STORE_TEXT_PARAM(name);
	json_t *row = NULL;
	OK(store_query_one(f->store, "SELECT id FROM users WHERE name = ?", &p, 1, &row, e));
	assert_non_null(row);
	snprintf(out, STORE_ID_SIZE, "%s", json_string_value(json_object_get(row, "id")));
	json_decref(row);
}

/* A repositories row as the repositories module would make it. */
static void insert_repository(struct fixture *f, char id[STORE_ID_SIZE], const char *name,
			      const char *path, const char *state)
{
	char owner[STORE_ID_SIZE];
	user_id(f, "root", owner);
	store_new_id(id);
	struct store_param params[] = {
		STORE_TEXT_PARAM(id),	STORE_TEXT_PARAM(name), STORE_TEXT_PARAM(owner),
		STORE_TEXT_PARAM(path), STORE_TEXT_PARAM(path), STORE_TEXT_PARAM(state),
		STORE_INT_PARAM(1000),	STORE_INT_PARAM(1000),
	};
	OK(store_exec(f->store,
		      "INSERT INTO repositories (id, name, owner_id, source_kind, source, path, "
		      "default_branch, state, created_at, updated_at) VALUES (?, ?, ?, 'path', ?, "
		      "?, 'main', ?, ?, ?)",
		      params, 8, NULL, e));
}

static void bind_role(struct fixture *f, const char *user, const char *role, const char *project)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"user\":\"%s\",\"role\":\"%s\",\"project\":\"%s\"}", user,
		 role, project);
	struct reply r = POST(f, "/api/v1/role-bindings", t.root_token, body);
	expect_status(&r, 201, "bind");
	reply_free(&r);
}

static int setup_intel(void **state, int (*base)(void **))
{
	memset(&t, 0, sizeof(t));
	if (base(state) != 0)
		return -1;
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	t.jobs = jobs_new(f->store, NULL);
	f->ctx.jobs = t.jobs;
	if (api_intelligence_register(f->router, &f->ctx, &e) != 0) {
		print_error("api_intelligence_register: %s\n", e.msg);
		return -1;
	}
	snprintf(t.repo_parent, sizeof(t.repo_parent), "/tmp/ampel-intel-XXXXXX");
	if (!mkdtemp(t.repo_parent))
		return -1;
	snprintf(t.repo, sizeof(t.repo), "%s/hello", t.repo_parent);
	make_repo(t.repo, true);
	create_user(f, "root", true);
	create_user(f, "dev", false);
	create_user(f, "viewer", false);
	create_user(f, "stranger", false);
	t.root_token = login_token(f, "root");
	t.dev_token = login_token(f, "dev");
	t.viewer_token = login_token(f, "viewer");
	t.stranger_token = login_token(f, "stranger");
	insert_repository(f, t.repo_id, "hello", t.repo, "ready");
	bind_role(f, "dev", "developer", t.repo_id);
	bind_role(f, "viewer", "viewer", t.repo_id);
	return 0;
}

static int setup_intel_sqlite(void **state)
{
	return setup_intel(state, setup_sqlite);
}

static int setup_intel_pg(void **state)
{
	return setup_intel(state, setup_pg);
}

static int teardown_intel(void **state)
{
	jobs_free(t.jobs);
	free(t.root_token);
	free(t.dev_token);
	free(t.viewer_token);
	free(t.stranger_token);
	if (t.repo_parent[0])
		nftw(t.repo_parent, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return teardown(state);
}

/* POSTs an analysis request for repo and returns the job id (a new string). */
static char *request_analysis(struct fixture *f, const char *repo, const char *token)
{
	char path[160];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/analysis", repo);
	struct reply r = POST(f, path, token, "");
	expect_status(&r, 202, "POST analysis");
	const char *job_id = body_str(&r, "job_id");
	assert_non_null(job_id);
	char *copy = xstrdup(job_id);
	reply_free(&r);
	return copy;
}

/* Leases the next analysis job, checks it is job_id, and runs the handler on it. */
static struct jobs_job *lease_and_run(struct fixture *f, const char *job_id)
{
	static const char *const kinds[] = { INTELLIGENCE_ANALYSIS_JOB, NULL };
	struct jobs_job *job = NULL;
	OK(jobs_lease(t.jobs, "test-worker", kinds, 60, &job, e));
	assert_non_null(job);
	assert_string_equal(job->id, job_id);
	OK(intelligence_run_analysis(&f->ctx, job, e));
	return job;
}

/* Queues and runs one analysis of the Express repository. */
static void analyse(struct fixture *f)
{
	char *job_id = request_analysis(f, t.repo_id, t.dev_token);
	struct jobs_job *job = lease_and_run(f, job_id);
	OK(jobs_complete(t.jobs, job->id, "test-worker", e));
	jobs_job_free(job);
	free(job_id);
}

static int count_rows(struct fixture *f, const char *statement, const char *param)
{
	struct store_param p = STORE_TEXT_PARAM(param);
	json_t *row = NULL;
	OK(store_query_one(f->store, statement, &p, 1, &row, e));
	int n = (int)json_integer_value(json_object_get(row, "n"));
	json_decref(row);
	return n;
}

/* The items of GET /repositories/{repo}/suggestions?query (a new reference). */
static json_t *list_suggestions(struct fixture *f, const char *token, const char *query)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/suggestions%s%s", t.repo_id,
		 query ? "?" : "", query ? query : "");
	struct reply r = GET(f, path, token);
	expect_status(&r, 200, path);
	json_t *items = json_incref(json_object_get(r.body, "items"));
	assert_true(json_is_array(items));
	reply_free(&r);
	return items;
}

/* The suggestion of a type and provider (and target, when not NULL) in items, or NULL. */
static const json_t *find_suggestion(const json_t *items, const char *type, const char *provider,
				     const char *target)
{
	size_t i;
	const json_t *item;
	json_array_foreach(items, i, item)
	{
		if (str_eq(json_string_value(json_object_get(item, "type")), type) &&
		    str_eq(json_string_value(json_object_get(item, "provider")), provider) &&
		    (!target || str_eq(json_string_value(json_object_get(item, "target")), target)))
			return item;
	}
	return NULL;
}

/* The id of the GitHub CI suggestion (a new string). */
static char *github_ci_id(struct fixture *f)
{
	json_t *items = list_suggestions(f, t.dev_token, "type=ci");
	const json_t *github = find_suggestion(items, "ci", "github", NULL);
	assert_non_null(github);
	char *id = xstrdup(json_string_value(json_object_get(github, "id")));
	json_decref(items);
	return id;
}

static struct reply suggestion_call(struct fixture *f, const char *method, const char *id,
				    const char *action, const char *token)
{
	char path[200];
	snprintf(path, sizeof(path), "/api/v1/suggestions/%s%s%s", id, action ? "/" : "",
		 action ? action : "");
	return call(f, NULL, method, path, token, strcmp(method, "POST") == 0 ? "" : NULL, NULL);
}

static void test_analysis_job_and_suggestions(void **state)
{
	struct fixture *f = *state;
	char path[160];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/analysis", t.repo_id);
	struct reply r = GET(f, path, t.dev_token);
	expect_status(&r, 404, "GET analysis before any");
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "message")),
		"POST"));
	reply_free(&r);

	char *job_id = request_analysis(f, t.repo_id, t.dev_token);
	assert_int_equal(audit_count(f, "analysis.request", NULL), 1);
	struct jobs_job *job = lease_and_run(f, job_id);

	r = GET(f, path, t.viewer_token);
	expect_status(&r, 200, "GET analysis");
	const json_t *document = json_object_get(r.body, "document");
	assert_string_equal(json_string_value(json_object_get(document, "schema")),
			    "ampel.analysis/v1");
	assert_string_equal(json_string_value(json_object_get(document, "root")), "hello");
	const json_t *root_project = json_array_get(json_object_get(document, "projects"), 0);
	assert_string_equal(json_string_value(json_object_get(root_project, "primary_language")),
			    "javascript");
	char *head = git_out(t.repo, (const char *const[]){ "rev-parse", "HEAD", NULL });
	assert_string_equal(body_str(&r, "commit_sha"), head);
	assert_string_equal(body_str(&r, "job_id"), job_id);
	char *analysis_id = xstrdup(body_str(&r, "id"));
	reply_free(&r);

	json_t *all = list_suggestions(f, t.dev_token, NULL);
	json_t *ci = list_suggestions(f, t.dev_token, "type=ci");
	json_t *cd = list_suggestions(f, t.dev_token, "type=cd");
	json_t *also_all = list_suggestions(f, t.viewer_token, "type=all&status=pending");
	assert_true(json_array_size(ci) >= 1);
	assert_true(json_array_size(cd) >= 2);
	assert_int_equal(json_array_size(all), json_array_size(ci) + json_array_size(cd));
	assert_int_equal(json_array_size(also_all), json_array_size(all));
	const json_t *github = find_suggestion(ci, "ci", "github", NULL);
	assert_non_null(github);
	assert_non_null(strstr(json_string_value(json_object_get(github, "title")),
			       "CI with GitHub Actions for express"));
	assert_string_equal(json_string_value(json_object_get(github, "status")), "pending");
	assert_string_equal(json_string_value(json_object_get(github, "analysis_id")), analysis_id);
	/* Lists carry paths, not contents. */
	assert_null(json_object_get(github, "files"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(github, "paths"), 0)),
			    ".github/workflows/ci.yml");
	size_t i;
	const json_t *item;
	json_array_foreach(ci, i, item)
		assert_string_equal(json_string_value(json_object_get(item, "type")), "ci");
	json_array_foreach(cd, i, item)
		assert_string_equal(json_string_value(json_object_get(item, "type")), "cd");
	const json_t *flyio = find_suggestion(cd, "cd", "github", "flyio");
	assert_non_null(flyio);
	assert_non_null(find_suggestion(cd, "cd", "github", "kubernetes"));
	assert_non_null(find_suggestion(cd, "cd", "docker", NULL));
	/* A deployment builds an image: the Dockerfile comes with it when there is none. */
	bool has_dockerfile = false, has_fly_toml = false;
	json_array_foreach(json_object_get(flyio, "paths"), i, item)
	{
		has_dockerfile |= str_eq(json_string_value(item), "Dockerfile");
		has_fly_toml |= str_eq(json_string_value(item), "fly.toml");
	}
	assert_true(has_dockerfile);
	assert_true(has_fly_toml);

	/* The detail has the files. */
	r = suggestion_call(f, "GET", json_string_value(json_object_get(github, "id")), NULL,
			    t.viewer_token);
	expect_status(&r, 200, "GET suggestion");
	const json_t *file = json_array_get(json_object_get(r.body, "files"), 0);
	assert_string_equal(json_string_value(json_object_get(file, "path")),
			    ".github/workflows/ci.yml");
	assert_non_null(strstr(json_string_value(json_object_get(file, "content")), "npm ci"));
	reply_free(&r);

	/* The same job again (a crash before it was marked done): nothing new. */
	OK(intelligence_run_analysis(&f->ctx, job, e));
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM analyses WHERE repository_id = ?",
				    t.repo_id),
			 1);
	json_t *again = list_suggestions(f, t.dev_token, NULL);
	assert_int_equal(json_array_size(again), json_array_size(all));
	assert_int_equal(count_rows(f,
				    "SELECT COUNT(*) AS n FROM suggestions WHERE repository_id = ?",
				    t.repo_id),
			 (int)json_array_size(all));

	json_decref(again);
	json_decref(all);
	json_decref(ci);
	json_decref(cd);
	json_decref(also_all);
	jobs_job_free(job);
	free(analysis_id);
	free(head);
	free(job_id);
}

static void test_apply_commits_on_a_new_branch(void **state)
{
	struct fixture *f = *state;
	analyse(f);
	char *id = github_ci_id(f);
	char *head_before = git_out(t.repo, (const char *const[]){ "rev-parse", "HEAD", NULL });
	char *branch_before =
		git_out(t.repo, (const char *const[]){ "symbolic-ref", "HEAD", NULL });
	/* Someone's uncommitted work must survive. */
	write_file(t.repo, "notes.txt", "work in progress\n");
	char *status_before =
		git_out(t.repo, (const char *const[]){ "status", "--porcelain", NULL });

	struct reply r = suggestion_call(f, "POST", id, "apply", t.viewer_token);
	expect_status(&r, 403, "apply by a viewer");
	reply_free(&r);

	r = suggestion_call(f, "POST", id, "apply", t.dev_token);
	expect_status(&r, 200, "apply");
	const char *branch = body_str(&r, "branch");
	const char *commit = body_str(&r, "commit_sha");
	char expected_branch[64];
	snprintf(expected_branch, sizeof(expected_branch), "ampel/ci-github-%s",
		 id + strlen(id) - 8);
	assert_string_equal(branch, expected_branch);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r.body, "files"), 0)),
			    ".github/workflows/ci.yml");

	char ref[128];
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	char *resolved = git_out(t.repo, (const char *const[]){ "rev-parse", ref, NULL });
	assert_string_equal(resolved, commit);
	char show[160];
	snprintf(show, sizeof(show), "%s:.github/workflows/ci.yml", branch);
	char *workflow = git_out(t.repo, (const char *const[]){ "show", show, NULL });
	assert_non_null(strstr(workflow, "npm ci"));
	snprintf(show, sizeof(show), "%s:index.js", branch);
	char *index = git_out(t.repo, (const char *const[]){ "show", show, NULL });
	assert_non_null(strstr(index, "express"));
	char parent_spec[128];
	snprintf(parent_spec, sizeof(parent_spec), "%s^", commit);
	char *parent = git_out(t.repo, (const char *const[]){ "rev-parse", parent_spec, NULL });
	assert_string_equal(parent, head_before);
	char *meta =
		git_out(t.repo, (const char *const[]){ "log", "-1", "--format=%an <%ae>|%cn|%B",
						       commit, NULL });
	assert_non_null(strstr(meta, "Ampel <ampel@localhost>|Ampel|"));
	assert_non_null(strstr(meta, "applied by dev"));

	/* The checkout is as it was. */
	char *head_after = git_out(t.repo, (const char *const[]){ "rev-parse", "HEAD", NULL });
	char *branch_after = git_out(t.repo, (const char *const[]){ "symbolic-ref", "HEAD", NULL });
	char *status_after =
		git_out(t.repo, (const char *const[]){ "status", "--porcelain", NULL });
	assert_string_equal(head_after, head_before);
	assert_string_equal(branch_after, branch_before);
	assert_string_equal(status_after, status_before);
	assert_string_equal(status_after, "?? notes.txt");
	struct stat st;
	char workflow_path[400];
	snprintf(workflow_path, sizeof(workflow_path), "%s/.github", t.repo);
	assert_int_not_equal(stat(workflow_path, &st), 0);
	reply_free(&r);

	r = suggestion_call(f, "GET", id, NULL, t.dev_token);
	expect_status(&r, 200, "GET applied");
	assert_string_equal(body_str(&r, "status"), "applied");
	assert_string_equal(body_str(&r, "branch"), expected_branch);
	assert_string_equal(body_str(&r, "commit_sha"), resolved);
	reply_free(&r);

	r = suggestion_call(f, "POST", id, "apply", t.dev_token);
	expect_status(&r, 409, "apply twice");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "reject", t.dev_token);
	expect_status(&r, 409, "reject when applied");
	reply_free(&r);
	char target[128];
	snprintf(target, sizeof(target), "suggestions/%s", id);
	assert_int_equal(audit_count(f, "suggestion.apply", target), 1);

	free(head_before);
	free(branch_before);
	free(status_before);
	free(resolved);
	free(workflow);
	free(index);
	free(parent);
	free(meta);
	free(head_after);
	free(branch_after);
	free(status_after);
	free(id);
}

static void test_accept_reject(void **state)
{
	struct fixture *f = *state;
	analyse(f);
	char *id = github_ci_id(f);
	struct reply r = suggestion_call(f, "POST", id, "accept", t.dev_token);
	expect_status(&r, 200, "accept");
	assert_string_equal(body_str(&r, "status"), "accepted");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "reject", t.dev_token);
	expect_status(&r, 200, "reject");
	assert_string_equal(body_str(&r, "status"), "rejected");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "reject", t.dev_token);
	expect_status(&r, 200, "reject again");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "apply", t.dev_token);
	expect_status(&r, 409, "apply a rejected one");
	reply_free(&r);

	json_t *rejected = list_suggestions(f, t.dev_token, "status=rejected");
	assert_int_equal(json_array_size(rejected), 1);
	json_decref(rejected);

	r = suggestion_call(f, "POST", id, "accept", t.viewer_token);
	expect_status(&r, 403, "accept by a viewer");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "accept", t.root_token);
	expect_status(&r, 200, "accept by an admin");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "apply", t.dev_token);
	expect_status(&r, 200, "apply an accepted one");
	reply_free(&r);

	char target[128];
	snprintf(target, sizeof(target), "suggestions/%s", id);
	assert_int_equal(audit_count(f, "suggestion.accept", target), 2);
	assert_int_equal(audit_count(f, "suggestion.reject", target), 1);
	free(id);
}

static void test_access(void **state)
{
	struct fixture *f = *state;
	analyse(f);
	char *id = github_ci_id(f);
	/* Someone who may not read the repository does not learn the suggestion exists. */
	struct reply r = suggestion_call(f, "GET", id, NULL, t.stranger_token);
	expect_status(&r, 404, "GET by a stranger");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "apply", t.stranger_token);
	expect_status(&r, 404, "apply by a stranger");
	reply_free(&r);
	r = suggestion_call(f, "POST", id, "accept", t.stranger_token);
	expect_status(&r, 404, "accept by a stranger");
	reply_free(&r);
	r = suggestion_call(f, "GET", id, NULL, NULL);
	expect_status(&r, 401, "GET anonymously");
	reply_free(&r);

	char path[200];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/suggestions", t.repo_id);
	r = GET(f, path, t.stranger_token);
	expect_status(&r, 403, "list by a stranger");
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/analysis", t.repo_id);
	r = GET(f, path, t.stranger_token);
	expect_status(&r, 403, "GET analysis by a stranger");
	reply_free(&r);
	r = POST(f, path, t.viewer_token, "");
	expect_status(&r, 403, "POST analysis by a viewer");
	reply_free(&r);

	/* The developer's grant is for this repository only. */
	char other[STORE_ID_SIZE];
	insert_repository(f, other, "other", t.repo, "ready");
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/analysis", other);
	r = POST(f, path, t.dev_token, "");
	expect_status(&r, 403, "POST analysis on another repository");
	reply_free(&r);
	free(id);
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;
	char path[200];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/suggestions?type=docs", t.repo_id);
	struct reply r = GET(f, path, t.dev_token);
	expect_status(&r, 422, "bad type");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "field")),
		"type");
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/suggestions?status=done", t.repo_id);
	r = GET(f, path, t.dev_token);
	expect_status(&r, 422, "bad status");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "field")),
		"status");
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/suggestions?limit=0", t.repo_id);
	r = GET(f, path, t.dev_token);
	expect_status(&r, 400, "bad limit");
	reply_free(&r);

	r = GET(f, "/api/v1/repositories/no-such-repo/suggestions", t.root_token);
	expect_status(&r, 404, "unknown repository");
	reply_free(&r);
	r = GET(f, "/api/v1/repositories/no-such-repo/analysis", t.root_token);
	expect_status(&r, 404, "analysis of an unknown repository");
	reply_free(&r);
	r = POST(f, "/api/v1/repositories/no-such-repo/analysis", t.root_token, "");
	expect_status(&r, 404, "POST analysis of an unknown repository");
	reply_free(&r);
	r = suggestion_call(f, "GET", "no-such-suggestion", NULL, t.root_token);
	expect_status(&r, 404, "unknown suggestion");
	reply_free(&r);
	r = suggestion_call(f, "POST", "no-such-suggestion", "apply", t.root_token);
	expect_status(&r, 404, "apply an unknown suggestion");
	reply_free(&r);
	/* Bytes that are not text never reach the database (PostgreSQL refuses them). */
	r = suggestion_call(f, "GET", "\xff\xfe", NULL, t.root_token);
	assert_true(r.status == 400 || r.status == 404);
	assert_non_null(r.body);
	reply_free(&r);
	r = suggestion_call(f, "POST", "caf\xc3\xa9", "apply", t.root_token);
	expect_status(&r, 404, "a suggestion id that cannot be an id");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "message")),
		"no suggestion with that id");
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/suggestions?type=caf\xc3\xa9",
		 t.repo_id);
	r = GET(f, path, t.dev_token);
	expect_status(&r, 422, "a type that is no type");
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "message")),
		"type"));
	reply_free(&r);

	/* A repository still cloning cannot be analysed. */
	char cloning[STORE_ID_SIZE];
	insert_repository(f, cloning, "cloning", "/nonexistent", "cloning");
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/analysis", cloning);
	r = POST(f, path, t.root_token, "");
	expect_status(&r, 409, "POST analysis while cloning");
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "message")),
		"cloning"));
	reply_free(&r);
	sql(f, "UPDATE repositories SET state = 'failed' WHERE id = ?", cloning);
	r = POST(f, path, t.root_token, "");
	expect_status(&r, 409, "POST analysis after a failed clone");
	reply_free(&r);
	struct jobs_counts counts;
	OK(jobs_count_by_state(t.jobs, &counts, e));
	assert_int_equal(counts.queued, 0);
}

/* A stored file path that escapes the repository is refused before git sees it. */
static void test_apply_refuses_unsafe_paths(void **state)
{
	struct fixture *f = *state;
	analyse(f);
	char *id = github_ci_id(f);
	struct store_param params[] = {
		STORE_TEXT_PARAM("[{\"path\":\"../escape.yml\",\"content\":\"x\"}]"),
		STORE_TEXT_PARAM(id),
	};
	OK(store_exec(f->store, "UPDATE suggestions SET files = ? WHERE id = ?", params, 2, NULL,
		      e));
	struct reply r = suggestion_call(f, "POST", id, "apply", t.dev_token);
	expect_status(&r, 409, "apply with an unsafe path");
	reply_free(&r);
	char ref[128];
	snprintf(ref, sizeof(ref), "refs/heads/ampel/ci-github-%s", id + strlen(id) - 8);
	assert_int_not_equal(git_status(t.repo, (const char *const[]){ "rev-parse", "--verify",
								       "--quiet", ref, NULL }),
			     0);
	r = suggestion_call(f, "GET", id, NULL, t.dev_token);
	assert_string_equal(body_str(&r, "status"), "pending");
	reply_free(&r);

	assert_false(intelligence_git_path_safe("/etc/passwd"));
	assert_false(intelligence_git_path_safe("a/../../b"));
	assert_false(intelligence_git_path_safe(".git/hooks/pre-commit"));
	assert_false(intelligence_git_path_safe("a//b"));
	assert_false(intelligence_git_path_safe("./a"));
	assert_false(intelligence_git_path_safe("a\nb"));
	assert_false(intelligence_git_path_safe(""));
	assert_true(intelligence_git_path_safe(".github/workflows/ci.yml"));
	assert_true(intelligence_git_path_safe("k8s/deployment.yaml"));
	free(id);
}

/*
 * The branch is there already: with this very tree it is an earlier apply
 * whose result was not recorded (taken as is); with anything else, 409.
 */
static void test_apply_when_the_branch_exists(void **state)
{
	struct fixture *f = *state;
	analyse(f);
	char *id = github_ci_id(f);
	struct reply r = suggestion_call(f, "POST", id, "apply", t.dev_token);
	expect_status(&r, 200, "apply");
	char *commit = xstrdup(body_str(&r, "commit_sha"));
	reply_free(&r);
	sql(f,
	    "UPDATE suggestions SET status = 'pending', branch = NULL, commit_sha = NULL WHERE "
	    "id = ?",
	    id);
	r = suggestion_call(f, "POST", id, "apply", t.dev_token);
	expect_status(&r, 200, "apply after a lost update");
	assert_string_equal(body_str(&r, "commit_sha"), commit);
	reply_free(&r);

	/* Someone made a branch of that name with other content. */
	json_t *items = list_suggestions(f, t.dev_token, "type=ci");
	const json_t *gitlab = find_suggestion(items, "ci", "gitlab", NULL);
	assert_non_null(gitlab);
	const char *gitlab_id = json_string_value(json_object_get(gitlab, "id"));
	char branch[128];
	snprintf(branch, sizeof(branch), "ampel/ci-gitlab-%s", gitlab_id + strlen(gitlab_id) - 8);
	GIT(t.repo, "branch", branch);
	r = suggestion_call(f, "POST", gitlab_id, "apply", t.dev_token);
	expect_status(&r, 409, "apply onto a foreign branch");
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(r.body, "error"), "message")),
		"already exists"));
	reply_free(&r);
	char *head = git_out(t.repo, (const char *const[]){ "rev-parse", "HEAD", NULL });
	char *tip = git_out(t.repo, (const char *const[]){ "rev-parse", branch, NULL });
	assert_string_equal(tip, head);
	r = suggestion_call(f, "GET", gitlab_id, NULL, t.dev_token);
	assert_string_equal(body_str(&r, "status"), "pending");
	reply_free(&r);
	free(head);
	free(tip);
	json_decref(items);
	free(commit);
	free(id);
}

/* A repository without commits: no sha, and the branch's commit has no parent. */
static void test_repository_without_commits(void **state)
{
	struct fixture *f = *state;
	char dir[320], id[STORE_ID_SIZE];
	snprintf(dir, sizeof(dir), "%s/empty", t.repo_parent);
	make_repo(dir, false);
	insert_repository(f, id, "empty", dir, "ready");
	bind_role(f, "dev", "developer", id);
	char *job_id = request_analysis(f, id, t.dev_token);
	struct jobs_job *job = lease_and_run(f, job_id);
	char path[200];
	snprintf(path, sizeof(path), "/api/v1/repositories/%s/analysis", id);
	struct reply r = GET(f, path, t.dev_token);
	expect_status(&r, 200, "GET analysis");
	assert_true(json_is_null(json_object_get(r.body, "commit_sha")));
	reply_free(&r);

	snprintf(path, sizeof(path), "/api/v1/repositories/%s/suggestions?type=ci", id);
	r = GET(f, path, t.dev_token);
	expect_status(&r, 200, "list");
	const json_t *github =
		find_suggestion(json_object_get(r.body, "items"), "ci", "github", NULL);
	assert_non_null(github);
	char *suggestion = xstrdup(json_string_value(json_object_get(github, "id")));
	reply_free(&r);
	r = suggestion_call(f, "POST", suggestion, "apply", t.dev_token);
	expect_status(&r, 200, "apply on an empty repository");
	char spec[128];
	snprintf(spec, sizeof(spec), "%s^", body_str(&r, "commit_sha"));
	assert_int_not_equal(git_status(dir, (const char *const[]){ "rev-parse", "--verify",
								    "--quiet", spec, NULL }),
			     0);
	char *tree = git_out(dir, (const char *const[]){ "ls-tree", "-r", "--name-only",
							 body_str(&r, "branch"), NULL });
	assert_string_equal(tree, ".github/workflows/ci.yml");
	reply_free(&r);
	/* HEAD is still unborn and nothing was staged. */
	assert_int_not_equal(git_status(dir, (const char *const[]){ "rev-parse", "--verify",
								    "--quiet", "HEAD", NULL }),
			     0);
	char *status = git_out(dir, (const char *const[]){ "status", "--porcelain", NULL });
	assert_null(strstr(status, ".github"));
	assert_non_null(strstr(status, "?? index.js"));
	free(status);
	free(tree);
	free(suggestion);
	jobs_job_free(job);
	free(job_id);
}

/* A new analysis withdraws the older pending suggestions and keeps the decided ones. */
static void test_new_analysis_replaces_pending(void **state)
{
	struct fixture *f = *state;
	analyse(f);
	char *accepted = github_ci_id(f);
	struct reply r = suggestion_call(f, "POST", accepted, "accept", t.dev_token);
	expect_status(&r, 200, "accept");
	reply_free(&r);
	json_t *first = list_suggestions(f, t.dev_token, NULL);
	analyse(f);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) AS n FROM analyses WHERE repository_id = ?",
				    t.repo_id),
			 2);
	json_t *second = list_suggestions(f, t.dev_token, NULL);
	/* Every pending one is new, the accepted one stays beside its successor. */
	assert_int_equal(json_array_size(second), json_array_size(first) + 1);
	r = suggestion_call(f, "GET", accepted, NULL, t.dev_token);
	expect_status(&r, 200, "the accepted suggestion stays");
	assert_string_equal(body_str(&r, "status"), "accepted");
	reply_free(&r);
	size_t i;
	const json_t *item;
	json_array_foreach(first, i, item)
	{
		const char *id = json_string_value(json_object_get(item, "id"));
		if (str_eq(id, accepted))
			continue;
		r = suggestion_call(f, "GET", id, NULL, t.dev_token);
		expect_status(&r, 404, "a withdrawn suggestion");
		reply_free(&r);
	}
	json_decref(first);
	json_decref(second);
	free(accepted);
}

#define TESTS(kind)                                                                               \
	cmocka_unit_test_setup_teardown(test_analysis_job_and_suggestions, setup_intel_##kind,    \
					teardown_intel),                                          \
		cmocka_unit_test_setup_teardown(test_apply_commits_on_a_new_branch,               \
						setup_intel_##kind, teardown_intel),              \
		cmocka_unit_test_setup_teardown(test_accept_reject, setup_intel_##kind,           \
						teardown_intel),                                  \
		cmocka_unit_test_setup_teardown(test_access, setup_intel_##kind, teardown_intel), \
		cmocka_unit_test_setup_teardown(test_bad_input, setup_intel_##kind,               \
						teardown_intel),                                  \
		cmocka_unit_test_setup_teardown(test_apply_refuses_unsafe_paths,                  \
						setup_intel_##kind, teardown_intel),              \
		cmocka_unit_test_setup_teardown(test_apply_when_the_branch_exists,                \
						setup_intel_##kind, teardown_intel),              \
		cmocka_unit_test_setup_teardown(test_repository_without_commits,                  \
						setup_intel_##kind, teardown_intel),              \
		cmocka_unit_test_setup_teardown(test_new_analysis_replaces_pending,               \
						setup_intel_##kind, teardown_intel)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = { TESTS(sqlite) };
	const struct CMUnitTest pg_tests[] = { TESTS(pg) };
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, group_setup_pg,
					      group_teardown_pg);
	return failed;
}
