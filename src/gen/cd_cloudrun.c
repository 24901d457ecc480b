/*
 * cd_cloudrun: a workflow that pushes the image to Artifact Registry and
 * deploys it to Cloud Run, signed in through workload identity federation
 * (no service account keys). Cloud Run keeps every revision, so rollback
 * is sending the traffic back to the one that served before.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>

static json_t *cloudrun_auth_step(void)
{
	return cd_step_uses("Sign in to Google Cloud (workload identity)",
			    "google-github-actions/auth@v2",
			    json_pack("{s:s, s:s}", "workload_identity_provider",
				      "${{ secrets.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
				      "service_account", "${{ secrets.GCP_SERVICE_ACCOUNT }}"));
}

static json_t *cloudrun_gcloud_step(void)
{
	return cd_step_uses("Set up gcloud", "google-github-actions/setup-gcloud@v2", NULL);
}

static json_t *cloudrun_deploy_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *steps = json_array();
	json_array_append_new(steps, cd_step_checkout());
	json_array_append_new(steps, cloudrun_auth_step());
	json_array_append_new(steps, cloudrun_gcloud_step());
	json_t *previous = cd_step_run(
		"Remember the serving revision",
		"revision=$(gcloud run services describe \"$APP_NAME\" --region \"$GCP_REGION\" "
		"\\\n"
		"  --format 'value(status.traffic[0].revisionName)' 2>/dev/null || true)\n"
		"echo \"revision=${revision}\" >> \"$GITHUB_OUTPUT\"\n",
		NULL);
	json_object_set_new(previous, "id", json_string("previous"));
	json_array_append_new(steps, previous);
	struct buf flags = BUF_INIT;
	buf_addf(&flags, "--port=%ld --memory=%ldMi --cpu=%s --allow-unauthenticated", ctx->port,
		 ctx->sizing->memory, ctx->sizing->cpu);
	json_t *deploy = cd_step_uses(
		"Deploy to Cloud Run", "google-github-actions/deploy-cloudrun@v2",
		json_pack("{s:s, s:s, s:s, s:s, s:s}", "service", "${{ env.APP_NAME }}", "image",
			  "${{ needs.build.outputs.image }}", "region", "${{ env.GCP_REGION }}",
			  "project_id", "${{ vars.GCP_PROJECT_ID }}", "flags", flags.data));
	buf_free(&flags);
	json_object_set_new(deploy, "id", json_string("deploy"));
	json_array_append_new(steps, deploy);
	json_t *url =
		cd_step_run("Public URL", "echo \"url=${SERVICE_URL}\" >> \"$GITHUB_OUTPUT\"\n",
			    json_pack("{s:s}", "SERVICE_URL", "${{ steps.deploy.outputs.url }}"));
	json_object_set_new(url, "id", json_string("url"));
	json_array_append_new(steps, url);
	(void)env;
	return steps;
}

static json_t *cloudrun_rollback_steps(const struct cd_context *ctx,
				       const struct cd_environment *env)
{
	json_t *step = cd_step_run(
		"Send traffic back to the previous revision",
		"gcloud run services update-traffic \"$APP_NAME\" --region \"$GCP_REGION\" \\\n"
		"  --to-revisions \"${PREVIOUS}=100\"\n",
		json_pack("{s:s}", "PREVIOUS", "${{ steps.previous.outputs.revision }}"));
	json_object_set_new(step, "if",
			    json_string("failure() && steps.previous.outputs.revision != ''"));
	(void)ctx;
	(void)env;
	return json_pack("[o]", step);
}

static json_t *cloudrun_job_env(const struct cd_context *ctx, const struct cd_environment *env)
{
	(void)env;
	return json_pack("{s:s}", "GCP_REGION", ctx->region);
}

int cd_cloudrun_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e)
{
	json_t *login = json_pack("[o, o]", cloudrun_auth_step(), cloudrun_gcloud_step());
	struct buf configure = BUF_INIT, image = BUF_INIT, setup = BUF_INIT;
	buf_addf(&configure, "gcloud auth configure-docker %s-docker.pkg.dev --quiet\n",
		 ctx->region);
	json_array_append_new(login,
			      cd_step_run("Sign in to Artifact Registry", configure.data, NULL));
	buf_addf(&image, "%s-docker.pkg.dev/${PROJECT_ID}/%s/%s:${GITHUB_SHA}", ctx->region,
		 ctx->slug, ctx->slug);
	json_t *build = cd_build_job(
		ctx, json_pack("{s:s, s:s}", "contents", "read", "id-token", "write"), login,
		image.data, json_pack("{s:s}", "PROJECT_ID", "${{ vars.GCP_PROJECT_ID }}"));
	buf_addf(&setup,
		 "an Artifact Registry Docker repository in %s named\n"
		 "%s; a workload identity pool and provider trusting this\n"
		 "repository; a service account with roles/run.admin,\n"
		 "roles/artifactregistry.writer and roles/iam.serviceAccountUser. The\n"
		 "services are public (--allow-unauthenticated); drop the flag for a\n"
		 "private one.",
		 ctx->region, ctx->slug);
	struct cd_plan plan = {
		.build_job = build,
		.job_env = cloudrun_job_env,
		.oidc = true,
		.rollback = "a failed smoke test sends all traffic back to the revision that\n"
			    "served before. By hand: gcloud run services update-traffic SERVICE\n"
			    "--to-revisions REVISION=100.",
		.setup = setup.data,
		.deploy_steps = cloudrun_deploy_steps,
		.rollback_steps = cloudrun_rollback_steps,
	};
	int rc = cd_workflow_write(ctx, &plan, out, e);
	buf_free(&configure);
	buf_free(&image);
	buf_free(&setup);
	return rc;
}
