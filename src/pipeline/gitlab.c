/*
 * gitlab: GitLab CI files as workflows; see gitlab.h.
 *
 * The loader's passes, in GitLab's order: parse, include, !reference,
 * stages, default:, variables, workflow:rules, then each job prepared,
 * decided and emitted in stage order.
 */
#include "pipeline/gitlab.h"

#include "pipeline/gitlab_internal.h"
#include "pipeline/workflow.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Stages, and each job checked and decided                            */

static const char *const reserved_keys[] = { "default",	     "include",	 "stages",
					     "variables",    "workflow", "image",
					     "services",     "cache",	 "before_script",
					     "after_script", NULL };

static int stages_read(struct loader *l)
{
	static const char *const defaults[] = { "build", "test", "deploy" };
	const struct yaml_node *node = yaml_get(l->root, "stages");
	struct vec list = VEC_INIT;
	if (node && !yaml_is_null(node)) {
		if (node->kind != YAML_SEQUENCE) {
			return gitlab_node_err(l, node, "stages must be a list of stage names");
		}
		if (gitlab_list_flatten(l, node, &list, 0, "stages")) {
			vec_free(&list, NULL);
			return -1;
		}
	}
	l->stages = arena_calloc(l->arena, list.len + 5, sizeof(*l->stages));
	/* .pre and .post are always there, first and last. */
	l->stages[l->stages_count++] = ".pre";
	if (!node || yaml_is_null(node)) {
		for (size_t i = 0; i < 3; i++)
			l->stages[l->stages_count++] = defaults[i];
	}
	for (size_t i = 0; i < list.len; i++) {
		const char *name = gitlab_scalar_text(list.items[i]);
		if (!name || !*name) {
			gitlab_node_err(l, list.items[i], "stages: each stage must be a name");
			vec_free(&list, NULL);
			return -1;
		}
		bool seen = strcmp(name, ".pre") == 0 || strcmp(name, ".post") == 0;
		for (size_t k = 0; k < l->stages_count; k++)
			seen = seen || strcmp(l->stages[k], name) == 0;
		if (!seen)
			l->stages[l->stages_count++] = name;
	}
	l->stages[l->stages_count++] = ".post";
	vec_free(&list, NULL);
	return 0;
}

static int stage_find(struct loader *l, struct gjob *j)
{
	const struct yaml_node *node = yaml_get(j->node, "stage");
	const char *stage = node ? gitlab_scalar_text(node) : "test";
	if (!stage || !*stage)
		return gitlab_node_err(l, node, "job '%s': stage must be a stage name", j->name);
	for (size_t i = 0; i < l->stages_count; i++) {
		if (strcmp(l->stages[i], stage) == 0) {
			j->stage = i;
			return 0;
		}
	}
	struct buf list = BUF_INIT;
	for (size_t i = 0; i < l->stages_count; i++)
		buf_addf(&list, "%s%s", i ? ", " : "", l->stages[i]);
	gitlab_node_err(l, node ? node : j->key, "job '%s': stage '%s' is not in stages (%s)",
			j->name, stage, buf_cstr(&list));
	buf_free(&list);
	return -1;
}

/* Checks one visible job and decides whether it runs in this pipeline. */
static int job_prepare(struct loader *l, struct gjob *j)
{
	static const char *const keys[] = {
		"after_script",
		"allow_failure",
		"artifacts",
		"before_script",
		"cache",
		"coverage",
		"dast_configuration",
		"dependencies",
		"environment",
		"except",
		"extends",
		"hooks",
		"id_tokens",
		"identity",
		"image",
		"inherit",
		"interruptible",
		"manual_confirmation",
		"needs",
		"only",
		"pages",
		"parallel",
		"release",
		"resource_group",
		"retry",
		"rules",
		"run",
		"script",
		"secrets",
		"services",
		"stage",
		"start_in",
		"tags",
		"timeout",
		"trigger",
		"variables",
		"when",
		NULL,
	};
	struct buf what = BUF_INIT;
	buf_addf(&what, "job '%s'", j->name);
	int rc = gitlab_extends_resolve(l, j->name, j->key, 0, &j->node);
	if (rc == 0)
		rc = gitlab_defaults_apply(l, j);
	if (rc == 0)
		rc = gitlab_keys_check(l, j->node, keys, buf_cstr(&what));
	buf_free(&what);
	if (rc || stage_find(l, j))
		return -1;
	const struct yaml_node *run = yaml_get(j->node, "run");
	if (run)
		return gitlab_node_err(l, run,
				       "job '%s': run: (CI/CD steps) is not supported by ampel "
				       "run; use script:",
				       j->name);
	const struct yaml_node *trigger = yaml_get(j->node, "trigger");
	const struct yaml_node *script = yaml_get(j->node, "script");
	struct vec lines = VEC_INIT;
	if (!trigger && script && gitlab_script_collect(l, script, j->name, "script", &lines)) {
		vec_free(&lines, NULL);
		return -1;
	}
	size_t commands = lines.len;
	vec_free(&lines, NULL);
	if (!trigger && commands == 0)
		return gitlab_node_err(l, script ? script : j->key, "job '%s': script is required",
				       j->name);

	j->when = "on_success";
	const struct yaml_node *when = yaml_get(j->node, "when");
	if (when && gitlab_when_check(l, when, RULES_JOB, &j->when))
		return -1;
	const struct yaml_node *allow = yaml_get(j->node, "allow_failure");
	if (allow && gitlab_allow_failure_read(l, allow, &j->allow_failure))
		return -1;
	j->needs = yaml_get(j->node, "needs");

	/* Variables the rules can see: global ones, the job's, the user's. */
	gitlab_vars_add_all(&j->vars, &l->predefined);
	gitlab_vars_set(&j->vars, "CI_JOB_NAME", j->name, false, false);
	gitlab_vars_set(&j->vars, "CI_JOB_STAGE", l->stages[j->stage], false, false);
	for (size_t i = 0; i < l->globals.count; i++) {
		bool inherit;
		if (gitlab_inherit_allows(l, j->node, "variables", l->globals.items[i].name,
					  &inherit))
			return -1;
		if (inherit)
			gitlab_vars_set(&j->vars, l->globals.items[i].name,
					l->globals.items[i].value, false,
					l->globals.items[i].literal);
	}
	struct buf where = BUF_INIT;
	buf_addf(&where, "job '%s'", j->name);
	rc = gitlab_vars_parse(l, yaml_get(j->node, "variables"), &j->vars, buf_cstr(&where));
	buf_free(&where);
	if (rc)
		return -1;
	struct vars scope = { 0 };
	gitlab_vars_add_all(&scope, &j->vars);
	gitlab_vars_add_all(&scope, &l->user);

	bool included;
	rc = gitlab_job_rules_decide(l, j, &scope, &included);
	gitlab_vars_free(&scope);
	if (rc)
		return -1;
	if (j->rule_variables &&
	    gitlab_vars_parse(l, j->rule_variables, &j->vars, "rules:variables"))
		return -1;
	gitlab_vars_add_all(&j->vars, &l->user);
	if (!included || strcmp(j->when, "never") == 0)
		j->fate = JOB_EXCLUDED;
	else if (trigger || strcmp(j->when, "manual") == 0 || strcmp(j->when, "delayed") == 0)
		j->fate = JOB_LEFT_OUT;
	else
		j->fate = JOB_RUNS;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The whole file                                                       */

static int globals_env(struct loader *l, struct workflow *wf)
{
	struct vars scope = { 0 };
	gitlab_vars_add_all(&scope, &l->predefined);
	gitlab_vars_add_all(&scope, &l->globals);
	gitlab_vars_add_all(&scope, &l->user);
	int rc = 0;
	if (l->globals.count)
		wf->env = json_object();
	for (size_t i = 0; rc == 0 && i < l->globals.count; i++) {
		const struct var *v = gitlab_vars_find(&scope, l->globals.items[i].name,
						       strlen(l->globals.items[i].name));
		const char *value = v->value;
		if (v->literal) {
			char *escaped = gitlab_text_escape(value);
			json_object_set_new(wf->env, v->name, gitlab_json_text(escaped));
			free(escaped);
			continue;
		}
		rc = gitlab_value_expand(l, l->root, &scope, value, true, &value);
		if (rc == 0)
			json_object_set_new(wf->env, v->name, gitlab_json_text(value));
	}
	gitlab_vars_free(&scope);
	return rc;
}

static int jobs_collect(struct loader *l)
{
	l->jobs = xcalloc(l->root->count ? l->root->count : 1, sizeof(*l->jobs));
	for (size_t i = 0; i < l->root->count; i++) {
		const struct yaml_node *key = l->root->pairs[i].key;
		struct yaml_node *value = l->root->pairs[i].value;
		const char *name = gitlab_scalar_text(key);
		if (!name || !*name)
			return gitlab_node_err(l, key, "job names must be plain strings");
		if (gitlab_word_in(reserved_keys, name) || name[0] == '.')
			continue;
		if (value->kind != YAML_MAPPING)
			return gitlab_node_err(
				l, value,
				"job '%s' must be a mapping of job keywords (script:, "
				"stage:, ...)",
				name);
		struct gjob *j = &l->jobs[l->jobs_count++];
		j->name = name;
		j->key = key;
		j->node = value;
	}
	if (l->jobs_count == 0)
		return gitlab_node_err(l, l->root,
				       "no jobs: define at least one job whose name does "
				       "not start with '.'");
	return 0;
}

static int translate(struct loader *l, const char *data, size_t len, struct workflow **out)
{
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, l->file, data, len, l->e))
		return -1;
	vec_push(&l->docs, doc);
	gitlab_origins_register(l, doc->root, l->file);
	if (gitlab_root_check(l, doc, l->file))
		return -1;
	gitlab_predefined_build(l);
	if (gitlab_include_process(l, doc->root, 0, &l->raw_root))
		return -1;
	if (gitlab_reference_resolve(l, l->raw_root, 0, &l->root))
		return -1;
	if (stages_read(l) || gitlab_defaults_read(l))
		return -1;
	if (gitlab_vars_parse(l, yaml_get(l->root, "variables"), &l->globals, "variables"))
		return -1;
	bool runs;
	if (gitlab_workflow_rules(l, &runs) || jobs_collect(l))
		return -1;
	for (size_t i = 0; i < l->jobs_count; i++)
		if (job_prepare(l, &l->jobs[i]))
			return -1;

	struct workflow *wf = workflow_new(WORKFLOW_GITLAB, l->file);
	wf->name = xstrdup(l->file);
	wf->triggers = xcalloc(1, sizeof(*wf->triggers));
	wf->triggers[0].event = xstrdup("push");
	wf->triggers_count = 1;
	/* Jobs that do not run are translated too (into a scratch workflow),
	 * so that a mistake in one is reported whatever the branch. */
	struct workflow *scratch = workflow_new(WORKFLOW_GITLAB, l->file);
	bool real_stage = false;
	for (size_t i = 0; i < l->jobs_count; i++)
		real_stage = real_stage || (l->jobs[i].fate == JOB_RUNS && l->jobs[i].stage != 0 &&
					    l->jobs[i].stage != l->stages_count - 1);
	int rc = globals_env(l, wf);
	for (size_t s = 0; rc == 0 && s < l->stages_count; s++) {
		for (size_t i = 0; rc == 0 && i < l->jobs_count; i++) {
			struct gjob *j = &l->jobs[i];
			if (j->stage != s)
				continue;
			/* A pipeline of only .pre/.post jobs does not run in GitLab. */
			bool runs_here = runs && j->fate == JOB_RUNS && real_stage;
			rc = gitlab_job_emit(l, j, runs_here ? wf : scratch, runs_here);
		}
	}
	workflow_free(scratch);
	if (rc) {
		workflow_free(wf);
		return -1;
	}
	*out = wf;
	return 0;
}

static void loader_free(struct loader *l)
{
	for (size_t i = 0; i < l->docs.len; i++)
		yaml_doc_free(l->docs.items[i]);
	vec_free(&l->docs, NULL);
	vec_free(&l->repo_files, free);
	free(l->origins.slots);
	free(l->resolved.slots);
	map_free(l->included, NULL);
	map_free(l->extends_done, NULL);
	map_free(l->extends_busy, NULL);
	for (size_t i = 0; i < l->jobs_count; i++)
		gitlab_vars_free(&l->jobs[i].vars);
	free(l->jobs);
	gitlab_vars_free(&l->predefined);
	gitlab_vars_free(&l->user);
	gitlab_vars_free(&l->globals);
	arena_free(l->arena);
}

static int parse_in(struct workflow **out, const char *file, const char *repo_dir, const char *data,
		    size_t len, const struct gitlab_context *ctx, struct err *e)
{
	struct loader l = {
		.file = file,
		.repo_dir = repo_dir,
		.ctx = ctx,
		.e = e,
		.arena = arena_new(),
		.included = map_new(),
		.extends_done = map_new(),
		.extends_busy = map_new(),
	};
	*out = NULL;
	int rc = translate(&l, data, len, out);
	loader_free(&l);
	return rc;
}

int gitlab_parse(struct workflow **out, const char *file, const char *data, size_t len,
		 const struct gitlab_context *ctx, struct err *e)
{
	return parse_in(out, file, ctx ? ctx->repo_dir : NULL, data, len, ctx, e);
}

int gitlab_load(struct workflow **out, const char *path, const struct gitlab_context *ctx,
		struct err *e)
{
	*out = NULL;
	struct buf data = BUF_INIT;
	if (buf_read_file(&data, path, MAX_INCLUDE_BYTES, e)) {
		buf_free(&data);
		return -1;
	}
	char *dir = NULL;
	const char *repo_dir = ctx ? ctx->repo_dir : NULL;
	if (!repo_dir) {
		const char *slash = strrchr(path, '/');
		dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
			    : xstrdup(".");
		repo_dir = dir;
	}
	int rc = parse_in(out, path, repo_dir, data.data ? data.data : "", data.len, ctx, e);
	free(dir);
	buf_free(&data);
	return rc;
}
