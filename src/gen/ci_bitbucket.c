#include "gen/ci_bitbucket.h"

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

static json_t *string_array(const struct vec *v)
{
	json_t *array = json_array();
	for (size_t i = 0; i < v->len; i++)
		json_array_append_new(array, json_string(v->items[i]));
	return array;
}

/* A cache per path (Bitbucket's caches hold one directory each), keyed on the lock files. */
static char *cache_name(const struct plan_job *job, size_t index)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s-%s", job->id, job->pm->id);
	if (index)
		buf_addf(&b, "-%zu", index + 1);
	return buf_detach(&b);
}

static json_t *step_script(const struct plan_job *job)
{
	json_t *script = json_array();
	struct buf line = BUF_INIT;
	const char *key;
	json_t *value;
	/* Steps have no variables of their own: exported for the one shell of the step. */
	json_object_foreach(job->env, key, value)
	{
		buf_reset(&line);
		buf_addf(&line, "export %s=", key);
		buf_add_shell_quoted(&line, json_string_value(value));
		json_array_append_new(script, json_string(line.data));
	}
	for (size_t i = 0; i < job->image_setup.len; i++)
		json_array_append_new(script, json_string(job->image_setup.items[i]));
	buf_free(&line);
	ci_plan_append_commands(script, job, "BITBUCKET_CLONE_DIR");
	return script;
}

static json_t *bitbucket_step(const struct ci_plan *plan, const struct plan_job *job,
			      const char *version)
{
	json_t *step = json_object();
	struct buf name = BUF_INIT;
	buf_adds(&name, str_eq(job->path, ".") ? job->id : job->path);
	if (job->versions.len > 1)
		buf_addf(&name, " (%s %s)", job->runtime->name, version);
	json_object_set_new(step, "name", json_string(name.data));
	buf_free(&name);
	char *image = ci_plan_image(job, version);
	json_object_set_new(step, "image", json_string(image));
	free(image);
	json_object_set_new(step, "max-time", json_integer(plan->templates->timeout_minutes));
	if (plan->cache && job->pm && job->cache_paths.len) {
		json_t *caches = json_array();
		for (size_t i = 0; i < job->cache_paths.len; i++) {
			char *n = cache_name(job, i);
			json_array_append_new(caches, json_string(n));
			free(n);
		}
		json_object_set_new(step, "caches", caches);
	}
	if (job->include_paths.len || job->exclude_paths.len) {
		json_t *changesets = json_object();
		if (job->include_paths.len)
			json_object_set_new(changesets, "includePaths",
					    string_array(&job->include_paths));
		else
			json_object_set_new(changesets, "excludePaths",
					    string_array(&job->exclude_paths));
		json_object_set_new(step, "condition",
				    json_pack("{s:o}", "changesets", changesets));
	}
	json_object_set_new(step, "script", step_script(job));
	if (job->coverage_path) {
		struct buf glob = BUF_INIT;
		buf_adds(&glob, job->coverage_path);
		if (!strchr(strrchr(glob.data, '/') ? strrchr(glob.data, '/') : glob.data, '.'))
			buf_adds(&glob, "/**");
		json_object_set_new(step, "artifacts", json_pack("[s]", glob.data));
		buf_free(&glob);
	}
	return json_pack("{s:o}", "step", step);
}

static json_t *secret_scan_step(const struct ci_plan *plan)
{
	const struct ci_templates *t = plan->templates;
	return json_pack("{s:{s:s, s:s, s:I, s:o}}", "step", "name", "Secret scan", "image",
			 t->secret_scan_image, "max-time", (json_int_t)t->timeout_minutes, "script",
			 string_array(&t->secret_scan_commands));
}

/* Every job and version as steps; several run in parallel. */
static json_t *pipeline(const struct ci_plan *plan)
{
	json_t *steps = json_array();
	for (size_t i = 0; i < plan->jobs.len; i++) {
		const struct plan_job *job = plan->jobs.items[i];
		for (size_t k = 0; k < job->versions.len; k++)
			json_array_append_new(steps,
					      bitbucket_step(plan, job, job->versions.items[k]));
	}
	if (plan->secret_scan)
		json_array_append_new(steps, secret_scan_step(plan));
	if (json_array_size(steps) == 1)
		return steps;
	return json_pack("[{s:o}]", "parallel", steps);
}

static json_t *cache_definitions(const struct ci_plan *plan)
{
	json_t *caches = json_object();
	for (size_t i = 0; plan->cache && i < plan->jobs.len; i++) {
		const struct plan_job *job = plan->jobs.items[i];
		for (size_t k = 0; job->pm && k < job->cache_paths.len; k++) {
			char *n = cache_name(job, k);
			json_object_set_new(caches, n,
					    json_pack("{s:{s:o}, s:s}", "key", "files",
						      string_array(&job->cache_key_files), "path",
						      (const char *)job->cache_paths.items[k]));
			free(n);
		}
	}
	return caches;
}

int ci_bitbucket_write(const struct ci_plan *plan, const struct ci_options *o,
		       struct gen_files *out, struct err *e)
{
	json_t *doc = json_object();
	json_t *caches = cache_definitions(plan);
	if (json_object_size(caches))
		json_object_set_new(doc, "definitions", json_pack("{s:o}", "caches", caches));
	else
		json_decref(caches);
	json_t *branches = json_object();
	for (size_t i = 0; i < plan->branches.len; i++)
		json_object_set_new(branches, plan->branches.items[i], pipeline(plan));
	/* Pull requests from any branch; Bitbucket filters them by source branch only. */
	json_object_set_new(doc, "pipelines",
			    json_pack("{s:o, s:{s:o}}", "branches", branches, "pull-requests", "**",
				      pipeline(plan)));

	static const char *const spaced[] = { "pipelines", NULL };
	const struct yaml_emit_options emit = { YAML_EMIT_SPACED, spaced };
	struct buf text = BUF_INIT;
	ci_plan_header(&text, plan, "#", o->command, plan->description);
	buf_addch(&text, '\n');
	yaml_emit(&text, doc, &emit);
	gen_files_add(out, "bitbucket-pipelines.yml", text.data);
	buf_free(&text);
	json_decref(doc);
	(void)e;
	return 0;
}
