#include "cmd/cmd.h"

#include "gen/cd.h"
#include "gen/check.h"
#include "gen/ci.h"
#include "gen/dockerfile.h"
#include "gen/files.h"
#include "gen/updates.h"
#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The stack is one Ampel cannot serve: nothing was written. */
#define EXIT_UNSUPPORTED 3

const char cmd_generate_usage[] =
	"usage: ampel generate ci [PATH] --provider github|gitlab|bitbucket|jenkins\n"
	"                         [--cache] [--matrix] [--security] [--coverage]\n"
	"                         [--branches B[,B...]] [--custom-step NAME=COMMAND]...\n"
	"       ampel generate cd [PATH] --target T [--provider github|gitlab|bitbucket|jenkins]\n"
	"                         [--project P] [--region R]\n"
	"       ampel generate dockerfile [PATH] [--project P]\n"
	"       ampel generate updates [PATH] [--renovate]\n"
	"       ampel generate check FILE...\n"
	"\n"
	"Writes the CI workflow, deployment config, Dockerfile or dependency-update\n"
	"config that fits the repository at PATH (default: the current directory), from\n"
	"its analysis. `check` reviews workflow files for injection and other risks.\n"
	"\n"
	"CD targets: flyio, aws-ecs, gcp-cloudrun, azure-containerapps, digitalocean,\n"
	"kubernetes.\n"
	"\n"
	"Output (default: print to stdout):\n"
	"  --out DIR         write the files at their repository paths under DIR\n"
	"  --write           write them into the repository; an existing file is\n"
	"                    refused (nothing is written) unless --force\n"
	"  --force           overwrite existing files with --out or --write\n"
	"  --json            print {\"files\": [{\"path\", \"content\"}]} for programs\n"
	"  --analysis FILE   use a saved `ampel analyze --json` document instead of\n"
	"                    analysing PATH\n"
	"\n"
	"Exit status: 0 written, 1 failed (e.g. a file exists), 2 usage error,\n"
	"3 unsupported stack (the message says what was detected).\n";

enum {
	OPT_PROVIDER = 256,
	OPT_CACHE,
	OPT_MATRIX,
	OPT_SECURITY,
	OPT_COVERAGE,
	OPT_BRANCHES,
	OPT_CUSTOM_STEP,
	OPT_TARGET,
	OPT_PROJECT,
	OPT_REGION,
	OPT_RENOVATE,
	OPT_OUT,
	OPT_WRITE,
	OPT_FORCE,
	OPT_JSON,
	OPT_ANALYSIS,
};

static const struct option generate_options[] = {
	{ "provider", required_argument, NULL, OPT_PROVIDER },
	{ "cache", no_argument, NULL, OPT_CACHE },
	{ "matrix", no_argument, NULL, OPT_MATRIX },
	{ "security", no_argument, NULL, OPT_SECURITY },
	{ "coverage", no_argument, NULL, OPT_COVERAGE },
	{ "branches", required_argument, NULL, OPT_BRANCHES },
	{ "custom-step", required_argument, NULL, OPT_CUSTOM_STEP },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "project", required_argument, NULL, OPT_PROJECT },
	{ "region", required_argument, NULL, OPT_REGION },
	{ "renovate", no_argument, NULL, OPT_RENOVATE },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "write", no_argument, NULL, OPT_WRITE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "analysis", required_argument, NULL, OPT_ANALYSIS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Which options each kind of generation takes. */
static const struct {
	const char *kind;
	const int options[8];
} generate_allowed[] = {
	{ "ci",
	  { OPT_PROVIDER, OPT_CACHE, OPT_MATRIX, OPT_SECURITY, OPT_COVERAGE, OPT_BRANCHES,
	    OPT_CUSTOM_STEP } },
	{ "cd", { OPT_TARGET, OPT_PROVIDER, OPT_PROJECT, OPT_REGION } },
	{ "dockerfile", { OPT_PROJECT } },
	{ "updates", { OPT_RENOVATE } },
	{ "check", { 0 } },
};

struct generate_request {
	const char *kind;
	const char *provider;
	struct ci_options ci;
	struct cd_options cd;
	struct dockerfile_options dockerfile;
	bool renovate;
	const char *out_dir;
	bool write;
	bool force;
	bool json;
	const char *analysis_file;
	struct vec operands; /* PATH, or the FILEs of check */
	struct buf command;  /* the command line, for headers */
};

static bool generate_option_allowed(const char *kind, int option)
{
	if (option >= OPT_OUT)
		return strcmp(kind, "check") != 0 || option == OPT_JSON;
	for (size_t i = 0; i < sizeof(generate_allowed) / sizeof(*generate_allowed); i++)
		if (strcmp(generate_allowed[i].kind, kind) == 0)
			for (size_t j = 0; j < 8 && generate_allowed[i].options[j]; j++)
				if (generate_allowed[i].options[j] == option)
					return true;
	return false;
}

static const char *generate_option_name(int opt)
{
	for (const struct option *o = generate_options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

static int generate_parse(int argc, char **argv, struct generate_request *r)
{
	r->kind = argv[1];
	bool known = false;
	for (size_t i = 0; i < sizeof(generate_allowed) / sizeof(*generate_allowed); i++)
		known |= strcmp(generate_allowed[i].kind, r->kind) == 0;
	if (!known)
		return cmd_usage_error("generate",
				       "'%s' is not something ampel generates "
				       "(ci, cd, dockerfile, updates, check)",
				       r->kind);
	buf_adds(&r->command, "ampel generate");
	for (int i = 1; i < argc; i++)
		buf_addf(&r->command, " %s", argv[i]);

	/* Options follow the kind: getopt starts afresh on argv + 1. */
	int sub_argc = argc - 1;
	char **sub_argv = argv + 1;
	int opt;
	optind = 0;
	while ((opt = getopt_long(sub_argc, sub_argv, "h", generate_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cmd_generate_usage, stdout);
			return -1;
		}
		if (opt == '?')
			return cmd_usage_error("generate", "unknown option or missing value: '%s'",
					       sub_argv[optind - 1]);
		if (!generate_option_allowed(r->kind, opt))
			return cmd_usage_error("generate", "--%s does not apply to 'generate %s'",
					       generate_option_name(opt), r->kind);
		switch (opt) {
		case OPT_PROVIDER:
			r->provider = optarg;
			break;
		case OPT_CACHE:
			r->ci.cache = true;
			break;
		case OPT_MATRIX:
			r->ci.matrix = true;
			break;
		case OPT_SECURITY:
			r->ci.security = true;
			break;
		case OPT_COVERAGE:
			r->ci.coverage = true;
			break;
		case OPT_BRANCHES:
			str_split(optarg, ',', &r->ci.branches);
			break;
		case OPT_CUSTOM_STEP:
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return cmd_usage_error("generate",
						       "--custom-step wants NAME=COMMAND, not '%s'",
						       optarg);
			vec_push(&r->ci.custom_steps, xstrdup(optarg));
			break;
		case OPT_TARGET:
			r->cd.target = optarg;
			break;
		case OPT_PROJECT:
			r->cd.project = r->dockerfile.project = optarg;
			break;
		case OPT_REGION:
			r->cd.region = optarg;
			break;
		case OPT_RENOVATE:
			r->renovate = true;
			break;
		case OPT_OUT:
			r->out_dir = optarg;
			break;
		case OPT_WRITE:
			r->write = true;
			break;
		case OPT_FORCE:
			r->force = true;
			break;
		case OPT_JSON:
			r->json = true;
			break;
		case OPT_ANALYSIS:
			r->analysis_file = optarg;
			break;
		}
	}
	for (int i = optind; i < sub_argc; i++)
		vec_push(&r->operands, sub_argv[i]);

	if (strcmp(r->kind, "check") == 0)
		return r->operands.len ? 0
				       : cmd_usage_error("generate", "check wants workflow FILEs");
	if (r->operands.len > 1)
		return cmd_usage_error("generate", "expected one PATH, got %zu", r->operands.len);
	if ((r->out_dir != NULL) + r->write + r->json > 1)
		return cmd_usage_error("generate", "--out, --write and --json exclude each other");
	if (r->force && !r->out_dir && !r->write)
		return cmd_usage_error("generate", "--force goes with --out or --write");
	const char *provider = r->provider ? r->provider : "github";
	if (strcmp(r->kind, "ci") == 0 && !r->provider)
		return cmd_usage_error("generate",
				       "ci needs --provider github|gitlab|bitbucket|jenkins");
	if ((strcmp(r->kind, "ci") == 0 || strcmp(r->kind, "cd") == 0)) {
		enum ci_provider parsed;
		if (ci_provider_parse(provider, &parsed) < 0)
			return cmd_usage_error("generate",
					       "--provider must be github, gitlab, bitbucket or "
					       "jenkins, not '%s'",
					       provider);
		r->ci.provider = r->cd.provider = parsed;
	}
	if (strcmp(r->kind, "cd") == 0 && !r->cd.target)
		return cmd_usage_error("generate", "cd needs --target (flyio, aws-ecs, "
						   "gcp-cloudrun, azure-containerapps, "
						   "digitalocean, kubernetes)");
	r->ci.command = r->cd.command = r->dockerfile.command = r->command.data;
	return 0;
}

/* The analysis the generators read: a saved document, or PATH analysed now. */
static json_t *generate_analysis(const struct generate_request *r, const char *root,
				 struct cmd_context *ctx, struct err *e)
{
	json_t *document = NULL;
	if (r->analysis_file) {
		if (json_read_file(&document, r->analysis_file, e) < 0)
			return NULL;
		if (!str_eq(json_string_value(json_object_get(document, "schema")),
			    ANALYSIS_SCHEMA)) {
			err_set(e, "%s: not an %s document", r->analysis_file, ANALYSIS_SCHEMA);
			json_decref(document);
			return NULL;
		}
		return document;
	}
	struct analysis *analysis = NULL;
	struct analyze_options options = { .progress = !ctx->quiet && !r->json };
	if (analyze_repository(&analysis, root, &options, e) < 0)
		return NULL;
	document = document_render(analysis);
	analysis_free(analysis);
	return document;
}

static void generate_print_finding(const char *path, const struct check_finding *f)
{
	printf("%s:%d:%d: %s: %s: %s\n", path, f->line, f->column, f->severity, f->rule,
	       f->message);
}

/* `ampel generate check FILE...`: 1 when any file has an error finding. */
static int generate_check_files(const struct vec *files)
{
	int status = EXIT_OK;
	for (size_t i = 0; i < files->len; i++) {
		const char *path = files->items[i];
		struct buf text = BUF_INIT;
		struct err e = ERR_INIT;
		struct vec findings = VEC_INIT;
		if (buf_read_file(&text, path, 16 << 20, &e) < 0 ||
		    check_workflow(path, buf_cstr(&text), text.len, &findings, &e) < 0) {
			status = cmd_fail("%s", e.msg);
		}
		for (size_t j = 0; j < findings.len; j++) {
			const struct check_finding *f = findings.items[j];
			generate_print_finding(path, f);
			if (strcmp(f->severity, "error") == 0)
				status = EXIT_FAILED;
		}
		vec_free(&findings, check_finding_free);
		buf_free(&text);
	}
	return status;
}

static int generate_run(const struct generate_request *r, const json_t *analysis,
			struct gen_files *files, struct err *e)
{
	if (strcmp(r->kind, "ci") == 0)
		return gen_ci(analysis, &r->ci, files, e);
	if (strcmp(r->kind, "cd") == 0)
		return gen_cd(analysis, &r->cd, files, e);
	if (strcmp(r->kind, "dockerfile") == 0)
		return gen_dockerfile(analysis, &r->dockerfile, files, e);
	return gen_updates(analysis, r->renovate, r->command.data, files, e);
}

static int generate_emit(const struct generate_request *r, const char *root,
			 const struct gen_files *files)
{
	struct err e = ERR_INIT;
	if (r->json) {
		json_t *listing = gen_files_to_json(files);
		struct buf out = BUF_INIT;
		json_write_buf(&out, listing, JSON_WRITE_PRETTY, NULL);
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		json_decref(listing);
		return EXIT_OK;
	}
	if (!r->out_dir && !r->write) {
		gen_files_print(files, stdout);
		return EXIT_OK;
	}
	const char *dir = r->out_dir ? r->out_dir : root;
	if (gen_files_write(files, dir, r->force, &e) < 0)
		return cmd_fail("%s", e.msg);
	for (size_t i = 0; i < files->files.len; i++) {
		const struct gen_file *f = files->files.items[i];
		fprintf(stderr, "wrote %s/%s\n", dir, f->path);
	}
	return EXIT_OK;
}

static void generate_request_free(struct generate_request *r)
{
	vec_free(&r->ci.branches, free);
	vec_free(&r->ci.custom_steps, free);
	vec_free(&r->operands, NULL);
	buf_free(&r->command);
}

int cmd_generate(int argc, char **argv, struct cmd_context *ctx)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(cmd_generate_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	struct generate_request r = { 0 };
	int status = generate_parse(argc, argv, &r);
	if (status != 0) {
		generate_request_free(&r);
		return status < 0 ? EXIT_OK : status;
	}
	if (strcmp(r.kind, "check") == 0) {
		status = generate_check_files(&r.operands);
		generate_request_free(&r);
		return status;
	}

	const char *root = r.operands.len ? r.operands.items[0] : ".";
	struct stat st;
	if (!r.analysis_file && (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))) {
		generate_request_free(&r);
		return cmd_usage_error("generate", "'%s' is not a directory", root);
	}
	struct err e = ERR_INIT;
	json_t *analysis = generate_analysis(&r, root, ctx, &e);
	if (!analysis) {
		generate_request_free(&r);
		return cmd_fail("%s", e.msg);
	}
	struct gen_files files = GEN_FILES_INIT;
	int rc = generate_run(&r, analysis, &files, &e);
	if (rc == 0)
		rc = check_generated_files(NULL, &files, &e);
	if (rc == GEN_UNSUPPORTED) {
		fprintf(stderr, "ampel generate %s: unsupported: %s\n", r.kind, e.msg);
		status = EXIT_UNSUPPORTED;
	} else if (rc < 0) {
		status = cmd_fail("%s", e.msg);
	} else {
		status = generate_emit(&r, root, &files);
	}
	gen_files_free(&files);
	json_decref(analysis);
	generate_request_free(&r);
	return status;
}
