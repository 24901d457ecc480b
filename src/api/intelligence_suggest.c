/*
 * intelligence_suggest: from an analysis document to CI/CD suggestions.
 *
 * The server suggests exactly what `ampel generate` would write, so a
 * suggestion and the CLI never disagree: one CI suggestion per provider
 * whose templates serve the stack, one deployment per target of the
 * provider catalog (config/deployment-providers.yaml) run by GitHub
 * Actions, and a Dockerfile. Every workflow must pass Ampel's own security
 * check, as in the CLI, or it is not suggested.
 */
#include "api/intelligence_internal.h"

#include "gen/cd.h"
#include "gen/check.h"
#include "gen/ci.h"
#include "gen/dockerfile.h"
#include "gen/files.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *id;
	const char *name;
	enum ci_provider provider;
} ci_providers[] = {
	{ "github", "GitHub Actions", CI_GITHUB },
	{ "gitlab", "GitLab CI", CI_GITLAB },
	{ "bitbucket", "Bitbucket Pipelines", CI_BITBUCKET },
	{ "jenkins", "Jenkins", CI_JENKINS },
};

/* The project the titles speak of: the root when it has code, else the first that has. */
static const json_t *main_project(const json_t *document)
{
	const json_t *projects = json_object_get(document, "projects");
	size_t i;
	const json_t *project;
	json_array_foreach(projects, i, project)
	{
		if (json_is_string(json_object_get(project, "primary_language")))
			return project;
	}
	return json_array_get(projects, 0);
}

/* "express (javascript, npm)", "go", "python (poetry)". */
static void describe_stack(struct buf *out, const json_t *document)
{
	const json_t *project = main_project(document);
	const char *framework = json_get_str(
		json_array_get(json_object_get(project, "frameworks"), 0), "name", NULL);
	const char *language = json_get_str(project, "primary_language", NULL);
	const char *pm =
		json_string_value(json_array_get(json_object_get(project, "package_managers"), 0));
	if (str_eq(pm, language))
		pm = NULL;
	const char *what = framework ? framework : language ? language : "the repository";
	buf_adds(out, what);
	const char *details[2] = { framework ? language : NULL, pm };
	bool open = false;
	for (size_t i = 0; i < 2; i++) {
		if (!details[i])
			continue;
		buf_adds(out, open ? ", " : " (");
		buf_adds(out, details[i]);
		open = true;
	}
	if (open)
		buf_addch(out, ')');
}

static void add_suggestion(json_t *list, const char *type, const char *provider, const char *target,
			   const char *title, const struct gen_files *files)
{
	json_t *listing = gen_files_to_json(files);
	json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:s, s:O}", "type", type,
					      "provider", provider, "target", target, "title",
					      title, "files", json_object_get(listing, "files")));
	json_decref(listing);
}

/*
 * The outcome of one generator: 1 to suggest it, 0 to leave it out (an
 * unsupported stack, or a generator problem that is logged), never a
 * failure of the whole analysis.
 */
static int generated(int rc, const struct check_rules *rules, const struct gen_files *files,
		     const char *what, struct err *gen_error)
{
	if (rc == GEN_UNSUPPORTED)
		return 0;
	if (rc == 0 && files->files.len && check_generated_files(rules, files, gen_error) == 0)
		return 1;
	if (rc != 0 || files->files.len)
		log_warn("intelligence", "suggestion left out", "what", what, "error",
			 gen_error->msg);
	return 0;
}

static void suggest_ci(json_t *list, const json_t *document, const struct check_rules *rules,
		       const char *stack)
{
	for (size_t i = 0; i < sizeof(ci_providers) / sizeof(*ci_providers); i++) {
		struct buf command = BUF_INIT, title = BUF_INIT;
		buf_addf(&command, "ampel generate ci --provider %s", ci_providers[i].id);
		struct ci_options options = { .provider = ci_providers[i].provider,
					      .command = buf_cstr(&command) };
		struct gen_files files = GEN_FILES_INIT;
		struct err gen_error = ERR_INIT;
		int rc = gen_ci(document, &options, &files, &gen_error);
		if (generated(rc, rules, &files, buf_cstr(&command), &gen_error)) {
			buf_addf(&title, "CI with %s for %s", ci_providers[i].name, stack);
			add_suggestion(list, "ci", ci_providers[i].id, NULL, buf_cstr(&title),
				       &files);
		}
		gen_files_free(&files);
		buf_free(&command);
		buf_free(&title);
	}
}

/* The Dockerfile (and .dockerignore) into files; false when the stack has no recipe. */
static bool generate_dockerfile(struct gen_files *files, const json_t *document)
{
	struct dockerfile_options options = { .command = "ampel generate dockerfile" };
	struct err gen_error = ERR_INIT;
	int rc = gen_dockerfile(document, &options, files, &gen_error);
	if (rc != 0 && rc != GEN_UNSUPPORTED)
		log_warn("intelligence", "no Dockerfile", "error", gen_error.msg);
	return rc == 0;
}

/*
 * One suggestion per deployment target. dockerfile holds the Dockerfile
 * the repository lacks (empty when it has one, or no recipe fits): every
 * target's workflow builds the image, so each suggestion carries it.
 */
static int suggest_cd(json_t *list, const json_t *document, const struct check_rules *rules,
		      const char *stack, const struct gen_files *dockerfile, struct err *e)
{
	json_t *providers = NULL;
	if (cd_providers_describe(&providers, e) != 0)
		return -1;
	size_t i;
	const json_t *provider;
	json_array_foreach(providers, i, provider)
	{
		const char *target_id = json_string_value(json_object_get(provider, "id"));
		const char *target_name = json_string_value(json_object_get(provider, "name"));
		struct buf command = BUF_INIT, title = BUF_INIT;
		buf_addf(&command, "ampel generate cd --target %s --provider github", target_id);
		struct cd_options options = { .target = target_id,
					      .provider = CI_GITHUB,
					      .command = buf_cstr(&command) };
		struct gen_files files = GEN_FILES_INIT;
		struct err gen_error = ERR_INIT;
		int rc = gen_cd(document, &options, &files, &gen_error);
		if (generated(rc, rules, &files, buf_cstr(&command), &gen_error)) {
			for (size_t j = 0; j < dockerfile->files.len; j++) {
				const struct gen_file *f = dockerfile->files.items[j];
				gen_files_add(&files, f->path, f->content);
			}
			buf_addf(&title, "Deploy to %s with GitHub Actions: %s", target_name,
				 stack);
			add_suggestion(list, "cd", "github", target_id, buf_cstr(&title), &files);
		}
		gen_files_free(&files);
		buf_free(&command);
		buf_free(&title);
	}
	json_decref(providers);
	return 0;
}

int intelligence_suggestions_build(const json_t *document, json_t **out, struct err *e)
{
	*out = NULL;
	const json_t *missing = json_object_get(document, "missing");
	if (!json_is_object(missing))
		return err_set(e, "the analysis document has no 'missing' object");
	struct check_rules *rules = NULL;
	if (check_rules_load(&rules, e) != 0)
		return -1;
	struct buf stack = BUF_INIT;
	describe_stack(&stack, document);
	json_t *list = json_array();
	int rc = 0;
	struct gen_files dockerfile = GEN_FILES_INIT;
	bool container_missing = json_is_true(json_object_get(missing, "container")) &&
				 generate_dockerfile(&dockerfile, document);
	if (json_is_true(json_object_get(missing, "ci")))
		suggest_ci(list, document, rules, buf_cstr(&stack));
	if (json_is_true(json_object_get(missing, "cd")))
		rc = suggest_cd(list, document, rules, buf_cstr(&stack), &dockerfile, e);
	if (rc == 0 && container_missing) {
		struct buf title = BUF_INIT;
		buf_addf(&title, "Dockerfile for %s", buf_cstr(&stack));
		add_suggestion(list, "cd", "docker", NULL, buf_cstr(&title), &dockerfile);
		buf_free(&title);
	}
	gen_files_free(&dockerfile);
	buf_free(&stack);
	check_rules_free(rules);
	if (rc != 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}
