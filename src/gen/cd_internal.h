/*
 * cd_internal: what the deployment writers share.
 *
 * cd.c loads the provider catalog (config/deployment-providers.yaml) and
 * turns the analysis into a cd_context; each cd_<target>.c writes that
 * target's config files and GitHub deploy workflow; cd_workflow.c holds the
 * release process every workflow follows (environments, smoke test,
 * rollback, permissions, the header), so the targets differ only where
 * platforms do. The script-based CIs share cd_script.c (each target's
 * build, deploy and rollback as shell) and differ in cd_gitlab.c,
 * cd_bitbucket.c and cd_jenkins.c only where those CIs do.
 */
#ifndef AMPEL_GEN_CD_INTERNAL_H
#define AMPEL_GEN_CD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gen/cd.h"
#include "util/vec.h"

struct buf;
struct err;
struct gen_files;
struct map;

enum cd_credential_type {
	CD_CREDENTIAL_API_TOKEN,
	CD_CREDENTIAL_SECRET,
	CD_CREDENTIAL_TEXT,
	CD_CREDENTIAL_SELECT,
	CD_CREDENTIAL_REGION,
};

struct cd_credential {
	char *name;
	char *label;
	enum cd_credential_type type;
	bool required;
	char *pattern;	    /* PCRE2, checked to compile at load; NULL = any */
	struct vec options; /* char *: the choices of a select */
};

struct cd_sizing {
	long port;
	long memory; /* MiB */
	char *cpu;   /* in the target's own unit */
	char *size;  /* named instance size, or NULL */
};

struct cd_target {
	char *id;
	char *name;
	char *api_base;
	char *docs;
	char *default_region;
	struct vec regions;	/* char * */
	struct vec credentials; /* struct cd_credential * */
	struct map *defaults;	/* language (or "default") -> struct cd_sizing * */
};

struct cd_catalog {
	struct vec targets; /* struct cd_target * */
};

/* Parses and validates a providers file; errors read "<origin>:<line>:<col>: ...". */
int cd_catalog_parse(struct cd_catalog **out, const char *origin, const char *data, size_t len,
		     struct err *e);
/* The embedded file, or the override directory's copy. */
int cd_catalog_load(struct cd_catalog **out, struct err *e);
void cd_catalog_free(struct cd_catalog *catalog);
const struct cd_target *cd_catalog_find(const struct cd_catalog *catalog, const char *id);
bool cd_credential_is_secret(const struct cd_credential *credential);
/* A credential's Jenkins id: "FLY_API_TOKEN" -> "fly-api-token" (malloc'd). */
char *cd_credential_id(const char *name);
/* Whether a secret is a file (a kubeconfig, a key file) rather than text. */
bool cd_credential_is_file(const char *name);

/* The release stages every workflow deploys to. */
struct cd_environment {
	const char *name;      /* development, staging, production */
	const char *suffix;    /* appended to app names: "-dev", "-staging", "" */
	const char *condition; /* the job's if: */
	const char *trigger;   /* for people: "pushes to main" */
	const char *gitlab_if; /* the same condition as a GitLab rules: if: */
	const char *gitlab_trigger;
	const char *bitbucket_deployment; /* Bitbucket's environment: test, staging, production */
	const char *bitbucket_pattern;	  /* the branch or tag glob of its pipeline */
	const char *jenkins_when;	  /* the stage's when condition */
};

extern const struct cd_environment cd_environments[3];

/* Everything a target writer needs, resolved once. */
struct cd_context {
	const struct cd_options *options;
	const struct cd_target *target;
	const json_t *project;
	const char *project_path; /* "." or "apps/web" */
	char *dir;		  /* "" or "apps/web/": prefix of the files written */
	char *slug;		  /* DNS-safe app name */
	const char *language;	  /* primary language or "default" */
	long port;
	const char *health_path;
	const struct cd_sizing *sizing;
	const char *region;
	char *inferred; /* for the header: "a express app (javascript, npm) at ." */
};

/* "<dir><name>": a path relative to the repository root. */
char *cd_path(const struct cd_context *ctx, const char *name);
/* "<slug><environment suffix>". */
char *cd_app_name(const struct cd_context *ctx, const struct cd_environment *env);

/* Header comment shared by config files: generated-by + what to know. */
void cd_header(struct buf *out, const struct cd_context *ctx, const char *prefix);
/* Renders a manifest as YAML after the header (and notes), and adds it to out. */
void cd_add_yaml(struct gen_files *out, const struct cd_context *ctx, const char *path,
		 const char *notes, const json_t *value);

/* Steps: {name, uses, with} / {name, run, env}; with and env are stolen (may be NULL). */
json_t *cd_step_uses(const char *name, const char *uses, json_t *with);
json_t *cd_step_run(const char *name, const char *run, json_t *env);
json_t *cd_step_checkout(void);

/* What a target adds to the generic workflow. */
struct cd_plan {
	json_t *build_job; /* stolen; NULL: each deploy builds (Fly.io builds remotely) */
	/* Extra env of one environment's deploy job (a new object), or NULL. */
	json_t *(*job_env)(const struct cd_context *ctx, const struct cd_environment *env);
	bool oidc; /* deploy jobs need id-token: write */
	/* The credentials the header names (struct cd_credential *); NULL: the target's. */
	const struct vec *credentials;
	const char *rollback; /* one paragraph for the header: how to roll back */
	const char *setup;    /* one paragraph for the header: what to create once */
	/*
	 * The deploy steps for one environment (checkout included). They must
	 * leave the public URL in steps.url.outputs.url unless smoke_steps is
	 * set; rollback_steps run on failure (may be NULL).
	 */
	json_t *(*deploy_steps)(const struct cd_context *ctx, const struct cd_environment *env);
	json_t *(*smoke_steps)(const struct cd_context *ctx, const struct cd_environment *env);
	json_t *(*rollback_steps)(const struct cd_context *ctx, const struct cd_environment *env);
};

/*
 * The header comment of a deploy workflow or pipeline: the release
 * process, the secrets and variables to set (by name), setup and
 * rollback, worded for the provider in ctx->options.
 */
void cd_release_header(struct buf *out, const struct cd_context *ctx, const struct cd_plan *plan);
/* The smoke test: curl with retries on "${URL%/}${HEALTH_PATH}". */
const char *cd_smoke_script(void);
/* APP_NAME, DEPLOY_ENVIRONMENT and the plan's job_env for one environment (a new object). */
json_t *cd_job_variables(const struct cd_context *ctx, const struct cd_plan *plan,
			 const struct cd_environment *env);
/* Appends text with every line behind prefix ("# "), blank lines as bare prefix. */
void cd_comment_lines(struct buf *out, const char *prefix, const char *text);

/* Written by deploy scripts for the rollback: what to roll back to. */
#define CD_PREVIOUS_FILE ".ampel-previous-release"

/* How a script-based CI (GitLab, Bitbucket, Jenkins) names things in its shell. */
struct cd_registry {
	const char *image;    /* the CI's own registry image ("${CI_REGISTRY_IMAGE}"), or NULL */
	const char *host;     /* what kaniko signs in to */
	const char *user;     /* "$CI_REGISTRY_USER" */
	const char *password; /* "$CI_REGISTRY_PASSWORD" */
};

struct cd_shell {
	enum ci_provider provider;
	const char *sha;	/* "${CI_COMMIT_SHA}" */
	const char *root;	/* the checkout: "${CI_PROJECT_DIR}" */
	const char *job_id;	/* "${CI_JOB_ID}" */
	const char *session;	/* AWS role session name */
	const char *oidc_token; /* "$GITLAB_OIDC_TOKEN", or NULL: stored keys sign in */
	bool file_secrets;	/* a secret can be a file (KUBE_CONFIG is a path) */
	struct cd_registry registry;
};

/* One target's build, deploy, smoke test and rollback as shell. */
struct cd_script_target {
	const char *id;
	const char *image; /* the deploy image, pinned */
	bool entrypoint;   /* the image's entrypoint must be reset */
	/* Without OIDC: the catalog credentials dropped (space-separated) and those added. */
	const char *oidc_only;
	const struct cd_credential *keys;
	size_t key_count;
	/* Sets IMAGE and writes /kaniko/.docker/config.json (NULL: the platform builds). */
	void (*build)(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		      json_t *variables);
	/* Signs in, remembers the release in CD_PREVIOUS_FILE, deploys, sets URL. */
	void (*deploy)(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		       json_t *variables);
	/* NULL: curl $URL. */
	void (*smoke)(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script);
	/* Rolls back to $previous (NULL: the platform has no rollback). */
	void (*rollback)(const struct cd_context *ctx, const struct cd_shell *shell,
			 struct buf *run);
	bool has_url;
};

const struct cd_script_target *cd_script_target_find(const char *id);

/* What to create once for a target, in one CI's terms (%s: the app's slug). */
struct cd_setup {
	const char *id;
	const char *text;
};
const char *cd_setup_find(const struct cd_setup *setups, size_t count, const char *id);
const char *cd_script_kaniko_image(void);
/* Appends text (or a format) as one script item. */
void cd_script_line(json_t *script, const char *text);
void cd_script_linef(json_t *script, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<root>" or "<root>/apps/web". */
void cd_script_project_dir(struct buf *out, const struct cd_context *ctx,
			   const struct cd_shell *shell);
/* The credentials the pipeline needs, by name (borrowed struct cd_credential *). */
void cd_script_credentials(const struct cd_context *ctx, const struct cd_shell *shell,
			   const struct cd_script_target *target, struct vec *out);
/* The job variables of one environment: cd_job_variables and HEALTH_PATH. */
json_t *cd_script_variables(const struct cd_context *ctx, const struct cd_plan *plan,
			    const struct cd_environment *env);
/* The image build: kaniko into the registry, then IMAGE=... in build.env. */
json_t *cd_script_build(const struct cd_context *ctx, const struct cd_shell *shell,
			const struct cd_script_target *target, json_t *variables);
/* Deploy and smoke test, leaving URL set; adds to variables. */
json_t *cd_script_deploy(const struct cd_context *ctx, const struct cd_shell *shell,
			 const struct cd_script_target *target, json_t *variables);
/*
 * The rollback as one shell block, run when failed (a shell test followed
 * by " && ", or NULL) and a release was remembered; NULL when the target
 * has none.
 */
char *cd_script_rollback(const struct cd_context *ctx, const struct cd_shell *shell,
			 const struct cd_script_target *target, const char *failed);
/* Prepends "export NAME=value" lines for variables (steps without variables of their own). */
void cd_script_exports(json_t *script, const json_t *variables);

/*
 * Write the plan's release process as .gitlab-ci.yml, bitbucket-pipelines.yml
 * or a Jenkinsfile (the GitHub steps of the plan are not used).
 */
int cd_gitlab_write(const struct cd_context *ctx, const struct cd_plan *plan, struct gen_files *out,
		    struct err *e);
int cd_bitbucket_write(const struct cd_context *ctx, const struct cd_plan *plan,
		       struct gen_files *out, struct err *e);
int cd_jenkins_write(const struct cd_context *ctx, const struct cd_plan *plan,
		     struct gen_files *out, struct err *e);

/*
 * Builds .github/workflows/deploy*.yml from plan (its JSON is consumed) and
 * adds it to out; with --provider gitlab, bitbucket or jenkins, the
 * writer of that CI.
 */
int cd_workflow_write(const struct cd_context *ctx, const struct cd_plan *plan,
		      struct gen_files *out, struct err *e);
/*
 * The image job shared by registry-based targets: checkout, login_steps,
 * then build and push <dir>Dockerfile as image, a shell word evaluated
 * with image_env (stolen; keeps expressions out of run:), e.g.
 * "${REGISTRY}/app:${GITHUB_SHA}". Its output `image` names the result.
 */
json_t *cd_build_job(const struct cd_context *ctx, json_t *permissions, json_t *login_steps,
		     const char *image, json_t *image_env);

int cd_flyio_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e);
int cd_aws_ecs_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e);
int cd_cloudrun_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e);
int cd_azure_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e);
int cd_digitalocean_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e);
int cd_kubernetes_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e);

#endif
