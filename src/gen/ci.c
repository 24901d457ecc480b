#include "gen/ci.h"

#include "gen/ci_bitbucket.h"
#include "gen/ci_github.h"
#include "gen/ci_gitlab.h"
#include "gen/ci_jenkins.h"
#include "gen/files.h"
#include "gen/plan.h"
#include "gen/templates.h"
#include "util/err.h"
#include "util/str.h"

int ci_provider_parse(const char *name, enum ci_provider *out)
{
	static const struct {
		const char *name;
		enum ci_provider provider;
	} providers[] = {
		{ "github", CI_GITHUB },
		{ "gitlab", CI_GITLAB },
		{ "bitbucket", CI_BITBUCKET },
		{ "jenkins", CI_JENKINS },
	};
	for (size_t i = 0; i < sizeof(providers) / sizeof(*providers); i++)
		if (str_eq_icase(name, providers[i].name)) {
			*out = providers[i].provider;
			return 0;
		}
	return -1;
}

/* Branch names go into YAML and Groovy strings: no quotes, no control characters. */
static int check_branches(const struct ci_options *options, struct err *e)
{
	for (size_t i = 0; i < options->branches.len; i++) {
		const char *b = options->branches.items[i];
		if (str_blank(b))
			return err_set(e, "--branches: empty branch name");
		for (const char *p = b; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == '\'' || *p == '"' || *p == '\\' ||
			    *p == '$' || *p == '`')
				return err_set(e, "--branches: '%s' is not a valid branch name", b);
	}
	return 0;
}

int gen_ci(const json_t *analysis, const struct ci_options *options, struct gen_files *out,
	   struct err *e)
{
	if (check_branches(options, e) < 0)
		return -1;
	struct ci_templates *templates = NULL;
	if (ci_templates_load(&templates, e) < 0)
		return -1;
	struct ci_plan *plan = NULL;
	int rc = ci_plan_build(&plan, analysis, templates, options, e);
	if (rc == 0) {
		/* Written to a scratch set, so a failure leaves out untouched. */
		struct gen_files files = GEN_FILES_INIT;
		switch (options->provider) {
		case CI_GITHUB:
			rc = ci_github_write(plan, options, &files, e);
			break;
		case CI_GITLAB:
			rc = ci_gitlab_write(plan, options, &files, e);
			break;
		case CI_BITBUCKET:
			rc = ci_bitbucket_write(plan, options, &files, e);
			break;
		case CI_JENKINS:
			rc = ci_jenkins_write(plan, options, &files, e);
			break;
		default:
			rc = err_set(e, "unknown CI provider");
		}
		for (size_t i = 0; rc == 0 && i < files.files.len; i++) {
			const struct gen_file *f = files.files.items[i];
			gen_files_add(out, f->path, f->content);
		}
		gen_files_free(&files);
	}
	ci_plan_free(plan);
	ci_templates_free(templates);
	return rc;
}
