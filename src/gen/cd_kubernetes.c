/*
 * cd_kubernetes: Deployment, Service and Ingress manifests (with a
 * kustomization tying them together) and a workflow that pushes the image
 * to GHCR and applies them to one namespace per environment, waits for
 * the rollout, smoke-tests from inside the cluster and undoes the rollout
 * when anything fails.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static json_t *k8s_labels(const struct cd_context *ctx)
{
	return json_pack("{s:s}", "app.kubernetes.io/name", ctx->slug);
}

static json_t *k8s_probe(const struct cd_context *ctx, long delay, long period)
{
	return json_pack("{s:{s:s, s:s}, s:I, s:I, s:I, s:I}", "httpGet", "path", ctx->health_path,
			 "port", "http", "initialDelaySeconds", (json_int_t)delay, "periodSeconds",
			 (json_int_t)period, "timeoutSeconds", (json_int_t)3, "failureThreshold",
			 (json_int_t)3);
}

/* Twice the CPU request as the limit: room for bursts without starving neighbours. */
static char *k8s_cpu_limit(const char *request)
{
	struct buf out = BUF_INIT;
	char *end = NULL;
	long value = strtol(request, &end, 10);
	if (value > 0 && end && strcmp(end, "m") == 0)
		buf_addf(&out, "%ldm", value * 2);
	else
		buf_adds(&out, request);
	return buf_detach(&out);
}

static void k8s_write_deployment(const struct cd_context *ctx, struct gen_files *out)
{
	char memory[32];
	snprintf(memory, sizeof(memory), "%ldMi", ctx->sizing->memory);
	char *cpu_limit = k8s_cpu_limit(ctx->sizing->cpu);
	json_t *container = json_pack(
		"{s:s, s:s, s:[{s:s, s:I, s:s}], s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:o, s:o, "
		"s:{s:b, s:b, s:{s:[s]}}}",
		"name", ctx->slug, "image", ctx->slug, "ports", "name", "http", "containerPort",
		(json_int_t)ctx->port, "protocol", "TCP", "resources", "requests", "cpu",
		ctx->sizing->cpu, "memory", memory, "limits", "cpu", cpu_limit, "memory", memory,
		"readinessProbe", k8s_probe(ctx, 5, 5), "livenessProbe", k8s_probe(ctx, 15, 10),
		"securityContext", "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 0,
		"capabilities", "drop", "ALL");
	free(cpu_limit);
	char port[24];
	snprintf(port, sizeof(port), "%ld", ctx->port);
	json_object_set_new(container, "env",
			    json_pack("[{s:s, s:s}]", "name", "PORT", "value", port));
	json_t *deployment = json_pack(
		"{s:s, s:s, s:{s:s, s:o}, s:{s:I, s:I, s:{s:o}, s:{s:s, s:{s:I, s:I}}, "
		"s:{s:{s:o}, s:{s:b, s:{s:b, s:I, s:I, s:I, s:{s:s}}, s:[o]}}}}",
		"apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", ctx->slug,
		"labels", k8s_labels(ctx), "spec", "replicas", (json_int_t)2,
		"revisionHistoryLimit", (json_int_t)10, "selector", "matchLabels", k8s_labels(ctx),
		"strategy", "type", "RollingUpdate", "rollingUpdate", "maxUnavailable",
		(json_int_t)0, "maxSurge", (json_int_t)1, "template", "metadata", "labels",
		k8s_labels(ctx), "spec", "automountServiceAccountToken", 0, "securityContext",
		"runAsNonRoot", 1, "runAsUser", (json_int_t)10001, "runAsGroup", (json_int_t)10001,
		"fsGroup", (json_int_t)10001, "seccompProfile", "type", "RuntimeDefault",
		"containers", container);
	char *path = cd_path(ctx, "k8s/deployment.yaml");
	cd_add_yaml(out, ctx, path,
		    "The image is set per deploy by the workflow (kustomize images). The pod\n"
		    "runs as UID 10001, not root: the image must not need to write outside\n"
		    "its working directory as another user.",
		    deployment);
	free(path);
	json_decref(deployment);
}

static void k8s_write_service(const struct cd_context *ctx, struct gen_files *out)
{
	json_t *service = json_pack(
		"{s:s, s:s, s:{s:s, s:o}, s:{s:s, s:o, s:[{s:s, s:I, s:s, s:s}]}}", "apiVersion",
		"v1", "kind", "Service", "metadata", "name", ctx->slug, "labels", k8s_labels(ctx),
		"spec", "type", "ClusterIP", "selector", k8s_labels(ctx), "ports", "name", "http",
		"port", (json_int_t)80, "targetPort", "http", "protocol", "TCP");
	char *path = cd_path(ctx, "k8s/service.yaml");
	cd_add_yaml(out, ctx, path, NULL, service);
	free(path);
	json_decref(service);
}

static void k8s_write_ingress(const struct cd_context *ctx, struct gen_files *out)
{
	struct buf host = BUF_INIT;
	buf_addf(&host, "%s.example.com", ctx->slug);
	json_t *ingress = json_pack(
		"{s:s, s:s, s:{s:s, s:o}, s:{s:s, s:[{s:s, s:{s:[{s:s, s:s, s:{s:{s:s, "
		"s:{s:I}}}}]}}]}}",
		"apiVersion", "networking.k8s.io/v1", "kind", "Ingress", "metadata", "name",
		ctx->slug, "labels", k8s_labels(ctx), "spec", "ingressClassName", "nginx", "rules",
		"host", host.data, "http", "paths", "path", "/", "pathType", "Prefix", "backend",
		"service", "name", ctx->slug, "port", "number", (json_int_t)80);
	char *path = cd_path(ctx, "k8s/ingress.yaml");
	cd_add_yaml(out, ctx, path,
		    "Replace the host with the app's domain (one per environment) and the\n"
		    "class with the cluster's ingress controller; add a tls section (e.g.\n"
		    "with cert-manager) to serve HTTPS.",
		    ingress);
	free(path);
	buf_free(&host);
	json_decref(ingress);
}

static void k8s_write_kustomization(const struct cd_context *ctx, struct gen_files *out)
{
	json_t *kustomization =
		json_pack("{s:s, s:s, s:{s:s}, s:o, s:[s, s, s]}", "apiVersion",
			  "kustomize.config.k8s.io/v1beta1", "kind", "Kustomization", "metadata",
			  "name", ctx->slug, "labels",
			  json_pack("[{s:o, s:b}]", "pairs",
				    json_pack("{s:s}", "app.kubernetes.io/part-of", ctx->slug),
				    "includeSelectors", 0),
			  "resources", "deployment.yaml", "service.yaml", "ingress.yaml");
	char *path = cd_path(ctx, "k8s/kustomization.yaml");
	cd_add_yaml(out, ctx, path, "kubectl apply -k applies the three manifests together.",
		    kustomization);
	free(path);
	json_decref(kustomization);
}

static json_t *k8s_deploy_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *steps = json_array();
	json_array_append_new(steps, cd_step_checkout());
	json_array_append_new(steps,
			      cd_step_uses("Set up kubectl", "azure/setup-kubectl@v4", NULL));
	json_array_append_new(steps,
			      cd_step_uses("Connect to the cluster", "azure/k8s-set-context@v4",
					   json_pack("{s:s, s:s}", "method", "kubeconfig",
						     "kubeconfig", "${{ secrets.KUBE_CONFIG }}")));
	struct buf run = BUF_INIT;
	buf_addf(&run,
		 "kubectl create namespace \"$NAMESPACE\" --dry-run=client --output yaml "
		 "| kubectl apply --filename -\n"
		 "cd %sk8s\n"
		 "cat >> kustomization.yaml <<EOF\n"
		 "images:\n"
		 "  - name: %s\n"
		 "    newName: ${IMAGE%%:*}\n"
		 "    newTag: ${IMAGE##*:}\n"
		 "EOF\n"
		 "kubectl apply --namespace \"$NAMESPACE\" --kustomize .\n"
		 "kubectl rollout status deployment/%s --namespace \"$NAMESPACE\" --timeout 300s\n",
		 ctx->dir, ctx->slug, ctx->slug);
	json_array_append_new(steps, cd_step_run("Apply the manifests", run.data,
						 json_pack("{s:s}", "IMAGE",
							   "${{ needs.build.outputs.image }}")));
	buf_free(&run);
	(void)env;
	return steps;
}

/* The service has no public URL the workflow can know, so test it from inside. */
static json_t *k8s_smoke_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	struct buf run = BUF_INIT;
	buf_addf(&run,
		 "kubectl run \"smoke-${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT}\" --namespace "
		 "\"$NAMESPACE\" \\\n"
		 "  --rm --stdin --restart Never --image curlimages/curl:8.10.1 --quiet -- \\\n"
		 "  curl --fail --silent --show-error --max-time 10 \\\n"
		 "  --retry 10 --retry-delay 6 --retry-all-errors \"http://%s${HEALTH_PATH}\"\n",
		 ctx->slug);
	json_t *step = cd_step_run("Smoke test", run.data,
				   json_pack("{s:s}", "HEALTH_PATH", ctx->health_path));
	buf_free(&run);
	(void)env;
	return json_pack("[o]", step);
}

static json_t *k8s_rollback_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	struct buf run = BUF_INIT;
	buf_addf(&run,
		 "kubectl rollout undo deployment/%s --namespace \"$NAMESPACE\"\n"
		 "kubectl rollout status deployment/%s --namespace \"$NAMESPACE\" --timeout 300s\n",
		 ctx->slug, ctx->slug);
	json_t *step = cd_step_run("Undo the rollout", run.data, NULL);
	json_object_set_new(step, "if", json_string("failure()"));
	buf_free(&run);
	(void)env;
	return json_pack("[o]", step);
}

static json_t *k8s_job_env(const struct cd_context *ctx, const struct cd_environment *env)
{
	struct buf ns = BUF_INIT;
	buf_addf(&ns, "%s-%s", ctx->slug, env->name);
	json_t *vars = json_pack("{s:s}", "NAMESPACE", ns.data);
	buf_free(&ns);
	return vars;
}

int cd_kubernetes_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e)
{
	k8s_write_deployment(ctx, out);
	k8s_write_service(ctx, out);
	k8s_write_ingress(ctx, out);
	k8s_write_kustomization(ctx, out);
	json_t *login = json_pack(
		"[o]", cd_step_uses("Sign in to GHCR", "docker/login-action@v3",
				    json_pack("{s:s, s:s, s:s}", "registry", "ghcr.io", "username",
					      "${{ github.actor }}", "password",
					      "${{ secrets.GITHUB_TOKEN }}")));
	struct buf image = BUF_INIT, setup = BUF_INIT;
	/* Image names must be lowercase; GitHub owners need not be. */
	buf_addf(&image, "ghcr.io/${OWNER,,}/%s:${GITHUB_SHA}", ctx->slug);
	json_t *build = cd_build_job(
		ctx, json_pack("{s:s, s:s}", "contents", "read", "packages", "write"), login,
		image.data, json_pack("{s:s}", "OWNER", "${{ github.repository_owner }}"));
	buf_addf(&setup,
		 "a kubeconfig (KUBE_CONFIG) for a service account allowed to manage\n"
		 "the app's namespaces (%s-development, %s-staging,\n"
		 "%s-production); a pull secret in them if the GHCR package is\n"
		 "private; an ingress controller.",
		 ctx->slug, ctx->slug, ctx->slug);
	struct cd_plan plan = {
		.build_job = build,
		.job_env = k8s_job_env,
		.rollback = "a failed rollout or smoke test runs kubectl rollout undo. By\n"
			    "hand: kubectl rollout undo deployment/NAME --namespace NS\n"
			    "[--to-revision N] (kubectl rollout history lists them).",
		.setup = setup.data,
		.deploy_steps = k8s_deploy_steps,
		.smoke_steps = k8s_smoke_steps,
		.rollback_steps = k8s_rollback_steps,
	};
	int rc = cd_workflow_write(ctx, &plan, out, e);
	buf_free(&image);
	buf_free(&setup);
	return rc;
}
