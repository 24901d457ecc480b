/*
 * cd_bitbucket: the release process of cd_workflow.c written as Bitbucket
 * Pipelines (bitbucket-pipelines.yml).
 *
 * One pipeline per trigger: main deploys to the `test` deployment
 * environment, release branches to `staging`, v*.*.* tags to
 * `production` behind a manual step. The scripts are cd_script.c's; what
 * is Bitbucket's own is here: its variables, OIDC through `oidc: true`,
 * deployment environments, one deploy at a time per environment
 * (concurrency-group), the image handed from the build step as an
 * artifact, and the rollback in after-script when the step failed.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/yaml_emit.h"

#include <stdlib.h>
#include <string.h>

static const struct cd_shell bitbucket_shell = {
	.provider = CI_BITBUCKET,
	.sha = "${BITBUCKET_COMMIT}",
	.root = "${BITBUCKET_CLONE_DIR}",
	.job_id = "${BITBUCKET_BUILD_NUMBER}",
	.session = "bitbucket-${BITBUCKET_BUILD_NUMBER}",
	.oidc_token = "$BITBUCKET_STEP_OIDC_TOKEN",
	.file_secrets = false,
	.registry = { NULL, "${IMAGE%%/*}", "$REGISTRY_USERNAME", "$REGISTRY_PASSWORD" },
};

/* What to create once, in Bitbucket's terms (%s: the app's slug). */
static const struct cd_setup bitbucket_setups[] = {
	{ "flyio", "create one app per environment (flyctl apps create %s-dev,\n"
		   "then -staging and the production app) and a deploy token (FLY_API_TOKEN)\n"
		   "per app, as a deployment variable of its environment." },
	{ "aws-ecs", "an ECR repository named %s; per environment a cluster and a Fargate\n"
		     "service named like APP_NAME below, with the deployment circuit breaker\n"
		     "on; and an IAM role (AWS_ROLE_TO_ASSUME) trusting this workspace's\n"
		     "Bitbucket OIDC identity provider (Repository settings > OpenID Connect)." },
	{ "gcp-cloudrun", "an Artifact Registry Docker repository named %s; a workload identity\n"
			  "pool and provider trusting this workspace's Bitbucket OIDC issuer\n"
			  "(Repository settings > OpenID Connect), allowed to impersonate\n"
			  "GCP_SERVICE_ACCOUNT (Cloud Run and Artifact Registry roles)." },
	{ "azure-containerapps",
	  "the container apps (named like APP_NAME below) in AZURE_RESOURCE_GROUP,\n"
	  "pulling from AZURE_ACR_NAME (az containerapp registry set); a\n"
	  "repository-scoped ACR token that may push %s (REGISTRY_USERNAME,\n"
	  "REGISTRY_PASSWORD); and an app registration with a federated credential\n"
	  "for this workspace's Bitbucket OIDC issuer (AZURE_CLIENT_ID)." },
	{ "digitalocean", "a container registry (DIGITALOCEAN_REGISTRY) integrated with App\n"
			  "Platform. The apps are created from the spec on their first deploy\n"
			  "(%s-dev, -staging and the production app)." },
	{ "kubernetes", "a kubeconfig for a service account allowed to manage the app's\n"
			"namespaces (%s-<environment>), base64-encoded in KUBE_CONFIG; a\n"
			"pull secret for REGISTRY in them; an ingress controller." },
};

/* A deploy step's concurrency group: at most 50 characters. */
static char *concurrency_group(const struct cd_context *ctx, const struct cd_environment *env)
{
	struct buf group = BUF_INIT;
	buf_addf(&group, "deploy-%s-%s", ctx->slug, env->name);
	if (group.len > 50) {
		buf_reset(&group);
		buf_addf(&group, "%.*s-%s", (int)(49 - strlen(env->name)), ctx->slug, env->name);
	}
	return buf_detach(&group);
}

/* Bitbucket's tag glob also takes v1.2.3-rc1: the release tags are vX.Y.Z only. */
static json_t *tag_check_step(void)
{
	json_t *script = json_array();
	cd_script_line(script,
		       "if ! echo \"$BITBUCKET_TAG\" | grep -Eq '^v[0-9]+\\.[0-9]+\\.[0-9]+$'; "
		       "then\n"
		       "  echo \"$BITBUCKET_TAG is not a vX.Y.Z release tag\"\n"
		       "  exit 1\n"
		       "fi");
	return json_pack("{s:{s:s, s:s, s:i, s:o}}", "step", "name", "Check the release tag",
			 "image", "alpine:3.20", "max-time", 5, "script", script);
}

static json_t *build_step(const struct cd_context *ctx, const struct cd_plan *plan,
			  const struct cd_script_target *target)
{
	json_t *variables = json_object();
	json_t *script = cd_script_build(ctx, &bitbucket_shell, target, variables);
	cd_script_exports(script, variables);
	json_decref(variables);
	json_t *step = json_pack("{s:s, s:s, s:i}", "name", "Build image", "image",
				 cd_script_kaniko_image(), "max-time", 20);
	if (plan->oidc)
		json_object_set_new(step, "oidc", json_true());
	json_object_set_new(step, "script", script);
	/* The deploy step reads IMAGE from it. */
	json_object_set_new(step, "artifacts", json_pack("[s]", "build.env"));
	return json_pack("{s:o}", "step", step);
}

static json_t *deploy_step(const struct cd_context *ctx, const struct cd_plan *plan,
			   const struct cd_script_target *target, const struct cd_environment *env)
{
	struct buf name = BUF_INIT;
	buf_addf(&name, "Deploy to %s", env->name);
	json_t *step = json_pack("{s:s, s:s, s:s}", "name", name.data, "image", target->image,
				 "deployment", env->bitbucket_deployment);
	buf_free(&name);
	if (strcmp(env->name, "production") == 0)
		json_object_set_new(step, "trigger", json_string("manual"));
	if (plan->oidc)
		json_object_set_new(step, "oidc", json_true());
	/* One deploy per environment at a time; a running one is never stopped. */
	char *group = concurrency_group(ctx, env);
	json_object_set_new(step, "concurrency-group", json_string(group));
	free(group);
	json_object_set_new(step, "max-time", json_integer(30));

	json_t *variables = cd_script_variables(ctx, plan, env);
	json_t *script = cd_script_deploy(ctx, &bitbucket_shell, target, variables);
	if (target->build) {
		json_t *image = json_array();
		cd_script_line(image, ". \"${BITBUCKET_CLONE_DIR}/build.env\"");
		json_array_extend(image, script);
		json_decref(script);
		script = image;
	}
	cd_script_exports(script, variables);
	json_object_set_new(step, "script", script);
	char *rollback = cd_script_rollback(ctx, &bitbucket_shell, target,
					    "[ \"$BITBUCKET_EXIT_CODE\" != 0 ] && ");
	if (rollback) {
		/* after-script runs in a shell of its own: the variables again. */
		json_t *after = json_pack("[s]", rollback);
		cd_script_exports(after, variables);
		json_object_set_new(step, "after-script", after);
	}
	free(rollback);
	json_decref(variables);
	return json_pack("{s:o}", "step", step);
}

static json_t *pipeline(const struct cd_context *ctx, const struct cd_plan *plan,
			const struct cd_script_target *target, const struct cd_environment *env)
{
	json_t *steps = json_array();
	if (strcmp(env->name, "production") == 0)
		json_array_append_new(steps, tag_check_step());
	if (target->build)
		json_array_append_new(steps, build_step(ctx, plan, target));
	json_array_append_new(steps, deploy_step(ctx, plan, target, env));
	return steps;
}

int cd_bitbucket_write(const struct cd_context *ctx, const struct cd_plan *plan,
		       struct gen_files *out, struct err *e)
{
	const struct cd_script_target *target = cd_script_target_find(ctx->target->id);
	const char *setup = cd_setup_find(bitbucket_setups,
					  sizeof(bitbucket_setups) / sizeof(bitbucket_setups[0]),
					  ctx->target->id);
	if (!target || !setup)
		return err_set(e, "%s: no Bitbucket Pipelines deploy pipeline", ctx->target->name);
	json_t *branches = json_object(), *tags = json_object();
	for (size_t i = 0; i < 3; i++) {
		const struct cd_environment *env = &cd_environments[i];
		json_object_set_new(strcmp(env->name, "production") == 0 ? tags : branches,
				    env->bitbucket_pattern, pipeline(ctx, plan, target, env));
	}
	json_t *doc = json_pack("{s:{s:o, s:o}}", "pipelines", "branches", branches, "tags", tags);

	struct vec credentials = VEC_INIT;
	cd_script_credentials(ctx, &bitbucket_shell, target, &credentials);
	struct buf text = BUF_INIT, setup_text = BUF_INIT;
	buf_addf(&setup_text, setup, ctx->slug);
	struct cd_plan bitbucket_plan = *plan;
	bitbucket_plan.setup = setup_text.data;
	bitbucket_plan.credentials = &credentials;
	cd_release_header(&text, ctx, &bitbucket_plan);
	if (plan->oidc)
		cd_comment_lines(&text, "#",
				 "\nSign-in uses the step's OIDC token (oidc: true), not stored "
				 "keys.");
	buf_addch(&text, '\n');
	static const char *const spaced[] = { "branches", "tags", NULL };
	struct yaml_emit_options options = { YAML_EMIT_SPACED, spaced };
	yaml_emit(&text, doc, &options);
	gen_files_add(out, "bitbucket-pipelines.yml", text.data);
	vec_free(&credentials, NULL);
	buf_free(&setup_text);
	buf_free(&text);
	json_decref(doc);
	return 0;
}
