#include "gen/ci_jenkins.h"

#include "gen/ci.h"
#include "gen/files.h"
#include "gen/plan.h"
#include "gen/templates.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* A Groovy single-quoted string: no interpolation, so commands reach sh as written. */
void ci_jenkins_quote(struct buf *out, const char *s)
{
	buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			buf_addch(out, '\\');
		buf_addch(out, *s);
	}
	buf_addch(out, '\'');
}

void ci_jenkins_indent(struct buf *out, int level)
{
	for (int i = 0; i < level; i++)
		buf_adds(out, "    ");
}

void ci_jenkins_line(struct buf *out, int level, const char *text)
{
	ci_jenkins_indent(out, level);
	buf_adds(out, text);
	buf_addch(out, '\n');
}

static void jenkins_when(struct buf *out, const struct ci_plan *plan, const struct plan_job *job,
			 int level)
{
	ci_jenkins_line(out, level, "when {");
	bool changes = job && job->include_paths.len;
	if (changes)
		ci_jenkins_line(out, level + 1, "allOf {");
	int inner = level + 1 + changes;
	ci_jenkins_indent(out, inner);
	buf_adds(out, "anyOf { ");
	for (size_t i = 0; i < plan->branches.len; i++) {
		buf_adds(out, "branch ");
		ci_jenkins_quote(out, plan->branches.items[i]);
		buf_adds(out, "; ");
	}
	buf_adds(out, "changeRequest() }\n");
	if (changes) {
		ci_jenkins_indent(out, inner);
		buf_adds(out, "anyOf { ");
		for (size_t i = 0; i < job->include_paths.len; i++) {
			buf_addf(out, "%schangeset ", i ? "; " : "");
			ci_jenkins_quote(out, job->include_paths.items[i]);
		}
		buf_adds(out, " }\n");
		ci_jenkins_line(out, level + 1, "}");
	}
	ci_jenkins_line(out, level, "}");
}

static void docker_agent(struct buf *out, int level, const char *image_expr, bool root)
{
	ci_jenkins_line(out, level, "agent {");
	ci_jenkins_line(out, level + 1, "docker {");
	ci_jenkins_indent(out, level + 2);
	buf_addf(out, "image %s\n", image_expr);
	/* The image setup (apt-get, corepack) writes to system directories. */
	if (root)
		ci_jenkins_line(out, level + 2, "args '-u root:root'");
	ci_jenkins_line(out, level + 1, "}");
	ci_jenkins_line(out, level, "}");
}

static void jenkins_environment(struct buf *out, const struct ci_plan *plan,
				const struct plan_job *job, int level)
{
	json_t *env = json_deep_copy(job->env);
	const char *key;
	json_t *value;
	if (plan->cache) {
		/* Caches inside the workspace outlive the build on the same agent. */
		json_object_foreach(job->cache_env, key, value)
		{
			char *v = ci_plan_expand_env(json_string_value(value), "${WORKSPACE}");
			json_object_set_new(env, key, json_string(v));
			free(v);
		}
	}
	if (json_object_size(env)) {
		ci_jenkins_line(out, level, "environment {");
		json_object_foreach(env, key, value)
		{
			ci_jenkins_indent(out, level + 1);
			buf_addf(out, "%s = ", key);
			const char *v = json_string_value(value);
			if (strstr(v, "${WORKSPACE}")) {
				/* Double quotes: Jenkins fills in the workspace. */
				buf_addf(out, "\"%s\"\n", v);
			} else {
				ci_jenkins_quote(out, v);
				buf_addch(out, '\n');
			}
		}
		ci_jenkins_line(out, level, "}");
	}
	json_decref(env);
}

static void sh(struct buf *out, int level, const char *command)
{
	ci_jenkins_indent(out, level);
	buf_adds(out, "sh ");
	ci_jenkins_quote(out, command);
	buf_addch(out, '\n');
}

static void step_stage(struct buf *out, const char *name, const char *dir,
		       const struct vec *commands, int level)
{
	ci_jenkins_indent(out, level);
	buf_adds(out, "stage(");
	ci_jenkins_quote(out, name);
	buf_adds(out, ") {\n");
	ci_jenkins_line(out, level + 1, "steps {");
	int inner = level + 2;
	if (!str_eq(dir, ".")) {
		ci_jenkins_indent(out, inner);
		buf_adds(out, "dir(");
		ci_jenkins_quote(out, dir);
		buf_adds(out, ") {\n");
		inner++;
	}
	for (size_t i = 0; i < commands->len; i++)
		sh(out, inner, commands->items[i]);
	if (!str_eq(dir, "."))
		ci_jenkins_line(out, level + 2, "}");
	ci_jenkins_line(out, level + 1, "}");
	ci_jenkins_line(out, level, "}");
}

static void job_stages(struct buf *out, const struct plan_job *job, int level)
{
	ci_jenkins_line(out, level, "stages {");
	if (job->image_setup.len) {
		step_stage(out, "Set up", ".", &job->image_setup, level + 1);
	}
	for (size_t i = 0; i < job->steps.len; i++) {
		const struct plan_step *step = job->steps.items[i];
		step_stage(out, step->name, step->dir, &step->commands, level + 1);
	}
	ci_jenkins_line(out, level, "}");
}

static void coverage_post(struct buf *out, const struct plan_job *job, int level)
{
	if (!job->coverage_path)
		return;
	ci_jenkins_line(out, level, "post {");
	ci_jenkins_line(out, level + 1, "always {");
	ci_jenkins_indent(out, level + 2);
	buf_adds(out, "archiveArtifacts artifacts: ");
	struct buf glob = BUF_INIT;
	buf_adds(&glob, job->coverage_path);
	if (!strchr(strrchr(glob.data, '/') ? strrchr(glob.data, '/') : glob.data, '.'))
		buf_adds(&glob, "/**");
	ci_jenkins_quote(out, glob.data);
	buf_free(&glob);
	buf_adds(out, ", allowEmptyArchive: true\n");
	ci_jenkins_line(out, level + 1, "}");
	ci_jenkins_line(out, level, "}");
}

static void jenkins_job(struct buf *out, const struct ci_plan *plan, const struct plan_job *job)
{
	int level = 2;
	ci_jenkins_indent(out, level);
	buf_adds(out, "stage(");
	ci_jenkins_quote(out, str_eq(job->path, ".") ? job->id : job->path);
	buf_adds(out, ") {\n");
	jenkins_when(out, plan, job, level + 1);
	bool root = job->image_setup.len > 0;
	if (job->versions.len > 1) {
		ci_jenkins_line(out, level + 1, "matrix {");
		ci_jenkins_line(out, level + 2, "axes {");
		ci_jenkins_line(out, level + 3, "axis {");
		ci_jenkins_line(out, level + 4, "name 'RUNTIME_IMAGE'");
		ci_jenkins_indent(out, level + 4);
		buf_adds(out, "values ");
		for (size_t i = 0; i < job->versions.len; i++) {
			char *image = ci_plan_image(job, job->versions.items[i]);
			if (i)
				buf_adds(out, ", ");
			ci_jenkins_quote(out, image);
			free(image);
		}
		buf_addch(out, '\n');
		ci_jenkins_line(out, level + 3, "}");
		ci_jenkins_line(out, level + 2, "}");
		docker_agent(out, level + 2, "\"${RUNTIME_IMAGE}\"", root);
		jenkins_environment(out, plan, job, level + 2);
		job_stages(out, job, level + 2);
		coverage_post(out, job, level + 2);
		ci_jenkins_line(out, level + 1, "}");
	} else {
		char *image = ci_plan_image(job, job->version);
		struct buf quoted = BUF_INIT;
		ci_jenkins_quote(&quoted, image);
		docker_agent(out, level + 1, quoted.data, root);
		buf_free(&quoted);
		free(image);
		jenkins_environment(out, plan, job, level + 1);
		job_stages(out, job, level + 1);
		coverage_post(out, job, level + 1);
	}
	ci_jenkins_line(out, level, "}");
}

static void secret_scan_stage(struct buf *out, const struct ci_plan *plan)
{
	const struct ci_templates *t = plan->templates;
	ci_jenkins_line(out, 2, "stage('Secret scan') {");
	jenkins_when(out, plan, NULL, 3);
	ci_jenkins_line(out, 3, "agent {");
	ci_jenkins_line(out, 4, "docker {");
	ci_jenkins_indent(out, 5);
	buf_adds(out, "image ");
	ci_jenkins_quote(out, t->secret_scan_image);
	buf_addch(out, '\n');
	/* The image's entrypoint is gitleaks itself; Jenkins needs a shell. */
	ci_jenkins_line(out, 5, "args '--entrypoint='");
	ci_jenkins_line(out, 4, "}");
	ci_jenkins_line(out, 3, "}");
	ci_jenkins_line(out, 3, "steps {");
	for (size_t i = 0; i < t->secret_scan_commands.len; i++)
		sh(out, 4, t->secret_scan_commands.items[i]);
	ci_jenkins_line(out, 3, "}");
	ci_jenkins_line(out, 2, "}");
}

int ci_jenkins_write(const struct ci_plan *plan, const struct ci_options *o, struct gen_files *out,
		     struct err *e)
{
	struct buf text = BUF_INIT;
	ci_plan_header(&text, plan, "//", o->command, plan->description);
	buf_addch(&text, '\n');
	ci_jenkins_line(&text, 0, "pipeline {");
	/* Each stage brings its own pinned image. */
	ci_jenkins_line(&text, 1, "agent none");
	buf_addch(&text, '\n');
	ci_jenkins_line(&text, 1, "options {");
	ci_jenkins_indent(&text, 2);
	buf_addf(&text, "timeout(time: %ld, unit: 'MINUTES')\n", plan->templates->timeout_minutes);
	ci_jenkins_line(&text, 2, "disableConcurrentBuilds(abortPrevious: true)");
	ci_jenkins_line(&text, 2, "buildDiscarder(logRotator(numToKeepStr: '30'))");
	ci_jenkins_line(&text, 1, "}");
	buf_addch(&text, '\n');
	ci_jenkins_line(&text, 1, "stages {");
	for (size_t i = 0; i < plan->jobs.len; i++) {
		if (i)
			buf_addch(&text, '\n');
		jenkins_job(&text, plan, plan->jobs.items[i]);
	}
	if (plan->secret_scan) {
		buf_addch(&text, '\n');
		secret_scan_stage(&text, plan);
	}
	ci_jenkins_line(&text, 1, "}");
	ci_jenkins_line(&text, 0, "}");
	gen_files_add(out, "Jenkinsfile", text.data);
	buf_free(&text);
	(void)e;
	return 0;
}
