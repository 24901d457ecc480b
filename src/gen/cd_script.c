/*
 * cd_script: the deploy knowledge of the script-based pipelines (GitLab CI,
 * Bitbucket Pipelines, Jenkins), written once for the three of them.
 *
 * Those CIs have no marketplace of actions: each step is a shell script in
 * a pinned CLI image. What differs between them is only how their shell
 * names things (the commit, the checkout, the job, the OIDC token, their
 * own registry), so each target's build, deploy, smoke test and rollback
 * is written here against a cd_shell, and cd_gitlab.c, cd_bitbucket.c and
 * cd_jenkins.c only shape the jobs, stages and steps around the script.
 * Images are built with kaniko (no Docker daemon) into the registry the
 * platform pulls from.
 */
#include "gen/cd_internal.h"

#include "util/buf.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KANIKO_IMAGE	"gcr.io/kaniko-project/executor:v1.23.2-debug"
#define OIDC_TOKEN_FILE "/tmp/ci-oidc-token"

const char *cd_script_kaniko_image(void)
{
	return KANIKO_IMAGE;
}

void cd_script_line(json_t *script, const char *text)
{
	json_array_append_new(script, json_string(text));
}

void cd_script_linef(json_t *script, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&text, fmt, ap);
	va_end(ap);
	cd_script_line(script, text.data);
	buf_free(&text);
}

void cd_script_project_dir(struct buf *out, const struct cd_context *ctx,
			   const struct cd_shell *shell)
{
	buf_adds(out, shell->root);
	if (*ctx->dir)
		buf_addf(out, "/%s", ctx->project_path);
}

static void set_variable(json_t *variables, const char *name, const char *value)
{
	json_object_set_new(variables, name, json_string(value));
}

/* --- Registries ---------------------------------------------------------- */

/* Basic auth for kaniko: the CI's own registry, else REGISTRY_USERNAME/PASSWORD. */
static void registry_auth(const struct cd_shell *shell, json_t *script)
{
	const struct cd_registry *r = &shell->registry;
	cd_script_linef(
		script,
		"printf '{\"auths\":{\"%%s\":{\"username\":\"%%s\",\"password\":\"%%s\"}}}' "
		"\\\n  \"%s\" \"%s\" \"%s\" \\\n"
		"  > /kaniko/.docker/config.json",
		r->host, r->user, r->password);
}

static void build_registry(const struct cd_context *ctx, const struct cd_shell *shell,
			   const char *repository, json_t *script)
{
	if (shell->registry.image)
		cd_script_linef(script, "IMAGE=\"%s:%s\"", shell->registry.image, shell->sha);
	else
		cd_script_linef(script, "IMAGE=\"%s/%s:%s\"", repository, ctx->slug, shell->sha);
	registry_auth(shell, script);
}

static void build_generic_registry(const struct cd_context *ctx, const struct cd_shell *shell,
				   json_t *script, json_t *variables)
{
	(void)variables;
	build_registry(ctx, shell, "${REGISTRY}", script);
}

static void build_acr(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		      json_t *variables)
{
	(void)variables;
	build_registry(ctx, shell, "${AZURE_ACR_NAME}.azurecr.io", script);
}

/* AWS: the role through the CI's OIDC token, else the access keys in the environment. */
static void aws_identity(const struct cd_shell *shell, json_t *script, json_t *variables)
{
	if (!shell->oidc_token)
		return;
	set_variable(variables, "AWS_ROLE_ARN", "$AWS_ROLE_TO_ASSUME");
	set_variable(variables, "AWS_WEB_IDENTITY_TOKEN_FILE", OIDC_TOKEN_FILE);
	set_variable(variables, "AWS_ROLE_SESSION_NAME", shell->session);
	cd_script_linef(script, "printf '%%s' \"%s\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"",
			shell->oidc_token);
}

static void build_ecr(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		      json_t *variables)
{
	aws_identity(shell, script, variables);
	set_variable(variables, "AWS_REGION", ctx->region);
	/* With OIDC the account is the fifth field of the role's ARN. */
	cd_script_linef(script, "IMAGE=\"%s.dkr.ecr.${AWS_REGION}.amazonaws.com/%s:%s\"",
			shell->oidc_token ? "$(echo \"$AWS_ROLE_TO_ASSUME\" | cut -d: -f5)"
					  : "${AWS_ACCOUNT_ID}",
			ctx->slug, shell->sha);
	cd_script_line(script,
		       "printf '{\"credHelpers\":{\"%s\":\"ecr-login\"}}' \"${IMAGE%%/*}\" \\\n"
		       "  > /kaniko/.docker/config.json");
}

/* GCP: a workload identity federation credential file for the CI's token. */
static void gcp_identity(const struct cd_shell *shell, json_t *script, json_t *variables)
{
	if (!shell->oidc_token)
		return; /* GOOGLE_APPLICATION_CREDENTIALS is the key file credential */
	set_variable(variables, "GOOGLE_APPLICATION_CREDENTIALS", "/tmp/gcp-credentials.json");
	cd_script_linef(script, "printf '%%s' \"%s\" > " OIDC_TOKEN_FILE, shell->oidc_token);
	cd_script_line(
		script,
		"printf '{\"type\":\"external_account\",\"audience\":\"//iam.googleapis.com/%s\","
		"\"subject_token_type\":\"urn:ietf:params:oauth:token-type:jwt\","
		"\"token_url\":\"https://sts.googleapis.com/v1/token\","
		"\"service_account_impersonation_url\":\"https://iamcredentials.googleapis.com/v1/"
		"projects/-/serviceAccounts/%s:generateAccessToken\","
		"\"credential_source\":{\"file\":\"" OIDC_TOKEN_FILE "\"}}' \\\n"
		"  \"$GCP_WORKLOAD_IDENTITY_PROVIDER\" \"$GCP_SERVICE_ACCOUNT\" \\\n"
		"  > \"$GOOGLE_APPLICATION_CREDENTIALS\"");
}

static void build_artifact_registry(const struct cd_context *ctx, const struct cd_shell *shell,
				    json_t *script, json_t *variables)
{
	gcp_identity(shell, script, variables);
	cd_script_linef(script, "IMAGE=\"%s-docker.pkg.dev/${GCP_PROJECT_ID}/%s/%s:%s\"",
			ctx->region, ctx->slug, ctx->slug, shell->sha);
	cd_script_linef(script,
			"printf '{\"credHelpers\":{\"%s-docker.pkg.dev\":\"gcr\"}}' > "
			"/kaniko/.docker/config.json",
			ctx->region);
}

static void build_docr(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		       json_t *variables)
{
	(void)variables;
	cd_script_linef(script,
			"IMAGE=\"registry.digitalocean.com/${DIGITALOCEAN_REGISTRY}/%s:%s\"",
			ctx->slug, shell->sha);
	/* DOCR takes the API token as both user name and password. */
	cd_script_line(script, "auth=$(printf '%s:%s' \"$DIGITALOCEAN_ACCESS_TOKEN\" "
			       "\"$DIGITALOCEAN_ACCESS_TOKEN\" | base64 | tr -d '\\n')");
	cd_script_line(script,
		       "printf '{\"auths\":{\"registry.digitalocean.com\":{\"auth\":\"%s\"}}}' "
		       "\"$auth\" \\\n"
		       "  > /kaniko/.docker/config.json");
}

/* --- Deploys ------------------------------------------------------------- */

static void flyio_deploy(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
			 json_t *variables)
{
	set_variable(variables, "FLYCTL_VERSION", "0.3.45");
	set_variable(variables, "FLYCTL_INSTALL", "/usr/local");
	cd_script_line(script, "apk add --no-cache curl jq");
	cd_script_line(script,
		       "curl --fail --silent --show-error --location https://fly.io/install.sh "
		       "\\\n  | sh -s \"$FLYCTL_VERSION\"");
	cd_script_linef(script,
			"flyctl image show --app \"$APP_NAME\" --json 2>/dev/null \\\n"
			"  | jq -r 'if type == \"array\" then .[0] else . end | "
			"select(.Repository) | "
			"\"\\(.Registry)/\\(.Repository):\\(.Tag)\"' > %s || true",
			CD_PREVIOUS_FILE);
	struct buf dir = BUF_INIT;
	cd_script_project_dir(&dir, ctx, shell);
	cd_script_linef(script,
			"(cd \"%s\" && flyctl deploy --remote-only --app \"$APP_NAME\" \\\n"
			"  --image-label \"%s\" --wait-timeout 300)",
			dir.data, shell->sha);
	cd_script_line(script, "URL=\"https://${APP_NAME}.fly.dev\"");
	buf_free(&dir);
}

static void flyio_rollback(const struct cd_context *ctx, const struct cd_shell *shell,
			   struct buf *run)
{
	struct buf dir = BUF_INIT;
	cd_script_project_dir(&dir, ctx, shell);
	buf_addf(run,
		 "cd \"%s\" && flyctl deploy --app \"$APP_NAME\" --image \"$previous\" "
		 "--wait-timeout 300",
		 dir.data);
	buf_free(&dir);
}

static void ecs_deploy(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		       json_t *variables)
{
	aws_identity(shell, script, variables);
	cd_script_linef(script,
			"aws ecs describe-services --cluster \"$ECS_CLUSTER\" --services "
			"\"$APP_NAME\" "
			"\\\n  --query 'services[0].taskDefinition' --output text 2>/dev/null \\\n"
			"  | grep -v '^None$' > %s || true",
			CD_PREVIOUS_FILE);
	cd_script_linef(script,
			"sed \"s|IMAGE_SET_BY_THE_WORKFLOW|${IMAGE}|\" %s.aws/task-definition.json "
			"\\\n  > /tmp/task-definition.json",
			ctx->dir);
	cd_script_line(script, "arn=$(aws ecs register-task-definition --cli-input-json "
			       "file:///tmp/task-definition.json \\\n"
			       "  --query taskDefinition.taskDefinitionArn --output text)");
	cd_script_line(script,
		       "aws ecs update-service --cluster \"$ECS_CLUSTER\" --service \"$APP_NAME\" "
		       "\\\n  --task-definition \"$arn\" > /dev/null");
	cd_script_line(
		script,
		"aws ecs wait services-stable --cluster \"$ECS_CLUSTER\" --services \"$APP_NAME\"");
	cd_script_line(
		script,
		"if [ -z \"$APP_URL\" ]; then\n"
		"  echo \"set the APP_URL variable for the $DEPLOY_ENVIRONMENT environment\"\n"
		"  exit 1\n"
		"fi");
	cd_script_line(script, "URL=\"$APP_URL\"");
}

static void ecs_rollback(const struct cd_context *ctx, const struct cd_shell *shell,
			 struct buf *run)
{
	(void)ctx;
	(void)shell;
	buf_adds(run, "aws ecs update-service --cluster \"$ECS_CLUSTER\" --service \"$APP_NAME\" "
		      "--task-definition \"$previous\" > /dev/null\n"
		      "  aws ecs wait services-stable --cluster \"$ECS_CLUSTER\" --services "
		      "\"$APP_NAME\"");
}

static void cloudrun_deploy(const struct cd_context *ctx, const struct cd_shell *shell,
			    json_t *script, json_t *variables)
{
	gcp_identity(shell, script, variables);
	set_variable(variables, "CLOUDSDK_CORE_PROJECT", "$GCP_PROJECT_ID");
	cd_script_line(script,
		       "gcloud auth login --cred-file \"$GOOGLE_APPLICATION_CREDENTIALS\" --quiet");
	cd_script_linef(script,
			"gcloud run services describe \"$APP_NAME\" --region \"$GCP_REGION\" \\\n"
			"  --format 'value(status.traffic[0].revisionName)' > %s 2>/dev/null || "
			"true",
			CD_PREVIOUS_FILE);
	cd_script_linef(script,
			"gcloud run deploy \"$APP_NAME\" --image \"$IMAGE\" --region "
			"\"$GCP_REGION\" \\\n"
			"  --port=%ld --memory=%ldMi --cpu=%s --allow-unauthenticated --quiet",
			ctx->port, ctx->sizing->memory, ctx->sizing->cpu);
	cd_script_line(script, "URL=$(gcloud run services describe \"$APP_NAME\" --region "
			       "\"$GCP_REGION\" \\\n  --format 'value(status.url)')");
}

static void cloudrun_rollback(const struct cd_context *ctx, const struct cd_shell *shell,
			      struct buf *run)
{
	(void)ctx;
	(void)shell;
	buf_adds(run, "gcloud run services update-traffic \"$APP_NAME\" --region \"$GCP_REGION\" "
		      "--to-revisions \"${previous}=100\" --quiet");
}

static void azure_deploy(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
			 json_t *variables)
{
	set_variable(variables, "RESOURCE_GROUP", "$AZURE_RESOURCE_GROUP");
	if (shell->oidc_token)
		cd_script_linef(script,
				"az login --service-principal --username \"$AZURE_CLIENT_ID\" "
				"--tenant \"$AZURE_TENANT_ID\" \\\n"
				"  --federated-token \"%s\" --output none",
				shell->oidc_token);
	else
		cd_script_line(script,
			       "az login --service-principal --username \"$AZURE_CLIENT_ID\" "
			       "--tenant \"$AZURE_TENANT_ID\" \\\n"
			       "  --password \"$AZURE_CLIENT_SECRET\" --output none");
	cd_script_line(script, "az account set --subscription \"$AZURE_SUBSCRIPTION_ID\"");
	cd_script_linef(script,
			"az containerapp show --name \"$APP_NAME\" --resource-group "
			"\"$RESOURCE_GROUP\" "
			"\\\n  --query 'properties.template.containers[0].image' --output tsv \\\n"
			"  > %s 2>/dev/null || true",
			CD_PREVIOUS_FILE);
	cd_script_line(script, "az containerapp update --name \"$APP_NAME\" --resource-group "
			       "\"$RESOURCE_GROUP\" \\\n  --image \"$IMAGE\" --output none");
	cd_script_line(script, "fqdn=$(az containerapp show --name \"$APP_NAME\" --resource-group "
			       "\"$RESOURCE_GROUP\" \\\n"
			       "  --query 'properties.configuration.ingress.fqdn' --output tsv)");
	cd_script_line(script, "URL=\"https://${fqdn}\"");
	(void)ctx;
}

static void azure_rollback(const struct cd_context *ctx, const struct cd_shell *shell,
			   struct buf *run)
{
	(void)ctx;
	(void)shell;
	buf_adds(run, "az containerapp update --name \"$APP_NAME\" --resource-group "
		      "\"$RESOURCE_GROUP\" --image \"$previous\" --output none");
}

static void do_deploy(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		      json_t *variables)
{
	set_variable(variables, "DOCTL_VERSION", "1.115.0");
	cd_script_line(script, "apk add --no-cache curl");
	cd_script_line(script, "curl --fail --silent --show-error --location \\\n"
			       "  \"https://github.com/digitalocean/doctl/releases/download/"
			       "v${DOCTL_VERSION}/doctl-${DOCTL_VERSION}-linux-amd64.tar.gz\" \\\n"
			       "  | tar -xz -C /usr/local/bin doctl");
	/* The spec's ${APP_NAME} and ${IMAGE_TAG}, as app_action fills them on GitHub. */
	cd_script_linef(script,
			"sed -e \"s|\\${APP_NAME}|${APP_NAME}|g\" -e "
			"\"s|\\${IMAGE_TAG}|%s|g\" \\\n"
			"  %s.do/app.yaml > /tmp/app.yaml",
			shell->sha, ctx->dir);
	cd_script_line(script, "doctl apps create --upsert --spec /tmp/app.yaml --wait "
			       "--access-token \"$DIGITALOCEAN_ACCESS_TOKEN\" > /dev/null");
	cd_script_line(script,
		       "URL=$(doctl apps list --access-token \"$DIGITALOCEAN_ACCESS_TOKEN\" \\\n"
		       "  --format Spec.Name,DefaultIngress --no-header \\\n"
		       "  | awk -v app=\"$APP_NAME\" '$1 == app { print $2 }')");
}

static void k8s_deploy(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script,
		       json_t *variables)
{
	if (shell->file_secrets) {
		set_variable(variables, "KUBECONFIG", "$KUBE_CONFIG");
	} else {
		/* Secured variables are strings: the kubeconfig is kept base64-encoded. */
		set_variable(variables, "KUBECONFIG", "/tmp/kubeconfig");
		cd_script_line(script,
			       "printf '%s' \"$KUBE_CONFIG\" | base64 -d > \"$KUBECONFIG\"");
	}
	cd_script_line(script,
		       "kubectl create namespace \"$NAMESPACE\" --dry-run=client --output yaml "
		       "| kubectl apply --filename -");
	cd_script_linef(script, "cd %sk8s", ctx->dir);
	cd_script_linef(script, "kustomize edit set image \"%s=${IMAGE}\"", ctx->slug);
	/* From here on a failure undoes the rollout. */
	cd_script_linef(script, "echo applied > \"%s/%s\"", shell->root, CD_PREVIOUS_FILE);
	cd_script_line(script, "kubectl apply --namespace \"$NAMESPACE\" --kustomize .");
	cd_script_linef(
		script,
		"kubectl rollout status deployment/%s --namespace \"$NAMESPACE\" --timeout 300s",
		ctx->slug);
	cd_script_linef(script, "cd \"%s\"", shell->root);
}

static void k8s_smoke(const struct cd_context *ctx, const struct cd_shell *shell, json_t *script)
{
	cd_script_linef(
		script,
		"kubectl run \"smoke-%s\" --namespace \"$NAMESPACE\" \\\n"
		"  --rm --stdin --restart Never --image curlimages/curl:8.10.1 --quiet -- "
		"\\\n"
		"  curl --fail --silent --show-error --max-time 10 \\\n"
		"  --retry 10 --retry-delay 6 --retry-all-errors \"http://%s${HEALTH_PATH}\"",
		shell->job_id, ctx->slug);
}

static void k8s_rollback(const struct cd_context *ctx, const struct cd_shell *shell,
			 struct buf *run)
{
	(void)shell;
	buf_addf(run,
		 "kubectl rollout undo deployment/%s --namespace \"$NAMESPACE\"\n"
		 "  kubectl rollout status deployment/%s --namespace \"$NAMESPACE\" --timeout 300s",
		 ctx->slug, ctx->slug);
}

/* --- Credentials --------------------------------------------------------- */

/* What replaces an OIDC sign-in on a CI without OIDC tokens (Jenkins). */
#define CREDENTIAL(name, label, type)                                         \
	{                                                                     \
		(char *)(name), (char *)(label), (type), true, NULL, VEC_INIT \
	}

static const struct cd_credential aws_keys[] = {
	CREDENTIAL("AWS_ACCESS_KEY_ID", "Access key id of a deploy IAM user (ECR push, ECS deploy)",
		   CD_CREDENTIAL_SECRET),
	CREDENTIAL("AWS_SECRET_ACCESS_KEY", "Its secret access key", CD_CREDENTIAL_SECRET),
	CREDENTIAL("AWS_ACCOUNT_ID", "Account id of the ECR registry", CD_CREDENTIAL_TEXT),
};
static const struct cd_credential gcp_keys[] = {
	CREDENTIAL("GOOGLE_APPLICATION_CREDENTIALS",
		   "Service account key (JSON, a secret file) with the Cloud Run and Artifact "
		   "Registry roles",
		   CD_CREDENTIAL_SECRET),
};
static const struct cd_credential azure_keys[] = {
	CREDENTIAL("AZURE_CLIENT_SECRET", "Client secret of the app registration",
		   CD_CREDENTIAL_SECRET),
};
/* Where the CI has no registry of its own. */
static const struct cd_credential registry_keys[] = {
	CREDENTIAL("REGISTRY_USERNAME", "User name (or token name) that may push to the registry",
		   CD_CREDENTIAL_SECRET),
	CREDENTIAL("REGISTRY_PASSWORD", "Its password or token", CD_CREDENTIAL_SECRET),
};
static const struct cd_credential registry_host[] = {
	CREDENTIAL("REGISTRY", "Registry and namespace the cluster pulls from (ghcr.io/team)",
		   CD_CREDENTIAL_TEXT),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- Targets ------------------------------------------------------------- */

static const struct cd_script_target script_targets[] = {
	{ "flyio", "alpine:3.20", false, NULL, NULL, 0, NULL, flyio_deploy, NULL, flyio_rollback,
	  true },
	{ "aws-ecs", "amazon/aws-cli:2.17.50", true, "AWS_ROLE_TO_ASSUME", aws_keys,
	  COUNT(aws_keys), build_ecr, ecs_deploy, NULL, ecs_rollback, true },
	{ "gcp-cloudrun", "gcr.io/google.com/cloudsdktool/google-cloud-cli:494.0.0-slim", false,
	  "GCP_WORKLOAD_IDENTITY_PROVIDER GCP_SERVICE_ACCOUNT", gcp_keys, COUNT(gcp_keys),
	  build_artifact_registry, cloudrun_deploy, NULL, cloudrun_rollback, true },
	{ "azure-containerapps", "mcr.microsoft.com/azure-cli:2.64.0", false, NULL, azure_keys,
	  COUNT(azure_keys), build_acr, azure_deploy, NULL, azure_rollback, true },
	{ "digitalocean", "alpine:3.20", false, NULL, NULL, 0, build_docr, do_deploy, NULL, NULL,
	  true },
	{ "kubernetes", "alpine/k8s:1.31.1", false, NULL, NULL, 0, build_generic_registry,
	  k8s_deploy, k8s_smoke, k8s_rollback, false },
};

const struct cd_script_target *cd_script_target_find(const char *id)
{
	for (size_t i = 0; i < COUNT(script_targets); i++) {
		if (strcmp(script_targets[i].id, id) == 0)
			return &script_targets[i];
	}
	return NULL;
}

const char *cd_setup_find(const struct cd_setup *setups, size_t count, const char *id)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(setups[i].id, id) == 0)
			return setups[i].text;
	}
	return NULL;
}

/* Whether the image goes to the CI's registry (or REGISTRY) rather than the platform's. */
static bool cd_script_uses_ci_registry(const struct cd_script_target *target)
{
	return target->build == build_acr || target->build == build_generic_registry;
}

/* Whether name is one of the space-separated words of list. */
static bool word_in(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; p && (p = strstr(p, name)); p += len) {
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	}
	return false;
}

void cd_script_credentials(const struct cd_context *ctx, const struct cd_shell *shell,
			   const struct cd_script_target *target, struct vec *out)
{
	const struct vec *catalog = &ctx->target->credentials;
	for (size_t i = 0; i < catalog->len; i++) {
		const struct cd_credential *c = catalog->items[i];
		if (!shell->oidc_token && target->oidc_only && word_in(target->oidc_only, c->name))
			continue;
		vec_push(out, (void *)c);
	}
	if (!shell->oidc_token) {
		for (size_t i = 0; i < target->key_count; i++)
			vec_push(out, (void *)&target->keys[i]);
	}
	if (!shell->registry.image && cd_script_uses_ci_registry(target)) {
		for (size_t i = 0; i < COUNT(registry_keys); i++)
			vec_push(out, (void *)&registry_keys[i]);
		if (target->build == build_generic_registry)
			vec_push(out, (void *)&registry_host[0]);
	}
}

/* --- Scripts ------------------------------------------------------------- */

json_t *cd_script_variables(const struct cd_context *ctx, const struct cd_plan *plan,
			    const struct cd_environment *env)
{
	json_t *variables = cd_job_variables(ctx, plan, env);
	set_variable(variables, "HEALTH_PATH", ctx->health_path);
	return variables;
}

json_t *cd_script_build(const struct cd_context *ctx, const struct cd_shell *shell,
			const struct cd_script_target *target, json_t *variables)
{
	json_t *script = json_array();
	cd_script_line(script, "mkdir -p /kaniko/.docker");
	target->build(ctx, shell, script, variables);
	struct buf dir = BUF_INIT;
	cd_script_project_dir(&dir, ctx, shell);
	cd_script_linef(script,
			"/kaniko/executor --context \"%s\" \\\n"
			"  --dockerfile \"%s/Dockerfile\" --destination \"$IMAGE\"",
			dir.data, dir.data);
	buf_free(&dir);
	/* The deploys read IMAGE from this file. */
	cd_script_line(script, "echo \"IMAGE=${IMAGE}\" > build.env");
	return script;
}

json_t *cd_script_deploy(const struct cd_context *ctx, const struct cd_shell *shell,
			 const struct cd_script_target *target, json_t *variables)
{
	json_t *script = json_array();
	target->deploy(ctx, shell, script, variables);
	if (target->has_url && shell->provider == CI_GITLAB)
		/* environment:url must be a URI for the schema, so the job reports the host. */
		cd_script_line(script, "echo \"DEPLOY_HOST=${URL#*://}\" > deploy.env");
	if (target->smoke)
		target->smoke(ctx, shell, script);
	else
		cd_script_line(script, cd_smoke_script());
	return script;
}

char *cd_script_rollback(const struct cd_context *ctx, const struct cd_shell *shell,
			 const struct cd_script_target *target, const char *failed)
{
	if (!target->rollback)
		return NULL;
	struct buf run = BUF_INIT;
	buf_addf(&run,
		 "if %s[ -s %s ]; then\n"
		 "  previous=$(cat %s)\n"
		 "  echo \"Rolling back to ${previous}\"\n"
		 "  ",
		 failed ? failed : "", CD_PREVIOUS_FILE, CD_PREVIOUS_FILE);
	target->rollback(ctx, shell, &run);
	buf_adds(&run, "\nfi");
	return buf_detach(&run);
}

/* A value for a double-quoted shell word: $ stays live, the rest is literal. */
static void add_double_quoted(struct buf *out, const char *value)
{
	buf_addch(out, '"');
	for (const char *p = value; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '`')
			buf_addch(out, '\\');
		buf_addch(out, *p);
	}
	buf_addch(out, '"');
}

void cd_script_exports(json_t *script, const json_t *variables)
{
	json_t *lines = json_array();
	const char *key;
	json_t *value;
	struct buf line = BUF_INIT;
	json_object_foreach((json_t *)variables, key, value)
	{
		const char *text = json_string_value(value);
		buf_reset(&line);
		buf_addf(&line, "export %s=", key);
		/* Values naming other variables are ours; the analysis' are quoted whole. */
		if (strchr(text, '$'))
			add_double_quoted(&line, text);
		else
			buf_add_shell_quoted(&line, text);
		cd_script_line(lines, line.data);
	}
	buf_free(&line);
	json_array_extend(lines, script);
	json_array_clear(script);
	json_array_extend(script, lines);
	json_decref(lines);
}
