/* workflow_commands: the runner's `::command::` protocol; see workflow_commands.h. */
#include "pipeline/workflow_commands.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/str.h"
#include "util/xalloc.h"

/* The commands the runner registers, which alone make a line a command. */
static const struct {
	const char *name;
	enum workflow_command_kind kind;
} command_names[] = {
	{ "add-mask", WORKFLOW_COMMAND_ADD_MASK },
	{ "group", WORKFLOW_COMMAND_GROUP },
	{ "endgroup", WORKFLOW_COMMAND_ENDGROUP },
	{ "error", WORKFLOW_COMMAND_ERROR },
	{ "warning", WORKFLOW_COMMAND_WARNING },
	{ "notice", WORKFLOW_COMMAND_NOTICE },
	{ "debug", WORKFLOW_COMMAND_DEBUG },
	{ "set-output", WORKFLOW_COMMAND_SET_OUTPUT },
	{ "save-state", WORKFLOW_COMMAND_SAVE_STATE },
	{ "set-env", WORKFLOW_COMMAND_SET_ENV },
	{ "add-path", WORKFLOW_COMMAND_ADD_PATH },
	{ "echo", WORKFLOW_COMMAND_ECHO },
	{ "add-matcher", WORKFLOW_COMMAND_ADD_MATCHER },
	{ "remove-matcher", WORKFLOW_COMMAND_REMOVE_MATCHER },
	{ "stop-commands", WORKFLOW_COMMAND_STOP_COMMANDS },
};

#define COMMAND_COUNT (sizeof(command_names) / sizeof(command_names[0]))

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The command_names index of name, or -1. */
static int find_command(const char *name, size_t len)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		if (str_eq_icase_n(name, len, command_names[i].name, strlen(command_names[i].name)))
			return (int)i;
	}
	return -1;
}

void workflow_command_parser_init(struct workflow_command_parser *p)
{
	memset(p, 0, sizeof(*p));
}

void workflow_command_parser_free(struct workflow_command_parser *p)
{
	free(p->stop_token);
	memset(p, 0, sizeof(*p));
}

void workflow_command_clear(struct workflow_command *cmd)
{
	for (size_t i = 0; i < cmd->owned_count; i++)
		free(cmd->owned[i]);
	free(cmd->owned);
	free(cmd->properties);
	memset(cmd, 0, sizeof(*cmd));
}

bool workflow_command_parser_stopped(const struct workflow_command_parser *p)
{
	return p->stopped;
}

/* Hands s to the command, which frees it in workflow_command_clear. */
static char *keep(struct workflow_command *cmd, char *s)
{
	if (cmd->owned_count == cmd->owned_cap) {
		cmd->owned_cap = xalloc_grow_capacity(cmd->owned_cap, cmd->owned_count + 1);
		cmd->owned = xrealloc(cmd->owned, cmd->owned_cap * sizeof(*cmd->owned));
	}
	cmd->owned[cmd->owned_count++] = s;
	return s;
}

static char *keep_copy(struct workflow_command *cmd, const char *s, size_t len)
{
	char *copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, s, len);
	copy[len] = '\0';
	return keep(cmd, copy);
}

/*
 * The runner's unescaping, in one pass: it replaces the sequences one after
 * the other with %25 last, which gives the same result since no replacement
 * produces a '%'. Only the upper-case spellings count, as there.
 */
static char *unescape(struct workflow_command *cmd, const char *s, size_t len, bool property,
		      size_t *out_len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len) {
			char a = s[i + 1];
			char b = s[i + 2];
			char c = 0;
			if (a == '2' && b == '5')
				c = '%';
			else if (a == '0' && b == 'D')
				c = '\r';
			else if (a == '0' && b == 'A')
				c = '\n';
			else if (property && a == '3' && b == 'A')
				c = ':';
			else if (property && a == '2' && b == 'C')
				c = ',';
			if (c) {
				out[n++] = c;
				i += 2;
				continue;
			}
		}
		out[n++] = s[i];
	}
	out[n] = '\0';
	if (out_len)
		*out_len = n;
	return keep(cmd, out);
}

static void add_property(struct workflow_command *cmd, size_t *cap, const char *name,
			 size_t name_len, const char *value, size_t value_len)
{
	char *unescaped = unescape(cmd, value, value_len, true, NULL);
	for (size_t i = 0; i < cmd->properties_count; i++) {
		struct workflow_command_property *prop = &cmd->properties[i];
		if (str_eq_icase_n(prop->name, strlen(prop->name), name, name_len)) {
			prop->value = unescaped;
			return;
		}
	}
	if (cmd->properties_count == *cap) {
		*cap = xalloc_grow_capacity(*cap, cmd->properties_count + 1);
		cmd->properties = xrealloc(cmd->properties, *cap * sizeof(*cmd->properties));
	}
	cmd->properties[cmd->properties_count].name = keep_copy(cmd, name, name_len);
	cmd->properties[cmd->properties_count].value = unescaped;
	cmd->properties_count++;
}

/* "k=v,k2=v2" after the command name, trimmed as the runner trims it. */
static void parse_properties(struct workflow_command *cmd, const char *s, size_t len)
{
	size_t cap = 0;
	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	const char *end = s + len;
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *entry_end = comma ? comma : end;
		const char *eq = memchr(s, '=', (size_t)(entry_end - s));
		/* A key holding a NUL could never be looked up by name. */
		if (eq && eq > s && eq + 1 < entry_end && !memchr(s, '\0', (size_t)(eq - s)))
			add_property(cmd, &cap, s, (size_t)(eq - s), eq + 1,
				     (size_t)(entry_end - eq - 1));
		s = comma ? comma + 1 : end;
	}
}

/* A line number or column the way annotations take them: 1 or more. */
static long positive_number(const char *s)
{
	if (!s)
		return 0;
	while (is_space(*s))
		s++;
	if (*s == '+')
		s++;
	long value = 0;
	bool digits = false;
	while (*s >= '0' && *s <= '9') {
		if (value > (INT_MAX - (*s - '0')) / 10)
			return 0;
		value = value * 10 + (*s - '0');
		digits = true;
		s++;
	}
	while (is_space(*s))
		s++;
	return digits && *s == '\0' ? value : 0;
}

/* The runner's ValidateLinesAndColumns, which drops what GitHub cannot place. */
static void read_annotation(struct workflow_command *cmd)
{
	struct workflow_annotation *a = &cmd->annotation;
	a->file = workflow_command_property(cmd, "file");
	a->title = workflow_command_property(cmd, "title");
	a->line = positive_number(workflow_command_property(cmd, "line"));
	a->end_line = positive_number(workflow_command_property(cmd, "endLine"));
	a->column = positive_number(workflow_command_property(cmd, "col"));
	a->end_column = positive_number(workflow_command_property(cmd, "endColumn"));
	bool has_column = a->column || a->end_column;
	if (a->end_line && !a->line)
		a->line = a->end_line;
	if (a->end_column && !a->column)
		a->column = a->end_column;
	if (!a->line && has_column)
		a->column = a->end_column = 0;
	if (a->end_line && a->line != a->end_line && has_column)
		a->column = a->end_column = 0;
	if (a->line && a->end_line && a->end_line < a->line)
		a->line = a->end_line = 0;
	if (a->column && a->end_column && a->end_column < a->column)
		a->column = a->end_column = 0;
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_space(s[i]))
			return false;
	}
	return true;
}

static void set_error(struct workflow_command *cmd, bool fails_step, struct buf *message)
{
	cmd->error = keep(cmd, buf_detach(message));
	cmd->fails_step = fails_step;
}

static void check_disabled(struct workflow_command *cmd)
{
	struct buf b = BUF_INIT;
	buf_addf(&b,
		 "the %s command is disabled: use the environment files ($GITHUB_ENV, "
		 "$GITHUB_PATH) instead, or set ACTIONS_ALLOW_UNSECURE_COMMANDS to true to "
		 "allow it",
		 cmd->name);
	set_error(cmd, true, &b);
}

static void require_name(struct workflow_command *cmd)
{
	cmd->target_name = workflow_command_property(cmd, "name");
	if (cmd->target_name)
		return;
	struct buf b = BUF_INIT;
	buf_addf(&b, "the %s command needs a name property: ::%s name=NAME::VALUE", cmd->name,
		 cmd->name);
	set_error(cmd, true, &b);
}

static void deprecated(struct workflow_command *cmd, const char *file)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "the %s command is deprecated: append NAME=VALUE to the file $%s instead",
		 cmd->name, file);
	cmd->warning = keep(cmd, buf_detach(&b));
}

static bool stop_token_valid(const char *token, size_t len)
{
	return len > 0 && !str_eq_icase_n(token, len, "pause-logging", strlen("pause-logging")) &&
	       find_command(token, len) < 0;
}

/* What each command needs beyond its syntax, with the runner's verdicts. */
static void check_command(struct workflow_command_parser *p, struct workflow_command *cmd)
{
	struct buf b = BUF_INIT;
	switch (cmd->kind) {
	case WORKFLOW_COMMAND_ADD_MASK:
		if (is_blank(cmd->message, cmd->message_len))
			cmd->warning = "add-mask: the value is empty, nothing is masked";
		break;
	case WORKFLOW_COMMAND_ERROR:
	case WORKFLOW_COMMAND_WARNING:
	case WORKFLOW_COMMAND_NOTICE:
		read_annotation(cmd);
		break;
	case WORKFLOW_COMMAND_SET_OUTPUT:
		require_name(cmd);
		if (!cmd->error)
			deprecated(cmd, "GITHUB_OUTPUT");
		break;
	case WORKFLOW_COMMAND_SAVE_STATE:
		require_name(cmd);
		if (!cmd->error)
			deprecated(cmd, "GITHUB_STATE");
		break;
	case WORKFLOW_COMMAND_SET_ENV:
		if (!p->allow_unsecure_commands) {
			check_disabled(cmd);
			break;
		}
		require_name(cmd);
		if (!cmd->error && strcasecmp(cmd->target_name, "NODE_OPTIONS") == 0) {
			/* The runner refuses it with an error annotation but
			 * lets the step go on. */
			buf_adds(&b,
				 "set-env: NODE_OPTIONS cannot be changed by a workflow command");
			set_error(cmd, false, &b);
		}
		break;
	case WORKFLOW_COMMAND_ADD_PATH:
		if (!p->allow_unsecure_commands) {
			check_disabled(cmd);
		} else if (cmd->message_len == 0) {
			buf_adds(&b,
				 "the add-path command needs a directory: ::add-path::DIRECTORY");
			set_error(cmd, true, &b);
		}
		break;
	case WORKFLOW_COMMAND_ECHO: {
		const char *s = cmd->message;
		size_t len = cmd->message_len;
		while (len > 0 && is_space(*s)) {
			s++;
			len--;
		}
		while (len > 0 && is_space(s[len - 1]))
			len--;
		if (str_eq_icase_n(s, len, "on", 2)) {
			cmd->echo_on = true;
		} else if (!str_eq_icase_n(s, len, "off", 3)) {
			buf_addf(&b, "echo: the value must be 'on' or 'off', not '%.*s'",
				 len > 40 ? 40 : (int)len, s);
			set_error(cmd, true, &b);
		}
		break;
	}
	case WORKFLOW_COMMAND_STOP_COMMANDS:
		if (!stop_token_valid(cmd->message, cmd->message_len) &&
		    !p->allow_unsecure_stop_tokens) {
			buf_adds(&b,
				 "stop-commands: the token must not be empty, 'pause-logging' or "
				 "the name of a workflow command (set "
				 "ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS to true to allow it)");
			set_error(cmd, true, &b);
			break;
		}
		free(p->stop_token);
		p->stop_token = xmalloc(cmd->message_len + 1);
		memcpy(p->stop_token, cmd->message, cmd->message_len + 1);
		p->stop_token_len = cmd->message_len;
		p->stopped = true;
		break;
	default:
		break;
	}
}

int workflow_command_parse_line(struct workflow_command_parser *p, const char *line, size_t len,
				struct workflow_command *out)
{
	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (len > 0 && is_space(*line)) {
		line++;
		len--;
	}
	if (len < 4 || line[0] != ':' || line[1] != ':')
		return 0;
	/* The command ends at the first "::" after the opening one. */
	size_t end = 2;
	while (end + 1 < len && !(line[end] == ':' && line[end + 1] == ':'))
		end++;
	if (end + 1 >= len)
		return 0;
	const char *info = line + 2;
	size_t info_len = end - 2;
	const char *space = memchr(info, ' ', info_len);
	size_t name_len = space ? (size_t)(space - info) : info_len;

	if (p->stopped) {
		/* Only the token is a command now, and an empty one never is. */
		if (p->stop_token_len == 0 ||
		    !str_eq_icase_n(info, name_len, p->stop_token, p->stop_token_len))
			return 0;
		out->kind = WORKFLOW_COMMAND_RESUME_COMMANDS;
		out->name = keep_copy(out, info, name_len);
		p->stopped = false;
		free(p->stop_token);
		p->stop_token = NULL;
		p->stop_token_len = 0;
	} else {
		int found = find_command(info, name_len);
		if (found < 0)
			return 0;
		out->kind = command_names[found].kind;
		out->name = command_names[found].name;
	}
	if (space && name_len > 0)
		parse_properties(out, space + 1, info_len - name_len - 1);
	out->message = unescape(out, line + end + 2, len - end - 2, false, &out->message_len);
	if (out->kind != WORKFLOW_COMMAND_RESUME_COMMANDS)
		check_command(p, out);
	return 1;
}

const char *workflow_command_property(const struct workflow_command *cmd, const char *name)
{
	for (size_t i = 0; i < cmd->properties_count; i++) {
		if (strcasecmp(cmd->properties[i].name, name) == 0)
			return cmd->properties[i].value;
	}
	return NULL;
}

bool workflow_command_flag_enabled(const char *value)
{
	if (!value)
		return false;
	size_t len = strlen(value);
	while (len > 0 && is_space(*value)) {
		value++;
		len--;
	}
	while (len > 0 && is_space(value[len - 1]))
		len--;
	return str_eq_icase_n(value, len, "true", 4);
}
