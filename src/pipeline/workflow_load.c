/* workflow_load: GitHub Actions workflow files into the model; see workflow_load.h. */
#include "pipeline/workflow_load.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/expr.h"
#include "pipeline/workflow.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/xalloc.h"
#include "util/yaml.h"

/* Workflow files are small; a bigger one is a mistake, not a workflow. */
#define WORKFLOW_MAX_BYTES (4u << 20)

struct loader {
	const char *file;
	struct workflow *wf;
	struct err *e;
};

static bool key_in(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strcmp(key, *allowed) == 0)
			return true;
	return false;
}

/* Rejects keys GitHub would reject, so a misspelt `need:` is not ignored. */
static int check_keys(struct loader *ld, const struct yaml_node *map, const char *what,
		      const char *const *allowed)
{
	for (size_t i = 0; i < map->count; i++) {
		const struct yaml_node *key = map->pairs[i].key;
		if (!key_in(yaml_str(key) ? yaml_str(key) : "", allowed))
			return yaml_err(ld->e, ld->file, key, "unknown key '%s' in %s",
					yaml_str(key) ? yaml_str(key) : "?", what);
	}
	return 0;
}

static int expect_mapping(struct loader *ld, const struct yaml_node *node, const char *what)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(ld->e, ld->file, node, "%s must be a mapping, not a %s", what,
				yaml_kind_name(node->kind));
	return 0;
}

/* A scalar's text (numbers and booleans included), copied; -1 for others. */
static int scalar_text(struct loader *ld, const struct yaml_node *node, const char *what,
		       char **out)
{
	if (node->kind != YAML_SCALAR)
		return yaml_err(ld->e, ld->file, node, "%s must be a string, not a %s", what,
				yaml_kind_name(node->kind));
	free(*out);
	*out = xstrdup(node->value);
	return 0;
}

/*
 * env: and with: values are strings to the runner whatever YAML thinks
 * they are (`PORT: 3000`, `debug: true`), so the text is kept as written.
 */
static int string_object(struct loader *ld, const struct yaml_node *node, const char *what,
			 json_t **out)
{
	if (yaml_is_null(node)) {
		*out = json_object();
		return 0;
	}
	if (node->kind == YAML_SCALAR && strstr(node->value, "${{")) {
		/* env: ${{ fromJSON(...) }} — an expression yielding a mapping */
		*out = json_string(node->value);
		return 0;
	}
	if (expect_mapping(ld, node, what) < 0)
		return -1;
	json_t *obj = json_object();
	for (size_t i = 0; i < node->count; i++) {
		const struct yaml_node *value = node->pairs[i].value;
		if (node->pairs[i].key->kind != YAML_SCALAR) {
			json_decref(obj);
			return yaml_err(ld->e, ld->file, node->pairs[i].key,
					"%s: names must be strings", what);
		}
		if (value->kind != YAML_SCALAR) {
			json_decref(obj);
			return yaml_err(ld->e, ld->file, value, "%s '%s' must be a string", what,
					node->pairs[i].key->value);
		}
		json_object_set_new(obj, node->pairs[i].key->value,
				    json_string(yaml_is_null(value) ? "" : value->value));
	}
	*out = obj;
	return 0;
}

static bool valid_id(const char *id)
{
	if (!(isalpha((unsigned char)*id) || *id == '_'))
		return false;
	for (const char *p = id; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
			return false;
	return true;
}

static int load_defaults(struct loader *ld, const struct yaml_node *node, json_t **out)
{
	static const char *const defaults_keys[] = { "run", NULL };
	static const char *const run_keys[] = { "shell", "working-directory", NULL };
	if (expect_mapping(ld, node, "defaults") < 0 ||
	    check_keys(ld, node, "defaults", defaults_keys) < 0)
		return -1;
	const struct yaml_node *run = yaml_get(node, "run");
	if (!run)
		return 0;
	if (expect_mapping(ld, run, "defaults.run") < 0 ||
	    check_keys(ld, run, "defaults.run", run_keys) < 0)
		return -1;
	return string_object(ld, run, "defaults.run", out);
}

static const char *const step_keys[] = { "id",
					 "name",
					 "if",
					 "run",
					 "uses",
					 "with",
					 "env",
					 "shell",
					 "working-directory",
					 "continue-on-error",
					 "timeout-minutes",
					 NULL };

static int load_step(struct loader *ld, struct workflow_job *job, const struct yaml_node *node)
{
	if (expect_mapping(ld, node, "a step") < 0 || check_keys(ld, node, "a step", step_keys) < 0)
		return -1;
	struct workflow_step *step = workflow_job_add_step(job, node->line);
	struct {
		const char *key;
		char **field;
	} texts[] = {
		{ "id", &step->id },
		{ "name", &step->name },
		{ "if", &step->condition },
		{ "run", &step->run },
		{ "uses", &step->uses },
		{ "shell", &step->shell },
		{ "working-directory", &step->working_directory },
		{ "continue-on-error", &step->continue_on_error },
		{ "timeout-minutes", &step->timeout_minutes },
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		const struct yaml_node *value = yaml_get(node, texts[i].key);
		if (value && scalar_text(ld, value, texts[i].key, texts[i].field) < 0)
			return -1;
	}
	if (!step->run == !step->uses)
		return yaml_err(ld->e, ld->file, node,
				"a step needs exactly one of 'run' and 'uses'");
	if (step->id && !valid_id(step->id))
		return yaml_err(ld->e, ld->file, yaml_get(node, "id"),
				"step id '%s' must start with a letter or '_' and contain only "
				"letters, digits, '-' and '_'",
				step->id);
	for (size_t i = 0; step->id && i + 1 < job->steps_count; i++)
		if (job->steps[i]->id && strcmp(job->steps[i]->id, step->id) == 0)
			return yaml_err(ld->e, ld->file, yaml_get(node, "id"),
					"step id '%s' is used twice in job '%s'", step->id,
					job->id);
	const struct yaml_node *with = yaml_get(node, "with");
	if (with && string_object(ld, with, "with", &step->with) < 0)
		return -1;
	const struct yaml_node *env = yaml_get(node, "env");
	if (env && string_object(ld, env, "env", &step->env) < 0)
		return -1;
	return 0;
}

static int load_needs(struct loader *ld, struct workflow_job *job, const struct yaml_node *node)
{
	if (node->kind == YAML_SCALAR) {
		workflow_job_add_need(job, node->value);
		return 0;
	}
	if (node->kind != YAML_SEQUENCE)
		return yaml_err(ld->e, ld->file, node, "needs must be a job id or a list of them");
	for (size_t i = 0; i < node->count; i++) {
		if (node->items[i]->kind != YAML_SCALAR)
			return yaml_err(ld->e, ld->file, node->items[i],
					"needs: expected a job id");
		workflow_job_add_need(job, node->items[i]->value);
	}
	return 0;
}

static int load_strategy(struct loader *ld, struct workflow_job *job, const struct yaml_node *node)
{
	static const char *const keys[] = { "matrix", "fail-fast", "max-parallel", NULL };
	if (expect_mapping(ld, node, "strategy") < 0 || check_keys(ld, node, "strategy", keys) < 0)
		return -1;
	const struct yaml_node *matrix = yaml_get(node, "matrix");
	if (matrix) {
		if (matrix->kind == YAML_SEQUENCE)
			return yaml_err(ld->e, ld->file, matrix,
					"strategy.matrix must be a mapping or an expression");
		job->matrix = json_from_yaml(matrix);
	}
	const struct yaml_node *value = yaml_get(node, "fail-fast");
	if (value && scalar_text(ld, value, "fail-fast", &job->fail_fast) < 0)
		return -1;
	value = yaml_get(node, "max-parallel");
	if (value && scalar_text(ld, value, "max-parallel", &job->max_parallel) < 0)
		return -1;
	return 0;
}

static const char *const job_keys[] = {
	"name",
	"needs",
	"runs-on",
	"if",
	"env",
	"defaults",
	"outputs",
	"strategy",
	"timeout-minutes",
	"continue-on-error",
	"container",
	"services",
	"environment",
	"uses",
	"with",
	"secrets",
	"steps",
	"permissions",
	"concurrency",
	"snapshot",
	NULL,
};

/* What a job that calls a reusable workflow may have besides `uses`. */
static const char *const call_job_keys[] = {
	"name",	 "uses", "with",	"secrets",     "strategy",
	"needs", "if",	 "permissions", "concurrency", NULL,
};

static int load_job(struct loader *ld, const struct yaml_node *key, const struct yaml_node *node)
{
	if (key->kind != YAML_SCALAR)
		return yaml_err(ld->e, ld->file, key, "a job id must be a string");
	const char *id = key->value;
	if (!valid_id(id))
		return yaml_err(ld->e, ld->file, key,
				"job id '%s' must start with a letter or '_' and contain only "
				"letters, digits, '-' and '_'",
				id);
	if (expect_mapping(ld, node, "a job") < 0 || check_keys(ld, node, "a job", job_keys) < 0)
		return -1;
	struct workflow_job *job = workflow_add_job(ld->wf, id, key->line);
	struct {
		const char *key;
		char **field;
	} texts[] = {
		{ "name", &job->name },
		{ "if", &job->condition },
		{ "timeout-minutes", &job->timeout_minutes },
		{ "continue-on-error", &job->continue_on_error },
		{ "uses", &job->uses },
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		const struct yaml_node *value = yaml_get(node, texts[i].key);
		if (value && scalar_text(ld, value, texts[i].key, texts[i].field) < 0)
			return -1;
	}
	const struct yaml_node *value;
	if ((value = yaml_get(node, "needs")) && load_needs(ld, job, value) < 0)
		return -1;
	if ((value = yaml_get(node, "runs-on")))
		job->runs_on = json_from_yaml(value);
	if ((value = yaml_get(node, "env")) && string_object(ld, value, "env", &job->env) < 0)
		return -1;
	if ((value = yaml_get(node, "defaults")) &&
	    load_defaults(ld, value, &job->defaults_run) < 0)
		return -1;
	if ((value = yaml_get(node, "outputs")) &&
	    string_object(ld, value, "outputs", &job->outputs) < 0)
		return -1;
	if ((value = yaml_get(node, "strategy")) && load_strategy(ld, job, value) < 0)
		return -1;
	if ((value = yaml_get(node, "container")))
		job->container = json_from_yaml(value);
	if ((value = yaml_get(node, "services")))
		job->services = json_from_yaml(value);
	if ((value = yaml_get(node, "environment")))
		job->environment = xstrdup(value->kind == YAML_SCALAR ? value->value
					   : yaml_str(yaml_get(value, "name"))
						   ? yaml_str(yaml_get(value, "name"))
						   : "");
	if ((value = yaml_get(node, "with")) && string_object(ld, value, "with", &job->with) < 0)
		return -1;
	if ((value = yaml_get(node, "secrets"))) {
		if (value->kind == YAML_SCALAR && strcmp(value->value, "inherit") == 0)
			job->secrets = json_string("inherit");
		else if (string_object(ld, value, "secrets", &job->secrets) < 0)
			return -1;
	}
	const struct yaml_node *steps = yaml_get(node, "steps");
	if (job->uses) {
		for (size_t i = 0; i < node->count; i++)
			if (!key_in(node->pairs[i].key->value, call_job_keys))
				return yaml_err(
					ld->e, ld->file, node->pairs[i].key,
					"job '%s' calls a reusable workflow and cannot have "
					"'%s'",
					id, node->pairs[i].key->value);
		return 0;
	}
	if (job->with || job->secrets)
		return yaml_err(ld->e, ld->file, node,
				"job '%s': 'with' and 'secrets' belong to reusable workflow calls "
				"(jobs with 'uses')",
				id);
	if (!job->runs_on)
		return yaml_err(ld->e, ld->file, key, "job '%s' has no 'runs-on'", id);
	if (!steps || steps->kind != YAML_SEQUENCE || steps->count == 0)
		return yaml_err(ld->e, ld->file, steps ? steps : key,
				"job '%s' needs a non-empty list of steps", id);
	for (size_t i = 0; i < steps->count; i++)
		if (load_step(ld, job, steps->items[i]) < 0)
			return -1;
	return 0;
}

static void add_trigger(struct workflow *wf, const char *event, json_t *filters)
{
	wf->triggers = xrealloc(wf->triggers, (wf->triggers_count + 1) * sizeof(*wf->triggers));
	wf->triggers[wf->triggers_count].event = xstrdup(event);
	wf->triggers[wf->triggers_count].filters = filters;
	wf->triggers_count++;
}

/* The events GitHub runs workflows for; anything else is a typo. */
static const char *const events[] = {
	"branch_protection_rule",
	"check_run",
	"check_suite",
	"create",
	"delete",
	"deployment",
	"deployment_status",
	"discussion",
	"discussion_comment",
	"fork",
	"gollum",
	"image_version",
	"issue_comment",
	"issues",
	"label",
	"merge_group",
	"milestone",
	"page_build",
	"project",
	"project_card",
	"project_column",
	"public",
	"pull_request",
	"pull_request_review",
	"pull_request_review_comment",
	"pull_request_target",
	"push",
	"registry_package",
	"release",
	"repository_dispatch",
	"schedule",
	"status",
	"watch",
	"workflow_call",
	"workflow_dispatch",
	"workflow_run",
	NULL,
};

static int check_event(struct loader *ld, const struct yaml_node *name)
{
	if (name->kind != YAML_SCALAR)
		return yaml_err(ld->e, ld->file, name, "on: expected an event name");
	if (!key_in(name->value, events))
		return yaml_err(ld->e, ld->file, name, "unknown event '%s'", name->value);
	return 0;
}

/* The filters each event takes, so a misspelt `branch:` is not ignored. */
static int check_filters(struct loader *ld, const char *event, const struct yaml_node *filters)
{
	static const char *const push_keys[] = { "branches",	"branches-ignore", "tags",
						 "tags-ignore", "paths",	   "paths-ignore",
						 NULL };
	static const char *const pull_keys[] = { "types", "branches",	  "branches-ignore",
						 "paths", "paths-ignore", NULL };
	static const char *const dispatch_keys[] = { "inputs", NULL };
	static const char *const call_keys[] = { "inputs", "outputs", "secrets", NULL };
	static const char *const run_keys[] = { "workflows", "types", "branches", "branches-ignore",
						NULL };
	static const char *const image_keys[] = { "names", "versions", NULL };
	static const char *const other_keys[] = { "types", NULL };
	const char *const *allowed = other_keys;
	if (strcmp(event, "push") == 0)
		allowed = push_keys;
	else if (strcmp(event, "pull_request") == 0 || strcmp(event, "pull_request_target") == 0)
		allowed = pull_keys;
	else if (strcmp(event, "workflow_dispatch") == 0)
		allowed = dispatch_keys;
	else if (strcmp(event, "workflow_call") == 0)
		allowed = call_keys;
	else if (strcmp(event, "workflow_run") == 0)
		allowed = run_keys;
	else if (strcmp(event, "image_version") == 0)
		allowed = image_keys;
	struct buf what = BUF_INIT;
	buf_addf(&what, "on.%s", event);
	int rc = check_keys(ld, filters, what.data, allowed);
	buf_free(&what);
	if (rc < 0)
		return -1;
	/* GitHub rejects a filter next to its -ignore twin: `!` patterns do both. */
	static const char *const twins[] = { "branches", "tags", "paths", NULL };
	for (const char *const *twin = twins; *twin; twin++) {
		struct buf ignore = BUF_INIT;
		buf_addf(&ignore, "%s-ignore", *twin);
		const struct yaml_node *only = yaml_get(filters, *twin);
		const struct yaml_node *skip = yaml_get(filters, ignore.data);
		buf_free(&ignore);
		if (only && skip) {
			const struct yaml_node *later = only->line > skip->line ? only : skip;
			for (size_t i = 0; i < filters->count; i++)
				if (filters->pairs[i].value == later)
					later = filters->pairs[i].key;
			return yaml_err(ld->e, ld->file, later,
					"on.%s cannot have both '%s' and '%s-ignore'", event, *twin,
					*twin);
		}
	}
	return 0;
}

/* `on:` may be an event name, a list of names, or a mapping of filters. */
static int load_triggers(struct loader *ld, const struct yaml_node *node)
{
	switch (node->kind) {
	case YAML_SCALAR:
		if (check_event(ld, node) < 0)
			return -1;
		add_trigger(ld->wf, node->value, NULL);
		return 0;
	case YAML_SEQUENCE:
		for (size_t i = 0; i < node->count; i++) {
			if (node->items[i]->kind != YAML_SCALAR)
				return yaml_err(ld->e, ld->file, node->items[i],
						"on: expected an event name");
			if (check_event(ld, node->items[i]) < 0)
				return -1;
			add_trigger(ld->wf, node->items[i]->value, NULL);
		}
		return 0;
	case YAML_MAPPING:
		for (size_t i = 0; i < node->count; i++) {
			const char *event = node->pairs[i].key->value;
			const struct yaml_node *value = node->pairs[i].value;
			if (check_event(ld, node->pairs[i].key) < 0)
				return -1;
			if (!yaml_is_null(value) && value->kind != YAML_MAPPING &&
			    strcmp(event, "schedule") != 0)
				return yaml_err(ld->e, ld->file, value,
						"on.%s must be a mapping of filters", event);
			if (value->kind == YAML_MAPPING && check_filters(ld, event, value) < 0)
				return -1;
			add_trigger(ld->wf, event,
				    yaml_is_null(value) ? NULL : json_from_yaml(value));
		}
		return 0;
	}
	return 0;
}

/* Depth-first search for a cycle through `needs`; colours: 0 new, 1 on path, 2 done. */
static int check_cycles_from(struct loader *ld, size_t index, unsigned char *colour)
{
	struct workflow_job *job = ld->wf->jobs[index];
	colour[index] = 1;
	for (size_t n = 0; n < job->needs_count; n++) {
		size_t dep = 0;
		while (strcmp(ld->wf->jobs[dep]->id, job->needs[n]) != 0)
			dep++;
		if (colour[dep] == 1)
			return err_set(ld->e, "%s:%d: jobs '%s' and '%s' need each other (a cycle)",
				       ld->file, job->line, job->id, job->needs[n]);
		if (colour[dep] == 0 && check_cycles_from(ld, dep, colour) < 0)
			return -1;
	}
	colour[index] = 2;
	return 0;
}

static int check_needs(struct loader *ld)
{
	for (size_t i = 0; i < ld->wf->jobs_count; i++) {
		struct workflow_job *job = ld->wf->jobs[i];
		for (size_t n = 0; n < job->needs_count; n++)
			if (!workflow_find_job(ld->wf, job->needs[n]))
				return err_set(ld->e,
					       "%s:%d: job '%s' needs '%s', which does not exist",
					       ld->file, job->line, job->id, job->needs[n]);
	}
	unsigned char *colour = xcalloc(ld->wf->jobs_count + 1, 1);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ld->wf->jobs_count; i++)
		if (colour[i] == 0)
			rc = check_cycles_from(ld, i, colour);
	free(colour);
	return rc;
}

/* The contexts any expression of a workflow may name. */
static const char *const expression_contexts[] = { "github",   "env",	 "vars",  "secrets",
						   "job",      "jobs",	 "steps", "runner",
						   "strategy", "matrix", "needs", "inputs",
						   NULL };

/*
 * A bad expression is a load error, as on GitHub: nothing runs, and the
 * message names the line, instead of one step failing halfway through.
 */
static int check_expressions(struct loader *ld, const struct yaml_node *node, bool condition)
{
	switch (node->kind) {
	case YAML_SCALAR: {
		if (!condition && !strstr(node->value, "${{"))
			return 0;
		struct err inner = ERR_INIT;
		if (expr_check_text(node->value, condition, expression_contexts, &inner) < 0) {
			yaml_err(ld->e, ld->file, node, "%s", inner.msg);
			err_clear(&inner);
			return -1;
		}
		return 0;
	}
	case YAML_SEQUENCE:
		for (size_t i = 0; i < node->count; i++)
			if (check_expressions(ld, node->items[i], false) < 0)
				return -1;
		return 0;
	case YAML_MAPPING:
		for (size_t i = 0; i < node->count; i++) {
			const char *key = yaml_str(node->pairs[i].key);
			bool is_if = key && (strcmp(key, "if") == 0 || strcmp(key, "pre-if") == 0 ||
					     strcmp(key, "post-if") == 0);
			if ((!key || !expr_is_insert_directive(key)) &&
			    check_expressions(ld, node->pairs[i].key, false) < 0)
				return -1;
			if (check_expressions(ld, node->pairs[i].value, is_if) < 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

static const char *const workflow_keys[] = { "name",	    "run-name",	   "on",
					     "env",	    "defaults",	   "jobs",
					     "permissions", "concurrency", NULL };

int workflow_parse(struct workflow **out, const char *file, const char *data, size_t len,
		   struct err *e)
{
	*out = NULL;
	struct yaml_doc *doc = NULL;
	if (yaml_parse(&doc, file, data, len, e) < 0)
		return -1;
	struct loader ld = { .file = file, .wf = workflow_new(WORKFLOW_GITHUB, file), .e = e };
	const struct yaml_node *root = doc->root;
	int rc = -1;
	if (!root) {
		err_set(e, "%s: the workflow is empty", file);
		goto done;
	}
	if (expect_mapping(&ld, root, "a workflow") < 0 ||
	    check_keys(&ld, root, "the workflow", workflow_keys) < 0 ||
	    check_expressions(&ld, root, false) < 0)
		goto done;
	const struct yaml_node *value;
	if ((value = yaml_get(root, "name")) && scalar_text(&ld, value, "name", &ld.wf->name) < 0)
		goto done;
	if (!(value = yaml_get(root, "on"))) {
		err_set(e, "%s:%d:%d: the workflow has no 'on' (which events run it)", file,
			root->line, root->column);
		goto done;
	}
	if (load_triggers(&ld, value) < 0)
		goto done;
	if ((value = yaml_get(root, "env")) && string_object(&ld, value, "env", &ld.wf->env) < 0)
		goto done;
	if ((value = yaml_get(root, "defaults")) &&
	    load_defaults(&ld, value, &ld.wf->defaults_run) < 0)
		goto done;
	const struct yaml_node *jobs = yaml_get(root, "jobs");
	if (!jobs || jobs->kind != YAML_MAPPING || jobs->count == 0) {
		yaml_err(e, file, jobs ? jobs : root, "the workflow needs a mapping of jobs");
		goto done;
	}
	for (size_t i = 0; i < jobs->count; i++)
		if (load_job(&ld, jobs->pairs[i].key, jobs->pairs[i].value) < 0)
			goto done;
	rc = check_needs(&ld);
done:
	yaml_doc_free(doc);
	if (rc < 0)
		workflow_free(ld.wf);
	else
		*out = ld.wf;
	return rc;
}

int workflow_load(struct workflow **out, const char *path, struct err *e)
{
	struct buf data = BUF_INIT;
	if (buf_read_file(&data, path, WORKFLOW_MAX_BYTES, e) < 0) {
		*out = NULL;
		buf_free(&data);
		return -1;
	}
	int rc = workflow_parse(out, path, data.data ? data.data : "", data.len, e);
	buf_free(&data);
	return rc;
}

static const char *const action_keys[] = { "name",    "description", "author",	 "inputs",
					   "outputs", "runs",	     "branding", NULL };
static const char *const runs_keys[] = {
	"using", "main", "pre",	       "post", "pre-if",	 "post-if",	    "steps",
	"image", "args", "entrypoint", "env",  "pre-entrypoint", "post-entrypoint", NULL
};

static const char *const node_versions[] = { "node12", "node16", "node20", "node24", NULL };

static int load_action_runs(struct loader *ld, struct workflow_action *action,
			    const struct yaml_node *runs)
{
	if (expect_mapping(ld, runs, "runs") < 0 || check_keys(ld, runs, "runs", runs_keys) < 0)
		return -1;
	struct {
		const char *key;
		char **field;
	} texts[] = {
		{ "using", &action->using },   { "main", &action->main },
		{ "pre", &action->pre },       { "post", &action->post },
		{ "pre-if", &action->pre_if }, { "post-if", &action->post_if },
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		const struct yaml_node *value = yaml_get(runs, texts[i].key);
		if (value && scalar_text(ld, value, texts[i].key, texts[i].field) < 0)
			return -1;
	}
	if (!action->using)
		return yaml_err(ld->e, ld->file, runs, "runs.using is missing");
	if (strcmp(action->using, "composite") == 0) {
		const struct yaml_node *steps = yaml_get(runs, "steps");
		if (!steps || steps->kind != YAML_SEQUENCE)
			return yaml_err(ld->e, ld->file, runs,
					"a composite action needs a list of runs.steps");
		action->composite = xcalloc(1, sizeof(*action->composite));
		action->composite->id = xstrdup("composite");
		for (size_t i = 0; i < steps->count; i++)
			if (load_step(ld, action->composite, steps->items[i]) < 0)
				return -1;
		for (size_t i = 0; i < action->composite->steps_count; i++) {
			const struct workflow_step *step = action->composite->steps[i];
			if (step->run && !step->shell)
				return yaml_err(ld->e, ld->file, steps->items[i],
						"a run step of a composite action needs 'shell'");
		}
	} else if (key_in(action->using, node_versions)) {
		if (!action->main)
			return yaml_err(ld->e, ld->file, runs, "a Node action needs runs.main");
	} else if (strcmp(action->using, "docker") == 0) {
		if (!yaml_get(runs, "image"))
			return yaml_err(ld->e, ld->file, runs, "a Docker action needs runs.image");
	} else {
		return yaml_err(ld->e, ld->file, yaml_get(runs, "using"),
				"runs.using '%s' is not one of composite, docker, node12, node16, "
				"node20, node24",
				action->using);
	}
	return 0;
}

int workflow_action_load(struct workflow_action **out, const char *dir, struct err *e)
{
	*out = NULL;
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/action.yml", dir);
	if (access(path.data, F_OK) != 0) {
		buf_reset(&path);
		buf_addf(&path, "%s/action.yaml", dir);
	}
	struct buf data = BUF_INIT;
	if (buf_read_file(&data, path.data, WORKFLOW_MAX_BYTES, e) < 0) {
		buf_free(&path);
		buf_free(&data);
		return err_prefix(e, "no action.yml in %s", dir);
	}
	struct yaml_doc *doc = NULL;
	int rc = yaml_parse(&doc, path.data, data.data ? data.data : "", data.len, e);
	buf_free(&data);
	if (rc < 0) {
		buf_free(&path);
		return -1;
	}
	struct workflow_action *action = xcalloc(1, sizeof(*action));
	action->file = buf_detach(&path);
	action->dir = xstrdup(dir);
	struct loader ld = { .file = action->file, .e = e };
	const struct yaml_node *root = doc->root;
	const struct yaml_node *value;
	rc = -1;
	if (!root) {
		err_set(e, "%s: the action is empty", action->file);
	} else if (expect_mapping(&ld, root, "an action") == 0 &&
		   check_keys(&ld, root, "an action", action_keys) == 0 &&
		   (!(value = yaml_get(root, "name")) ||
		    scalar_text(&ld, value, "name", &action->name) == 0)) {
		action->inputs = yaml_get(root, "inputs") ? json_from_yaml(yaml_get(root, "inputs"))
							  : json_object();
		action->outputs = yaml_get(root, "outputs")
					  ? json_from_yaml(yaml_get(root, "outputs"))
					  : json_object();
		if (!(value = yaml_get(root, "runs")))
			yaml_err(e, action->file, root, "the action has no 'runs'");
		else if (check_expressions(&ld, root, false) == 0)
			rc = load_action_runs(&ld, action, value);
	}
	yaml_doc_free(doc);
	if (rc < 0)
		workflow_action_free(action);
	else
		*out = action;
	return rc;
}
