/*
 * cd_digitalocean: an App Platform app spec (.do/app.yaml) and a workflow
 * that pushes the image to the DigitalOcean Container Registry and deploys
 * the spec with digitalocean/app_action, which fills ${APP_NAME} and
 * ${IMAGE_TAG} from the job's environment, so one spec serves every stage.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

static void do_write_spec(const struct cd_context *ctx, struct gen_files *out)
{
	json_t *service = json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:I, s:I, s:s, s:{s:s, s:I, s:I}}", "name", ctx->slug,
		"image", "registry_type", "DOCR", "repository", ctx->slug, "tag", "${IMAGE_TAG}",
		"http_port", (json_int_t)ctx->port, "instance_count", (json_int_t)1,
		"instance_size_slug", ctx->sizing->size ? ctx->sizing->size : "apps-s-1vcpu-1gb",
		"health_check", "http_path", ctx->health_path, "initial_delay_seconds",
		(json_int_t)10, "period_seconds", (json_int_t)10);
	/* Variables the app reads, declared by name: their values are set as
	 * encrypted app-level variables in the control panel, never here. */
	json_t *envs = json_array();
	size_t i;
	const json_t *var;
	json_array_foreach(json_object_get(ctx->project, "env"), i, var)
	{
		const char *name = json_get_str(var, "name", NULL);
		if (name && strcmp(name, "PORT") != 0)
			json_array_append_new(
				envs, json_pack("{s:s, s:s}", "key", name, "scope", "RUN_TIME"));
	}
	char port[24];
	snprintf(port, sizeof(port), "%ld", ctx->port);
	json_array_insert_new(
		envs, 0,
		json_pack("{s:s, s:s, s:s}", "key", "PORT", "scope", "RUN_TIME", "value", port));
	json_object_set_new(service, "envs", envs);
	json_t *spec =
		json_pack("{s:s, s:s, s:[o], s:{s:[{s:{s:s}, s:{s:{s:s}}}]}}", "name",
			  "${APP_NAME}", "region", ctx->region, "services", service, "ingress",
			  "rules", "component", "name", ctx->slug, "match", "path", "prefix", "/");
	char *path = cd_path(ctx, ".do/app.yaml");
	cd_add_yaml(out, ctx, path,
		    "App Platform spec, deployed by the deploy workflow with\n"
		    "digitalocean/app_action, which replaces ${APP_NAME} and ${IMAGE_TAG}.\n"
		    "Set the values of the variables under envs in the control panel\n"
		    "(encrypted); the spec only names them.",
		    spec);
	free(path);
	json_decref(spec);
}

static json_t *do_deploy_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *steps = json_array();
	json_array_append_new(steps, cd_step_checkout());
	char *spec = cd_path(ctx, ".do/app.yaml");
	json_t *deploy = cd_step_uses("Deploy to App Platform", "digitalocean/app_action/deploy@v2",
				      json_pack("{s:s, s:s}", "token",
						"${{ secrets.DIGITALOCEAN_ACCESS_TOKEN }}",
						"app_spec_location", spec));
	free(spec);
	json_object_set_new(deploy, "id", json_string("deploy"));
	json_object_set_new(deploy, "env", json_pack("{s:s}", "IMAGE_TAG", "${{ github.sha }}"));
	json_array_append_new(steps, deploy);
	json_t *url = cd_step_run("Public URL", "echo \"url=${LIVE_URL}\" >> \"$GITHUB_OUTPUT\"\n",
				  json_pack("{s:s}", "LIVE_URL",
					    "${{ fromJSON(steps.deploy.outputs.app).live_url }}"));
	json_object_set_new(url, "id", json_string("url"));
	json_array_append_new(steps, url);
	(void)env;
	return steps;
}

int cd_digitalocean_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e)
{
	do_write_spec(ctx, out);
	json_t *login =
		json_pack("[o, o]",
			  cd_step_uses("Set up doctl", "digitalocean/action-doctl@v2",
				       json_pack("{s:s}", "token",
						 "${{ secrets.DIGITALOCEAN_ACCESS_TOKEN }}")),
			  cd_step_run("Sign in to the registry",
				      "doctl registry login --expiry-seconds 1200\n", NULL));
	struct buf image = BUF_INIT, setup = BUF_INIT;
	buf_addf(&image, "registry.digitalocean.com/${REGISTRY}/%s:${GITHUB_SHA}", ctx->slug);
	json_t *build =
		cd_build_job(ctx, json_pack("{s:s}", "contents", "read"), login, image.data,
			     json_pack("{s:s}", "REGISTRY", "${{ vars.DIGITALOCEAN_REGISTRY }}"));
	buf_addf(&setup,
		 "a container registry (DIGITALOCEAN_REGISTRY) integrated with App\n"
		 "Platform. The apps are created from the spec on their first deploy:\n"
		 "%s-dev, %s-staging and %s.",
		 ctx->slug, ctx->slug, ctx->slug);
	struct cd_plan plan = {
		.build_job = build,
		.rollback = "App Platform keeps earlier deployments: roll back from the app's\n"
			    "Activity tab (Rollback), or through the API with POST\n"
			    "/v2/apps/APP_ID/rollback and the deployment id to return to.",
		.setup = setup.data,
		.deploy_steps = do_deploy_steps,
	};
	int rc = cd_workflow_write(ctx, &plan, out, e);
	buf_free(&image);
	buf_free(&setup);
	return rc;
}
