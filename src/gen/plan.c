#include "gen/plan.h"

#include "gen/ci.h"
#include "gen/files.h"
#include "gen/templates.h"
#include "intel/document.h"
#include "intel/rules.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

static const char *command_of(const json_t *project, const char *kind)
{
	const char *cmd = json_get_str(json_object_get(project, "commands"), kind, NULL);
	return str_blank(cmd) ? NULL : cmd;
}

static const char *runtime_declared(const json_t *project, const char *id)
{
	return json_get_str(json_object_get(project, "runtimes"), id, NULL);
}

static const char *member_of(const json_t *project)
{
	return json_get_str(json_object_get(project, "workspace"), "member_of", NULL);
}

static bool list_has_string(const json_t *list, const char *id)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const json_t *text = json_is_object(item) ? json_object_get(item, "name") : item;
		if (str_eq(json_string_value(text), id))
			return true;
	}
	return false;
}

/* "dir/" + name, or name at the root. */
static char *join_path(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;
	if (!str_eq(dir, ".") && !str_blank(dir))
		buf_addf(&b, "%s/", dir);
	buf_adds(&b, name);
	return buf_detach(&b);
}

/* ---- choosing a stack ---- */

static const struct ci_runtime_template *
pm_runtime(const struct ci_templates *t, const struct ci_pm_template *pm, const json_t *project)
{
	const json_t *runtimes = json_object_get(project, "runtimes");
	const json_t *frameworks = json_object_get(project, "frameworks");
	for (size_t i = 0; i < pm->runtimes.len; i++) {
		const char *id = pm->runtimes.items[i];
		if (json_object_get(runtimes, id) || list_has_string(frameworks, id))
			return ci_templates_runtime(t, id);
	}
	return ci_templates_runtime(t, pm->runtimes.items[pm->runtimes.len - 1]);
}

/*
 * The package manager (and so runtime) a project is built with: among its
 * package managers with a template, the first whose runtime serves the
 * primary language (Laravel's composer over its npm), else the first.
 */
static void choose_stack(const struct ci_templates *t, const json_t *project,
			 const struct ci_pm_template **pm_out,
			 const struct ci_runtime_template **rt_out)
{
	const char *language = json_get_str(project, "primary_language", NULL);
	size_t i;
	json_t *id;
	*pm_out = NULL;
	*rt_out = NULL;
	json_array_foreach(json_object_get(project, "package_managers"), i, id)
	{
		const struct ci_pm_template *pm = ci_templates_pm(t, json_string_value(id));
		if (!pm)
			continue;
		const struct ci_runtime_template *rt = pm_runtime(t, pm, project);
		if (!*pm_out || (language && vec_has_str(&rt->languages, language) &&
				 !vec_has_str(&(*rt_out)->languages, language))) {
			*pm_out = pm;
			*rt_out = rt;
		}
	}
	if (*pm_out || !language)
		return;
	/*
	 * Without a package manager (C and C++), a build tool with a template
	 * for the language: CMake, Meson or Make set up in the image.
	 */
	json_array_foreach(json_object_get(project, "build_tools"), i, id)
	{
		const struct ci_pm_template *pm = ci_templates_pm(t, json_string_value(id));
		const struct ci_runtime_template *rt = pm ? pm_runtime(t, pm, project) : NULL;
		if (rt && vec_has_str(&rt->languages, language)) {
			*pm_out = pm;
			*rt_out = rt;
			return;
		}
	}
	for (size_t k = 0; k < t->runtimes.len; k++) {
		const struct ci_runtime_template *rt = t->runtimes.items[k];
		if (vec_has_str(&rt->languages, language)) {
			*rt_out = rt;
			return;
		}
	}
}

/* The first word of a command, past VAR=value assignments. */
static char *command_tool(const char *command)
{
	const char *p = command;
	for (;;) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		const char *eq = memchr(p, '=', n);
		if (!eq || !n || eq == p)
			return xstrndup(p, n);
		p += n;
	}
}

/*
 * A command that needs a tool of neither rt nor the companion ("cargo test"
 * in a Node job); *owner receives that tool's runtime.
 */
static const char *foreign_command(const struct ci_templates *t,
				   const struct ci_runtime_template *rt,
				   const struct ci_runtime_template *companion,
				   const json_t *project, const struct ci_runtime_template **owner)
{
	static const char *const kinds[] = { "install", "lint", "build", "test" };
	for (size_t i = 0; i < 4; i++) {
		const char *cmd = command_of(project, kinds[i]);
		if (!cmd)
			continue;
		char *tool = command_tool(cmd);
		*owner = strchr(tool, '/') ? NULL : ci_templates_tool_owner(t, tool);
		bool foreign = *owner && *owner != rt && *owner != companion &&
			       !vec_has_str(&rt->tools, tool);
		free(tool);
		if (foreign)
			return cmd;
	}
	*owner = NULL;
	return NULL;
}

/* The project's package manager that brings runtime `wanted` along as a companion. */
static const struct ci_pm_template *companion_pm(const struct ci_templates *t,
						 const json_t *project,
						 const struct ci_runtime_template *wanted)
{
	size_t i;
	json_t *id;
	if (!wanted || !wanted->companion_image_setup.len)
		return NULL;
	json_array_foreach(json_object_get(project, "package_managers"), i, id)
	{
		const struct ci_pm_template *pm = ci_templates_pm(t, json_string_value(id));
		if (pm && pm->install && pm_runtime(t, pm, project) == wanted)
			return pm;
	}
	return NULL;
}

/* ---- descriptions ---- */

/* The most specific framework: one no other framework of the project implies. */
static const char *framework_name(const struct rule_set *rules, const json_t *project)
{
	const json_t *frameworks = json_object_get(project, "frameworks");
	size_t i, k;
	json_t *f, *g;
	json_array_foreach(frameworks, i, f)
	{
		const char *id = json_get_str(f, "name", NULL);
		const struct rule *rule = rules ? rules_find(rules, id) : NULL;
		bool implied = false;
		json_array_foreach(frameworks, k, g)
		{
			const struct rule *other =
				rules ? rules_find(rules, json_get_str(g, "name", NULL)) : NULL;
			implied = implied ||
				  (rule && other && other != rule && rule_implies(other, rule));
		}
		if (!implied)
			return rule ? rule_name(rule) : id;
	}
	return NULL;
}

static char *describe(const struct rule_set *rules, const json_t *project,
		      const struct ci_runtime_template *rt, const struct ci_pm_template *pm)
{
	struct buf b = BUF_INIT;
	const char *framework = framework_name(rules, project);
	const char *language = json_get_str(project, "primary_language", NULL);
	const char *what = framework ? framework : language ? language : rt->name;
	buf_addf(&b, "%s %s %s (", strchr("AEIOUaeiou", what[0]) ? "an" : "a", what,
		 framework ? "app" : "project");
	if (framework)
		buf_addf(&b, "%s, ", language ? language : rt->name);
	buf_addf(&b, "%s)", pm ? pm->id : rt->name);
	return buf_detach(&b);
}

/* ---- jobs ---- */

static void step_free(void *item)
{
	struct plan_step *step = item;
	free(step->name);
	free(step->dir);
	vec_free(&step->commands, free);
	free(step);
}

static void job_free(void *item)
{
	struct plan_job *job = item;
	free(job->id);
	free(job->path);
	free(job->install_dir);
	free(job->description);
	free(job->version);
	free(job->companion_version);
	vec_free(&job->versions, free);
	map_free(job->vars, free);
	vec_free(&job->image_setup, free);
	json_decref(job->env);
	vec_free(&job->cache_paths, free);
	vec_free(&job->cache_key_files, free);
	json_decref(job->cache_env);
	vec_free(&job->steps, step_free);
	free(job->coverage_path);
	vec_free(&job->include_paths, free);
	vec_free(&job->exclude_paths, free);
	free(job);
}

void ci_plan_free(struct ci_plan *plan)
{
	if (!plan)
		return;
	vec_free(&plan->jobs, job_free);
	vec_free(&plan->branches, free);
	vec_free(&plan->skipped, free);
	free(plan->description);
	free(plan);
}

static struct plan_step *add_step(struct plan_job *job, enum plan_step_kind kind, const char *name,
				  const char *dir, const char *command)
{
	struct plan_step *step = xcalloc(1, sizeof(*step));
	step->kind = kind;
	step->name = xstrdup(name);
	step->dir = xstrdup(dir);
	if (command)
		vec_push(&step->commands, xstrdup(command));
	vec_push(&job->steps, step);
	return step;
}

static void set_var(struct plan_job *job, const char *name, const char *value)
{
	free(map_put(job->vars, name, xstrdup(value ? value : "")));
}

static const char *job_lookup(void *ctx, const char *name)
{
	const struct plan_job *job = ctx;
	return map_get(job->vars, name);
}

/* Fills version-independent placeholders in text; "" when one is missing. */
static char *job_text(struct plan_job *job, const char *text)
{
	char *out = ci_expand_text(text, job_lookup, job);
	return out ? out : xstrdup("");
}

static const char *job_version_lookup(void *ctx, const char *name)
{
	const struct plan_job *job = ctx;
	return str_eq(name, "version") ? job->version : job_lookup(ctx, name);
}

/* An image setup command: {version} is the job's (a toolchain installed by version). */
static void add_image_setup(struct plan_job *job, const struct vec *commands)
{
	for (size_t i = 0; i < commands->len; i++) {
		char *text = ci_expand_text(commands->items[i], job_version_lookup, job);
		vec_push(&job->image_setup, text ? text : xstrdup(commands->items[i]));
	}
}

static bool lock_proven(const struct ci_pm_template *pm, const char *install)
{
	return !pm->lock_proven_by || (install && str_starts_with(install, pm->lock_proven_by));
}

static void plan_cache(struct plan_job *job, const struct ci_options *o, const char *install)
{
	const struct ci_pm_template *pm = job->pm;
	bool proven = pm && lock_proven(pm, install);
	const char *prefix = map_get(job->vars, "prefix");
	struct buf files = BUF_INIT;
	if (pm && o->cache && pm->cache_github && proven) {
		const struct vec *list =
			pm->cache_github_files.len ? &pm->cache_github_files : &pm->lock_files;
		size_t count = pm->cache_github_files.len ? list->len : 1;
		for (size_t i = 0; i < count; i++)
			buf_addf(&files, "%s%s%s", i ? "\n" : "", prefix,
				 (const char *)list->items[i]);
		set_var(job, "github_cache", pm->cache_github);
	} else {
		set_var(job, "github_cache", "");
	}
	set_var(job, "github_cache_files", buf_cstr(&files));
	set_var(job, "cache_enabled", o->cache ? "true" : "false");
	buf_free(&files);
	if (!pm || !o->cache)
		return;
	job->github_builtin_cache = pm->cache_builtin || (pm->cache_github && proven);
	for (size_t i = 0; i < pm->cache_paths.len; i++)
		vec_push(&job->cache_paths, job_text(job, pm->cache_paths.items[i]));
	for (size_t i = 0; i < pm->lock_files.len; i++)
		vec_push(&job->cache_key_files,
			 join_path(job->install_dir, pm->lock_files.items[i]));
	if (pm->cache_env)
		job->cache_env = json_deep_copy(pm->cache_env);
}

static void plan_test_step(struct plan_job *job, const struct ci_options *o, const char *test)
{
	const struct ci_pm_template *pm = job->pm;
	if (o->coverage && pm && pm->coverage &&
	    (!pm->coverage_when || strstr(test, pm->coverage_when))) {
		char *tool = command_tool(test);
		set_var(job, "test", test);
		set_var(job, "tool", tool);
		free(tool);
		char *command = job_text(job, pm->coverage);
		add_step(job, PLAN_STEP_TEST, "Test with coverage", job->path, command);
		free(command);
		job->coverage_path = join_path(job->path, pm->coverage_path);
		return;
	}
	add_step(job, PLAN_STEP_TEST, "Test", job->path, test);
}

static int plan_custom_steps(struct plan_job *job, const struct ci_options *o, struct err *e)
{
	for (size_t i = 0; i < o->custom_steps.len; i++) {
		const char *spec = o->custom_steps.items[i];
		const char *eq = strchr(spec, '=');
		if (!eq || eq == spec || str_blank(eq + 1))
			return err_set(e, "--custom-step '%s': expected name=command", spec);
		char *name = xstrndup(spec, (size_t)(eq - spec));
		add_step(job, PLAN_STEP_CUSTOM, str_trim(name), job->path, eq + 1);
		free(name);
	}
	return 0;
}

static void plan_vars(struct plan_job *job, const json_t *project, const json_t *root)
{
	const struct ci_pm_template *pm = job->pm;
	char *prefix = join_path(job->install_dir, "");
	job->vars = map_new();
	set_var(job, "dir", job->path);
	set_var(job, "install_dir", job->install_dir);
	set_var(job, "prefix", prefix);
	free(prefix);
	const char *pin = NULL;
	if (pm) {
		char *short_id = xstrndup(pm->id, strcspn(pm->id, "-"));
		pin = runtime_declared(project, pm->id) ? runtime_declared(project, pm->id)
							: runtime_declared(project, short_id);
		if (!pin && root)
			pin = runtime_declared(root, short_id);
		free(short_id);
	}
	set_var(job, "pm_version", pm && !pin && pm->default_version ? pm->default_version : "");
	for (size_t i = 0; i < job->runtime->variables.len; i++) {
		const struct ci_variable *v = job->runtime->variables.items[i];
		const char *declared = runtime_declared(project, v->runtime);
		if (!declared && root)
			declared = runtime_declared(root, v->runtime);
		struct buf name = BUF_INIT;
		buf_addf(&name, "var:%s", v->name);
		set_var(job, name.data,
			declared && isdigit((unsigned char)*declared) ? declared
								      : v->default_value);
		buf_free(&name);
	}
}

/*
 * One project's job, or NULL with *why saying why it has none (why stays
 * NULL for a project with nothing to run: a shared config package).
 */
static struct plan_job *plan_job_new(const struct ci_plan *plan, const struct rule_set *rules,
				     const json_t *analysis, const json_t *project,
				     const struct ci_options *o, char **why, struct err *e)
{
	const struct ci_templates *t = plan->templates;
	const char *path = json_get_str(project, "path", ".");
	const char *install = command_of(project, "install");
	const char *lint = command_of(project, "lint");
	const char *build = command_of(project, "build");
	const char *test = command_of(project, "test");
	const char *language = json_get_str(project, "primary_language", NULL);
	size_t pm_count = json_array_size(json_object_get(project, "package_managers"));
	struct buf reason = BUF_INIT;
	*why = NULL;
	if (!pm_count && !lint && !build && !test)
		return NULL;
	const struct ci_pm_template *pm;
	const struct ci_runtime_template *rt;
	choose_stack(t, project, &pm, &rt);
	const struct ci_runtime_template *owner = NULL, *companion = NULL;
	const struct ci_pm_template *second_pm = NULL;
	const char *foreign = rt ? foreign_command(t, rt, NULL, project, &owner) : NULL;
	if (foreign && (second_pm = companion_pm(t, project, owner))) {
		companion = owner;
		foreign = foreign_command(t, rt, companion, project, &owner);
	}
	if (!rt || (!pm && !build && !test) || foreign) {
		buf_addf(&reason, "%s: %s", path, language ? language : "no source language");
		size_t i;
		json_t *id;
		json_array_foreach(json_object_get(project, "package_managers"), i, id)
			buf_addf(&reason, "%s%s", i ? ", " : " with ", json_string_value(id));
		if (foreign)
			buf_addf(&reason, ", but '%s' needs another runtime than %s", foreign,
				 rt->name);
		else if (!rt)
			buf_addf(&reason, " (%s%s): no CI template for this stack",
				 build	? "build: "
				 : test ? "test: "
					: "no commands",
				 build	? build
				 : test ? test
					: "");
		else
			buf_adds(&reason, ": no package manager and no build or test command");
		*why = buf_detach(&reason);
		return NULL;
	}
	buf_free(&reason);
	if (!lint && !build && !test)
		return NULL;

	struct plan_job *job = xcalloc(1, sizeof(*job));
	const char *ws_root_path = member_of(project);
	const json_t *ws_root = ws_root_path ? document_find_project(analysis, ws_root_path) : NULL;
	job->path = xstrdup(path);
	job->install_dir = xstrdup(ws_root ? ws_root_path : path);
	job->runtime = rt;
	job->pm = pm;
	job->description = describe(rules, project, rt, pm);
	plan_vars(job, project, ws_root);

	const char *declared = runtime_declared(project, rt->id);
	if (!declared && ws_root)
		declared = runtime_declared(ws_root, rt->id);
	bool exact;
	job->version = ci_runtime_resolve_version(rt, declared, &exact);
	/* A toolchain the image setup installs by version is tested at one version. */
	bool setup_by_version = false;
	for (size_t i = 0; i < rt->image_setup.len; i++)
		setup_by_version =
			setup_by_version || strstr(rt->image_setup.items[i], "{version}");
	if (o->matrix && !setup_by_version)
		ci_runtime_matrix_versions(rt, declared, job->version, &job->versions);
	else
		vec_push(&job->versions, xstrdup(job->version));

	add_image_setup(job, &rt->image_setup);
	if (pm)
		add_image_setup(job, &pm->image_setup);
	if (companion) {
		job->companion = companion;
		bool companion_exact;
		job->companion_version = ci_runtime_resolve_version(
			companion, runtime_declared(project, companion->id), &companion_exact);
		add_image_setup(job, &companion->companion_image_setup);
		add_image_setup(job, &second_pm->image_setup);
	}
	job->env = pm && pm->env ? json_deep_copy(pm->env) : json_object();
	plan_cache(job, o, install);

	if (install)
		add_step(job, PLAN_STEP_INSTALL, "Install dependencies", job->install_dir, install);
	if (companion) {
		struct buf name = BUF_INIT;
		buf_addf(&name, "Install %s dependencies", companion->name);
		add_step(job, PLAN_STEP_INSTALL, name.data, job->install_dir, second_pm->install);
		buf_free(&name);
	}
	if (lint)
		add_step(job, PLAN_STEP_LINT, "Lint", path, lint);
	if (build)
		add_step(job, PLAN_STEP_BUILD, "Build", path, build);
	if (test)
		plan_test_step(job, o, test);
	if (o->security && pm && pm->audit.len) {
		struct plan_step *audit = add_step(job, PLAN_STEP_AUDIT, "Audit dependencies",
						   job->install_dir, NULL);
		for (size_t i = 0; i < pm->audit.len; i++)
			vec_push(&audit->commands, xstrdup(pm->audit.items[i]));
	}
	if (plan_custom_steps(job, o, e) < 0) {
		job_free(job);
		return NULL;
	}
	return job;
}

/* ---- the whole plan ---- */

/* Lowercase letters, digits and dashes: a job id every provider accepts. */
static char *sanitize_id(const char *text)
{
	struct buf b = BUF_INIT;
	for (const char *p = text; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (isalnum((unsigned char)c) || c == '_')
			buf_addch(&b, c);
		else if (b.len && b.data[b.len - 1] != '-')
			buf_addch(&b, '-');
	}
	while (b.len && b.data[b.len - 1] == '-')
		buf_truncate(&b, b.len - 1);
	/* Keys GitLab reads as its own, and the secret scan's job. */
	static const char *const reserved[] = {
		"stages", "default",	 "workflow", "variables",     "include",
		"image",  "services",	 "cache",    "before_script", "after_script",
		"pages",  "secret-scan", NULL
	};
	for (const char *const *r = reserved; *r && b.len; r++)
		if (str_eq(b.data, *r))
			buf_adds(&b, "-job");
	if (!b.len || !isalpha((unsigned char)b.data[0])) {
		struct buf prefixed = BUF_INIT;
		buf_addf(&prefixed, "job-%s", buf_cstr(&b));
		buf_free(&b);
		return buf_detach(&prefixed);
	}
	return buf_detach(&b);
}

static void assign_ids(struct ci_plan *plan, const json_t *analysis)
{
	if (plan->jobs.len == 1 && str_eq(((struct plan_job *)plan->jobs.items[0])->path, ".")) {
		((struct plan_job *)plan->jobs.items[0])->id = xstrdup("build");
		return;
	}
	for (size_t i = 0; i < plan->jobs.len; i++) {
		struct plan_job *job = plan->jobs.items[i];
		const char *base =
			strrchr(job->path, '/') ? strrchr(job->path, '/') + 1 : job->path;
		if (str_eq(job->path, "."))
			base = json_get_str(document_find_project(analysis, "."), "name", "root");
		job->id = sanitize_id(base);
	}
	for (size_t i = 0; i < plan->jobs.len; i++) {
		struct plan_job *job = plan->jobs.items[i];
		bool clash = false;
		for (size_t k = 0; k < plan->jobs.len; k++)
			clash = clash ||
				(k != i &&
				 str_eq(((struct plan_job *)plan->jobs.items[k])->id, job->id));
		if (clash && !str_eq(job->path, ".")) {
			free(job->id);
			job->id = sanitize_id(job->path);
		}
	}
}

static void plan_triggers(struct ci_plan *plan, const json_t *analysis)
{
	plan->filtered = plan->jobs.len > 1;
	if (!plan->filtered)
		return;
	for (size_t i = 0; i < plan->jobs.len; i++) {
		struct plan_job *job = plan->jobs.items[i];
		if (str_eq(job->path, ".")) {
			for (size_t k = 0; k < plan->jobs.len; k++)
				if (k != i)
					vec_push(&job->exclude_paths,
						 join_path(((struct plan_job *)plan->jobs.items[k])
								   ->path,
							   "**"));
			continue;
		}
		vec_push(&job->include_paths, join_path(job->path, "**"));
		if (str_eq(job->install_dir, job->path))
			continue;
		/* A workspace member also depends on its root's manifests and lock file. */
		size_t k;
		json_t *manifest;
		const json_t *root = document_find_project(analysis, job->install_dir);
		json_array_foreach(json_object_get(root, "manifests"), k, manifest)
		{
			char *p = xstrdup(json_string_value(manifest));
			if (!vec_has_str(&job->include_paths, p))
				vec_push(&job->include_paths, p);
			else
				free(p);
		}
		for (k = 0; job->pm && k < job->pm->lock_files.len; k++) {
			if (strchr(job->pm->lock_files.items[k], '*'))
				continue;
			char *p = join_path(job->install_dir, job->pm->lock_files.items[k]);
			if (!vec_has_str(&job->include_paths, p))
				vec_push(&job->include_paths, p);
			else
				free(p);
		}
	}
}

/* Whether the workspace root's template wants one job at the root, not per member. */
static bool root_builds_members(const struct ci_templates *t, const json_t *root)
{
	const struct ci_pm_template *pm;
	const struct ci_runtime_template *rt;
	choose_stack(t, root, &pm, &rt);
	return pm && pm->workspace_root &&
	       (command_of(root, "build") || command_of(root, "test") || command_of(root, "lint"));
}

static void plan_description(struct ci_plan *plan)
{
	struct buf b = BUF_INIT;
	if (plan->jobs.len == 1) {
		const struct plan_job *job = plan->jobs.items[0];
		buf_adds(&b, job->description);
		if (!str_eq(job->path, "."))
			buf_addf(&b, " at %s", job->path);
	} else {
		buf_addf(&b, "a repository of %zu projects (", plan->jobs.len);
		for (size_t i = 0; i < plan->jobs.len; i++)
			buf_addf(&b, "%s%s", i ? ", " : "",
				 ((const struct plan_job *)plan->jobs.items[i])->path);
		buf_adds(&b, ")");
	}
	plan->description = buf_detach(&b);
}

static int plan_unsupported(struct ci_plan *plan, const json_t *analysis, struct err *e)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "unsupported stack: no project has a stack the CI templates serve");
	for (size_t i = 0; i < plan->skipped.len; i++)
		buf_addf(&b, "%s%s", i ? "; " : " (", (const char *)plan->skipped.items[i]);
	if (plan->skipped.len) {
		buf_adds(&b, ")");
	} else {
		size_t i;
		json_t *project;
		buf_adds(&b, " (detected:");
		json_array_foreach(json_object_get(analysis, "projects"), i, project)
		{
			const char *language = json_get_str(project, "primary_language", NULL);
			buf_addf(&b, "%s %s: %s", i ? ";" : "", json_get_str(project, "path", "."),
				 language ? language : "no source");
			buf_adds(&b, ", nothing to lint, build or test");
		}
		buf_adds(&b, ")");
	}
	err_set(e, "%s", b.data);
	buf_free(&b);
	return GEN_UNSUPPORTED;
}

int ci_plan_build(struct ci_plan **out, const json_t *analysis, const struct ci_templates *t,
		  const struct ci_options *o, struct err *e)
{
	*out = NULL;
	if (!json_is_array(json_object_get(analysis, "projects")))
		return err_set(e, "the analysis document has no 'projects' list");
	struct ci_plan *plan = xcalloc(1, sizeof(*plan));
	plan->templates = t;
	plan->cache = o->cache;
	plan->matrix = o->matrix;
	plan->coverage = o->coverage;
	plan->secret_scan = o->security;
	const struct vec *branches = o->branches.len ? &o->branches : &t->default_branches;
	for (size_t i = 0; i < branches->len; i++)
		vec_push(&plan->branches, xstrdup(branches->items[i]));

	struct rule_set *rules = NULL;
	struct err ignored = ERR_INIT;
	if (rules_load(&rules, &ignored) < 0)
		rules = NULL; /* descriptions fall back to framework ids */

	int rc = 0;
	size_t i;
	json_t *project;
	json_array_foreach(json_object_get(analysis, "projects"), i, project)
	{
		const char *ws_root_path = member_of(project);
		const json_t *ws_root =
			ws_root_path ? document_find_project(analysis, ws_root_path) : NULL;
		if (ws_root && root_builds_members(t, ws_root))
			continue;
		char *why = NULL;
		struct err job_err = ERR_INIT;
		struct plan_job *job =
			plan_job_new(plan, rules, analysis, project, o, &why, &job_err);
		if (err_is_set(&job_err)) {
			rc = err_set(e, "%s", job_err.msg);
			break;
		}
		if (why)
			vec_push(&plan->skipped, why);
		if (job)
			vec_push(&plan->jobs, job);
	}
	/* A workspace root whose members have their own jobs does not build them again. */
	for (size_t k = plan->jobs.len; rc == 0 && k-- > 0;) {
		struct plan_job *job = plan->jobs.items[k];
		const json_t *root = document_find_project(analysis, job->path);
		bool has_members = false;
		for (size_t m = 0; m < plan->jobs.len; m++) {
			const struct plan_job *other = plan->jobs.items[m];
			has_members = has_members ||
				      (other != job && str_eq(other->install_dir, job->path) &&
				       !str_eq(other->path, job->path));
		}
		if (has_members &&
		    json_get_bool(json_object_get(root, "workspace"), "root", false) &&
		    !root_builds_members(t, root))
			job_free(vec_remove(&plan->jobs, k));
	}
	rules_free(rules);
	if (rc == 0 && !plan->jobs.len)
		rc = plan_unsupported(plan, analysis, e);
	if (rc != 0) {
		ci_plan_free(plan);
		return rc;
	}
	assign_ids(plan, analysis);
	plan_triggers(plan, analysis);
	plan_description(plan);
	*out = plan;
	return 0;
}
