#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

const char cmd_help_usage[] = "usage: ampel help [COMMAND]\n"
			      "\n"
			      "Without COMMAND, lists the commands; with it, shows its usage.\n";

static void help_print_overview(FILE *out)
{
	fputs("usage: ampel [GLOBAL OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Ampel carries code from a commit to production: it reads a repository\n"
	      "and writes the CI, container and deployment files that fit it.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (const struct command *c = cmd_table; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fputs("\n"
	      "Global options:\n"
	      "  -h, --help              show this help\n"
	      "  -V, --version           show the version\n"
	      "  -q, --quiet             no progress display\n"
	      "      --config FILE       settings file (default ./ampel.yaml; env AMPEL_CONFIG)\n"
	      "      --config-dir DIR    override built-in knowledge files (env AMPEL_CONFIG_DIR)\n"
	      "      --log-level LEVEL   debug, info, warn, error or off (env AMPEL_LOG_LEVEL)\n"
	      "      --log-format FMT    text or json (env AMPEL_LOG_FORMAT)\n"
	      "\n"
	      "Run 'ampel help COMMAND' for the options of one command.\n",
	      out);
}

int cmd_help(int argc, char **argv, struct cmd_context *ctx)
{
	(void)ctx;
	if (argc < 2) {
		help_print_overview(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cmd_usage_error("help", "expected one command name, got %d", argc - 1);
	const struct command *c = cmd_find(argv[1]);
	if (!c) {
		fprintf(stderr, "ampel help: '%s' is not an ampel command. See 'ampel --help'.\n",
			argv[1]);
		return EXIT_USAGE;
	}
	fputs(c->usage, stdout);
	return EXIT_OK;
}
