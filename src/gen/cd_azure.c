/*
 * cd_azure: a workflow that pushes the image to Azure Container Registry
 * and deploys it to Azure Container Apps, signed in through a federated
 * credential (OIDC, no client secret). Rollback puts the image that ran
 * before back on the app, which starts a new revision from it.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>

static json_t *azure_login_step(void)
{
	return cd_step_uses("Sign in to Azure (OIDC)", "azure/login@v2",
			    json_pack("{s:s, s:s, s:s}", "client-id",
				      "${{ secrets.AZURE_CLIENT_ID }}", "tenant-id",
				      "${{ secrets.AZURE_TENANT_ID }}", "subscription-id",
				      "${{ secrets.AZURE_SUBSCRIPTION_ID }}"));
}

static json_t *azure_group_env(void)
{
	return json_pack("{s:s}", "RESOURCE_GROUP", "${{ vars.AZURE_RESOURCE_GROUP }}");
}

static json_t *azure_deploy_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *steps = json_array();
	json_array_append_new(steps, cd_step_checkout());
	json_array_append_new(steps, azure_login_step());
	json_t *previous = cd_step_run(
		"Remember the running image",
		"image=$(az containerapp show --name \"$APP_NAME\" --resource-group "
		"\"$RESOURCE_GROUP\" "
		"\\\n  --query 'properties.template.containers[0].image' --output tsv 2>/dev/null "
		"|| true)\n"
		"echo \"image=${image}\" >> \"$GITHUB_OUTPUT\"\n",
		azure_group_env());
	json_object_set_new(previous, "id", json_string("previous"));
	json_array_append_new(steps, previous);
	char port[24];
	snprintf(port, sizeof(port), "%ld", ctx->port);
	json_array_append_new(
		steps,
		cd_step_uses("Deploy to Container Apps", "azure/container-apps-deploy-action@v2",
			     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "containerAppName",
				       "${{ env.APP_NAME }}", "resourceGroup",
				       "${{ vars.AZURE_RESOURCE_GROUP }}", "acrName",
				       "${{ vars.AZURE_ACR_NAME }}", "imageToDeploy",
				       "${{ needs.build.outputs.image }}", "targetPort", port,
				       "ingress", "external", "location",
				       "${{ env.AZURE_LOCATION }}")));
	json_t *url =
		cd_step_run("Public URL",
			    "fqdn=$(az containerapp show --name \"$APP_NAME\" --resource-group "
			    "\"$RESOURCE_GROUP\" "
			    "\\\n  --query 'properties.configuration.ingress.fqdn' --output tsv)\n"
			    "echo \"url=https://${fqdn}\" >> \"$GITHUB_OUTPUT\"\n",
			    azure_group_env());
	json_object_set_new(url, "id", json_string("url"));
	json_array_append_new(steps, url);
	(void)env;
	return steps;
}

static json_t *azure_rollback_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *vars = azure_group_env();
	json_object_set_new(vars, "PREVIOUS_IMAGE",
			    json_string("${{ steps.previous.outputs.image }}"));
	json_t *step = cd_step_run("Roll back to the previous image",
				   "az containerapp update --name \"$APP_NAME\" --resource-group "
				   "\"$RESOURCE_GROUP\" \\\n"
				   "  --image \"$PREVIOUS_IMAGE\" --output none\n",
				   vars);
	json_object_set_new(step, "if",
			    json_string("failure() && steps.previous.outputs.image != ''"));
	(void)ctx;
	(void)env;
	return json_pack("[o]", step);
}

static json_t *azure_job_env(const struct cd_context *ctx, const struct cd_environment *env)
{
	(void)env;
	return json_pack("{s:s}", "AZURE_LOCATION", ctx->region);
}

int cd_azure_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e)
{
	json_t *login = json_pack("[o]", azure_login_step());
	json_array_append_new(
		login, cd_step_run("Sign in to the registry", "az acr login --name \"$ACR_NAME\"\n",
				   json_pack("{s:s}", "ACR_NAME", "${{ vars.AZURE_ACR_NAME }}")));
	struct buf image = BUF_INIT, setup = BUF_INIT;
	buf_addf(&image, "${ACR_NAME}.azurecr.io/%s:${GITHUB_SHA}", ctx->slug);
	json_t *build = cd_build_job(
		ctx, json_pack("{s:s, s:s}", "contents", "read", "id-token", "write"), login,
		image.data, json_pack("{s:s}", "ACR_NAME", "${{ vars.AZURE_ACR_NAME }}"));
	buf_addf(&setup,
		 "a resource group and a registry (AZURE_RESOURCE_GROUP,\n"
		 "AZURE_ACR_NAME); an app registration with a federated credential for\n"
		 "this repository's environments, Contributor on the resource group and\n"
		 "AcrPush on the registry. The apps are created on their first deploy,\n"
		 "listening on port %ld: %s-dev, %s-staging and %s.",
		 ctx->port, ctx->slug, ctx->slug, ctx->slug);
	struct cd_plan plan = {
		.build_job = build,
		.job_env = azure_job_env,
		.oidc = true,
		.rollback = "a failed smoke test puts the image that ran before back on the\n"
			    "app. By hand: az containerapp update --name APP --resource-group RG\n"
			    "--image IMAGE, or activate an earlier revision in the portal.",
		.setup = setup.data,
		.deploy_steps = azure_deploy_steps,
		.rollback_steps = azure_rollback_steps,
	};
	int rc = cd_workflow_write(ctx, &plan, out, e);
	buf_free(&image);
	buf_free(&setup);
	return rc;
}
