#include "cmd/cmd.h"

#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char cmd_analyze_usage[] =
	"usage: ampel analyze [--json] [PATH]\n"
	"\n"
	"Tells what the repository at PATH (default: the current directory) is:\n"
	"for each project in it, its languages, frameworks, package managers, build\n"
	"and test tools, runtime versions and the commands that install, build,\n"
	"test and start it.\n"
	"\n"
	"Options:\n"
	"  --json       print the ampel.analysis/v1 document (see docs/analysis.md)\n"
	"  -h, --help   show this help\n";

int cmd_analyze(int argc, char **argv, struct cmd_context *ctx)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(cmd_analyze_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error("analyze", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error("analyze", "expected one PATH, got %d", argc - optind);
	const char *root = optind < argc ? argv[optind] : ".";
	struct stat st;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return cmd_usage_error("analyze", "'%s' is not a directory", root);

	struct err e = ERR_INIT;
	struct analysis *analysis = NULL;
	struct analyze_options analyze_options = { .progress = !ctx->quiet && !json };
	if (analyze_repository(&analysis, root, &analyze_options, &e) < 0)
		return cmd_fail("%s", e.msg);
	json_t *document = document_render(analysis);
	analysis_free(analysis);

	int status = EXIT_OK;
	if (json) {
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
	return status;
}
