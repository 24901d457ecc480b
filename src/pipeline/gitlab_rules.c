/*
 * gitlab_rules: whether a job, an include or the whole pipeline runs.
 *
 * rules (if, exists, changes, when), only/except and workflow:rules are
 * decided against the ref and source of the pipeline being simulated.
 */
#include "pipeline/gitlab_internal.h"

#include "util/buf.h"
#include "util/glob.h"
#include "util/walk.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static enum walk_action repo_file_add(struct walk_entry *entry, void *arg)
{
	vec_push(arg, xstrdup(entry->path));
	return WALK_CONTINUE;
}

int gitlab_repo_files_list(struct loader *l)
{
	if (l->repo_files_listed)
		return 0;
	l->repo_files_listed = true;
	struct walk_options opts = { .max_entries = MAX_REPO_FILES };
	return walk_tree(l->repo_dir, &opts, repo_file_add, &l->repo_files, l->e);
}

static int exists_eval(struct loader *l, const struct yaml_node *node, const struct vars *vars,
		       bool *out)
{
	*out = false;
	if (node->kind == YAML_MAPPING) {
		static const char *const keys[] = { "paths", "project", "ref", NULL };
		if (gitlab_keys_check(l, node, keys, "rules:exists"))
			return -1;
		const struct yaml_node *project = yaml_get(node, "project");
		if (project)
			return gitlab_node_err(
				l, project,
				"rules:exists:project looks into another project, which "
				"ampel run cannot do");
		const struct yaml_node *paths = yaml_get(node, "paths");
		if (!paths)
			return gitlab_node_err(l, node, "rules:exists: paths is required");
		node = paths;
	}
	struct vec patterns = VEC_INIT;
	int rc = gitlab_list_flatten(l, node, &patterns, 0, "rules:exists");
	for (size_t i = 0; rc == 0 && i < patterns.len; i++)
		if (!gitlab_scalar_text(patterns.items[i]))
			rc = gitlab_node_err(l, patterns.items[i],
					     "rules:exists: expected file paths");
	/* Without a repository there is nothing to look at: assume it exists. */
	if (rc == 0 && !l->repo_dir)
		*out = true;
	else if (rc == 0 && patterns.len)
		rc = gitlab_repo_files_list(l);
	for (size_t i = 0; rc == 0 && l->repo_dir && !*out && i < patterns.len; i++) {
		const char *pattern;
		rc = gitlab_value_expand(l, patterns.items[i], vars,
					 gitlab_scalar_text(patterns.items[i]), false, &pattern);
		if (rc)
			break;
		while (*pattern == '/')
			pattern++;
		struct glob *g = glob_compile(pattern, 0);
		for (size_t k = 0; !*out && k < l->repo_files.len; k++)
			*out = glob_matches(g, l->repo_files.items[k]);
		glob_free(g);
	}
	vec_free(&patterns, NULL);
	return rc;
}

int gitlab_when_check(struct loader *l, const struct yaml_node *node, enum rules_scope scope,
		      const char **out)
{
	static const char *const job[] = { "on_success", "on_failure", "always", "manual",
					   "delayed",	 "never",      NULL };
	static const char *const pipeline[] = { "always", "never", NULL };
	const char *const *allowed = scope == RULES_JOB ? job : pipeline;
	const char *text = gitlab_scalar_text(node);
	if (!text || !gitlab_word_in(allowed, text)) {
		struct buf list = BUF_INIT;
		for (const char *const *w = allowed; *w; w++)
			buf_addf(&list, "%s%s", w == allowed ? "" : ", ", *w);
		gitlab_node_err(l, node, "when must be one of %s", buf_cstr(&list));
		buf_free(&list);
		return -1;
	}
	*out = text;
	return 0;
}

/*
 * The first rule whose clauses (if, changes, exists) all hold decides;
 * *matched stays NULL when none does. changes counts as true: a local run
 * has no push to diff against (GitLab does the same without a diff base).
 */
int gitlab_rules_match(struct loader *l, const struct yaml_node *rules, const struct vars *vars,
		       enum rules_scope scope, const struct yaml_node **matched)
{
	static const char *const job_keys[] = { "if",	 "changes",	  "exists",
						"when",	 "allow_failure", "variables",
						"needs", "interruptible", "start_in",
						NULL };
	static const char *const workflow_keys[] = { "if",	  "changes",	 "exists", "when",
						     "variables", "auto_cancel", NULL };
	static const char *const include_keys[] = { "if", "changes", "exists", "when", NULL };
	const char *const *keys = scope == RULES_JOB	    ? job_keys
				  : scope == RULES_WORKFLOW ? workflow_keys
							    : include_keys;
	*matched = NULL;
	if (yaml_is_null(rules))
		return 0;
	if (rules->kind != YAML_SEQUENCE)
		return gitlab_node_err(l, rules, "rules must be a list");
	struct vec list = VEC_INIT;
	int rc = gitlab_list_flatten(l, rules, &list, 0, "rules");
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *rule = list.items[i];
		if (rule->kind != YAML_MAPPING) {
			rc = gitlab_node_err(
				l, rule, "rules: each rule must be a mapping (if:, when:, ...)");
			break;
		}
		if ((rc = gitlab_keys_check(l, rule, keys, "rules")))
			break;
		const struct yaml_node *when = yaml_get(rule, "when");
		const char *ignored;
		if (when && (rc = gitlab_when_check(l, when, scope, &ignored)))
			break;
		bool holds = true, clause;
		const struct yaml_node *cond = yaml_get(rule, "if");
		/* Every if is evaluated so that a bad expression is always an error. */
		if (cond && (rc = gitlab_expr_eval(l, cond, "rules:if", vars, &clause)) == 0)
			holds = holds && clause;
		const struct yaml_node *exists = yaml_get(rule, "exists");
		if (rc == 0 && exists && holds && !*matched &&
		    (rc = exists_eval(l, exists, vars, &clause)) == 0)
			holds = holds && clause;
		if (rc == 0 && holds && !*matched)
			*matched = rule;
	}
	vec_free(&list, NULL);
	return rc;
}

static const char *ref_name(const struct loader *l)
{
	if (!l->ctx)
		return NULL;
	return l->ctx->tag ? l->ctx->tag : l->ctx->branch;
}

/* only/except refs keywords, against the pipeline's ref and source. */
static bool ref_keyword(const struct loader *l, const char *word, bool *known)
{
	const char *source = gitlab_pipeline_source(l);
	bool tag = l->ctx && l->ctx->tag;
	/* Every pipeline GitLab runs has a ref: when none is known, a branch. */
	bool branch = !tag;
	static const struct {
		const char *word;
		const char *source;
	} sources[] = {
		{ "api", "api" },
		{ "chat", "chat" },
		{ "external", "external" },
		{ "external_pull_requests", "external_pull_request_event" },
		{ "merge_requests", "merge_request_event" },
		{ "pipelines", "pipeline" },
		{ "pushes", "push" },
		{ "schedules", "schedule" },
		{ "triggers", "trigger" },
		{ "web", "web" },
	};
	*known = true;
	if (strcmp(word, "branches") == 0)
		return branch && strcmp(source, "merge_request_event") != 0;
	if (strcmp(word, "tags") == 0)
		return tag;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(word, sources[i].word) == 0)
			return strcmp(source, sources[i].source) == 0;
	*known = false;
	return false;
}

static int refs_match(struct loader *l, const struct yaml_node *refs, bool *out)
{
	*out = false;
	struct vec list = VEC_INIT;
	int rc = gitlab_list_flatten(l, refs, &list, 0, "refs");
	const char *ref = ref_name(l);
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		const struct yaml_node *item = list.items[i];
		const char *text = gitlab_scalar_text(item);
		if (!text || !*text) {
			rc = gitlab_node_err(l, item,
					     "refs: expected a branch or tag name, a /regex/ or a "
					     "keyword such as branches, tags or merge_requests");
			break;
		}
		bool hit = false, known;
		size_t end;
		if (text[0] == '/' && gitlab_regex_end(text, &end)) {
			const char *flags = text + end + 1;
			size_t flags_len = strcspn(flags, "@");
			char *body = xstrndup(text + 1, end - 1);
			rc = gitlab_regex_match(l, item, body, end - 1, flags, flags_len,
						ref ? ref : "", &hit);
			free(body);
			hit = hit && ref;
		} else {
			/* "name@group/project" limits to one project: ours. */
			char *name = xstrndup(text, strcspn(text, "@"));
			hit = ref_keyword(l, name, &known);
			if (!known)
				hit = ref && strcmp(name, ref) == 0;
			free(name);
		}
		*out = *out || hit;
	}
	vec_free(&list, NULL);
	return rc;
}

static int variables_any(struct loader *l, const struct yaml_node *node, const char *what,
			 const struct vars *vars, bool *out)
{
	*out = false;
	struct vec list = VEC_INIT;
	int rc = gitlab_list_flatten(l, node, &list, 0, what);
	for (size_t i = 0; rc == 0 && i < list.len; i++) {
		bool holds;
		rc = gitlab_expr_eval(l, list.items[i], what, vars, &holds);
		*out = *out || (rc == 0 && holds);
	}
	vec_free(&list, NULL);
	return rc;
}

/*
 * One of only/except. For only, every key present must hold (AND); for
 * except, any key that holds excludes (OR) — GitLab's documented logic.
 */
static int only_except_eval(struct loader *l, const struct yaml_node *node, bool is_only,
			    const struct vars *vars, bool *out)
{
	const char *what = is_only ? "only" : "except";
	if (node->kind != YAML_MAPPING)
		return refs_match(l, node, out);
	static const char *const keys[] = { "refs", "variables", "changes", "kubernetes", NULL };
	if (gitlab_keys_check(l, node, keys, what))
		return -1;
	bool all = true, any = false, holds;
	const struct yaml_node *refs = yaml_get(node, "refs");
	if (refs) {
		if (refs_match(l, refs, &holds))
			return -1;
		all = all && holds;
		any = any || holds;
	}
	const struct yaml_node *variables = yaml_get(node, "variables");
	if (variables) {
		if (variables_any(l, variables, is_only ? "only:variables" : "except:variables",
				  vars, &holds))
			return -1;
		all = all && holds;
		any = any || holds;
	}
	/* changes: no diff locally, so true; kubernetes: assumed active. */
	if (yaml_get(node, "changes") || yaml_get(node, "kubernetes"))
		any = true;
	*out = is_only ? all : any;
	return 0;
}

int gitlab_allow_failure_read(struct loader *l, const struct yaml_node *node, bool *out)
{
	if (node->kind == YAML_MAPPING) {
		static const char *const keys[] = { "exit_codes", NULL };
		if (gitlab_keys_check(l, node, keys, "allow_failure"))
			return -1;
		/* Only some exit codes may fail; the model has no such filter. */
		*out = true;
		return 0;
	}
	return yaml_bool(node, gitlab_node_file(l, node), out, l->e);
}

/*
 * A job's rules, or else its only/except: whether it is *included, and
 * the when, allow_failure, needs and variables a matched rule sets.
 */
int gitlab_job_rules_decide(struct loader *l, struct gjob *j, const struct vars *scope,
			    bool *included)
{
	const struct yaml_node *rules = yaml_get(j->node, "rules");
	const struct yaml_node *only = yaml_get(j->node, "only");
	const struct yaml_node *except = yaml_get(j->node, "except");
	*included = true;
	int rc = 0;
	if (rules && (only || except)) {
		rc = gitlab_node_err(l, gitlab_key_of(j->node, "rules"),
				     "job '%s': rules cannot be used together with only/except",
				     j->name);
	} else if (rules) {
		const struct yaml_node *matched;
		rc = gitlab_rules_match(l, rules, scope, RULES_JOB, &matched);
		*included = matched != NULL;
		if (rc == 0 && matched) {
			const struct yaml_node *n = yaml_get(matched, "when");
			if (n)
				j->when = gitlab_scalar_text(n);
			n = yaml_get(matched, "allow_failure");
			if (n)
				rc = gitlab_allow_failure_read(l, n, &j->allow_failure);
			n = yaml_get(matched, "needs");
			if (n)
				j->needs = n;
			j->rule_variables = yaml_get(matched, "variables");
		}
	} else {
		/* Without rules, only defaults to branches and tags, so such jobs
		 * stay out of merge request pipelines, as in GitLab. */
		bool holds = true;
		if (only)
			rc = only_except_eval(l, only, true, scope, &holds);
		else
			holds = ref_keyword(l, "branches", &(bool){ 0 }) ||
				ref_keyword(l, "tags", &(bool){ 0 });
		*included = holds;
		if (rc == 0 && except) {
			rc = only_except_eval(l, except, false, scope, &holds);
			*included = *included && !holds;
		}
	}
	return rc;
}

/* false: workflow:rules keep this pipeline from running. */
int gitlab_workflow_rules(struct loader *l, bool *runs)
{
	static const char *const keys[] = { "rules", "name", "auto_cancel", NULL };
	*runs = true;
	const struct yaml_node *node = yaml_get(l->root, "workflow");
	if (!node || yaml_is_null(node))
		return 0;
	if (node->kind != YAML_MAPPING)
		return gitlab_node_err(l, node, "workflow must be a mapping (rules:, name:)");
	if (gitlab_keys_check(l, node, keys, "workflow"))
		return -1;
	const struct yaml_node *rules = yaml_get(node, "rules");
	if (!rules)
		return 0;
	struct vars scope = { 0 };
	gitlab_vars_add_all(&scope, &l->predefined);
	gitlab_vars_add_all(&scope, &l->globals);
	gitlab_vars_add_all(&scope, &l->user);
	const struct yaml_node *matched;
	int rc = gitlab_rules_match(l, rules, &scope, RULES_WORKFLOW, &matched);
	gitlab_vars_free(&scope);
	if (rc)
		return -1;
	const struct yaml_node *when = matched ? yaml_get(matched, "when") : NULL;
	*runs = matched && !(when && strcmp(gitlab_scalar_text(when), "never") == 0);
	if (*runs && matched)
		return gitlab_vars_parse(l, yaml_get(matched, "variables"), &l->globals,
					 "workflow:rules:variables");
	return 0;
}
