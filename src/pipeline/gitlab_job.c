/*
 * gitlab_job: one prepared GitLab job as a workflow job: needs or stage
 * order, timeout, parallel and matrix, image, services, env, environment,
 * artifacts, and the scripts as steps.
 */
#include "pipeline/gitlab_internal.h"

#include "pipeline/workflow.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int gitlab_script_collect(struct loader *l, const struct yaml_node *node, const char *job,
			  const char *what, struct vec *lines)
{
	struct vec list = VEC_INIT;
	int rc = gitlab_list_flatten(l, node, &list, 0, what);
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *line = list.items[i];
		if (line->kind != YAML_SCALAR || yaml_is_null(line))
			rc = gitlab_node_err(l, line, "job '%s': %s: each command must be a string",
					     job, what);
		else
			vec_push(lines, (void *)line->value);
	}
	vec_free(&list, NULL);
	return rc;
}

/* "1h 30m", "90 minutes", "2 hours and 5 min", "3600" (seconds). */
static bool duration_parse(const char *text, long long *seconds)
{
	/* ChronicDuration's units, which GitLab parses timeouts with. */
	static const struct {
		const char *words; /* space-separated, each surrounded by spaces */
		long long seconds;
	} units[] = {
		{ " s sec secs second seconds ", 1 },  { " m min mins minute minutes ", 60 },
		{ " h hr hrs hour hours ", 3600 },     { " d day days ", 86400 },
		{ " w wk wks week weeks ", 604800 },   { " mo month months ", 2592000 },
		{ " y yr yrs year years ", 31536000 },
	};
	double total = 0;
	bool any = false;
	const char *p = text;
	for (;;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (strncmp(p, "and ", 4) == 0) {
			p += 4;
			continue;
		}
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
		char *end;
		double number = strtod(p, &end);
		if (end == p || number < 0 || number > 1e9)
			return false;
		p = end;
		while (*p == ' ')
			p++;
		const char *word = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - word);
		long long scale = len ? 0 : 1;
		char unit[16];
		if (len >= sizeof(unit) - 2)
			return false;
		unit[0] = ' ';
		for (size_t i = 0; i < len; i++)
			unit[i + 1] = (char)tolower((unsigned char)word[i]);
		unit[len + 1] = ' ';
		unit[len + 2] = '\0';
		for (size_t i = 0; len && i < sizeof(units) / sizeof(units[0]); i++)
			if (strstr(units[i].words, unit))
				scale = units[i].seconds;
		if (!scale)
			return false;
		total += number * (double)scale;
		any = true;
	}
	if (!any || total < 1 || total > 1e12)
		return false;
	*seconds = (long long)total;
	return true;
}

static bool is_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!gitlab_is_name_char(*s))
			return false;
	return true;
}

static void matrix_var(struct loader *l, struct vars *vars, const char *name)
{
	gitlab_vars_set(vars, name, arena_printf(l->arena, "${{ matrix.%s }}", name), true, false);
}

/* parallel: N, or parallel:matrix with every combination listed in include. */
static int parallel_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			  struct workflow_job *job)
{
	if (node->kind == YAML_SCALAR) {
		long long n;
		if (yaml_int(node, gitlab_node_file(l, node), &n, l->e))
			return -1;
		if (n < 1 || n > MAX_PARALLEL)
			return gitlab_node_err(l, node, "job '%s': parallel must be 1 to %d",
					       j->name, MAX_PARALLEL);
		json_t *values = json_array();
		for (long long i = 1; i <= n; i++)
			json_array_append_new(values,
					      gitlab_json_text(arena_printf(l->arena, "%lld", i)));
		job->matrix = json_object();
		json_object_set_new(job->matrix, "CI_NODE_INDEX", values);
		matrix_var(l, &j->vars, "CI_NODE_INDEX");
		gitlab_vars_set(&j->vars, "CI_NODE_TOTAL", arena_printf(l->arena, "%lld", n), false,
				false);
		return 0;
	}
	static const char *const keys[] = { "matrix", NULL };
	if (node->kind != YAML_MAPPING)
		return gitlab_node_err(l, node,
				       "job '%s': parallel must be a number or matrix:", j->name);
	if (gitlab_keys_check(l, node, keys, "parallel"))
		return -1;
	const struct yaml_node *matrix = yaml_get(node, "matrix");
	if (!matrix || matrix->kind != YAML_SEQUENCE || matrix->count == 0)
		return gitlab_node_err(l, matrix ? matrix : node,
				       "job '%s': parallel:matrix must be a list of mappings",
				       j->name);
	json_t *include = json_array();
	int rc = 0;
	for (size_t e = 0; rc == 0 && e < matrix->count; e++) {
		const struct yaml_node *entry = matrix->items[e];
		if (entry->kind != YAML_MAPPING || entry->count == 0) {
			rc = gitlab_node_err(l, entry,
					     "job '%s': parallel:matrix entries map names to "
					     "values",
					     j->name);
			break;
		}
		size_t combos = 1;
		for (size_t k = 0; rc == 0 && k < entry->count; k++) {
			const struct yaml_node *key = entry->pairs[k].key;
			const struct yaml_node *values = entry->pairs[k].value;
			const char *name = gitlab_scalar_text(key);
			if (!name || !is_identifier(name)) {
				rc = gitlab_node_err(l, key,
						     "job '%s': parallel:matrix: '%s' is not a "
						     "variable name",
						     j->name, name ? name : "");
				break;
			}
			size_t n = values->kind == YAML_SEQUENCE ? values->count : 1;
			for (size_t v = 0; rc == 0 && v < n; v++)
				if (!gitlab_scalar_text(values->kind == YAML_SEQUENCE
								? values->items[v]
								: values))
					rc = gitlab_node_err(l, values,
							     "job '%s': parallel:matrix: values "
							     "must be strings",
							     j->name);
			if (n == 0)
				rc = gitlab_node_err(l, values,
						     "job '%s': parallel:matrix: '%s' has no "
						     "values",
						     j->name, name);
			combos *= n ? n : 1;
			if (rc == 0 && combos + json_array_size(include) > MAX_PARALLEL)
				rc = gitlab_node_err(l, entry,
						     "job '%s': parallel:matrix makes more than %d "
						     "jobs",
						     j->name, MAX_PARALLEL);
			if (rc == 0)
				matrix_var(l, &j->vars, name);
		}
		/* Every combination of this entry, the last name varying fastest. */
		for (size_t c = 0; rc == 0 && c < combos; c++) {
			json_t *combo = json_object();
			size_t rest = c;
			for (size_t k = entry->count; k-- > 0;) {
				const struct yaml_node *values = entry->pairs[k].value;
				size_t n = values->kind == YAML_SEQUENCE ? values->count : 1;
				const struct yaml_node *v = values->kind == YAML_SEQUENCE
								    ? values->items[rest % n]
								    : values;
				rest /= n;
				json_object_set_new(combo, entry->pairs[k].key->value,
						    gitlab_json_text(gitlab_scalar_text(v)));
			}
			json_array_append_new(include, combo);
		}
	}
	if (rc) {
		json_decref(include);
		return -1;
	}
	gitlab_vars_set(&j->vars, "CI_NODE_TOTAL",
			arena_printf(l->arena, "%zu", json_array_size(include)), false, false);
	job->matrix = json_object();
	json_object_set_new(job->matrix, "include", include);
	return 0;
}

static int image_build(struct loader *l, struct gjob *j, const struct yaml_node *node, json_t **out)
{
	static const char *const keys[] = { "name", "entrypoint", "docker", "pull_policy", NULL };
	const struct yaml_node *name = node;
	const struct yaml_node *docker = NULL;
	if (node->kind == YAML_MAPPING) {
		if (gitlab_keys_check(l, node, keys, "image"))
			return -1;
		name = yaml_get(node, "name");
		docker = yaml_get(node, "docker");
	}
	if (!name || !gitlab_scalar_text(name) || !*gitlab_scalar_text(name))
		return gitlab_node_err(l, name ? name : node, "job '%s': image needs a name",
				       j->name);
	const char *image;
	if (gitlab_value_expand(l, name, &j->vars, gitlab_scalar_text(name), true, &image))
		return -1;
	struct buf options = BUF_INIT;
	if (docker && docker->kind == YAML_MAPPING) {
		const char *user = gitlab_scalar_text(yaml_get(docker, "user"));
		const char *platform = gitlab_scalar_text(yaml_get(docker, "platform"));
		if (user && *user)
			buf_addf(&options, "--user %s", user);
		if (platform && *platform)
			buf_addf(&options, "%s--platform %s", options.len ? " " : "", platform);
	}
	/* The entrypoint is not kept: the executor starts the container with its
	 * own command and runs the steps in it, as GitLab's runner does. */
	if (options.len) {
		*out = json_object();
		json_object_set_new(*out, "image", gitlab_json_text(image));
		char *escaped = gitlab_text_escape(buf_cstr(&options));
		json_object_set_new(*out, "options", gitlab_json_text(escaped));
		free(escaped);
	} else {
		*out = gitlab_json_text(image);
	}
	buf_free(&options);
	return 0;
}

/* The host name GitLab gives a service: its image without tag, '/' as '-'. */
static char *service_alias(const char *image)
{
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	size_t len = (size_t)(last - image) + strcspn(last, ":@");
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < len; i++)
		buf_addch(&b, image[i] == '/' ? '-' : image[i]);
	if (!b.len)
		buf_adds(&b, "service");
	return buf_detach(&b);
}

static int services_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			  json_t **out)
{
	static const char *const keys[] = { "name",	 "alias",	"entrypoint", "command",
					    "variables", "pull_policy", "docker",     NULL };
	if (yaml_is_null(node))
		return 0;
	struct vec list = VEC_INIT;
	if (node->kind != YAML_SEQUENCE)
		return gitlab_node_err(l, node, "job '%s': services must be a list", j->name);
	if (gitlab_list_flatten(l, node, &list, 0, "services")) {
		vec_free(&list, NULL);
		return -1;
	}
	json_t *services = json_object();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *item = list.items[i];
		const struct yaml_node *name = item, *alias = NULL;
		struct vars env = { 0 };
		/* Services see the job's variables, as in GitLab, plus their own. */
		for (size_t k = 0; k < j->vars.count; k++)
			if (!j->vars.items[k].expression)
				gitlab_vars_set(&env, j->vars.items[k].name, j->vars.items[k].value,
						false, j->vars.items[k].literal);
		if (item->kind == YAML_MAPPING) {
			rc = gitlab_keys_check(l, item, keys, "services");
			name = yaml_get(item, "name");
			alias = yaml_get(item, "alias");
			if (rc == 0)
				rc = gitlab_vars_parse(l, yaml_get(item, "variables"), &env,
						       "services");
		}
		const char *image = NULL;
		if (rc == 0 && (!name || !gitlab_scalar_text(name) || !*gitlab_scalar_text(name)))
			rc = gitlab_node_err(l, name ? name : item,
					     "job '%s': a service needs an image "
					     "name",
					     j->name);
		if (rc == 0)
			rc = gitlab_value_expand(l, name, &j->vars, gitlab_scalar_text(name), false,
						 &image);
		json_t *service = NULL;
		if (rc == 0) {
			char *escaped = gitlab_text_escape(image);
			service = json_object();
			json_object_set_new(service, "image", gitlab_json_text(escaped));
			free(escaped);
			json_t *env_json = json_object();
			for (size_t k = 0; rc == 0 && k < env.count; k++) {
				const char *value = env.items[k].value;
				if (!env.items[k].literal)
					rc = gitlab_value_expand(l, name, &env, value, true,
								 &value);
				else
					value = arena_strdup(l->arena, value);
				if (rc == 0 && env.items[k].literal) {
					char *escaped_value = gitlab_text_escape(value);
					value = arena_strdup(l->arena, escaped_value);
					free(escaped_value);
				}
				if (rc == 0)
					json_object_set_new(env_json, env.items[k].name,
							    gitlab_json_text(value));
			}
			json_object_set_new(service, "env", env_json);
		}
		if (rc == 0) {
			const char *wanted = alias ? gitlab_scalar_text(alias) : NULL;
			char *id = wanted && *wanted ? xstrndup(wanted, strcspn(wanted, ", "))
						     : service_alias(image);
			char *unique = xstrdup(id);
			for (int n = 2; json_object_get(services, unique); n++) {
				free(unique);
				struct buf b = BUF_INIT;
				buf_addf(&b, "%s-%d", id, n);
				unique = buf_detach(&b);
			}
			json_object_set_new(services, unique, service);
			service = NULL;
			free(unique);
			free(id);
		}
		json_decref(service);
		gitlab_vars_free(&env);
	}
	vec_free(&list, NULL);
	if (rc || json_object_size(services) == 0) {
		json_decref(services);
		return rc;
	}
	*out = services;
	return 0;
}

static struct gjob *job_find(struct loader *l, const char *name)
{
	for (size_t i = 0; i < l->jobs_count; i++)
		if (strcmp(l->jobs[i].name, name) == 0)
			return &l->jobs[i];
	return NULL;
}

static int needs_build(struct loader *l, struct gjob *j, struct workflow_job *job, bool check)
{
	if (!j->needs || yaml_is_null(j->needs)) {
		/* Stage order: every job of every earlier stage that runs. */
		for (size_t i = 0; i < l->jobs_count; i++)
			if (l->jobs[i].fate == JOB_RUNS && l->jobs[i].stage < j->stage)
				workflow_job_add_need(job, l->jobs[i].name);
		return 0;
	}
	static const char *const keys[] = { "job",	"optional", "artifacts", "parallel",
					    "pipeline", "project",  "ref",	 NULL };
	if (j->needs->kind != YAML_SEQUENCE)
		return gitlab_node_err(l, j->needs, "job '%s': needs must be a list of job names",
				       j->name);
	struct vec list = VEC_INIT;
	int rc = gitlab_list_flatten(l, j->needs, &list, 0, "needs");
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *item = list.items[i];
		const struct yaml_node *name = item;
		bool optional = false;
		if (item->kind == YAML_MAPPING) {
			if ((rc = gitlab_keys_check(l, item, keys, "needs")))
				break;
			/* Artifacts of other pipelines or projects are out of reach. */
			if (yaml_get(item, "pipeline") || yaml_get(item, "project"))
				continue;
			name = yaml_get(item, "job");
			const struct yaml_node *opt = yaml_get(item, "optional");
			if (opt && (rc = yaml_bool(opt, gitlab_node_file(l, opt), &optional, l->e)))
				break;
		}
		const char *text = gitlab_scalar_text(name);
		if (!text || !*text) {
			rc = gitlab_node_err(l, name ? name : item,
					     "job '%s': needs: expected a job name", j->name);
			break;
		}
		struct gjob *need = job_find(l, text);
		if (!need && !optional) {
			rc = gitlab_node_err(l, name, "job '%s': needs '%s', which is not defined",
					     j->name, text);
		} else if (need && need->fate == JOB_EXCLUDED && !optional && check) {
			rc = gitlab_node_err(
				l, name,
				"job '%s': needs '%s', which is not in this pipeline (its "
				"rules or only/except leave it out); mark the need optional: "
				"true",
				j->name, text);
		} else if (need && need->fate == JOB_RUNS) {
			bool dup = false;
			for (size_t k = 0; k < job->needs_count; k++)
				dup = dup || strcmp(job->needs[k], text) == 0;
			if (!dup)
				workflow_job_add_need(job, text);
		}
	}
	vec_free(&list, NULL);
	return rc;
}

/*
 * One bash script for the commands, echoing each as GitLab's log does
 * ("$ command"); set -e stops at the first command that fails, as the
 * runner checks every line's exit status.
 */
static char *script_render(const struct vec *lines)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "set -eo pipefail\n");
	for (size_t i = 0; i < lines->len; i++) {
		const char *command = lines->items[i];
		size_t first = strcspn(command, "\n");
		struct buf echo = BUF_INIT;
		buf_adds(&echo, "$ ");
		buf_add(&echo, command, first);
		if (command[first] && command[first + 1])
			buf_adds(&echo, " # collapsed multi-line command");
		buf_adds(&b, "printf '%s\\n' ");
		buf_add_shell_quoted(&b, buf_cstr(&echo));
		buf_addch(&b, '\n');
		buf_adds(&b, command);
		buf_addch(&b, '\n');
		buf_free(&echo);
	}
	char *text = gitlab_text_escape(buf_cstr(&b));
	buf_free(&b);
	return text;
}

static struct workflow_step *step_script(struct workflow_job *job, const struct yaml_node *at,
					 const char *name, const struct vec *lines)
{
	struct workflow_step *step = workflow_job_add_step(job, at->line);
	step->name = xstrdup(name);
	step->run = script_render(lines);
	step->shell = xstrdup("bash");
	return step;
}

static int steps_build(struct loader *l, struct gjob *j, struct workflow_job *job)
{
	const struct var *strategy = gitlab_vars_find(&j->vars, "GIT_STRATEGY", 12);
	if (!strategy || strcmp(strategy->value, "none") != 0) {
		/* A GitLab job always starts with the repository checked out. */
		struct workflow_step *checkout = workflow_job_add_step(job, j->key->line);
		checkout->name = xstrdup("Get sources");
		checkout->uses = xstrdup("actions/checkout@v4");
	}
	struct vec lines = VEC_INIT;
	const struct yaml_node *before = yaml_get(j->node, "before_script");
	const struct yaml_node *script = yaml_get(j->node, "script");
	const struct yaml_node *after = yaml_get(j->node, "after_script");
	int rc = 0;
	if (!script) /* a trigger job: never run, nothing to translate */
		return 0;
	if (before && !yaml_is_null(before))
		rc = gitlab_script_collect(l, before, j->name, "before_script", &lines);
	if (rc == 0)
		rc = gitlab_script_collect(l, script, j->name, "script", &lines);
	if (rc == 0)
		step_script(job, script, "Script", &lines);
	vec_free(&lines, NULL);
	if (rc == 0 && after && !yaml_is_null(after)) {
		rc = gitlab_script_collect(l, after, j->name, "after_script", &lines);
		if (rc == 0 && lines.len) {
			/* after_script runs whatever happened and cannot fail the job. */
			struct workflow_step *step =
				step_script(job, after, "After script", &lines);
			step->condition = xstrdup("always()");
			step->continue_on_error = xstrdup("true");
		}
		vec_free(&lines, NULL);
	}
	return rc;
}

static int env_build(struct loader *l, struct gjob *j, struct workflow_job *job)
{
	job->env = json_object();
	/* Global variables this job does not inherit must not leak in from
	 * the workflow's env. */
	for (size_t i = 0; i < l->globals.count; i++)
		if (!gitlab_vars_find(&j->vars, l->globals.items[i].name,
				      strlen(l->globals.items[i].name)))
			json_object_set_new(job->env, l->globals.items[i].name, json_string(""));
	for (size_t i = 0; i < j->vars.count; i++) {
		const struct var *v = &j->vars.items[i];
		const char *value = v->value;
		if (v->expression) {
			json_object_set_new(job->env, v->name, gitlab_json_text(value));
			continue;
		}
		if (v->literal) {
			char *escaped = gitlab_text_escape(value);
			json_object_set_new(job->env, v->name, gitlab_json_text(escaped));
			free(escaped);
			continue;
		}
		if (gitlab_value_expand(l, j->key, &j->vars, value, true, &value))
			return -1;
		json_object_set_new(job->env, v->name, gitlab_json_text(value));
	}
	return 0;
}

static int artifacts_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			   struct workflow_job *job)
{
	if (yaml_is_null(node))
		return 0;
	if (node->kind != YAML_MAPPING)
		return gitlab_node_err(l, node, "job '%s': artifacts must be a mapping", j->name);
	const struct yaml_node *paths = yaml_get(node, "paths");
	if (!paths || yaml_is_null(paths))
		return 0;
	struct vec list = VEC_INIT;
	int rc = gitlab_list_flatten(l, paths, &list, 0, "artifacts:paths");
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const char *text = gitlab_scalar_text(list.items[i]);
		const char *path;
		if (!text || !*text)
			rc = gitlab_node_err(l, list.items[i],
					     "job '%s': artifacts:paths: expected paths", j->name);
		else if ((rc = gitlab_value_expand(l, list.items[i], &j->vars, text, false,
						   &path)) == 0) {
			job->artifact_paths =
				xrealloc(job->artifact_paths,
					 (job->artifact_paths_count + 1) * sizeof(char *));
			job->artifact_paths[job->artifact_paths_count++] = xstrdup(path);
		}
	}
	vec_free(&list, NULL);
	return rc;
}

static int environment_build(struct loader *l, struct gjob *j, const struct yaml_node *node,
			     struct workflow_job *job)
{
	const struct yaml_node *name = node;
	if (node->kind == YAML_MAPPING)
		name = yaml_get(node, "name");
	const char *text = gitlab_scalar_text(name);
	if (!text)
		return gitlab_node_err(l, node, "job '%s': environment needs a name", j->name);
	if (!*text)
		return 0;
	const char *value;
	if (gitlab_value_expand(l, name, &j->vars, text, true, &value))
		return -1;
	job->environment = xstrdup(value);
	return 0;
}

int gitlab_job_emit(struct loader *l, struct gjob *j, struct workflow *wf, bool check)
{
	struct workflow_job *job = workflow_add_job(wf, j->name, j->key->line);
	static const char *const conditions[][2] = {
		{ "on_success", "success()" },
		{ "on_failure", "failure()" },
		{ "always", "always()" },
	};
	for (size_t i = 0; i < 3; i++)
		if (strcmp(j->when, conditions[i][0]) == 0)
			job->condition = xstrdup(conditions[i][1]);
	if (j->allow_failure)
		job->continue_on_error = xstrdup("true");
	if (needs_build(l, j, job, check))
		return -1;
	const struct yaml_node *node = yaml_get(j->node, "timeout");
	if (node && !yaml_is_null(node)) {
		long long seconds;
		const char *text = gitlab_scalar_text(node);
		if (!text || !duration_parse(text, &seconds))
			return gitlab_node_err(
				l, node,
				"job '%s': timeout: cannot read '%s' as a duration (like "
				"\"1h 30m\" or \"90 minutes\")",
				j->name, text ? text : "");
		struct buf minutes = BUF_INIT;
		buf_addf(&minutes, "%lld", (seconds + 59) / 60);
		job->timeout_minutes = buf_detach(&minutes);
	}
	node = yaml_get(j->node, "parallel");
	if (node && !yaml_is_null(node) && parallel_build(l, j, node, job))
		return -1;
	if (env_build(l, j, job))
		return -1;
	node = yaml_get(j->node, "image");
	if (node && !yaml_is_null(node) && image_build(l, j, node, &job->container))
		return -1;
	node = yaml_get(j->node, "services");
	if (node && services_build(l, j, node, &job->services))
		return -1;
	node = yaml_get(j->node, "environment");
	if (node && !yaml_is_null(node) && environment_build(l, j, node, job))
		return -1;
	node = yaml_get(j->node, "artifacts");
	if (node && artifacts_build(l, j, node, job))
		return -1;
	return steps_build(l, j, job);
}
