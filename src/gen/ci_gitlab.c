#include "gen/ci_gitlab.h"

#include "gen/ci.h"
#include "gen/files.h"
#include "gen/plan.h"
#include "gen/templates.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"
#include "util/yaml_emit.h"

#include <stdlib.h>
#include <string.h>

/* A branch glob as the regular expression that GitLab's =~ takes (release/x* -> ^release\/x.*$). */
static void branch_regex(struct buf *out, const char *glob)
{
	buf_adds(out, "/^");
	for (const char *p = glob; *p; p++) {
		if (*p == '*')
			buf_adds(out, ".*");
		else if (*p == '?')
			buf_addch(out, '.');
		else if (strchr("/.+()[]{}^$|\\", *p))
			buf_addf(out, "\\%c", *p);
		else
			buf_addch(out, *p);
	}
	buf_adds(out, "$/");
}

static void branch_test(struct buf *out, const char *variable, const char *branch)
{
	if (strpbrk(branch, "*?")) {
		buf_addf(out, "%s =~ ", variable);
		branch_regex(out, branch);
	} else {
		buf_addf(out, "%s == \"%s\"", variable, branch);
	}
}

/* Pipelines for merge requests into the branches and for pushes to them, nothing else. */
static json_t *gitlab_workflow(const struct ci_plan *plan)
{
	json_t *rules = json_array();
	struct buf rule = BUF_INIT;
	for (size_t i = 0; i < plan->branches.len; i++) {
		buf_reset(&rule);
		buf_adds(&rule, "$CI_PIPELINE_SOURCE == \"merge_request_event\" && ");
		branch_test(&rule, "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME", plan->branches.items[i]);
		json_array_append_new(rules, json_pack("{s:s}", "if", rule.data));
	}
	for (size_t i = 0; i < plan->branches.len; i++) {
		buf_reset(&rule);
		branch_test(&rule, "$CI_COMMIT_BRANCH", plan->branches.items[i]);
		json_array_append_new(rules, json_pack("{s:s}", "if", rule.data));
	}
	buf_free(&rule);
	return json_pack("{s:o}", "rules", rules);
}

static json_t *string_array(const struct vec *v)
{
	json_t *array = json_array();
	for (size_t i = 0; i < v->len; i++)
		json_array_append_new(array, json_string(v->items[i]));
	return array;
}

static char *timeout_text(const struct ci_plan *plan)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%ld minutes", plan->templates->timeout_minutes);
	return buf_detach(&b);
}

/* Script lines: each step in its directory, one shell for the whole job. */
static json_t *job_script(const struct plan_job *job)
{
	json_t *script = json_array();
	ci_plan_append_commands(script, job, "CI_PROJECT_DIR");
	return script;
}

static json_t *gitlab_job(const struct ci_plan *plan, const struct plan_job *job)
{
	json_t *j = json_object();
	json_object_set_new(j, "stage", json_string("test"));
	if (job->versions.len > 1) {
		json_t *images = json_array();
		for (size_t i = 0; i < job->versions.len; i++) {
			char *image = ci_plan_image(job, job->versions.items[i]);
			json_array_append_new(images, json_string(image));
			free(image);
		}
		json_object_set_new(j, "image", json_string("$RUNTIME_IMAGE"));
		json_object_set_new(j, "parallel",
				    json_pack("{s:[{s:o}]}", "matrix", "RUNTIME_IMAGE", images));
	} else {
		char *image = ci_plan_image(job, job->version);
		json_object_set_new(j, "image", json_string(image));
		free(image);
	}
	char *timeout = timeout_text(plan);
	json_object_set_new(j, "timeout", json_string(timeout));
	free(timeout);

	json_t *variables = json_deep_copy(job->env);
	const char *key;
	json_t *value;
	if (plan->cache) {
		json_object_foreach(job->cache_env, key, value)
		{
			char *v = ci_plan_expand_env(json_string_value(value), "$CI_PROJECT_DIR");
			json_object_set_new(variables, key, json_string(v));
			free(v);
		}
	}
	if (json_object_size(variables))
		json_object_set(j, "variables", variables);
	json_decref(variables);

	struct vec paths = VEC_INIT;
	if (plan->cache)
		ci_plan_local_cache_paths(job, &paths);
	if (paths.len) {
		json_t *files = json_array();
		/* GitLab keys a cache on at most two files. */
		for (size_t i = 0; i < job->cache_key_files.len && i < 2; i++)
			json_array_append_new(files, json_string(job->cache_key_files.items[i]));
		json_object_set_new(j, "cache",
				    json_pack("{s:{s:o, s:s}, s:o}", "key", "files", files,
					      "prefix", job->id, "paths", string_array(&paths)));
	}
	vec_free(&paths, free);

	if (job->include_paths.len) {
		json_t *changes = json_array();
		struct buf glob = BUF_INIT;
		for (size_t i = 0; i < job->include_paths.len; i++) {
			buf_reset(&glob);
			buf_adds(&glob, job->include_paths.items[i]);
			if (str_ends_with(glob.data, "/**"))
				buf_adds(&glob, "/*");
			json_array_append_new(changes, json_string(glob.data));
		}
		buf_free(&glob);
		json_object_set_new(j, "rules", json_pack("[{s:o}]", "changes", changes));
	}
	if (job->image_setup.len)
		json_object_set_new(j, "before_script", string_array(&job->image_setup));
	json_object_set_new(j, "script", job_script(job));
	if (job->coverage_path)
		json_object_set_new(j, "artifacts",
				    json_pack("{s:[s], s:s, s:s}", "paths", job->coverage_path,
					      "expire_in", "1 week", "when", "always"));
	return j;
}

static json_t *secret_scan_job(const struct ci_plan *plan)
{
	const struct ci_templates *t = plan->templates;
	char *timeout = timeout_text(plan);
	/* The image's entrypoint is gitleaks itself; GitLab needs a shell. */
	json_t *j = json_pack("{s:s, s:{s:s, s:[s]}, s:s, s:{s:s}, s:o}", "stage", "test", "image",
			      "name", t->secret_scan_image, "entrypoint", "", "timeout", timeout,
			      "variables", "GIT_DEPTH", "0", "script",
			      string_array(&t->secret_scan_commands));
	free(timeout);
	return j;
}

int ci_gitlab_write(const struct ci_plan *plan, const struct ci_options *o, struct gen_files *out,
		    struct err *e)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "workflow", gitlab_workflow(plan));
	json_object_set_new(doc, "stages", json_pack("[s]", "test"));
	/* A newer pipeline for the same ref makes a running one pointless. */
	json_object_set_new(doc, "default", json_pack("{s:b}", "interruptible", 1));
	for (size_t i = 0; i < plan->jobs.len; i++) {
		const struct plan_job *job = plan->jobs.items[i];
		json_object_set_new(doc, job->id, gitlab_job(plan, job));
	}
	if (plan->secret_scan)
		json_object_set_new(doc, "secret-scan", secret_scan_job(plan));

	const struct yaml_emit_options emit = { YAML_EMIT_SPACED, NULL };
	struct buf text = BUF_INIT;
	ci_plan_header(&text, plan, "#", o->command, plan->description);
	buf_addch(&text, '\n');
	yaml_emit(&text, doc, &emit);
	gen_files_add(out, ".gitlab-ci.yml", text.data);
	buf_free(&text);
	json_decref(doc);
	(void)e;
	return 0;
}
