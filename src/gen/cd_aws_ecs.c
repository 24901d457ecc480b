/*
 * cd_aws_ecs: a Fargate task definition and a workflow that pushes the
 * image to ECR and deploys it with the official aws-actions, signed in
 * through GitHub OIDC (no long-lived AWS keys). ECS rolls back by itself
 * when the service has the deployment circuit breaker on; a failed smoke
 * test puts the previous task definition revision back.
 */
#include "gen/cd_internal.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

/* Fargate's CPU units allow only these memory sizes; keep the pair valid. */
static long ecs_fargate_memory(long cpu, long memory)
{
	long min = cpu <= 256 ? 512 : cpu <= 512 ? 1024 : cpu <= 1024 ? 2048 : 4096;
	long max = cpu <= 256 ? 2048 : cpu <= 512 ? 4096 : cpu <= 1024 ? 8192 : 16384;
	if (memory < min)
		return min;
	if (memory > max)
		return max;
	if (memory > 512 && memory % 1024)
		return (memory / 1024 + 1) * 1024;
	return memory;
}

static void ecs_write_task_definition(const struct cd_context *ctx, struct gen_files *out)
{
	long cpu = strtol(ctx->sizing->cpu, NULL, 10);
	if (cpu != 256 && cpu != 512 && cpu != 1024 && cpu != 2048 && cpu != 4096)
		cpu = 256;
	long memory = ecs_fargate_memory(cpu, ctx->sizing->memory);
	char cpu_text[24], memory_text[24], port_text[24];
	snprintf(cpu_text, sizeof(cpu_text), "%ld", cpu);
	snprintf(memory_text, sizeof(memory_text), "%ld", memory);
	snprintf(port_text, sizeof(port_text), "%ld", ctx->port);

	/* The app's variables come from SSM Parameter Store at start, by name:
	 * values never sit in the task definition or the repository. */
	json_t *secrets = json_array();
	size_t i;
	const json_t *var;
	json_array_foreach(json_object_get(ctx->project, "env"), i, var)
	{
		const char *name = json_get_str(var, "name", NULL);
		if (!name || strcmp(name, "PORT") == 0)
			continue;
		struct buf arn = BUF_INIT;
		buf_addf(&arn, "arn:aws:ssm:%s:ACCOUNT_ID:parameter/%s/%s", ctx->region, ctx->slug,
			 name);
		json_array_append_new(secrets,
				      json_pack("{s:s, s:s}", "name", name, "valueFrom", arn.data));
		buf_free(&arn);
	}
	struct buf group = BUF_INIT;
	buf_addf(&group, "/ecs/%s", ctx->slug);
	json_t *container =
		json_pack("{s:s, s:s, s:b, s:[{s:I, s:s, s:s}], s:[{s:s, s:s}], s:o, s:{s:s, "
			  "s:{s:s, s:s, s:s, s:s}}}",
			  "name", ctx->slug, "image", "IMAGE_SET_BY_THE_WORKFLOW", "essential", 1,
			  "portMappings", "containerPort", (json_int_t)ctx->port, "protocol", "tcp",
			  "name", "http", "environment", "name", "PORT", "value", port_text,
			  "secrets", secrets, "logConfiguration", "logDriver", "awslogs", "options",
			  "awslogs-group", group.data, "awslogs-region", ctx->region,
			  "awslogs-stream-prefix", "ecs", "awslogs-create-group", "true");
	json_t *task = json_pack(
		"{s:s, s:s, s:[s], s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:[o]}", "family", ctx->slug,
		"networkMode", "awsvpc", "requiresCompatibilities", "FARGATE", "cpu", cpu_text,
		"memory", memory_text, "runtimePlatform", "cpuArchitecture", "X86_64",
		"operatingSystemFamily", "LINUX", "executionRoleArn",
		"arn:aws:iam::ACCOUNT_ID:role/ecsTaskExecutionRole", "taskRoleArn",
		"arn:aws:iam::ACCOUNT_ID:role/ecsTaskRole", "containerDefinitions", container);
	struct buf text = BUF_INIT;
	json_write_buf(&text, task, JSON_WRITE_PRETTY, NULL);
	char *path = cd_path(ctx, ".aws/task-definition.json");
	gen_files_add(out, path, text.data);
	free(path);
	buf_free(&text);
	buf_free(&group);
	json_decref(task);
}

static json_t *ecs_login_step(void)
{
	return cd_step_uses("Sign in to AWS (OIDC)", "aws-actions/configure-aws-credentials@v4",
			    json_pack("{s:s, s:s}", "role-to-assume",
				      "${{ secrets.AWS_ROLE_TO_ASSUME }}", "aws-region",
				      "${{ env.AWS_REGION }}"));
}

static json_t *ecs_deploy_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *steps = json_array();
	json_array_append_new(steps, cd_step_checkout());
	json_array_append_new(steps, ecs_login_step());
	json_t *previous = cd_step_run(
		"Remember the running task definition",
		"arn=$(aws ecs describe-services --cluster \"$ECS_CLUSTER\" --services "
		"\"$APP_NAME\" \\\n"
		"  --query 'services[0].taskDefinition' --output text 2>/dev/null || true)\n"
		"if [ \"$arn\" = None ]; then arn=; fi\n"
		"echo \"task-definition=${arn}\" >> \"$GITHUB_OUTPUT\"\n",
		NULL);
	json_object_set_new(previous, "id", json_string("previous"));
	json_array_append_new(steps, previous);
	char *task_path = cd_path(ctx, ".aws/task-definition.json");
	json_t *render = cd_step_uses("Put the image into the task definition",
				      "aws-actions/amazon-ecs-render-task-definition@v1",
				      json_pack("{s:s, s:s, s:s}", "task-definition", task_path,
						"container-name", ctx->slug, "image",
						"${{ needs.build.outputs.image }}"));
	free(task_path);
	json_object_set_new(render, "id", json_string("render"));
	json_array_append_new(steps, render);
	json_array_append_new(
		steps,
		cd_step_uses("Deploy to ECS", "aws-actions/amazon-ecs-deploy-task-definition@v2",
			     json_pack("{s:s, s:s, s:s, s:b}", "task-definition",
				       "${{ steps.render.outputs.task-definition }}", "service",
				       "${{ env.APP_NAME }}", "cluster", "${{ env.ECS_CLUSTER }}",
				       "wait-for-service-stability", 1)));
	json_t *url =
		cd_step_run("Public URL",
			    "if [ -z \"$APP_URL\" ]; then\n"
			    "  echo \"::error::set the APP_URL variable on the $DEPLOY_ENVIRONMENT "
			    "environment\"\n"
			    "  exit 1\n"
			    "fi\n"
			    "echo \"url=${APP_URL}\" >> \"$GITHUB_OUTPUT\"\n",
			    json_pack("{s:s}", "APP_URL", "${{ vars.APP_URL }}"));
	json_object_set_new(url, "id", json_string("url"));
	json_array_append_new(steps, url);
	(void)env;
	return steps;
}

static json_t *ecs_rollback_steps(const struct cd_context *ctx, const struct cd_environment *env)
{
	json_t *step = cd_step_run(
		"Roll back to the previous task definition",
		"aws ecs update-service --cluster \"$ECS_CLUSTER\" --service \"$APP_NAME\" \\\n"
		"  --task-definition \"$PREVIOUS\" >/dev/null\n"
		"aws ecs wait services-stable --cluster \"$ECS_CLUSTER\" --services "
		"\"$APP_NAME\"\n",
		json_pack("{s:s}", "PREVIOUS", "${{ steps.previous.outputs.task-definition }}"));
	json_object_set_new(
		step, "if",
		json_string("failure() && steps.previous.outputs.task-definition != ''"));
	(void)ctx;
	(void)env;
	return json_pack("[o]", step);
}

static json_t *ecs_job_env(const struct cd_context *ctx, const struct cd_environment *env)
{
	struct buf cluster = BUF_INIT;
	buf_addf(&cluster, "%s-%s", ctx->slug, env->name);
	json_t *vars =
		json_pack("{s:s, s:s}", "AWS_REGION", ctx->region, "ECS_CLUSTER", cluster.data);
	buf_free(&cluster);
	return vars;
}

int cd_aws_ecs_generate(const struct cd_context *ctx, struct gen_files *out, struct err *e)
{
	ecs_write_task_definition(ctx, out);
	json_t *login = json_pack("[o]", ecs_login_step());
	json_t *ecr =
		cd_step_uses("Sign in to Amazon ECR", "aws-actions/amazon-ecr-login@v2", NULL);
	json_object_set_new(ecr, "id", json_string("ecr"));
	json_array_append_new(login, ecr);
	struct buf image = BUF_INIT, setup = BUF_INIT;
	buf_addf(&image, "${REGISTRY}/%s:${GITHUB_SHA}", ctx->slug);
	json_t *build = cd_build_job(
		ctx, json_pack("{s:s, s:s}", "contents", "read", "id-token", "write"), login,
		image.data, json_pack("{s:s}", "REGISTRY", "${{ steps.ecr.outputs.registry }}"));
	/* The build job signs in too, so it needs the region in its env. */
	json_object_set_new(build, "env", json_pack("{s:s}", "AWS_REGION", ctx->region));
	buf_addf(&setup,
		 "an ECR repository named %s; per environment a cluster\n"
		 "%s-<environment> with a Fargate service named like APP_NAME below,\n"
		 "created with --deployment-configuration\n"
		 "\"deploymentCircuitBreaker={enable=true,rollback=true}\"; the SSM parameters\n"
		 "named in %s.aws/task-definition.json; and an IAM role trusting GitHub's\n"
		 "OIDC provider for this repository (AWS_ROLE_TO_ASSUME).",
		 ctx->slug, ctx->slug, ctx->dir);
	struct cd_plan plan = {
		.build_job = build,
		.job_env = ecs_job_env,
		.oidc = true,
		.rollback = "ECS's deployment circuit breaker rolls a failing deployment\n"
			    "back by itself; a failed smoke test redeploys the previous task\n"
			    "definition revision. By hand: aws ecs update-service --cluster C\n"
			    "--service S --task-definition FAMILY:REVISION.",
		.setup = setup.data,
		.deploy_steps = ecs_deploy_steps,
		.rollback_steps = ecs_rollback_steps,
	};
	int rc = cd_workflow_write(ctx, &plan, out, e);
	buf_free(&image);
	buf_free(&setup);
	return rc;
}
