/*
 * gitlab_internal: what the parts of the GitLab CI loader share.
 *
 * gitlab.c runs the passes in order and owns the public API; gitlab_merge.c
 * makes one document out of include, !reference, default: and extends;
 * gitlab_rules.c decides which jobs and pipelines run, with the expression
 * language of gitlab_expr.c; gitlab_job.c turns one job into the model;
 * gitlab_vars.c and gitlab_node.c are the variables and the node helpers
 * they all use. Nothing outside src/pipeline includes this header.
 */
#ifndef AMPEL_PIPELINE_GITLAB_INTERNAL_H
#define AMPEL_PIPELINE_GITLAB_INTERNAL_H

#include "pipeline/gitlab.h"

#include "util/vec.h"
#include "util/yaml.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct err;
struct map;
struct workflow;

/* GitLab's own limits, so that what GitLab rejects is rejected here too. */
#define MAX_INCLUDES	      150
#define MAX_EXTENDS_DEPTH     11
#define MAX_REFERENCE_DEPTH   10
#define MAX_NESTED_LIST_DEPTH 10
#define MAX_PARALLEL	      200
/* Ours: recursion and output stay bounded whatever the input. */
#define MAX_EXPR_DEPTH	  64
#define MAX_EXPAND_DEPTH  8
#define MAX_VALUE_SIZE	  (1u << 20)
#define MAX_REPO_FILES	  200000
#define MAX_INCLUDE_BYTES (16u * 1024 * 1024)

/* A pointer-keyed table: which file a node came from, resolved nodes. */
struct ptr_slot {
	const void *key;
	void *value;
};

struct ptr_table {
	struct ptr_slot *slots;
	size_t cap;
	size_t count;
};

struct var {
	const char *name;
	const char *value;
	bool expression; /* a `${{ }}` we wrote ourselves: never escaped */
	bool literal;	 /* `expand: false`: `$` references stay as written */
};

/* In first-definition order; a later definition replaces the value in place. */
struct vars {
	struct var *items;
	size_t count;
	size_t cap;
};

enum job_fate { JOB_RUNS, JOB_EXCLUDED, JOB_LEFT_OUT };

struct gjob {
	const char *name;
	const struct yaml_node *key;
	struct yaml_node *node; /* extends and defaults applied */
	size_t stage;
	enum job_fate fate;
	const char *when;
	bool allow_failure;
	const struct yaml_node *needs;		/* job's or the matched rule's; NULL: stages */
	const struct yaml_node *rule_variables; /* the matched rule's variables */
	struct vars vars;			/* what the job sees, by precedence */
};

struct loader {
	const char *file;
	const char *repo_dir;
	const struct gitlab_context *ctx;
	struct err *e;
	struct arena *arena;
	struct vec docs;	   /* struct yaml_doc *, freed at the end */
	struct ptr_table origins;  /* node -> the file it was read from */
	struct ptr_table resolved; /* node -> the node with !reference resolved */
	struct yaml_node *raw_root;
	struct yaml_node *root; /* every file merged, references resolved */
	struct map *included;
	size_t includes;
	struct vec repo_files;
	bool repo_files_listed;
	const char **stages;
	size_t stages_count;
	struct vars predefined; /* pipeline-level CI_* variables */
	struct vars user;	/* ctx->variables */
	struct vars globals;	/* top-level variables, then workflow:rules:variables */
	struct yaml_node *defaults;
	struct map *extends_done;
	struct map *extends_busy;
	struct gjob *jobs;
	size_t jobs_count;
};

/* gitlab_node.c: nodes, where they came from, and the checks every keyword uses. */
void *gitlab_ptr_table_get(const struct ptr_table *t, const void *key);
void gitlab_ptr_table_put(struct ptr_table *t, const void *key, void *value);
const char *gitlab_node_file(const struct loader *l, const struct yaml_node *node);
/* "file:line:column: message" for node; returns -1. */
int gitlab_node_err(struct loader *l, const struct yaml_node *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void gitlab_origins_register(struct loader *l, const struct yaml_node *node, const char *file);
struct yaml_node *gitlab_node_new(struct loader *l, enum yaml_kind kind,
				  const struct yaml_node *like, size_t capacity);
const struct yaml_node *gitlab_key_of(const struct yaml_node *map, const char *name);
bool gitlab_word_in(const char *const *words, const char *word);
int gitlab_keys_check(struct loader *l, const struct yaml_node *map, const char *const *allowed,
		      const char *what);
int gitlab_list_flatten(struct loader *l, const struct yaml_node *node, struct vec *out, int depth,
			const char *what);
const char *gitlab_scalar_text(const struct yaml_node *node);

/* gitlab_vars.c: variable sets, their definitions and their expansion. */
const struct var *gitlab_vars_find(const struct vars *v, const char *name, size_t len);
void gitlab_vars_set(struct vars *v, const char *name, const char *value, bool expression,
		     bool literal);
void gitlab_vars_add_all(struct vars *dst, const struct vars *src);
void gitlab_vars_free(struct vars *v);
bool gitlab_is_name_char(char c);
/* escape: the result goes to the executor, so `${{` must stay literal. */
int gitlab_value_expand(struct loader *l, const struct yaml_node *where, const struct vars *scope,
			const char *text, bool escape, const char **out);
char *gitlab_text_escape(const char *s);
json_t *gitlab_json_text(const char *s);
int gitlab_vars_parse(struct loader *l, const struct yaml_node *node, struct vars *into,
		      const char *what);
const char *gitlab_pipeline_source(const struct loader *l);
void gitlab_predefined_build(struct loader *l);

/* gitlab_expr.c: the rules:if expression language and its regexes. */
int gitlab_regex_match(struct loader *l, const struct yaml_node *where, const char *pattern,
		       size_t len, const char *flags, size_t flags_len, const char *subject,
		       bool *out);
bool gitlab_regex_end(const char *text, size_t *end);
int gitlab_expr_eval(struct loader *l, const struct yaml_node *node, const char *what,
		     const struct vars *vars, bool *out);

/* gitlab_rules.c: rules, only/except and workflow:rules decisions. */
enum rules_scope { RULES_JOB, RULES_WORKFLOW, RULES_INCLUDE };

int gitlab_repo_files_list(struct loader *l);
int gitlab_when_check(struct loader *l, const struct yaml_node *node, enum rules_scope scope,
		      const char **out);
int gitlab_rules_match(struct loader *l, const struct yaml_node *rules, const struct vars *vars,
		       enum rules_scope scope, const struct yaml_node **matched);
int gitlab_allow_failure_read(struct loader *l, const struct yaml_node *node, bool *out);
int gitlab_job_rules_decide(struct loader *l, struct gjob *j, const struct vars *scope,
			    bool *included);
int gitlab_workflow_rules(struct loader *l, bool *runs);

/* gitlab_merge.c: include, !reference, default: and extends. */
int gitlab_root_check(struct loader *l, const struct yaml_doc *doc, const char *file);
int gitlab_include_process(struct loader *l, struct yaml_node *root, int depth,
			   struct yaml_node **out);
int gitlab_reference_resolve(struct loader *l, struct yaml_node *node, int depth,
			     struct yaml_node **out);
int gitlab_defaults_read(struct loader *l);
int gitlab_extends_resolve(struct loader *l, const char *name, const struct yaml_node *from,
			   int depth, struct yaml_node **out);
int gitlab_inherit_allows(struct loader *l, const struct yaml_node *job, const char *which,
			  const char *name, bool *out);
int gitlab_defaults_apply(struct loader *l, struct gjob *j);

/* gitlab_job.c: one prepared job into a workflow job. */
int gitlab_script_collect(struct loader *l, const struct yaml_node *node, const char *job,
			  const char *what, struct vec *lines);
/* check: the job runs here, so a need on a job left out is an error. */
int gitlab_job_emit(struct loader *l, struct gjob *j, struct workflow *wf, bool check);

#endif
