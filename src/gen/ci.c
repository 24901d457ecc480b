#include "gen/ci.h"

#include "gen/ci_bitbucket.h"
#include "gen/ci_github.h"
#include "gen/ci_gitlab.h"
#include "gen/ci_jenkins.h"
#include "gen/files.h"
#include "gen/plan.h"
#include "gen/templates.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Template expansion and the plan's helpers for the provider writers
 * (declared in templates.h and plan.h): shared by all four writers, so here
 * beside gen_ci rather than in any one of them.
 */

/* ---- expansion ---- */

/* Length of a "{name}" placeholder at s (0 when s does not start one). */
static size_t placeholder_len(const char *s)
{
	if (s[0] != '{' || !islower((unsigned char)s[1]))
		return 0;
	size_t n = 1;
	while (islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) || s[n] == '_' ||
	       s[n] == ':')
		n++;
	return s[n] == '}' ? n + 1 : 0;
}

static bool only_placeholders(const char *s)
{
	if (!*s)
		return false;
	while (*s) {
		size_t n = placeholder_len(s);
		if (!n)
			return false;
		s += n;
	}
	return true;
}

char *ci_expand_text(const char *text, ci_lookup_fn *lookup, void *ctx)
{
	struct buf out = BUF_INIT;
	buf_adds(&out, "");
	for (const char *p = text; *p;) {
		size_t n = placeholder_len(p);
		if (!n) {
			buf_addch(&out, *p++);
			continue;
		}
		char *name = xstrndup(p + 1, n - 2);
		const char *value = lookup(ctx, name);
		free(name);
		if (!value) {
			buf_free(&out);
			return NULL;
		}
		buf_adds(&out, value);
		p += n;
	}
	return buf_detach(&out);
}

/* Expands one template value; *drop when it vanished. NULL + !*drop: unknown placeholder. */
static json_t *expand_value(const json_t *value, ci_lookup_fn *lookup, void *ctx, bool *drop)
{
	*drop = false;
	if (json_is_string(value)) {
		const char *text = json_string_value(value);
		char *expanded = ci_expand_text(text, lookup, ctx);
		if (!expanded)
			return NULL;
		json_t *result = NULL;
		if (only_placeholders(text) && !*expanded)
			*drop = true;
		else if (only_placeholders(text) &&
			 (str_eq(expanded, "true") || str_eq(expanded, "false")))
			result = json_boolean(str_eq(expanded, "true"));
		else
			result = json_string(expanded);
		free(expanded);
		return result;
	}
	if (json_is_array(value)) {
		json_t *array = json_array();
		size_t i;
		json_t *item;
		json_array_foreach(value, i, item)
		{
			bool gone;
			json_t *copy = expand_value(item, lookup, ctx, &gone);
			if (!copy && !gone) {
				json_decref(array);
				return NULL;
			}
			if (copy)
				json_array_append_new(array, copy);
		}
		return array;
	}
	if (json_is_object(value)) {
		json_t *object = json_object();
		const char *key;
		json_t *item;
		json_object_foreach((json_t *)value, key, item)
		{
			bool gone;
			json_t *copy = expand_value(item, lookup, ctx, &gone);
			if (!copy && !gone) {
				json_decref(object);
				return NULL;
			}
			if (copy)
				json_object_set_new(object, key, copy);
		}
		if (!json_object_size(object) && json_object_size(value)) {
			/* a `with:` left empty goes away too */
			json_decref(object);
			*drop = true;
			return NULL;
		}
		return object;
	}
	return json_deep_copy(value);
}

json_t *ci_expand_json(const json_t *value, ci_lookup_fn *lookup, void *ctx)
{
	bool drop;
	json_t *result = expand_value(value, lookup, ctx, &drop);
	if (!result && drop)
		result = json_is_array(value) ? json_array() : json_object();
	return result;
}

/* ---- expansion for writers ---- */

struct version_lookup {
	const struct plan_job *job;
	const char *version;
	char major[32];
	char minor[64];
};

static const char *version_lookup(void *ctx, const char *name)
{
	struct version_lookup *v = ctx;
	if (str_eq(name, "version"))
		return v->version;
	if (str_eq(name, "major"))
		return v->major;
	if (str_eq(name, "minor"))
		return v->minor;
	return map_get(v->job->vars, name);
}

static void version_lookup_init(struct version_lookup *v, const struct plan_job *job,
				const char *version)
{
	v->job = job;
	v->version = version;
	size_t major = strcspn(version, ".");
	size_t minor = major + (version[major] ? 1 + strcspn(version + major + 1, ".") : 0);
	snprintf(v->major, sizeof(v->major), "%.*s", (int)major, version);
	snprintf(v->minor, sizeof(v->minor), "%.*s", (int)minor, version);
}

char *ci_plan_image(const struct plan_job *job, const char *version)
{
	const char *tag = version;
	if (job->runtime->image_versions && map_get(job->runtime->image_versions, version))
		tag = map_get(job->runtime->image_versions, version);
	struct version_lookup v;
	version_lookup_init(&v, job, tag);
	const char *image = job->pm && job->pm->image ? job->pm->image : job->runtime->image;
	char *out = ci_expand_text(image, version_lookup, &v);
	return out ? out : xstrdup(image);
}

json_t *ci_plan_expand(const struct plan_job *job, const json_t *tmpl, const char *version,
		       struct err *e)
{
	struct version_lookup v;
	version_lookup_init(&v, job, version);
	json_t *out = ci_expand_json(tmpl, version_lookup, &v);
	if (!out)
		err_set(e,
			"ci-templates.yaml: runtime '%s': a GitHub step names an unknown "
			"placeholder",
			job->runtime->id);
	return out;
}

static const char *companion_lookup(void *ctx, const char *name)
{
	/* The companion is set up plain: caching belongs to the main stack. */
	if (str_eq(name, "github_cache") || str_eq(name, "github_cache_files"))
		return "";
	if (str_eq(name, "cache_enabled"))
		return "false";
	return version_lookup(ctx, name);
}

json_t *ci_plan_expand_companion(const struct plan_job *job, struct err *e)
{
	struct version_lookup v;
	version_lookup_init(&v, job, job->companion_version);
	json_t *out = ci_expand_json(job->companion->github, companion_lookup, &v);
	if (!out)
		err_set(e,
			"ci-templates.yaml: runtime '%s': a GitHub step names an unknown "
			"placeholder",
			job->companion->id);
	return out;
}

static const char *cache_root_lookup(void *ctx, const char *name)
{
	return str_eq(name, "cache_root") ? ctx : NULL;
}

char *ci_plan_expand_env(const char *value, const char *cache_root)
{
	char *out = ci_expand_text(value, cache_root_lookup, (void *)cache_root);
	return out ? out : xstrdup(value);
}

void ci_plan_local_cache_paths(const struct plan_job *job, struct vec *out)
{
	for (size_t i = 0; i < job->cache_paths.len; i++) {
		const char *p = job->cache_paths.items[i];
		if (p[0] != '~' && p[0] != '/' && !vec_has_str(out, p))
			vec_push(out, xstrdup(p));
	}
	const char *key;
	json_t *value;
	json_object_foreach(job->cache_env, key, value)
	{
		const char *at = strstr(json_string_value(value), "{cache_root}/");
		if (!at)
			continue;
		at += strlen("{cache_root}/");
		char *p = xstrndup(at, strcspn(at, " "));
		if (vec_has_str(out, p))
			free(p);
		else
			vec_push(out, p);
	}
}

void ci_plan_header(struct buf *out, const struct ci_plan *plan, const char *prefix,
		    const char *command, const char *what)
{
	gen_header(out, prefix, command ? command : "ampel generate ci", what);
	for (size_t i = 0; i < plan->skipped.len; i++)
		buf_addf(out, "%s Not covered: %s\n", prefix, (const char *)plan->skipped.items[i]);
}

/* ---- the entry point ---- */

int ci_provider_parse(const char *name, enum ci_provider *out)
{
	static const struct {
		const char *name;
		enum ci_provider provider;
	} providers[] = {
		{ "github", CI_GITHUB },
		{ "gitlab", CI_GITLAB },
		{ "bitbucket", CI_BITBUCKET },
		{ "jenkins", CI_JENKINS },
	};
	for (size_t i = 0; i < sizeof(providers) / sizeof(*providers); i++)
		if (str_eq_icase(name, providers[i].name)) {
			*out = providers[i].provider;
			return 0;
		}
	return -1;
}

/* Branch names go into YAML and Groovy strings: no quotes, no control characters. */
static int check_branches(const struct ci_options *options, struct err *e)
{
	for (size_t i = 0; i < options->branches.len; i++) {
		const char *b = options->branches.items[i];
		if (str_blank(b))
			return err_set(e, "--branches: empty branch name");
		for (const char *p = b; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == '\'' || *p == '"' || *p == '\\' ||
			    *p == '$' || *p == '`')
				return err_set(e, "--branches: '%s' is not a valid branch name", b);
	}
	return 0;
}

int gen_ci(const json_t *analysis, const struct ci_options *options, struct gen_files *out,
	   struct err *e)
{
	if (check_branches(options, e) < 0)
		return -1;
	struct ci_templates *templates = NULL;
	if (ci_templates_load(&templates, e) < 0)
		return -1;
	struct ci_plan *plan = NULL;
	int rc = ci_plan_build(&plan, analysis, templates, options, e);
	if (rc == 0) {
		/* Written to a scratch set, so a failure leaves out untouched. */
		struct gen_files files = GEN_FILES_INIT;
		switch (options->provider) {
		case CI_GITHUB:
			rc = ci_github_write(plan, options, &files, e);
			break;
		case CI_GITLAB:
			rc = ci_gitlab_write(plan, options, &files, e);
			break;
		case CI_BITBUCKET:
			rc = ci_bitbucket_write(plan, options, &files, e);
			break;
		case CI_JENKINS:
			rc = ci_jenkins_write(plan, options, &files, e);
			break;
		default:
			rc = err_set(e, "unknown CI provider");
		}
		for (size_t i = 0; rc == 0 && i < files.files.len; i++) {
			const struct gen_file *f = files.files.items[i];
			gen_files_add(out, f->path, f->content);
		}
		gen_files_free(&files);
	}
	ci_plan_free(plan);
	ci_templates_free(templates);
	return rc;
}

void ci_plan_append_commands(json_t *script, const struct plan_job *job, const char *root_var)
{
	const char *cwd = ".";
	struct buf line = BUF_INIT;
	for (size_t i = 0; i < job->steps.len; i++) {
		const struct plan_step *step = job->steps.items[i];
		if (!str_eq(step->dir, cwd)) {
			buf_reset(&line);
			if (str_eq(step->dir, "."))
				buf_addf(&line, "cd \"$%s\"", root_var);
			else
				buf_addf(&line, "cd \"$%s/%s\"", root_var, step->dir);
			json_array_append_new(script, json_string(line.data));
			cwd = step->dir;
		}
		for (size_t k = 0; k < step->commands.len; k++)
			json_array_append_new(script, json_string(step->commands.items[k]));
	}
	buf_free(&line);
}
