/*
 * cmd: the subcommands of the ampel program and what they share.
 *
 * Like git's builtin/, each subcommand is one file src/cmd/cmd_<name>.c
 * that parses its arguments and calls library modules; main.c only handles
 * global options and dispatch. Exit status: 0 success, 1 the work failed,
 * 2 a usage error.
 */
#ifndef AMPEL_CMD_CMD_H
#define AMPEL_CMD_CMD_H

#include <stdbool.h>

struct config;

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct cmd_context {
	struct config *config; /* defaults <- ampel.yaml <- AMPEL_* <- flags */
	bool quiet;	       /* no progress display */
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct cmd_context *ctx);
	const char *summary; /* one line for `ampel --help` */
	const char *usage;   /* the whole text for `ampel help <name>` */
};

/* The table of subcommands, ended by an entry with name == NULL. */
extern const struct command cmd_table[];
const struct command *cmd_find(const char *name);

/* Prints "ampel <cmd>: <message>" and a pointer to help; returns EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "ampel: <message>" for a failure; returns EXIT_FAILED. */
int cmd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_help(int argc, char **argv, struct cmd_context *ctx);
int cmd_version(int argc, char **argv, struct cmd_context *ctx);
int cmd_analyze(int argc, char **argv, struct cmd_context *ctx);
int cmd_generate(int argc, char **argv, struct cmd_context *ctx);
int cmd_run(int argc, char **argv, struct cmd_context *ctx);
int cmd_serve(int argc, char **argv, struct cmd_context *ctx);
int cmd_admin(int argc, char **argv, struct cmd_context *ctx);

struct err;
struct store;
/* The server's store from the settings (database_url, else SQLite under data_dir), migrated. */
int cmd_open_store(struct cmd_context *ctx, struct store **out, struct err *e);

extern const char cmd_help_usage[];
extern const char cmd_version_usage[];
extern const char cmd_analyze_usage[];
extern const char cmd_generate_usage[];
extern const char cmd_run_usage[];
extern const char cmd_serve_usage[];
extern const char cmd_admin_usage[];

#endif
