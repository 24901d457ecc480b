/*
 * workflow_commands: recognises the `::name key=value,...::message` lines a
 * step prints on stdout to talk to the runner (set an output, mask a value,
 * annotate a file, fold the log into groups).
 *
 * The rules are the GitHub runner's (ActionCommand.TryParseV2 and
 * ActionCommandManager), so a workflow behaves here as it does there:
 *
 * - Leading whitespace is skipped; the name ends at the first space or
 *   "::" and is matched ignoring case. A name the runner does not register
 *   makes the line plain output, shown as printed: `::set-outputs ...::`,
 *   `::`, `:: ::`. The legacy `##[command]` form is not recognised.
 * - Properties are split at ',' then at the first '='; an entry without a
 *   key or a value is dropped, a repeated key (any case) keeps the last.
 *   Values unescape %25 % %0D CR %0A LF %3A : %2C ,; the message %25 %0D
 *   %0A only; other % sequences (%0a too) stay as written.
 * - `::stop-commands::TOKEN` makes every line plain output until a command
 *   named TOKEN (ignoring case) resumes; the parser tracks this itself.
 *   Like the runner, it refuses an empty token, `pause-logging` or a command
 *   name unless ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS allows it.
 * - set-env and add-path are disabled unless ACTIONS_ALLOW_UNSECURE_COMMANDS
 *   allows them; set-output and save-state work but carry the runner's
 *   deprecation warning.
 *
 * The runner keeps one such state per job, so stop-commands lasts across
 * steps: an executor should keep one parser per job.
 */
#ifndef AMPEL_PIPELINE_WORKFLOW_COMMANDS_H
#define AMPEL_PIPELINE_WORKFLOW_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

enum workflow_command_kind {
	WORKFLOW_COMMAND_ADD_MASK,	 /* message: the value to mask */
	WORKFLOW_COMMAND_GROUP,		 /* message: the group title */
	WORKFLOW_COMMAND_ENDGROUP,	 /* ends the innermost group */
	WORKFLOW_COMMAND_ERROR,		 /* annotations: message, properties in .annotation */
	WORKFLOW_COMMAND_WARNING,	 /* */
	WORKFLOW_COMMAND_NOTICE,	 /* */
	WORKFLOW_COMMAND_DEBUG,		 /* message shown only with step debug logging */
	WORKFLOW_COMMAND_SET_OUTPUT,	 /* .target_name = message (deprecated) */
	WORKFLOW_COMMAND_SAVE_STATE,	 /* .target_name = message (deprecated) */
	WORKFLOW_COMMAND_SET_ENV,	 /* .target_name = message (disabled by default) */
	WORKFLOW_COMMAND_ADD_PATH,	 /* message: a directory to prepend (disabled by default) */
	WORKFLOW_COMMAND_ECHO,		 /* .echo_on: echo command lines in the log or not */
	WORKFLOW_COMMAND_ADD_MATCHER,	 /* problem matchers: recognised so that the line */
	WORKFLOW_COMMAND_REMOVE_MATCHER, /* is not shown, not otherwise implemented */
	WORKFLOW_COMMAND_STOP_COMMANDS,	 /* message: the token; the parser is now stopped */
	WORKFLOW_COMMAND_RESUME_COMMANDS, /* the token line; commands are processed again */
};

struct workflow_command_property {
	char *name; /* as written */
	char *value;
};

/*
 * error, warning, notice: the runner's reading of file, line, endLine, col,
 * endColumn and title. A number that is not a positive integer is absent
 * (0); an endLine without line becomes the line, columns are dropped
 * without a line or across several lines, and reversed ranges are dropped,
 * as the runner does. .properties keeps what was written.
 */
struct workflow_annotation {
	const char *file;  /* NULL when absent */
	const char *title; /* NULL when absent */
	long line;
	long end_line;
	long column;
	long end_column;
};

/*
 * A recognised command. It owns its strings until workflow_command_clear;
 * they are NUL-terminated, and message_len counts a message that holds NUL
 * bytes.
 */
struct workflow_command {
	enum workflow_command_kind kind;
	const char *name; /* canonical lower-case name ("set-output"); resume: the token */
	struct workflow_command_property *properties;
	size_t properties_count;
	const char *message; /* never NULL in a recognised command */
	size_t message_len;
	/* set-output, save-state, set-env: the "name" property; NULL when missing. */
	const char *target_name;
	bool echo_on; /* echo: on (true) or off */
	struct workflow_annotation annotation;
	/*
	 * When set the runner would not apply the command: report this as an
	 * error and skip the command; when fails_step, the step fails too
	 * (set-env disabled or without a name, a bad stop token, `echo maybe`).
	 */
	const char *error;
	bool fails_step;
	/* When set, report this as a warning; the command still applies. */
	const char *warning;

	/* Private: the allocations workflow_command_clear frees. */
	char **owned;
	size_t owned_count;
	size_t owned_cap;
};

struct workflow_command_parser {
	/* Set by the caller after init, from the job's environment. */
	bool allow_unsecure_commands;	 /* ACTIONS_ALLOW_UNSECURE_COMMANDS */
	bool allow_unsecure_stop_tokens; /* ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS */

	/* Private. */
	bool stopped;
	char *stop_token;
	size_t stop_token_len;
};

void workflow_command_parser_init(struct workflow_command_parser *p);
void workflow_command_parser_free(struct workflow_command_parser *p);

/*
 * Reads one line of a step's stdout (without its "\n"; a trailing "\r" is
 * ignored). Returns 1 and fills *out when the line is a command, including
 * the stop-commands line and the line that resumes; the caller then calls
 * workflow_command_clear(out). Returns 0, with *out empty, when the line is
 * output to show, which is every line while commands are stopped. Never
 * fails: anything malformed is plain output or a command with .error set.
 */
int workflow_command_parse_line(struct workflow_command_parser *p, const char *line, size_t len,
				struct workflow_command *out);
/* Frees what a command owns and empties it; harmless on an empty one. */
void workflow_command_clear(struct workflow_command *cmd);

/* True while stop-commands is in effect. */
bool workflow_command_parser_stopped(const struct workflow_command_parser *p);

/* The value of the property name (ignoring case, as the runner does), or NULL. */
const char *workflow_command_property(const struct workflow_command *cmd, const char *name);

/*
 * How the runner reads ACTIONS_ALLOW_UNSECURE_COMMANDS and its kin: "true"
 * in any case, spaces around allowed. NULL and anything else are false.
 */
bool workflow_command_flag_enabled(const char *value);

#endif
