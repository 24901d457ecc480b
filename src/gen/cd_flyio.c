/*
 * cd_flyio: fly.toml and a workflow that deploys with flyctl.
 *
 * Fly.io builds the Dockerfile on its remote builders, so there is no
 * build job; each environment is its own Fly app. Rollback redeploys the
 * image that ran before, which Fly keeps in its registry.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdlib.h>

/* A TOML basic string. */
static void toml_string(struct buf *out, const char *text)
{
	buf_addch(out, '"');
	for (const char *p = text; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addch(out, '\\');
		if ((unsigned char)*p < 0x20)
			buf_addf(out, "\\u%04x", (unsigned char)*p);
		else
			buf_addch(out, *p);
	}
	buf_addch(out, '"');
}

static void flyio_write_toml(const struct cd_context *ctx, struct gen_files *out)
{
	struct buf text = BUF_INIT;
	cd_header(&text, ctx, "#");
	buf_adds(&text,
		 "#\n# The app name is production's; the deploy workflow passes --app for\n"
		 "# development and staging. Fly.io builds the Dockerfile next to this file.\n\n");
	buf_adds(&text, "app = ");
	toml_string(&text, ctx->slug);
	buf_adds(&text, "\nprimary_region = ");
	toml_string(&text, ctx->region);
	buf_adds(&text, "\n\n[build]\n  dockerfile = \"Dockerfile\"\n\n");
	buf_addf(&text, "[env]\n  PORT = \"%ld\"\n\n", ctx->port);
	buf_addf(&text,
		 "[http_service]\n  internal_port = %ld\n  force_https = true\n"
		 "  auto_stop_machines = \"stop\"\n  auto_start_machines = true\n"
		 "  min_machines_running = 1\n\n",
		 ctx->port);
	buf_adds(&text, "[[http_service.checks]]\n  grace_period = \"10s\"\n  interval = \"30s\"\n"
			"  method = \"GET\"\n  timeout = \"5s\"\n  path = ");
	toml_string(&text, ctx->health_path);
	/* Rolling: a machine is replaced only after its successor passes the checks. */
	buf_adds(&text, "\n\n[deploy]\n  strategy = \"rolling\"\n\n");
	buf_addf(&text, "[[vm]]\n  memory = \"%ldmb\"\n  cpu_kind = \"shared\"\n  cpus = %s\n",
		 ctx->sizing->memory, ctx->sizing->cpu);
	char *path = cd_path(ctx, "fly.toml");
	gen_files_add(out, path, text.data);
	free(path);
	buf_free(&text);
}

static json_t *flyio_with_dir(const struct cd_context *ctx, json_t *step)
{
	if (*ctx->dir)
		json_object_set_new(step, "working-directory", json_string(ctx->project_path));
	return step;
}

static json_t *flyio_token_env(void)
{
	return json_pack("{s:s}", "FLY_API_TOKEN", "${{ secrets.FLY_API_TOKEN }}");
}

static json_t *flyio_deploy_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *steps = json_array();
	json_array_append_new(steps, cd_step_checkout());
	json_array_append_new(
		steps,
		cd_step_uses("Set up flyctl", "superfly/flyctl-actions/setup-flyctl@1.5", NULL));
	json_t *previous = cd_step_run(
		"Remember the running image",
		"image=$(flyctl image show --app \"$APP_NAME\" --json 2>/dev/null \\\n"
		"  | jq -r 'if type == \"array\" then .[0] else . end | select(.Repository) | "
		"\"\\(.Registry)/\\(.Repository):\\(.Tag)\"' || true)\n"
		"echo \"image=${image}\" >> \"$GITHUB_OUTPUT\"\n",
		flyio_token_env());
	json_object_set_new(previous, "id", json_string("previous"));
	json_array_append_new(steps, flyio_with_dir(ctx, previous));
	json_array_append_new(
		steps,
		flyio_with_dir(ctx,
			       cd_step_run("Deploy",
					   "flyctl deploy --remote-only --app \"$APP_NAME\" "
					   "--image-label \"$GITHUB_SHA\" --wait-timeout 300\n",
					   flyio_token_env())));
	json_t *url = cd_step_run(
		"Public URL", "echo \"url=https://${APP_NAME}.fly.dev\" >> \"$GITHUB_OUTPUT\"\n",
		NULL);
	json_object_set_new(url, "id", json_string("url"));
	json_array_append_new(steps, url);
	(void)env;
	return steps;
}

static json_t *flyio_rollback_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *env_vars = flyio_token_env();
	json_object_set_new(env_vars, "PREVIOUS_IMAGE",
			    json_string("${{ steps.previous.outputs.image }}"));
	json_t *step = cd_step_run("Roll back to the previous image",
				   "flyctl deploy --app \"$APP_NAME\" --image \"$PREVIOUS_IMAGE\" "
				   "--wait-timeout 300\n",
				   env_vars);
	json_object_set_new(step, "if",
			    json_string("failure() && steps.previous.outputs.image != ''"));
	(void)env;
	return json_pack("[o]", flyio_with_dir(ctx, step));
}

int cd_flyio_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e)
{
	flyio_write_toml(ctx, out);
	struct buf setup = BUF_INIT;
	buf_addf(&setup,
		 "create one app per environment (flyctl apps create %s-dev,\n"
		 "then %s-staging and %s) and a deploy token per app.",
		 ctx->slug, ctx->slug, ctx->slug);
	struct cd_plan plan = {
		.rollback = "a failed deploy or smoke test redeploys the image that ran\n"
			    "before. By hand: flyctl releases --app APP --image, then\n"
			    "flyctl deploy --app APP --image IMAGE.",
		.setup = setup.data,
		.deploy_steps = flyio_deploy_steps,
		.rollback_steps = flyio_rollback_steps,
	};
	int rc = cd_workflow_write(ctx, &plan, out, e);
	buf_free(&setup);
	return rc;
}
