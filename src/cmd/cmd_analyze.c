#include "cmd/cmd.h"

#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include "intel/fingerprint.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char cmd_analyze_usage[] =
	"usage: ampel analyze [--json] [PATH] [--similar OTHER]...\n"
	"\n"
	"Tells what the repository at PATH (default: the current directory) is:\n"
	"for each project in it, its languages, frameworks, package managers, build\n"
	"and test tools, runtime versions and the commands that install, build,\n"
	"test and start it.\n"
	"\n"
	"Options:\n"
	"  --json            print the ampel.analysis/v1 document (see docs/analysis.md)\n"
	"  --similar OTHER   rank OTHER (a directory, or a saved --json document) by how\n"
	"                    similar its stack is to PATH's (cosine of the fingerprints);\n"
	"                    repeat for several\n"
	"  -h, --help        show this help\n";

/* The analysis document of a directory, or a saved one read from a file. */
static json_t *analyze_document(const char *path, bool progress, struct err *e)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		err_set(e, "'%s' is not a directory or a file", path);
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		json_t *document = NULL;
		if (json_read_file(&document, path, e) < 0)
			return NULL;
		return document;
	}
	struct analysis *analysis = NULL;
	struct analyze_options options = { .progress = progress };
	if (analyze_repository(&analysis, path, &options, e) < 0)
		return NULL;
	json_t *document = document_render(analysis);
	analysis_free(analysis);
	return document;
}

static int analyze_print_similar(json_t *document, const struct vec *others, bool json,
				 bool progress)
{
	struct err e = ERR_INIT;
	json_t **docs = xcalloc(others->len, sizeof(*docs));
	json_t *ranking = NULL;
	int status = EXIT_OK;
	for (size_t i = 0; i < others->len; i++) {
		docs[i] = analyze_document(others->items[i], progress, &e);
		if (!docs[i]) {
			status = cmd_fail("%s", e.msg);
			goto out;
		}
	}
	ranking = fingerprint_similar_json(document, docs, others->len, &e);
	if (!ranking) {
		status = cmd_fail("%s", e.msg);
		goto out;
	}
	if (json) {
		json_t *result = json_pack("{s:O, s:O}", "root", json_object_get(document, "root"),
					   "similar", ranking);
		struct buf out = BUF_INIT;
		json_write_buf(&out, result, JSON_WRITE_PRETTY, NULL);
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		json_decref(result);
		goto out;
	}
	printf("similarity  repository\n");
	size_t i;
	json_t *match;
	json_array_foreach(ranking, i, match)
	{
		printf("%10.2f  %s", json_real_value(json_object_get(match, "similarity")),
		       json_string_value(json_object_get(match, "root")));
		size_t j;
		json_t *feature;
		json_array_foreach(json_object_get(match, "shared"), j, feature)
			printf("%s%s", j ? ", " : "  shares ", json_string_value(feature));
		putchar('\n');
	}
out:
	json_decref(ranking);
	for (size_t k = 0; k < others->len; k++)
		json_decref(docs[k]);
	free(docs);
	return status;
}

int cmd_analyze(int argc, char **argv, struct cmd_context *ctx)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "similar", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	struct vec others = VEC_INIT;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 's':
			vec_push(&others, optarg);
			break;
		case 'h':
			vec_free(&others, NULL);
			fputs(cmd_analyze_usage, stdout);
			return EXIT_OK;
		default:
			vec_free(&others, NULL);
			if (optopt == 's')
				return cmd_usage_error("analyze", "--similar needs a directory");
			return cmd_usage_error("analyze", "unknown option '%s'", argv[optind - 1]);
		}
	}
	int status = EXIT_OK;
	const char *root = optind < argc ? argv[optind] : ".";
	struct stat st;
	if (argc - optind > 1)
		status = cmd_usage_error("analyze", "expected one PATH, got %d", argc - optind);
	else if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		status = cmd_usage_error("analyze", "'%s' is not a directory", root);
	if (status != EXIT_OK) {
		vec_free(&others, NULL);
		return status;
	}

	struct err e = ERR_INIT;
	bool progress = !ctx->quiet && !json;
	json_t *document = analyze_document(root, progress, &e);
	if (!document) {
		vec_free(&others, NULL);
		return cmd_fail("%s", e.msg);
	}
	if (others.len) {
		status = analyze_print_similar(document, &others, json, progress);
	} else if (json) {
		struct buf out = BUF_INIT;
		if (json_write_buf(&out, document, JSON_WRITE_PRETTY, &e) < 0)
			status = cmd_fail("%s", e.msg);
		else
			fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	} else {
		document_print_summary(stdout, document);
	}
	json_decref(document);
	vec_free(&others, NULL);
	return status;
}
