/*
 * cd_workflow: the release process every deploy workflow follows.
 *
 * Targets only say how to build, deploy, find the URL and roll back; the
 * environments, their triggers, least-privilege permissions, timeouts,
 * per-environment concurrency, the smoke test and the header naming the
 * secrets are the same everywhere, so they are written once, here.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"
#include "util/yaml_emit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const struct cd_environment cd_environments[3] = {
	{ "development", "-dev", "github.ref == 'refs/heads/main'", "pushes to main",
	  "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "pushes to the default branch", "test", "main",
	  "branch 'main'" },
	{ "staging", "-staging", "startsWith(github.ref, 'refs/heads/release/')",
	  "pushes to release/* branches", "$CI_COMMIT_BRANCH =~ /^release\\//",
	  "pushes to release/* branches", "staging", "release/*", "branch 'release/*'" },
	{ "production", "", "startsWith(github.ref, 'refs/tags/v')", "v*.*.* tags",
	  "$CI_COMMIT_TAG =~ /^v\\d+\\.\\d+\\.\\d+$/", "vX.Y.Z tags", "production", "v*.*.*",
	  "tag 'v*.*.*'" },
};

json_t *cd_step_uses(const char *name, const char *uses, json_t *with)
{
	json_t *step = json_pack("{s:s, s:s}", "name", name, "uses", uses);
	if (with)
		json_object_set_new(step, "with", with);
	return step;
}

json_t *cd_step_run(const char *name, const char *run, json_t *env)
{
	json_t *step = json_pack("{s:s}", "name", name);
	if (env)
		json_object_set_new(step, "env", env);
	json_object_set_new(step, "run", json_string(run));
	return step;
}

json_t *cd_step_checkout(void)
{
	return cd_step_uses("Check out", "actions/checkout@v4", NULL);
}

void cd_comment_lines(struct buf *out, const char *prefix, const char *text)
{
	const char *line = text;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len)
			buf_addf(out, "%s %.*s\n", prefix, (int)len, line);
		else
			buf_addf(out, "%s\n", prefix);
		line += len + (end ? 1 : 0);
	}
}

static const char *cd_command(const struct cd_context *ctx)
{
	return ctx->options->command ? ctx->options->command : "ampel generate cd";
}

void cd_header(struct buf *out, const struct cd_context *ctx, const char *prefix)
{
	gen_header(out, prefix, cd_command(ctx), ctx->inferred);
}

void cd_add_yaml(struct gen_files *out, const struct cd_context *ctx, const char *path,
		 const char *notes, const json_t *value)
{
	struct buf text = BUF_INIT;
	cd_header(&text, ctx, "#");
	if (notes) {
		buf_adds(&text, "#\n");
		cd_comment_lines(&text, "#", notes);
	}
	buf_addch(&text, '\n');
	/* Manifests read as one block, as kubectl and App Platform docs write them. */
	struct yaml_emit_options options = { 0, NULL };
	yaml_emit(&text, value, &options);
	gen_files_add(out, path, text.data);
	buf_free(&text);
}

char *cd_credential_id(const char *name)
{
	struct buf id = BUF_INIT;
	for (const char *p = name; *p; p++)
		buf_addch(&id, *p == '_' ? '-' : (char)tolower((unsigned char)*p));
	return buf_detach(&id);
}

bool cd_credential_is_file(const char *name)
{
	return str_eq(name, "KUBE_CONFIG") || str_eq(name, "GOOGLE_APPLICATION_CREDENTIALS");
}

/* The name a credential is listed by: Jenkins knows credentials by id. */
static char *cd_listed_name(const struct cd_credential *c, bool jenkins)
{
	return jenkins && cd_credential_is_secret(c) ? cd_credential_id(c->name) : xstrdup(c->name);
}

static void cd_list_credentials(struct buf *out, const struct vec *credentials, bool secrets,
				bool jenkins)
{
	int width = 0;
	for (size_t i = 0; i < credentials->len; i++) {
		char *name = cd_listed_name(credentials->items[i], jenkins);
		if ((int)strlen(name) > width)
			width = (int)strlen(name);
		free(name);
	}
	for (size_t i = 0; i < credentials->len; i++) {
		const struct cd_credential *c = credentials->items[i];
		if (c->type == CD_CREDENTIAL_REGION || cd_credential_is_secret(c) != secrets)
			continue;
		char *name = cd_listed_name(c, jenkins);
		buf_addf(out, "  %-*s  %s%s%s\n", width, name, c->label,
			 c->required ? "" : " (optional)",
			 jenkins && secrets && cd_credential_is_file(c->name) ? " (Secret file)"
									      : "");
		free(name);
	}
}

static bool cd_has_credentials(const struct vec *credentials, bool secrets)
{
	for (size_t i = 0; i < credentials->len; i++) {
		const struct cd_credential *c = credentials->items[i];
		if (c->type != CD_CREDENTIAL_REGION && cd_credential_is_secret(c) == secrets)
			return true;
	}
	return false;
}

/* How each CI words the release process, its approvals and where values are set. */
struct cd_wording {
	const char *process;
	const char *production;
	const char *secrets;
	const char *variables;
};

static const struct cd_wording cd_wordings[] = {
	[CI_GITHUB] = { "Release process, one GitHub environment per stage:\n",
			"Production is a protected environment: add required reviewers under\n"
			"Settings > Environments > production. The approval is configured on the\n"
			"environment, not in this file, and deployments wait for it.\n\n",
			"Secrets to set (Settings > Secrets and variables > Actions, or per "
			"environment):\n",
			"Variables to set (per environment where they differ):\n" },
	[CI_GITLAB] = { "Release process, one GitLab environment per stage:\n",
			"Production is a manual job on a protected environment: protect it and\n"
			"add approval rules under Settings > CI/CD > Protected environments.\n"
			"The approval is configured on the environment, not in this file, and\n"
			"the deploy waits for it.\n\n",
			"CI/CD variables to set, masked and protected (Settings > CI/CD >\n"
			"Variables, scoped per environment where they differ):\n",
			"Other CI/CD variables to set (per environment where they differ):\n" },
	[CI_BITBUCKET] = { "Release process, one Bitbucket deployment environment per stage:\n",
			   "Production is a manual step (trigger: manual) of the tag's pipeline:\n"
			   "under Repository settings > Deployments > Production, allow only the\n"
			   "people who may release to deploy there. Each deploy step runs alone\n"
			   "(concurrency-group), and a failed one rolls back in after-script.\n\n",
			   "Secured variables to set (Repository settings > Repository variables,\n"
			   "or as deployment variables of each environment where they differ):\n",
			   "Variables to set (deployment variables, Repository settings >\n"
			   "Deployments, per environment where they differ):\n" },
	[CI_JENKINS] = { "Release process, one stage per environment (a multibranch pipeline\n"
			 "that discovers branches and tags):\n",
			 "Production waits for an approval (input); limit who may give it with\n"
			 "the input's submitter or the job's permissions. The stages need the\n"
			 "Docker Pipeline, Credentials Binding and Lockable Resources plugins,\n"
			 "and a failed deploy rolls back in post { failure }.\n\n",
			 "Credentials to create (Manage Jenkins > Credentials, or the folder's;\n"
			 "Secret text unless noted), by id:\n",
			 "Environment variables to set (on the folder or job, or Manage Jenkins\n"
			 "> System > Global properties):\n" },
};

void cd_release_header(struct buf *out, const struct cd_context *ctx, const struct cd_plan *plan)
{
	const struct cd_target *target = ctx->target;
	enum ci_provider provider = ctx->options->provider;
	const struct cd_wording *wording = &cd_wordings[provider];
	const struct vec *credentials =
		plan->credentials ? plan->credentials : &target->credentials;
	struct buf notes = BUF_INIT;
	cd_header(out, ctx, provider == CI_JENKINS ? "//" : "#");
	buf_addf(&notes, "\nDeploys %s to %s (region %s), following\n%s\n\n", ctx->slug,
		 target->name, ctx->region, target->docs);
	buf_adds(&notes, wording->process);
	for (size_t i = 0; i < 3; i++) {
		const struct cd_environment *env = &cd_environments[i];
		buf_addf(&notes, "  %-12s %s", env->name,
			 provider == CI_GITLAB ? env->gitlab_trigger : env->trigger);
		if (provider == CI_BITBUCKET)
			buf_addf(&notes, " (deployment: %s)", env->bitbucket_deployment);
		buf_addch(&notes, '\n');
	}
	buf_adds(&notes, wording->production);
	buf_addf(&notes,
		 "The image is built from %s%sDockerfile (ampel generate dockerfile writes\n"
		 "one) and tagged with the commit SHA. Each deploy is smoke-tested on %s.\n\n",
		 *ctx->dir ? "" : "./", ctx->dir, ctx->health_path);
	if (cd_has_credentials(credentials, true)) {
		buf_adds(&notes, wording->secrets);
		cd_list_credentials(&notes, credentials, true, provider == CI_JENKINS);
	}
	if (cd_has_credentials(credentials, false)) {
		buf_adds(&notes, wording->variables);
		cd_list_credentials(&notes, credentials, false, provider == CI_JENKINS);
	}
	if (plan->setup)
		buf_addf(&notes, "\nOnce: %s\n", plan->setup);
	if (plan->rollback)
		buf_addf(&notes, "\nRollback: %s\n", plan->rollback);
	cd_comment_lines(out, provider == CI_JENKINS ? "//" : "#", notes.data);
	buf_free(&notes);
}

const char *cd_smoke_script(void)
{
	/* Retries with --retry-all-errors ride out the seconds a new release
	 * takes to receive traffic; a persistent failure fails the job. */
	return "curl --fail --silent --show-error --location --max-time 10 \\\n"
	       "  --retry 10 --retry-delay 6 --retry-all-errors \\\n"
	       "  \"${URL%/}${HEALTH_PATH}\"\n";
}

static json_t *cd_smoke_steps_default(const struct cd_context *ctx)
{
	json_t *env = json_pack("{s:s, s:s}", "URL", "${{ steps.url.outputs.url }}", "HEALTH_PATH",
				ctx->health_path);
	return json_pack("[o]", cd_step_run("Smoke test", cd_smoke_script(), env));
}

json_t *cd_job_variables(const struct cd_context *ctx, const struct cd_plan *plan,
			 const struct cd_environment *env)
{
	char *app = cd_app_name(ctx, env);
	json_t *vars = json_pack("{s:s, s:s}", "APP_NAME", app, "DEPLOY_ENVIRONMENT", env->name);
	free(app);
	json_t *extra = plan->job_env ? plan->job_env(ctx, env) : NULL;
	if (extra)
		json_object_update(vars, extra);
	json_decref(extra);
	return vars;
}

static json_t *cd_deploy_job(const struct cd_context *ctx, const struct cd_plan *plan,
			     const struct cd_environment *env)
{
	json_t *job = json_object();
	struct buf text = BUF_INIT;
	buf_addf(&text, "Deploy to %s", env->name);
	json_object_set_new(job, "name", json_string(text.data));
	json_object_set_new(job, "if", json_string(env->condition));
	if (plan->build_job)
		json_object_set_new(job, "needs", json_string("build"));
	json_object_set_new(job, "runs-on", json_string("ubuntu-latest"));
	json_object_set_new(job, "timeout-minutes", json_integer(30));
	json_t *environment = json_pack("{s:s}", "name", env->name);
	if (!plan->smoke_steps)
		json_object_set_new(environment, "url",
				    json_string("${{ steps.url.outputs.url }}"));
	json_object_set_new(job, "environment", environment);
	buf_reset(&text);
	buf_addf(&text, "deploy-%s-%s", ctx->slug, env->name);
	/* One deploy per environment at a time, and never cancelled half-way. */
	json_object_set_new(job, "concurrency",
			    json_pack("{s:s, s:b}", "group", text.data, "cancel-in-progress", 0));
	json_t *permissions = json_pack("{s:s}", "contents", "read");
	if (plan->oidc)
		json_object_set_new(permissions, "id-token", json_string("write"));
	json_object_set_new(job, "permissions", permissions);
	json_object_set_new(job, "env", cd_job_variables(ctx, plan, env));

	json_t *steps = plan->deploy_steps(ctx, env);
	json_t *smoke =
		plan->smoke_steps ? plan->smoke_steps(ctx, env) : cd_smoke_steps_default(ctx);
	json_array_extend(steps, smoke);
	json_decref(smoke);
	if (plan->rollback_steps) {
		json_t *rollback = plan->rollback_steps(ctx, env);
		json_array_extend(steps, rollback);
		json_decref(rollback);
	}
	json_object_set_new(job, "steps", steps);
	buf_free(&text);
	return job;
}

json_t *cd_build_job(const struct cd_context *ctx, json_t *permissions, json_t *login_steps,
		     const char *image, json_t *image_env)
{
	json_t *job = json_pack("{s:s, s:s, s:i, s:o}", "name", "Build image", "runs-on",
				"ubuntu-latest", "timeout-minutes", 20, "permissions", permissions);
	json_object_set_new(job, "outputs",
			    json_pack("{s:s}", "image", "${{ steps.image.outputs.image }}"));
	json_t *steps = json_pack("[o]", cd_step_checkout());
	json_array_extend(steps, login_steps);
	json_decref(login_steps);
	struct buf run = BUF_INIT;
	buf_addf(&run, "echo \"image=%s\" >> \"$GITHUB_OUTPUT\"\n", image);
	json_t *name = cd_step_run("Name the image", run.data, image_env);
	json_object_set_new(name, "id", json_string("image"));
	json_array_append_new(steps, name);
	json_array_append_new(
		steps, cd_step_uses("Set up Docker Buildx", "docker/setup-buildx-action@v3", NULL));
	char *dockerfile = cd_path(ctx, "Dockerfile");
	json_t *with = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s}", "context",
				 *ctx->dir ? ctx->project_path : ".", "file", dockerfile, "push", 1,
				 "tags", "${{ steps.image.outputs.image }}", "cache-from",
				 "type=gha", "cache-to", "type=gha,mode=max");
	free(dockerfile);
	json_array_append_new(steps,
			      cd_step_uses("Build and push", "docker/build-push-action@v6", with));
	json_object_set_new(job, "steps", steps);
	buf_free(&run);
	return job;
}

/* Rebuilds obj with the keys of order first, in that order, then the rest. */
static json_t *cd_reorder(json_t *obj, const char *const *order, size_t count)
{
	json_t *ordered = json_object();
	for (size_t k = 0; k < count; k++) {
		json_t *value = json_object_get(obj, order[k]);
		if (value)
			json_object_set(ordered, order[k], value);
	}
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
	{
		if (!json_object_get(ordered, key))
			json_object_set(ordered, key, value);
	}
	return ordered;
}

/* Jobs and steps read best in the order people write them. */
static void cd_jobs_order(json_t *jobs)
{
	static const char *const job_order[] = {
		"name",	       "if",	      "needs",	     "runs-on", "timeout-minutes",
		"environment", "concurrency", "permissions", "outputs", "env",
		"steps"
	};
	static const char *const step_order[] = { "name", "id",	 "if", "uses", "working-directory",
						  "with", "env", "run" };
	const char *id;
	json_t *job;
	void *tmp;
	json_object_foreach_safe(jobs, tmp, id, job)
	{
		json_t *steps = json_object_get(job, "steps");
		size_t i;
		json_t *step;
		json_array_foreach(steps, i, step)
		{
			json_array_set_new(steps, i, cd_reorder(step, step_order, 8));
		}
		json_object_set_new(jobs, id, cd_reorder(job, job_order, 11));
	}
}

static char *cd_workflow_path(const struct cd_context *ctx)
{
	struct buf path = BUF_INIT;
	if (*ctx->dir)
		buf_addf(&path, ".github/workflows/deploy-%s.yml", ctx->slug);
	else
		buf_adds(&path, ".github/workflows/deploy.yml");
	return buf_detach(&path);
}

int cd_workflow_write(const struct cd_context *ctx, const struct cd_plan *plan,
		      struct gen_files *out, struct err *e)
{
	if (ctx->options->provider != CI_GITHUB) {
		json_decref(plan->build_job);
		switch (ctx->options->provider) {
		case CI_GITLAB:
			return cd_gitlab_write(ctx, plan, out, e);
		case CI_BITBUCKET:
			return cd_bitbucket_write(ctx, plan, out, e);
		default:
			return cd_jenkins_write(ctx, plan, out, e);
		}
	}
	json_t *workflow = json_object();
	struct buf text = BUF_INIT;
	buf_addf(&text, "Deploy %s to %s", ctx->slug, ctx->target->name);
	json_object_set_new(workflow, "name", json_string(text.data));
	json_t *push =
		json_pack("{s:[s, s], s:[s]}", "branches", "main", "release/**", "tags", "v*.*.*");
	json_object_set_new(workflow, "on", json_pack("{s:o}", "push", push));
	/* Jobs widen this only as far as they need. */
	json_object_set_new(workflow, "permissions", json_pack("{s:s}", "contents", "read"));
	json_t *jobs = json_object();
	if (plan->build_job)
		json_object_set_new(jobs, "build", plan->build_job);
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&text);
		buf_addf(&text, "deploy-%s", cd_environments[i].name);
		json_object_set_new(jobs, text.data, cd_deploy_job(ctx, plan, &cd_environments[i]));
	}
	cd_jobs_order(jobs);
	json_object_set_new(workflow, "jobs", jobs);

	buf_reset(&text);
	cd_release_header(&text, ctx, plan);
	buf_addch(&text, '\n');
	static const char *const spaced[] = { "jobs", NULL };
	struct yaml_emit_options options = { YAML_EMIT_SPACED, spaced };
	yaml_emit(&text, workflow, &options);
	char *path = cd_workflow_path(ctx);
	gen_files_add(out, path, text.data);
	free(path);
	buf_free(&text);
	json_decref(workflow);
	(void)e;
	return 0;
}
