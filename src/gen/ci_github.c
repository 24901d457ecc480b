#include "gen/ci_github.h"

#include "gen/ci.h"
#include "gen/files.h"
#include "gen/plan.h"
#include "gen/templates.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/yaml_emit.h"

#include <stdlib.h>
#include <string.h>

static json_t *string_array(const struct vec *v)
{
	json_t *array = json_array();
	for (size_t i = 0; i < v->len; i++)
		json_array_append_new(array, json_string(v->items[i]));
	return array;
}

/* push and pull_request on the branches, limited to the job's paths when filtered. */
static json_t *github_on(const struct ci_plan *plan, const struct plan_job *job,
			 const char *workflow_path)
{
	json_t *on = json_object();
	static const char *const events[] = { "push", "pull_request" };
	for (size_t i = 0; i < 2; i++) {
		json_t *event = json_object();
		json_object_set_new(event, "branches", string_array(&plan->branches));
		if (job && job->include_paths.len) {
			json_t *paths = string_array(&job->include_paths);
			json_array_append_new(paths, json_string(workflow_path));
			json_object_set_new(event, "paths", paths);
		} else if (job && job->exclude_paths.len) {
			json_object_set_new(event, "paths-ignore",
					    string_array(&job->exclude_paths));
		}
		json_object_set_new(on, events[i], event);
	}
	return on;
}

static json_t *github_workflow(const struct ci_plan *plan, const char *name, json_t *on)
{
	json_t *workflow = json_object();
	json_object_set_new(workflow, "name", json_string(name));
	json_object_set_new(workflow, "on", on);
	/* Least privilege: jobs only read the repository. */
	json_object_set_new(workflow, "permissions", json_pack("{s:s}", "contents", "read"));
	json_object_set_new(workflow, "concurrency",
			    json_pack("{s:s, s:b}", "group",
				      "${{ github.workflow }}-${{ github.ref }}",
				      "cancel-in-progress", 1));
	json_object_set_new(workflow, "jobs", json_object());
	(void)plan;
	return workflow;
}

static void append_steps(json_t *steps, json_t *more)
{
	size_t i;
	json_t *step;
	json_array_foreach(more, i, step)
	{
		json_array_append(steps, step);
	}
	json_decref(more);
}

static int append_template(json_t *steps, const struct plan_job *job, const json_t *tmpl,
			   const char *version, struct err *e)
{
	if (!tmpl)
		return 0;
	json_t *expanded = ci_plan_expand(job, tmpl, version, e);
	if (!expanded)
		return -1;
	append_steps(steps, expanded);
	return 0;
}

/* actions/cache for the stacks whose setup action does not cache by itself. */
static json_t *cache_step(const struct ci_plan *plan, const struct plan_job *job)
{
	struct buf paths = BUF_INIT, key = BUF_INIT, restore = BUF_INIT;
	for (size_t i = 0; i < job->cache_paths.len; i++)
		buf_addf(&paths, "%s%s", i ? "\n" : "", (const char *)job->cache_paths.items[i]);
	buf_addf(&restore, "${{ runner.os }}-%s-%s-", job->pm->id, job->id);
	buf_addf(&key, "%s${{ hashFiles(", restore.data);
	for (size_t i = 0; i < job->cache_key_files.len; i++)
		buf_addf(&key, "%s'%s'", i ? ", " : "",
			 (const char *)job->cache_key_files.items[i]);
	buf_adds(&key, ") }}");
	json_t *step = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "name", "Cache dependencies",
				 "uses", plan->templates->cache_action, "with", "path", paths.data,
				 "key", key.data, "restore-keys", restore.data);
	buf_free(&paths);
	buf_free(&key);
	buf_free(&restore);
	return step;
}

static json_t *run_step(const struct plan_job *job, const struct plan_step *step)
{
	struct buf run = BUF_INIT;
	for (size_t i = 0; i < step->commands.len; i++)
		buf_addf(&run, "%s%s", i ? "\n" : "", (const char *)step->commands.items[i]);
	json_t *out = json_pack("{s:s, s:s}", "name", step->name, "run", run.data);
	if (!str_eq(step->dir, job->path))
		json_object_set_new(out, "working-directory", json_string(step->dir));
	buf_free(&run);
	return out;
}

static char *matrix_key(const struct plan_job *job)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s-version", job->runtime->id);
	return buf_detach(&b);
}

static int github_job(const struct ci_plan *plan, const struct plan_job *job, json_t **out,
		      struct err *e)
{
	const struct ci_templates *t = plan->templates;
	bool versions = job->versions.len > 1;
	bool oses = plan->matrix && t->github_matrix_os.len > 1;
	char *key = matrix_key(job);
	struct buf version = BUF_INIT;
	if (versions)
		buf_addf(&version, "${{ matrix.%s }}", key);
	else
		buf_adds(&version, job->version);

	json_t *j = json_object();
	/* "an Express app (...)" reads as a title without its article */
	const char *title = job->description + strcspn(job->description, " ") + 1;
	json_object_set_new(j, "name", json_string(str_eq(job->path, ".") ? title : job->path));
	json_object_set_new(j, "runs-on",
			    json_string(oses ? "${{ matrix.os }}" : t->github_runner));
	json_object_set_new(j, "timeout-minutes", json_integer(t->timeout_minutes));
	if (versions || oses) {
		json_t *matrix = json_object();
		if (versions)
			json_object_set_new(matrix, key, string_array(&job->versions));
		if (oses)
			json_object_set_new(matrix, "os", string_array(&t->github_matrix_os));
		json_object_set_new(j, "strategy",
				    json_pack("{s:b, s:o}", "fail-fast", 0, "matrix", matrix));
	}
	if (json_object_size(job->env))
		json_object_set(j, "env", job->env);
	if (!str_eq(job->path, "."))
		json_object_set_new(j, "defaults",
				    json_pack("{s:{s:s}}", "run", "working-directory", job->path));

	json_t *steps = json_array();
	json_array_append_new(steps, json_pack("{s:s}", "uses", t->checkout));
	int rc = 0;
	if (job->pm)
		rc = append_template(steps, job, job->pm->github_before, version.data, e);
	if (rc == 0)
		rc = append_template(steps, job, job->runtime->github, version.data, e);
	if (rc == 0 && job->pm)
		rc = append_template(steps, job, job->pm->github_after, version.data, e);
	if (rc == 0 && job->companion) {
		json_t *more = ci_plan_expand_companion(job, e);
		if (more)
			append_steps(steps, more);
		else
			rc = -1;
	}
	if (plan->cache && job->pm && !job->github_builtin_cache && job->cache_paths.len)
		json_array_append_new(steps, cache_step(plan, job));
	for (size_t i = 0; i < job->steps.len; i++)
		json_array_append_new(steps, run_step(job, job->steps.items[i]));
	if (job->coverage_path) {
		struct buf name = BUF_INIT;
		buf_addf(&name, "coverage-%s", job->id);
		if (versions)
			buf_addf(&name, "-%s", version.data);
		if (oses)
			buf_adds(&name, "-${{ matrix.os }}");
		json_array_append_new(steps,
				      json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "name",
						"Upload coverage", "uses", t->upload_action, "with",
						"name", name.data, "path", job->coverage_path,
						"if-no-files-found", "ignore"));
		buf_free(&name);
	}
	json_object_set_new(j, "steps", steps);
	free(key);
	buf_free(&version);
	if (rc < 0) {
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

static json_t *secret_scan_job(const struct ci_plan *plan)
{
	const struct ci_templates *t = plan->templates;
	json_t *steps = json_array();
	/* The whole history: a secret removed later is still leaked. */
	json_array_append_new(
		steps, json_pack("{s:s, s:{s:i}}", "uses", t->checkout, "with", "fetch-depth", 0));
	size_t i;
	json_t *step;
	json_array_foreach(t->secret_scan_github, i, step)
	{
		json_array_append(steps, step);
	}
	return json_pack("{s:s, s:s, s:I, s:o}", "name", "Secret scan", "runs-on", t->github_runner,
			 "timeout-minutes", (json_int_t)t->timeout_minutes, "steps", steps);
}

static void emit_file(const struct ci_plan *plan, const struct ci_options *o, struct gen_files *out,
		      const char *path, const char *what, json_t *workflow)
{
	static const char *const spaced[] = { "jobs", NULL };
	const struct yaml_emit_options emit = { YAML_EMIT_SPACED, spaced };
	struct buf text = BUF_INIT;
	ci_plan_header(&text, plan, "#", o->command, what);
	buf_addch(&text, '\n');
	yaml_emit(&text, workflow, &emit);
	gen_files_add(out, path, text.data);
	buf_free(&text);
}

int ci_github_write(const struct ci_plan *plan, const struct ci_options *o, struct gen_files *out,
		    struct err *e)
{
	if (!plan->filtered) {
		const char *path = ".github/workflows/ci.yml";
		json_t *workflow = github_workflow(plan, "CI", github_on(plan, NULL, path));
		json_t *jobs = json_object_get(workflow, "jobs");
		const struct plan_job *job = plan->jobs.items[0];
		json_t *j;
		if (github_job(plan, job, &j, e) < 0) {
			json_decref(workflow);
			return -1;
		}
		json_object_set_new(jobs, job->id, j);
		if (plan->secret_scan)
			json_object_set_new(jobs, "secret-scan", secret_scan_job(plan));
		emit_file(plan, o, out, path, plan->description, workflow);
		json_decref(workflow);
		return 0;
	}
	/* Several projects: a workflow each, so GitHub's own paths filters decide what runs. */
	for (size_t i = 0; i < plan->jobs.len; i++) {
		const struct plan_job *job = plan->jobs.items[i];
		struct buf path = BUF_INIT, name = BUF_INIT, what = BUF_INIT;
		buf_addf(&path, ".github/workflows/ci-%s.yml", job->id);
		buf_addf(&name, "CI %s", job->id);
		buf_adds(&what, job->description);
		if (!str_eq(job->path, "."))
			buf_addf(&what, " at %s", job->path);
		json_t *workflow =
			github_workflow(plan, name.data, github_on(plan, job, path.data));
		json_t *j;
		int rc = github_job(plan, job, &j, e);
		if (rc == 0) {
			json_object_set_new(json_object_get(workflow, "jobs"), job->id, j);
			emit_file(plan, o, out, path.data, what.data, workflow);
		}
		json_decref(workflow);
		buf_free(&path);
		buf_free(&name);
		buf_free(&what);
		if (rc < 0)
			return -1;
	}
	if (plan->secret_scan) {
		const char *path = ".github/workflows/secret-scan.yml";
		json_t *workflow =
			github_workflow(plan, "Secret scan", github_on(plan, NULL, path));
		json_object_set_new(json_object_get(workflow, "jobs"), "secret-scan",
				    secret_scan_job(plan));
		emit_file(plan, o, out, path, plan->description, workflow);
		json_decref(workflow);
	}
	return 0;
}
