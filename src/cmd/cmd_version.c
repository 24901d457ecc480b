#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

const char cmd_version_usage[] = "usage: ampel version\n"
				 "\n"
				 "Prints the version of ampel.\n";

int cmd_version(int argc, char **argv, struct cmd_context *ctx)
{
	(void)ctx;
	if (argc > 1) {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
			fputs(cmd_version_usage, stdout);
			return EXIT_OK;
		}
		return cmd_usage_error("version", "unexpected argument '%s'", argv[1]);
	}
	printf("ampel %s\n", AMPEL_VERSION);
	return EXIT_OK;
}
