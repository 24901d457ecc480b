/*
 * main: global options, settings, and dispatch to one subcommand.
 */
#include "cmd/cmd.h"
#include "util/config.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/log.h"
#include "util/progress.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

const struct command cmd_table[] = {
	{ "analyze", cmd_analyze, "tell what a repository is: languages, frameworks, commands",
	  cmd_analyze_usage },
	{ "generate", cmd_generate, "write CI, CD, Dockerfile or dependency-update configs",
	  cmd_generate_usage },
	{ "run", cmd_run, "run the repository's workflows on this machine, like a CI would",
	  cmd_run_usage },
	{ "serve", cmd_serve, "run the platform server (HTTP API, health, metrics)",
	  cmd_serve_usage },
	{ "admin", cmd_admin, "server maintenance: users, audit verification, key rotation",
	  cmd_admin_usage },
	{ "help", cmd_help, "show help for ampel or one command", cmd_help_usage },
	{ "version", cmd_version, "show the version", cmd_version_usage },
	{ NULL, NULL, NULL, NULL },
};

const struct command *cmd_find(const char *name)
{
	for (const struct command *c = cmd_table; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ampel %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'ampel help %s'.\n", cmd);
	return EXIT_USAGE;
}

int cmd_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("ampel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILED;
}

/* Global options given on the command line, applied after file and env. */
struct main_flags {
	const char *config_file;
	const char *config_dir;
	const char *log_level;
	const char *log_format;
	bool quiet;
};

enum { OPT_CONFIG = 256, OPT_CONFIG_DIR, OPT_LOG_LEVEL, OPT_LOG_FORMAT };

static const struct option main_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ NULL, 0, NULL, 0 },
};

/* Layers the settings: defaults <- ampel.yaml <- AMPEL_* <- flags. */
static int main_load_settings(struct config *cfg, const struct main_flags *flags, struct err *e)
{
	if (config_load_standard(cfg, flags->config_file, environ, e) < 0)
		return -1;
	if (flags->config_dir &&
	    config_set(cfg, "config_dir", flags->config_dir, "--config-dir", e) < 0)
		return -1;
	if (flags->log_level &&
	    config_set(cfg, "log.level", flags->log_level, "--log-level", e) < 0)
		return -1;
	if (flags->log_format &&
	    config_set(cfg, "log.format", flags->log_format, "--log-format", e) < 0)
		return -1;
	if (flags->quiet && config_set(cfg, "quiet", "true", "--quiet", e) < 0)
		return -1;
	return 0;
}

/* Hands the settings that shape every command to the modules that use them. */
static void main_apply_settings(const struct config *cfg, struct cmd_context *ctx)
{
	enum log_level level = LOG_WARN;
	enum log_format format = LOG_FORMAT_TEXT;
	/* Both were validated against their allowed values when loaded. */
	log_parse_level(config_get(cfg, "log.level"), &level);
	log_parse_format(config_get(cfg, "log.format"), &format);
	log_set_level(level);
	log_set_format(format);
	const char *dir = config_get(cfg, "config_dir");
	if (dir && *dir)
		embed_set_override_dir(dir);
	ctx->quiet = config_get_bool(cfg, "quiet");
	progress_set_quiet(ctx->quiet);
}

int main(int argc, char **argv)
{
	struct main_flags flags = { 0 };
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+hVq", main_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cmd_help(1, argv, NULL);
		case 'V':
			return cmd_version(1, argv, NULL);
		case 'q':
			flags.quiet = true;
			break;
		case OPT_CONFIG:
			flags.config_file = optarg;
			break;
		case OPT_CONFIG_DIR:
			flags.config_dir = optarg;
			break;
		case OPT_LOG_LEVEL:
			flags.log_level = optarg;
			break;
		case OPT_LOG_FORMAT:
			flags.log_format = optarg;
			break;
		default:
			if (optopt && optopt < 256)
				fprintf(stderr, "ampel: option '-%c' %s\n", optopt,
					strchr("hVq", optopt) ? "takes no value" : "is unknown");
			else
				fprintf(stderr,
					"ampel: option '%s' is unknown or lacks its value\n",
					argv[optind - 1]);
			fputs("See 'ampel --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cmd_help(1, argv, NULL);
		return EXIT_USAGE;
	}

	const char *name = argv[optind];
	const struct command *command = cmd_find(name);
	if (!command) {
		fprintf(stderr, "ampel: '%s' is not an ampel command. See 'ampel --help'.\n", name);
		return EXIT_USAGE;
	}

	struct err e = ERR_INIT;
	struct cmd_context ctx = { 0 };
	ctx.config = config_new();
	if (main_load_settings(ctx.config, &flags, &e) < 0) {
		fprintf(stderr, "ampel: %s\n", e.msg);
		config_free(ctx.config);
		return EXIT_USAGE;
	}
	main_apply_settings(ctx.config, &ctx);

	/*
	 * Subcommands see their own name as argv[0]; optind = 0 makes glibc's
	 * getopt start over for them.
	 */
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0;
	opterr = 0; /* subcommands word their own errors */
	int status = command->run(sub_argc, sub_argv, &ctx);
	config_free(ctx.config);
	return status;
}
