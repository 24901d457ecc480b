/*
 * cd_gitlab: the release process of cd_workflow.c written as a GitLab CI
 * pipeline (.gitlab-ci.yml).
 *
 * The environments, their rules, the job variables, the smoke test and
 * the header are shared with the GitHub workflow; what GitLab needs in
 * place of GitHub actions (the CLI image, the sign-in, the deploy and
 * rollback commands) is per target, below. Images are built with kaniko
 * (no Docker daemon) into the registry the platform pulls from; clouds
 * that accept GitLab's OIDC tokens get one through id_tokens. Deploy jobs
 * are never interrupted, run one at a time per environment
 * (resource_group), and roll back in after_script when they fail.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/yaml_emit.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KANIKO_IMAGE	"gcr.io/kaniko-project/executor:v1.23.2-debug"
#define OIDC_TOKEN_FILE "/tmp/gitlab-oidc-token"
/* Written by the deploy script for after_script: what to roll back to. */
#define PREVIOUS_FILE ".ampel-previous-release"

struct gitlab_target {
	const char *id;
	const char *image;    /* the deploy job's image, pinned */
	bool entrypoint;      /* the image's entrypoint must be reset */
	const char *audience; /* id_tokens aud, or NULL */
	const char *setup;    /* replaces the plan's setup paragraph (%s: slug) */
	/* Build: sets IMAGE and writes /kaniko/.docker/config.json (NULL: no build). */
	void (*build)(const struct cd_context *ctx, json_t *script, json_t *variables);
	/* Deploy: install/sign in, remember the release in PREVIOUS_FILE, deploy, set URL. */
	void (*deploy)(const struct cd_context *ctx, json_t *script, json_t *variables);
	void (*smoke)(const struct cd_context *ctx, json_t *script);	 /* NULL: curl $URL */
	void (*rollback)(const struct cd_context *ctx, struct buf *run); /* NULL: none */
	bool has_url;
};

static void gl_line(json_t *script, const char *text)
{
	json_array_append_new(script, json_string(text));
}

static void gl_linef(json_t *script, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void gl_linef(json_t *script, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&text, fmt, ap);
	va_end(ap);
	gl_line(script, text.data);
	buf_free(&text);
}

/* "$CI_PROJECT_DIR" or "$CI_PROJECT_DIR/apps/web". */
static void gl_project_dir(struct buf *out, const struct cd_context *ctx)
{
	buf_adds(out, "${CI_PROJECT_DIR}");
	if (*ctx->dir)
		buf_addf(out, "/%s", ctx->project_path);
}

/* --- Images -------------------------------------------------------------- */

static void gl_build_gitlab_registry(const struct cd_context *ctx, json_t *script,
				     json_t *variables)
{
	(void)ctx;
	(void)variables;
	gl_line(script, "IMAGE=\"${CI_REGISTRY_IMAGE}:${CI_COMMIT_SHA}\"");
	gl_line(script,
		"printf '{\"auths\":{\"%s\":{\"username\":\"%s\",\"password\":\"%s\"}}}' "
		"\\\n  \"$CI_REGISTRY\" \"$CI_REGISTRY_USER\" \"$CI_REGISTRY_PASSWORD\" \\\n"
		"  > /kaniko/.docker/config.json");
}

static void gl_aws_identity(json_t *variables)
{
	json_object_set_new(variables, "AWS_ROLE_ARN", json_string("$AWS_ROLE_TO_ASSUME"));
	json_object_set_new(variables, "AWS_WEB_IDENTITY_TOKEN_FILE", json_string(OIDC_TOKEN_FILE));
	json_object_set_new(variables, "AWS_ROLE_SESSION_NAME",
			    json_string("gitlab-${CI_PROJECT_ID}-${CI_JOB_ID}"));
}

static void gl_build_ecr(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	gl_aws_identity(variables);
	json_object_set_new(variables, "AWS_REGION", json_string(ctx->region));
	gl_line(script, "printf '%s' \"$GITLAB_OIDC_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"");
	/* The account is the fifth field of the role's ARN. */
	gl_linef(script,
		 "IMAGE=\"$(echo \"$AWS_ROLE_TO_ASSUME\" | cut -d: -f5).dkr.ecr.${AWS_REGION}"
		 ".amazonaws.com/%s:${CI_COMMIT_SHA}\"",
		 ctx->slug);
	gl_line(script, "printf '{\"credHelpers\":{\"%s\":\"ecr-login\"}}' \"${IMAGE%%/*}\" \\\n"
			"  > /kaniko/.docker/config.json");
}

/* A workload identity federation credential file for GitLab's token. */
static void gl_gcp_credentials(json_t *script)
{
	gl_line(script, "printf '%s' \"$GITLAB_OIDC_TOKEN\" > " OIDC_TOKEN_FILE);
	gl_line(script,
		"printf '{\"type\":\"external_account\",\"audience\":\"//iam.googleapis.com/%s\","
		"\"subject_token_type\":\"urn:ietf:params:oauth:token-type:jwt\","
		"\"token_url\":\"https://sts.googleapis.com/v1/token\","
		"\"service_account_impersonation_url\":\"https://iamcredentials.googleapis.com/v1/"
		"projects/-/serviceAccounts/%s:generateAccessToken\","
		"\"credential_source\":{\"file\":\"" OIDC_TOKEN_FILE "\"}}' \\\n"
		"  \"$GCP_WORKLOAD_IDENTITY_PROVIDER\" \"$GCP_SERVICE_ACCOUNT\" \\\n"
		"  > \"$GOOGLE_APPLICATION_CREDENTIALS\"");
}

static void gl_build_artifact_registry(const struct cd_context *ctx, json_t *script,
				       json_t *variables)
{
	json_object_set_new(variables, "GOOGLE_APPLICATION_CREDENTIALS",
			    json_string("/tmp/gcp-credentials.json"));
	gl_gcp_credentials(script);
	gl_linef(script, "IMAGE=\"%s-docker.pkg.dev/${GCP_PROJECT_ID}/%s/%s:${CI_COMMIT_SHA}\"",
		 ctx->region, ctx->slug, ctx->slug);
	gl_linef(script,
		 "printf '{\"credHelpers\":{\"%s-docker.pkg.dev\":\"gcr\"}}' > "
		 "/kaniko/.docker/config.json",
		 ctx->region);
}

static void gl_build_docr(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	(void)variables;
	gl_linef(script,
		 "IMAGE=\"registry.digitalocean.com/${DIGITALOCEAN_REGISTRY}/%s:${CI_COMMIT_SHA}\"",
		 ctx->slug);
	/* DOCR takes the API token as both user name and password. */
	gl_line(script, "auth=$(printf '%s:%s' \"$DIGITALOCEAN_ACCESS_TOKEN\" "
			"\"$DIGITALOCEAN_ACCESS_TOKEN\" | base64 | tr -d '\\n')");
	gl_line(script, "printf '{\"auths\":{\"registry.digitalocean.com\":{\"auth\":\"%s\"}}}' "
			"\"$auth\" \\\n"
			"  > /kaniko/.docker/config.json");
}

/* --- Deploys ------------------------------------------------------------- */

static void flyio_deploy(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	json_object_set_new(variables, "FLYCTL_VERSION", json_string("0.3.45"));
	json_object_set_new(variables, "FLYCTL_INSTALL", json_string("/usr/local"));
	gl_line(script, "apk add --no-cache curl jq");
	gl_line(script, "curl --fail --silent --show-error --location https://fly.io/install.sh "
			"\\\n  | sh -s \"$FLYCTL_VERSION\"");
	gl_linef(script,
		 "flyctl image show --app \"$APP_NAME\" --json 2>/dev/null \\\n"
		 "  | jq -r 'if type == \"array\" then .[0] else . end | select(.Repository) | "
		 "\"\\(.Registry)/\\(.Repository):\\(.Tag)\"' > %s || true",
		 PREVIOUS_FILE);
	struct buf dir = BUF_INIT;
	gl_project_dir(&dir, ctx);
	gl_linef(script,
		 "(cd \"%s\" && flyctl deploy --remote-only --app \"$APP_NAME\" \\\n"
		 "  --image-label \"$CI_COMMIT_SHA\" --wait-timeout 300)",
		 dir.data);
	gl_line(script, "URL=\"https://${APP_NAME}.fly.dev\"");
	buf_free(&dir);
}

static void flyio_rollback(const struct cd_context *ctx, struct buf *run)
{
	struct buf dir = BUF_INIT;
	gl_project_dir(&dir, ctx);
	buf_addf(run,
		 "cd \"%s\" && flyctl deploy --app \"$APP_NAME\" --image \"$previous\" "
		 "--wait-timeout 300",
		 dir.data);
	buf_free(&dir);
}

static void ecs_deploy(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	gl_aws_identity(variables);
	gl_line(script, "printf '%s' \"$GITLAB_OIDC_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"");
	gl_linef(script,
		 "aws ecs describe-services --cluster \"$ECS_CLUSTER\" --services \"$APP_NAME\" "
		 "\\\n  --query 'services[0].taskDefinition' --output text 2>/dev/null \\\n"
		 "  | grep -v '^None$' > %s || true",
		 PREVIOUS_FILE);
	gl_linef(script,
		 "sed \"s|IMAGE_SET_BY_THE_WORKFLOW|${IMAGE}|\" %s.aws/task-definition.json \\\n"
		 "  > /tmp/task-definition.json",
		 ctx->dir);
	gl_line(script, "arn=$(aws ecs register-task-definition --cli-input-json "
			"file:///tmp/task-definition.json \\\n"
			"  --query taskDefinition.taskDefinitionArn --output text)");
	gl_line(script, "aws ecs update-service --cluster \"$ECS_CLUSTER\" --service \"$APP_NAME\" "
			"\\\n  --task-definition \"$arn\" > /dev/null");
	gl_line(script,
		"aws ecs wait services-stable --cluster \"$ECS_CLUSTER\" --services \"$APP_NAME\"");
	gl_line(script,
		"if [ -z \"$APP_URL\" ]; then\n"
		"  echo \"set the APP_URL variable for the $DEPLOY_ENVIRONMENT environment\"\n"
		"  exit 1\n"
		"fi");
	gl_line(script, "URL=\"$APP_URL\"");
}

static void ecs_rollback(const struct cd_context *ctx, struct buf *run)
{
	(void)ctx;
	buf_adds(run, "aws ecs update-service --cluster \"$ECS_CLUSTER\" --service \"$APP_NAME\" "
		      "--task-definition \"$previous\" > /dev/null\n"
		      "  aws ecs wait services-stable --cluster \"$ECS_CLUSTER\" --services "
		      "\"$APP_NAME\"");
}

static void cloudrun_deploy(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	json_object_set_new(variables, "GOOGLE_APPLICATION_CREDENTIALS",
			    json_string("/tmp/gcp-credentials.json"));
	json_object_set_new(variables, "CLOUDSDK_CORE_PROJECT", json_string("$GCP_PROJECT_ID"));
	gl_gcp_credentials(script);
	gl_line(script,
		"gcloud auth login --cred-file \"$GOOGLE_APPLICATION_CREDENTIALS\" --quiet");
	gl_linef(script,
		 "gcloud run services describe \"$APP_NAME\" --region \"$GCP_REGION\" \\\n"
		 "  --format 'value(status.traffic[0].revisionName)' > %s 2>/dev/null || true",
		 PREVIOUS_FILE);
	gl_linef(script,
		 "gcloud run deploy \"$APP_NAME\" --image \"$IMAGE\" --region \"$GCP_REGION\" \\\n"
		 "  --port=%ld --memory=%ldMi --cpu=%s --allow-unauthenticated --quiet",
		 ctx->port, ctx->sizing->memory, ctx->sizing->cpu);
	gl_line(script, "URL=$(gcloud run services describe \"$APP_NAME\" --region "
			"\"$GCP_REGION\" \\\n  --format 'value(status.url)')");
}

static void cloudrun_rollback(const struct cd_context *ctx, struct buf *run)
{
	(void)ctx;
	buf_adds(run, "gcloud run services update-traffic \"$APP_NAME\" --region \"$GCP_REGION\" "
		      "--to-revisions \"${previous}=100\" --quiet");
}

static void azure_deploy(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	json_object_set_new(variables, "RESOURCE_GROUP", json_string("$AZURE_RESOURCE_GROUP"));
	gl_line(script, "az login --service-principal --username \"$AZURE_CLIENT_ID\" "
			"--tenant \"$AZURE_TENANT_ID\" \\\n"
			"  --federated-token \"$GITLAB_OIDC_TOKEN\" --output none");
	gl_line(script, "az account set --subscription \"$AZURE_SUBSCRIPTION_ID\"");
	gl_linef(script,
		 "az containerapp show --name \"$APP_NAME\" --resource-group \"$RESOURCE_GROUP\" "
		 "\\\n  --query 'properties.template.containers[0].image' --output tsv \\\n"
		 "  > %s 2>/dev/null || true",
		 PREVIOUS_FILE);
	gl_line(script, "az containerapp update --name \"$APP_NAME\" --resource-group "
			"\"$RESOURCE_GROUP\" \\\n  --image \"$IMAGE\" --output none");
	gl_line(script, "fqdn=$(az containerapp show --name \"$APP_NAME\" --resource-group "
			"\"$RESOURCE_GROUP\" \\\n"
			"  --query 'properties.configuration.ingress.fqdn' --output tsv)");
	gl_line(script, "URL=\"https://${fqdn}\"");
	(void)ctx;
}

static void azure_rollback(const struct cd_context *ctx, struct buf *run)
{
	(void)ctx;
	buf_adds(run, "az containerapp update --name \"$APP_NAME\" --resource-group "
		      "\"$RESOURCE_GROUP\" --image \"$previous\" --output none");
}

static void do_deploy(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	json_object_set_new(variables, "DOCTL_VERSION", json_string("1.115.0"));
	gl_line(script, "apk add --no-cache curl");
	gl_line(script, "curl --fail --silent --show-error --location \\\n"
			"  \"https://github.com/digitalocean/doctl/releases/download/"
			"v${DOCTL_VERSION}/doctl-${DOCTL_VERSION}-linux-amd64.tar.gz\" \\\n"
			"  | tar -xz -C /usr/local/bin doctl");
	/* The spec's ${APP_NAME} and ${IMAGE_TAG}, as app_action fills them on GitHub. */
	gl_linef(script,
		 "sed -e \"s|\\${APP_NAME}|${APP_NAME}|g\" -e "
		 "\"s|\\${IMAGE_TAG}|${CI_COMMIT_SHA}|g\" \\\n"
		 "  %s.do/app.yaml > /tmp/app.yaml",
		 ctx->dir);
	gl_line(script, "doctl apps create --upsert --spec /tmp/app.yaml --wait "
			"--access-token \"$DIGITALOCEAN_ACCESS_TOKEN\" > /dev/null");
	gl_line(script, "URL=$(doctl apps list --access-token \"$DIGITALOCEAN_ACCESS_TOKEN\" \\\n"
			"  --format Spec.Name,DefaultIngress --no-header \\\n"
			"  | awk -v app=\"$APP_NAME\" '$1 == app { print $2 }')");
	(void)variables;
}

static void k8s_deploy(const struct cd_context *ctx, json_t *script, json_t *variables)
{
	json_object_set_new(variables, "KUBECONFIG", json_string("$KUBE_CONFIG"));
	gl_line(script, "kubectl create namespace \"$NAMESPACE\" --dry-run=client --output yaml "
			"| kubectl apply --filename -");
	gl_linef(script, "cd %sk8s", ctx->dir);
	gl_linef(script,
		 "cat >> kustomization.yaml <<EOF\n"
		 "images:\n"
		 "  - name: %s\n"
		 "    newName: ${IMAGE%%:*}\n"
		 "    newTag: ${IMAGE##*:}\n"
		 "EOF",
		 ctx->slug);
	/* From here on a failure undoes the rollout. */
	gl_linef(script, "echo applied > \"${CI_PROJECT_DIR}/%s\"", PREVIOUS_FILE);
	gl_line(script, "kubectl apply --namespace \"$NAMESPACE\" --kustomize .");
	gl_linef(script,
		 "kubectl rollout status deployment/%s --namespace \"$NAMESPACE\" --timeout 300s",
		 ctx->slug);
	gl_line(script, "cd \"$CI_PROJECT_DIR\"");
}

static void k8s_smoke(const struct cd_context *ctx, json_t *script)
{
	gl_linef(script,
		 "kubectl run \"smoke-${CI_JOB_ID}\" --namespace \"$NAMESPACE\" \\\n"
		 "  --rm --stdin --restart Never --image curlimages/curl:8.10.1 --quiet -- \\\n"
		 "  curl --fail --silent --show-error --max-time 10 \\\n"
		 "  --retry 10 --retry-delay 6 --retry-all-errors \"http://%s${HEALTH_PATH}\"",
		 ctx->slug);
}

static void k8s_rollback(const struct cd_context *ctx, struct buf *run)
{
	buf_addf(run,
		 "kubectl rollout undo deployment/%s --namespace \"$NAMESPACE\"\n"
		 "  kubectl rollout status deployment/%s --namespace \"$NAMESPACE\" --timeout 300s",
		 ctx->slug, ctx->slug);
}

static const struct gitlab_target gitlab_targets[] = {
	{ "flyio", "alpine:3.20", false, NULL,
	  "create one app per environment (flyctl apps create %s-dev,\n"
	  "then -staging and the production app) and a deploy token (FLY_API_TOKEN)\n"
	  "per app, as an environment-scoped variable.",
	  NULL, flyio_deploy, NULL, flyio_rollback, true },
	{ "aws-ecs", "amazon/aws-cli:2.17.50", true, "sts.amazonaws.com",
	  "an ECR repository named %s; per environment a cluster and a Fargate\n"
	  "service named like APP_NAME below, with the deployment circuit breaker\n"
	  "on; and an IAM role (AWS_ROLE_TO_ASSUME) trusting GitLab's OIDC provider\n"
	  "(audience sts.amazonaws.com) for this project.",
	  gl_build_ecr, ecs_deploy, NULL, ecs_rollback, true },
	{ "gcp-cloudrun", "gcr.io/google.com/cloudsdktool/google-cloud-cli:494.0.0-slim", false,
	  "https://iam.googleapis.com/${GCP_WORKLOAD_IDENTITY_PROVIDER}",
	  "an Artifact Registry Docker repository named %s; a workload identity\n"
	  "pool and provider trusting GitLab's OIDC issuer for this project, allowed\n"
	  "to impersonate GCP_SERVICE_ACCOUNT (Cloud Run and Artifact Registry roles).",
	  gl_build_artifact_registry, cloudrun_deploy, NULL, cloudrun_rollback, true },
	{ "azure-containerapps", "mcr.microsoft.com/azure-cli:2.64.0", false,
	  "api://AzureADTokenExchange",
	  "the container apps (named like APP_NAME below) in AZURE_RESOURCE_GROUP,\n"
	  "each with a registry credential for this project's GitLab registry (az\n"
	  "containerapp registry set, with a read_registry deploy token), and an\n"
	  "app registration with a federated credential for GitLab's OIDC issuer\n"
	  "(AZURE_CLIENT_ID) for %s.",
	  gl_build_gitlab_registry, azure_deploy, NULL, azure_rollback, true },
	{ "digitalocean", "alpine:3.20", false, NULL,
	  "a container registry (DIGITALOCEAN_REGISTRY) integrated with App\n"
	  "Platform. The apps are created from the spec on their first deploy\n"
	  "(%s-dev, -staging and the production app).",
	  gl_build_docr, do_deploy, NULL, NULL, true },
	{ "kubernetes", "alpine/k8s:1.31.1", false, NULL,
	  "a kubeconfig (KUBE_CONFIG, a File variable) for a service account\n"
	  "allowed to manage the app's namespaces (%s-<environment>); a pull secret\n"
	  "for this project's GitLab registry in them (a read_registry deploy token);\n"
	  "an ingress controller.",
	  gl_build_gitlab_registry, k8s_deploy, k8s_smoke, k8s_rollback, false },
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

static json_t *gl_build_job(const struct cd_context *ctx, const struct gitlab_target *gl)
{
	json_t *job =
		json_pack("{s:s, s:o}", "stage", "build", "image", gl_image(KANIKO_IMAGE, true));
	json_t *rules = json_array();
	for (size_t i = 0; i < 3; i++)
		json_array_append_new(rules,
				      json_pack("{s:s}", "if", cd_environments[i].gitlab_if));
	json_object_set_new(job, "rules", rules);
	json_object_set_new(job, "timeout", json_string("20m"));
	if (gl->audience)
		json_object_set_new(job, "id_tokens", gl_id_tokens(gl->audience));
	json_t *variables = json_object();
	json_t *script = json_array();
	gl_line(script, "mkdir -p /kaniko/.docker");
	gl->build(ctx, script, variables);
	struct buf dir = BUF_INIT;
	gl_project_dir(&dir, ctx);
	gl_linef(script,
		 "/kaniko/executor --context \"%s\" \\\n"
		 "  --dockerfile \"%s/Dockerfile\" --destination \"$IMAGE\"",
		 dir.data, dir.data);
	buf_free(&dir);
	/* Deploy jobs read IMAGE from this dotenv report. */
	gl_line(script, "echo \"IMAGE=${IMAGE}\" > build.env");
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
			     const struct gitlab_target *gl, const struct cd_environment *env,
			     bool build)
{
	struct buf text = BUF_INIT;
	buf_addf(&text, "deploy-%s", env->name);
	json_t *job = json_pack("{s:s, s:o}", "stage", text.data, "image",
				gl_image(gl->image, gl->entrypoint));
	if (build)
		json_object_set_new(job, "needs", json_pack("[s]", "build"));
	json_t *rule = json_pack("{s:s}", "if", env->gitlab_if);
	if (strcmp(env->name, "production") == 0) {
		/* A blocking manual job: the pipeline waits for someone allowed to deploy. */
		json_object_set_new(rule, "when", json_string("manual"));
		json_object_set_new(rule, "allow_failure", json_false());
	}
	json_object_set_new(job, "rules", json_pack("[o]", rule));
	json_t *environment = json_pack("{s:s}", "name", env->name);
	if (gl->has_url)
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
	json_t *variables = cd_job_variables(ctx, plan, env);
	json_object_set_new(variables, "HEALTH_PATH", json_string(ctx->health_path));
	json_t *script = json_array();
	gl->deploy(ctx, script, variables);
	if (gl->has_url)
		/* environment:url must be a URI for the schema, so the job reports the host. */
		gl_line(script, "echo \"DEPLOY_HOST=${URL#*://}\" > deploy.env");
	if (gl->smoke)
		gl->smoke(ctx, script);
	else
		gl_line(script, cd_smoke_script());
	json_object_set_new(job, "variables", variables);
	json_object_set_new(job, "script", script);
	if (gl->rollback) {
		struct buf run = BUF_INIT;
		buf_addf(&run,
			 "if [ \"$CI_JOB_STATUS\" = failed ] && [ -s %s ]; then\n"
			 "  previous=$(cat %s)\n"
			 "  echo \"Rolling back to ${previous}\"\n"
			 "  ",
			 PREVIOUS_FILE, PREVIOUS_FILE);
		gl->rollback(ctx, &run);
		buf_adds(&run, "\nfi");
		json_object_set_new(job, "after_script", json_pack("[s]", run.data));
		buf_free(&run);
	}
	if (gl->has_url)
		json_object_set_new(job, "artifacts",
				    json_pack("{s:{s:s}}", "reports", "dotenv", "deploy.env"));
	buf_free(&text);
	return job;
}

int cd_gitlab_write(const struct cd_context *ctx, const struct cd_plan *plan, struct gen_files *out,
		    struct err *e)
{
	const struct gitlab_target *gl = gitlab_target_find(ctx->target->id);
	if (!gl)
		return err_set(e, "%s: no GitLab CI deploy pipeline", ctx->target->name);
	json_t *pipeline = json_object();
	json_t *stages = json_array();
	if (gl->build)
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
	if (gl->build)
		json_object_set_new(pipeline, "build", gl_build_job(ctx, gl));
	for (size_t i = 0; i < 3; i++) {
		struct buf name = BUF_INIT;
		buf_addf(&name, "deploy-%s", cd_environments[i].name);
		json_object_set_new(
			pipeline, name.data,
			gl_deploy_job(ctx, plan, gl, &cd_environments[i], gl->build != NULL));
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
