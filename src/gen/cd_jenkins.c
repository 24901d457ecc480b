/*
 * cd_jenkins: the release process of cd_workflow.c written as a declarative
 * Jenkinsfile for a multibranch pipeline.
 *
 * A stage per environment, chosen by `when` (branch 'main', branch
 * 'release/..', tag 'v*.*.*'), production behind an `input` approval. The
 * scripts are cd_script.c's; what is Jenkins' own is here: credentials
 * bound by id with withCredentials (Jenkins has no OIDC tokens, so clouds
 * are signed in to with stored keys), a pinned Docker agent per stage, the
 * image handed from the build stage with stash, one deploy per
 * environment at a time (lock), and the rollback in post { failure }.
 */
#include "gen/cd_internal.h"

#include "gen/ci_jenkins.h"
#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static const struct cd_shell jenkins_shell = {
	.provider = CI_JENKINS,
	.sha = "${GIT_COMMIT}",
	.root = "${WORKSPACE}",
	.job_id = "${BUILD_NUMBER}",
	.session = NULL,
	.oidc_token = NULL,
	.file_secrets = true,
	.registry = { NULL, "${IMAGE%%/*}", "$REGISTRY_USERNAME", "$REGISTRY_PASSWORD" },
};

/* What to create once, in Jenkins' terms (%s: the app's slug). */
static const struct cd_setup jenkins_setups[] = {
	{ "flyio", "create one app per environment (flyctl apps create %s-dev,\n"
		   "then -staging and the production app) and a deploy token that may\n"
		   "deploy them (fly-api-token)." },
	{ "aws-ecs", "an ECR repository named %s; per environment a cluster and a Fargate\n"
		     "service named like APP_NAME below, with the deployment circuit breaker\n"
		     "on; and a deploy IAM user (aws-access-key-id, aws-secret-access-key)\n"
		     "allowed only to push to that repository and update those services." },
	{ "gcp-cloudrun", "an Artifact Registry Docker repository named %s and a service account\n"
			  "with the Cloud Run and Artifact Registry roles, whose JSON key is the\n"
			  "google-application-credentials Secret file." },
	{ "azure-containerapps",
	  "the container apps (named like APP_NAME below) in AZURE_RESOURCE_GROUP,\n"
	  "pulling from AZURE_ACR_NAME (az containerapp registry set); a\n"
	  "repository-scoped ACR token that may push %s (registry-username,\n"
	  "registry-password); and a service principal (azure-client-id,\n"
	  "azure-client-secret) allowed to update the apps." },
	{ "digitalocean", "a container registry (DIGITALOCEAN_REGISTRY) integrated with App\n"
			  "Platform. The apps are created from the spec on their first deploy\n"
			  "(%s-dev, -staging and the production app)." },
	{ "kubernetes", "a kubeconfig (the kube-config Secret file) for a service account\n"
			"allowed to manage the app's namespaces (%s-<environment>); a pull\n"
			"secret for REGISTRY in them; an ingress controller." },
};

/*
 * A line of a triple-quoted sh script: single quotes, so no interpolation and $
 * reaches the shell; a quote needs escaping only where three would close it.
 */
static void groovy_escape_triple(struct buf *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\\' || (*p == '\'' && p[1] == '\''))
			buf_addch(out, '\\');
		buf_addch(out, *p);
	}
}

/* "<indent>before'text'after\n". */
static void quoted_line(struct buf *out, int level, const char *before, const char *text,
			const char *after)
{
	ci_jenkins_indent(out, level);
	buf_adds(out, before);
	ci_jenkins_quote(out, text);
	buf_adds(out, after);
	buf_addch(out, '\n');
}

/* sh '''...''' with every script item, each line indented under the call. */
static void sh_script(struct buf *out, int level, const json_t *script)
{
	ci_jenkins_line(out, level, "sh '''");
	size_t i;
	json_t *item;
	json_array_foreach(script, i, item)
	{
		const char *text = json_string_value(item);
		while (*text) {
			size_t len = strcspn(text, "\n");
			struct buf one = BUF_INIT;
			buf_add(&one, text, len);
			ci_jenkins_indent(out, level + 1);
			groovy_escape_triple(out, one.data);
			buf_addch(out, '\n');
			buf_free(&one);
			text += len + (text[len] == '\n');
		}
	}
	ci_jenkins_line(out, level + 1, "'''");
}

/* withCredentials([...]) {, binding every secret by id; false when there is none. */
static bool open_credentials(struct buf *out, int level, const struct vec *credentials)
{
	size_t total = 0, written = 0;
	for (size_t i = 0; i < credentials->len; i++)
		total += cd_credential_is_secret(credentials->items[i]);
	if (!total)
		return false;
	ci_jenkins_line(out, level, "withCredentials([");
	for (size_t i = 0; i < credentials->len; i++) {
		const struct cd_credential *c = credentials->items[i];
		if (!cd_credential_is_secret(c))
			continue;
		char *id = cd_credential_id(c->name);
		ci_jenkins_indent(out, level + 1);
		buf_addf(out,
			 "%s(credentialsId: ", cd_credential_is_file(c->name) ? "file" : "string");
		ci_jenkins_quote(out, id);
		buf_adds(out, ", variable: ");
		ci_jenkins_quote(out, c->name);
		buf_addf(out, ")%s\n", ++written < total ? "," : "");
		free(id);
	}
	ci_jenkins_line(out, level, "]) {");
	return true;
}

static void scripted_steps(struct buf *out, int level, const struct vec *credentials,
			   const json_t *script)
{
	bool wrapped = open_credentials(out, level, credentials);
	sh_script(out, level + wrapped, script);
	if (wrapped)
		ci_jenkins_line(out, level, "}");
}

static void docker_agent(struct buf *out, int level, const char *image, bool root)
{
	ci_jenkins_line(out, level, "agent {");
	ci_jenkins_line(out, level + 1, "docker {");
	quoted_line(out, level + 2, "image ", image, "");
	/* Jenkins runs its own command: the CLI images' entrypoints are reset. */
	ci_jenkins_line(out, level + 2,
			root ? "args '--entrypoint= -u root:root'" : "args '--entrypoint='");
	ci_jenkins_line(out, level + 1, "}");
	ci_jenkins_line(out, level, "}");
}

static void stage_open(struct buf *out, const char *name)
{
	quoted_line(out, 2, "stage(", name, ") {");
}

static void build_stage(struct buf *out, const struct cd_context *ctx,
			const struct cd_script_target *target, const struct vec *credentials)
{
	stage_open(out, "Build image");
	ci_jenkins_line(out, 3, "when {");
	ci_jenkins_line(out, 4, "beforeAgent true");
	ci_jenkins_indent(out, 4);
	buf_adds(out, "anyOf { ");
	for (size_t i = 0; i < 3; i++)
		buf_addf(out, "%s%s", i ? "; " : "", cd_environments[i].jenkins_when);
	buf_adds(out, " }\n");
	ci_jenkins_line(out, 3, "}");
	/* kaniko writes to the image's root file system. */
	docker_agent(out, 3, cd_script_kaniko_image(), true);
	ci_jenkins_line(out, 3, "options {");
	ci_jenkins_line(out, 4, "timeout(time: 20, unit: 'MINUTES')");
	ci_jenkins_line(out, 3, "}");
	ci_jenkins_line(out, 3, "steps {");
	json_t *variables = json_object();
	json_t *script = cd_script_build(ctx, &jenkins_shell, target, variables);
	cd_script_exports(script, variables);
	scripted_steps(out, 4, credentials, script);
	/* The deploy stages read IMAGE from it. */
	ci_jenkins_line(out, 4, "stash name: 'image', includes: 'build.env'");
	ci_jenkins_line(out, 3, "}");
	ci_jenkins_line(out, 2, "}");
	json_decref(script);
	json_decref(variables);
}

static void deploy_stage(struct buf *out, const struct cd_context *ctx, const struct cd_plan *plan,
			 const struct cd_script_target *target, const struct vec *credentials,
			 const struct cd_environment *env)
{
	bool production = strcmp(env->name, "production") == 0;
	struct buf text = BUF_INIT;
	buf_addf(&text, "Deploy to %s", env->name);
	stage_open(out, text.data);
	ci_jenkins_line(out, 3, "when {");
	ci_jenkins_line(out, 4, "beforeAgent true");
	if (production)
		ci_jenkins_line(out, 4, "beforeInput true");
	ci_jenkins_line(out, 4, env->jenkins_when);
	ci_jenkins_line(out, 3, "}");
	if (production) {
		/* The approval: the stage waits, without an agent, for someone allowed to deploy.
		 */
		ci_jenkins_line(out, 3, "input {");
		buf_reset(&text);
		buf_addf(&text, "Deploy %s to production?", ctx->slug);
		quoted_line(out, 4, "message ", text.data, "");
		ci_jenkins_line(out, 4, "ok 'Deploy'");
		ci_jenkins_line(out, 3, "}");
	}
	docker_agent(out, 3, target->image, false);
	ci_jenkins_line(out, 3, "options {");
	ci_jenkins_line(out, 4, "timeout(time: 30, unit: 'MINUTES')");
	/* One deploy per environment at a time. */
	buf_reset(&text);
	buf_addf(&text, "deploy-%s-%s", ctx->slug, env->name);
	quoted_line(out, 4, "lock(", text.data, ")");
	ci_jenkins_line(out, 3, "}");
	ci_jenkins_line(out, 3, "steps {");
	if (target->build)
		ci_jenkins_line(out, 4, "unstash 'image'");
	json_t *variables = cd_script_variables(ctx, plan, env);
	json_t *script = cd_script_deploy(ctx, &jenkins_shell, target, variables);
	if (target->build) {
		json_t *image = json_pack("[s]", ". ./build.env");
		json_array_extend(image, script);
		json_decref(script);
		script = image;
	}
	cd_script_exports(script, variables);
	scripted_steps(out, 4, credentials, script);
	ci_jenkins_line(out, 3, "}");
	char *rollback = cd_script_rollback(ctx, &jenkins_shell, target, NULL);
	if (rollback) {
		json_t *after = json_pack("[s]", rollback);
		cd_script_exports(after, variables);
		ci_jenkins_line(out, 3, "post {");
		ci_jenkins_line(out, 4, "failure {");
		scripted_steps(out, 5, credentials, after);
		ci_jenkins_line(out, 4, "}");
		ci_jenkins_line(out, 3, "}");
		json_decref(after);
	}
	free(rollback);
	ci_jenkins_line(out, 2, "}");
	json_decref(script);
	json_decref(variables);
	buf_free(&text);
}

int cd_jenkins_write(const struct cd_context *ctx, const struct cd_plan *plan,
		     struct gen_files *out, struct err *e)
{
	const struct cd_script_target *target = cd_script_target_find(ctx->target->id);
	const char *setup =
		cd_setup_find(jenkins_setups, sizeof(jenkins_setups) / sizeof(jenkins_setups[0]),
			      ctx->target->id);
	if (!target || !setup)
		return err_set(e, "%s: no Jenkins deploy pipeline", ctx->target->name);
	struct vec credentials = VEC_INIT;
	cd_script_credentials(ctx, &jenkins_shell, target, &credentials);
	struct buf text = BUF_INIT, setup_text = BUF_INIT;
	buf_addf(&setup_text, setup, ctx->slug);
	struct cd_plan jenkins_plan = *plan;
	jenkins_plan.setup = setup_text.data;
	jenkins_plan.credentials = &credentials;
	cd_release_header(&text, ctx, &jenkins_plan);
	buf_addch(&text, '\n');
	ci_jenkins_line(&text, 0, "pipeline {");
	/* Each stage brings its own pinned image. */
	ci_jenkins_line(&text, 1, "agent none");
	buf_addch(&text, '\n');
	ci_jenkins_line(&text, 1, "options {");
	/* A newer build waits: a deploy is never aborted half-way. */
	ci_jenkins_line(&text, 2, "disableConcurrentBuilds()");
	ci_jenkins_line(&text, 2, "buildDiscarder(logRotator(numToKeepStr: '30'))");
	ci_jenkins_line(&text, 1, "}");
	buf_addch(&text, '\n');
	ci_jenkins_line(&text, 1, "stages {");
	if (target->build) {
		build_stage(&text, ctx, target, &credentials);
		buf_addch(&text, '\n');
	}
	for (size_t i = 0; i < 3; i++) {
		if (i)
			buf_addch(&text, '\n');
		deploy_stage(&text, ctx, plan, target, &credentials, &cd_environments[i]);
	}
	ci_jenkins_line(&text, 1, "}");
	ci_jenkins_line(&text, 0, "}");
	gen_files_add(out, "Jenkinsfile", text.data);
	vec_free(&credentials, NULL);
	buf_free(&setup_text);
	buf_free(&text);
	return 0;
}
