/*
 * cd_gitlab: the release process of cd_workflow.c written as a GitLab CI
 * pipeline (.gitlab-ci.yml).
 *
 * The environments, their rules, the job variables, the smoke test and
 * the header are shared with the GitHub workflow; the build, deploy and
 * rollback scripts with Bitbucket and Jenkins (cd_script.c). What is
 * GitLab's own is here: its shell variables and registry, id_tokens for
 * the clouds that accept GitLab's OIDC tokens, and the jobs. Deploy jobs
 * are never interrupted, run one at a time per environment
 * (resource_group), and roll back in after_script when they fail.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/yaml_emit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const struct cd_shell gitlab_shell = {
	.provider = CI_GITLAB,
	.sha = "${CI_COMMIT_SHA}",
	.root = "${CI_PROJECT_DIR}",
	.job_id = "${CI_JOB_ID}",
	.session = "gitlab-${CI_PROJECT_ID}-${CI_JOB_ID}",
	.oidc_token = "$GITLAB_OIDC_TOKEN",
	.file_secrets = true,
	.registry = { "${CI_REGISTRY_IMAGE}", "$CI_REGISTRY", "$CI_REGISTRY_USER",
		      "$CI_REGISTRY_PASSWORD" },
};

/* What GitLab adds to a target: its OIDC audience and the setup in its terms. */
struct gitlab_target {
	const char *id;
	const char *audience; /* id_tokens aud, or NULL */
	const char *setup;    /* replaces the plan's setup paragraph (%s: slug) */
};

static const struct gitlab_target gitlab_targets[] = {
	{ "flyio", NULL,
	  "create one app per environment (flyctl apps create %s-dev,\n"
	  "then -staging and the production app) and a deploy token (FLY_API_TOKEN)\n"
	  "per app, as an environment-scoped variable." },
	{ "aws-ecs", "sts.amazonaws.com",
	  "an ECR repository named %s; per environment a cluster and a Fargate\n"
	  "service named like APP_NAME below, with the deployment circuit breaker\n"
	  "on; and an IAM role (AWS_ROLE_TO_ASSUME) trusting GitLab's OIDC provider\n"
	  "(audience sts.amazonaws.com) for this project." },
	{ "gcp-cloudrun", "https://iam.googleapis.com/${GCP_WORKLOAD_IDENTITY_PROVIDER}",
	  "an Artifact Registry Docker repository named %s; a workload identity\n"
	  "pool and provider trusting GitLab's OIDC issuer for this project, allowed\n"
	  "to impersonate GCP_SERVICE_ACCOUNT (Cloud Run and Artifact Registry roles)." },
	{ "azure-containerapps", "api://AzureADTokenExchange",
	  "the container apps (named like APP_NAME below) in AZURE_RESOURCE_GROUP,\n"
	  "each with a registry credential for this project's GitLab registry (az\n"
	  "containerapp registry set, with a read_registry deploy token), and an\n"
	  "app registration with a federated credential for GitLab's OIDC issuer\n"
	  "(AZURE_CLIENT_ID) for %s." },
	{ "digitalocean", NULL,
	  "a container registry (DIGITALOCEAN_REGISTRY) integrated with App\n"
	  "Platform. The apps are created from the spec on their first deploy\n"
	  "(%s-dev, -staging and the production app)." },
	{ "kubernetes", NULL,
	  "a kubeconfig (KUBE_CONFIG, a File variable) for a service account\n"
	  "allowed to manage the app's namespaces (%s-<environment>); a pull secret\n"
	  "for this project's GitLab registry in them (a read_registry deploy token);\n"
	  "an ingress controller." },
};

static const struct gitlab_target *gitlab_target_find(const char *id)
{
	for (size_t i = 0; i < sizeof(gitlab_targets) / sizeof(gitlab_targets[0]); i++) {
		if (strcmp(gitlab_targets[i].id, id) == 0)
			return &gitlab_targets[i];
	}
	return NULL;
}

/* --- Jobs ---------------------------------------------------------------- */

static json_t *gl_image(const char *name, bool reset_entrypoint)
{
	if (!reset_entrypoint)
		return json_string(name);
	return json_pack("{s:s, s:[s]}", "name", name, "entrypoint", "");
}

static json_t *gl_id_tokens(const char *audience)
{
	return json_pack("{s:{s:s}}", "GITLAB_OIDC_TOKEN", "aud", audience);
}

static json_t *gl_build_job(const struct cd_context *ctx, const struct cd_script_target *target,
			    const struct gitlab_target *gl)
{
	json_t *job = json_pack("{s:s, s:o}", "stage", "build", "image",
				gl_image(cd_script_kaniko_image(), true));
	json_t *rules = json_array();
	for (size_t i = 0; i < 3; i++)
		json_array_append_new(rules,
				      json_pack("{s:s}", "if", cd_environments[i].gitlab_if));
	json_object_set_new(job, "rules", rules);
	json_object_set_new(job, "timeout", json_string("20m"));
	if (gl->audience)
		json_object_set_new(job, "id_tokens", gl_id_tokens(gl->audience));
	json_t *variables = json_object();
	/* Deploy jobs read IMAGE from build.env as a dotenv report. */
	json_t *script = cd_script_build(ctx, &gitlab_shell, target, variables);
	if (json_object_size(variables))
		json_object_set_new(job, "variables", variables);
	else
		json_decref(variables);
	json_object_set_new(job, "script", script);
	json_object_set_new(job, "artifacts",
			    json_pack("{s:{s:s}}", "reports", "dotenv", "build.env"));
	return job;
}

static json_t *gl_deploy_job(const struct cd_context *ctx, const struct cd_plan *plan,
			     const struct cd_script_target *target, const struct gitlab_target *gl,
			     const struct cd_environment *env)
{
	struct buf text = BUF_INIT;
	buf_addf(&text, "deploy-%s", env->name);
	json_t *job = json_pack("{s:s, s:o}", "stage", text.data, "image",
				gl_image(target->image, target->entrypoint));
	if (target->build)
		json_object_set_new(job, "needs", json_pack("[s]", "build"));
	json_t *rule = json_pack("{s:s}", "if", env->gitlab_if);
	if (strcmp(env->name, "production") == 0) {
		/* A blocking manual job: the pipeline waits for someone allowed to deploy. */
		json_object_set_new(rule, "when", json_string("manual"));
		json_object_set_new(rule, "allow_failure", json_false());
	}
	json_object_set_new(job, "rules", json_pack("[o]", rule));
	json_t *environment = json_pack("{s:s}", "name", env->name);
	if (target->has_url)
		json_object_set_new(environment, "url", json_string("https://$DEPLOY_HOST"));
	json_object_set_new(job, "environment", environment);
	buf_reset(&text);
	buf_addf(&text, "deploy-%s-%s", ctx->slug, env->name);
	/* One deploy per environment at a time, and never cancelled half-way. */
	json_object_set_new(job, "resource_group", json_string(text.data));
	json_object_set_new(job, "interruptible", json_false());
	json_object_set_new(job, "timeout", json_string("30m"));
	if (gl->audience)
		json_object_set_new(job, "id_tokens", gl_id_tokens(gl->audience));
	json_t *variables = cd_script_variables(ctx, plan, env);
	json_t *script = cd_script_deploy(ctx, &gitlab_shell, target, variables);
	json_object_set_new(job, "variables", variables);
	json_object_set_new(job, "script", script);
	char *rollback = cd_script_rollback(ctx, &gitlab_shell, target,
					    "[ \"$CI_JOB_STATUS\" = failed ] && ");
	if (rollback)
		json_object_set_new(job, "after_script", json_pack("[s]", rollback));
	free(rollback);
	if (target->has_url)
		json_object_set_new(job, "artifacts",
				    json_pack("{s:{s:s}}", "reports", "dotenv", "deploy.env"));
	buf_free(&text);
	return job;
}

int cd_gitlab_write(const struct cd_context *ctx, const struct cd_plan *plan, struct gen_files *out,
		    struct err *e)
{
	const struct cd_script_target *target = cd_script_target_find(ctx->target->id);
	const struct gitlab_target *gl = gitlab_target_find(ctx->target->id);
	if (!target || !gl)
		return err_set(e, "%s: no GitLab CI deploy pipeline", ctx->target->name);
	json_t *pipeline = json_object();
	json_t *stages = json_array();
	if (target->build)
		json_array_append_new(stages, json_string("build"));
	for (size_t i = 0; i < 3; i++) {
		struct buf stage = BUF_INIT;
		buf_addf(&stage, "deploy-%s", cd_environments[i].name);
		json_array_append_new(stages, json_string(stage.data));
		buf_free(&stage);
	}
	json_object_set_new(pipeline, "stages", stages);
	json_t *rules = json_array();
	for (size_t i = 0; i < 3; i++)
		json_array_append_new(rules,
				      json_pack("{s:s}", "if", cd_environments[i].gitlab_if));
	json_object_set_new(pipeline, "workflow", json_pack("{s:o}", "rules", rules));
	if (target->build)
		json_object_set_new(pipeline, "build", gl_build_job(ctx, target, gl));
	for (size_t i = 0; i < 3; i++) {
		struct buf name = BUF_INIT;
		buf_addf(&name, "deploy-%s", cd_environments[i].name);
		json_object_set_new(pipeline, name.data,
				    gl_deploy_job(ctx, plan, target, gl, &cd_environments[i]));
		buf_free(&name);
	}

	struct buf setup = BUF_INIT, text = BUF_INIT;
	buf_addf(&setup, gl->setup, ctx->slug);
	struct cd_plan gitlab_plan = *plan;
	gitlab_plan.setup = setup.data;
	cd_release_header(&text, ctx, &gitlab_plan);
	if (gl->audience)
		cd_comment_lines(
			&text, "#",
			"\nSign-in uses GitLab's OIDC token (id_tokens), not stored keys.");
	buf_addch(&text, '\n');
	struct yaml_emit_options options = { YAML_EMIT_SPACED, NULL };
	yaml_emit(&text, pipeline, &options);
	gen_files_add(out, ".gitlab-ci.yml", text.data);
	buf_free(&setup);
	buf_free(&text);
	json_decref(pipeline);
	return 0;
}
