#include "pipeline/runner_files.h"
#include "pipeline/workflow_commands.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- workflow commands ------------------------------------------------- */

static int parse(struct workflow_command_parser *p, const char *line, struct workflow_command *cmd)
{
	return workflow_command_parse_line(p, line, strlen(line), cmd);
}

struct command_case {
	const char *line;
	enum workflow_command_kind kind;
	const char *message;
	const char *prop_name; /* one property to check, NULL for none */
	const char *prop_value;
	bool has_error;
	bool has_warning;
};

static const struct command_case commands[] = {
	{ "::add-mask::s3cr3t", WORKFLOW_COMMAND_ADD_MASK, "s3cr3t", NULL, NULL, false, false },
	{ "::add-mask::  ", WORKFLOW_COMMAND_ADD_MASK, "  ", NULL, NULL, false, true },
	{ "::group::Build all", WORKFLOW_COMMAND_GROUP, "Build all", NULL, NULL, false, false },
	{ "::endgroup::", WORKFLOW_COMMAND_ENDGROUP, "", NULL, NULL, false, false },
	{ "::error::it broke", WORKFLOW_COMMAND_ERROR, "it broke", NULL, NULL, false, false },
	{ "::warning file=a.c::careful", WORKFLOW_COMMAND_WARNING, "careful", "file", "a.c", false,
	  false },
	{ "::notice title=FYI::note", WORKFLOW_COMMAND_NOTICE, "note", "title", "FYI", false,
	  false },
	{ "::debug::details", WORKFLOW_COMMAND_DEBUG, "details", NULL, NULL, false, false },
	{ "::set-output name=x::value", WORKFLOW_COMMAND_SET_OUTPUT, "value", "name", "x", false,
	  true },
	{ "::set-output name=x::", WORKFLOW_COMMAND_SET_OUTPUT, "", "name", "x", false, true },
	{ "::set-output::value", WORKFLOW_COMMAND_SET_OUTPUT, "value", NULL, NULL, true, false },
	{ "::set-output name::value", WORKFLOW_COMMAND_SET_OUTPUT, "value", NULL, NULL, true,
	  false },
	{ "::save-state name=pid::42", WORKFLOW_COMMAND_SAVE_STATE, "42", "name", "pid", false,
	  true },
	{ "::set-env name=A::b", WORKFLOW_COMMAND_SET_ENV, "b", "name", "A", true, false },
	{ "::add-path::/opt/bin", WORKFLOW_COMMAND_ADD_PATH, "/opt/bin", NULL, NULL, true, false },
	{ "::echo::on", WORKFLOW_COMMAND_ECHO, "on", NULL, NULL, false, false },
	{ "::echo::maybe", WORKFLOW_COMMAND_ECHO, "maybe", NULL, NULL, true, false },
	{ "::add-matcher::.github/m.json", WORKFLOW_COMMAND_ADD_MATCHER, ".github/m.json", NULL,
	  NULL, false, false },
	{ "::remove-matcher owner=eslint::", WORKFLOW_COMMAND_REMOVE_MATCHER, "", "owner", "eslint",
	  false, false },
	/* Names and property names ignore case; leading blanks and a CR do not count. */
	{ "::SET-OUTPUT NAME=x::v", WORKFLOW_COMMAND_SET_OUTPUT, "v", "name", "x", false, true },
	{ "   \t::debug::indented", WORKFLOW_COMMAND_DEBUG, "indented", NULL, NULL, false, false },
	{ "::debug::crlf\r", WORKFLOW_COMMAND_DEBUG, "crlf", NULL, NULL, false, false },
	/* The message is everything after the second "::". */
	{ "::debug::a::b::", WORKFLOW_COMMAND_DEBUG, "a::b::", NULL, NULL, false, false },
	{ "::debug:: spaced ", WORKFLOW_COMMAND_DEBUG, " spaced ", NULL, NULL, false, false },
	/* Escapes: the message knows %25 %0D %0A, upper case only. */
	{ "::debug::a%25b%0Ac%0Dd%3Ae%2Cf%0a%2", WORKFLOW_COMMAND_DEBUG, "a%b\nc\rd%3Ae%2Cf%0a%2",
	  NULL, NULL, false, false },
	{ "::debug::%250A", WORKFLOW_COMMAND_DEBUG, "%0A", NULL, NULL, false, false },
	/* Properties also know %3A and %2C. */
	{ "::error title=a%3Ab%2Cc%25%0A%0D::m", WORKFLOW_COMMAND_ERROR, "m", "title", "a:b,c%\n\r",
	  false, false },
	/* Entries without a key or a value are dropped; '=' after the first is kept. */
	{ "::error file=,=x,,title=a=b::m", WORKFLOW_COMMAND_ERROR, "m", "title", "a=b", false,
	  false },
	{ "::error file=,=x,,title=a=b::m", WORKFLOW_COMMAND_ERROR, "m", "file", NULL, false,
	  false },
	/* A repeated key keeps the last value, whatever its case. */
	{ "::error Title=a,title=b::m", WORKFLOW_COMMAND_ERROR, "m", "TITLE", "b", false, false },
	/* The property list is trimmed, the keys are not. */
	{ "::error   title=t  ::m", WORKFLOW_COMMAND_ERROR, "m", "title", "t", false, false },
	{ "::error title =t::m", WORKFLOW_COMMAND_ERROR, "m", "title", NULL, false, false },
	{ "::warning title=t,file=x::", WORKFLOW_COMMAND_WARNING, "", "file", "x", false, false },
};

static void test_commands(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command_case *c = &commands[i];
		struct workflow_command_parser p;
		struct workflow_command cmd;
		workflow_command_parser_init(&p);
		if (parse(&p, c->line, &cmd) != 1)
			fail_msg("case %zu: '%s' is not a command", i, c->line);
		if (cmd.kind != c->kind)
			fail_msg("case %zu: '%s' kind %d, expected %d", i, c->line, cmd.kind,
				 c->kind);
		if (strcmp(cmd.message, c->message) != 0)
			fail_msg("case %zu: '%s' message '%s', expected '%s'", i, c->line,
				 cmd.message, c->message);
		assert_int_equal(cmd.message_len, strlen(c->message));
		if (c->prop_name) {
			const char *value = workflow_command_property(&cmd, c->prop_name);
			if (!c->prop_value ? value != NULL
					   : !value || strcmp(value, c->prop_value) != 0)
				fail_msg("case %zu: '%s' property %s is '%s', expected '%s'", i,
					 c->line, c->prop_name, value ? value : "(none)",
					 c->prop_value ? c->prop_value : "(none)");
		}
		if ((cmd.error != NULL) != c->has_error)
			fail_msg("case %zu: '%s' error '%s'", i, c->line,
				 cmd.error ? cmd.error : "(none)");
		if ((cmd.warning != NULL) != c->has_warning)
			fail_msg("case %zu: '%s' warning '%s'", i, c->line,
				 cmd.warning ? cmd.warning : "(none)");
		workflow_command_clear(&cmd);
		workflow_command_parser_free(&p);
	}
}

/* Lines that are shown as output, however close to a command they come. */
static const char *const plain_lines[] = {
	"",
	"hello",
	"::",
	":::",
	"::::",
	":: ::",
	"::  ::",
	":: debug::x",	       /* the name is empty */
	"::debug",	       /* no second "::" */
	"::debug:",	       /* idem */
	"::set-output name=x", /* idem */
	"::unknown::x",	       /* not a registered command */
	"::set-outputs name=x::y",
	"::internal-set-repo-path::x",
	"::stop-command::x",
	"hello ::debug::x", /* not at the start */
	"##[debug]legacy",  /* the old syntax is not recognised */
	":debug::x",
	"::debug\t::x", /* a tab does not end the name */
};

static void test_plain_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plain_lines) / sizeof(plain_lines[0]); i++) {
		struct workflow_command_parser p;
		struct workflow_command cmd;
		workflow_command_parser_init(&p);
		if (parse(&p, plain_lines[i], &cmd) != 0)
			fail_msg("'%s' was taken for a command", plain_lines[i]);
		assert_null(cmd.message);
		assert_int_equal(cmd.properties_count, 0);
		workflow_command_clear(&cmd);
		workflow_command_parser_free(&p);
	}
}

static void test_set_output_fields(void **state)
{
	(void)state;
	struct workflow_command_parser p;
	struct workflow_command cmd;
	workflow_command_parser_init(&p);
	assert_int_equal(parse(&p, "::set-output name=result,other=1::ok", &cmd), 1);
	assert_string_equal(cmd.name, "set-output");
	assert_string_equal(cmd.target_name, "result");
	assert_int_equal(cmd.properties_count, 2);
	assert_string_equal(cmd.properties[0].name, "name");
	assert_string_equal(cmd.properties[1].name, "other");
	assert_string_equal(cmd.properties[1].value, "1");
	assert_non_null(strstr(cmd.warning, "GITHUB_OUTPUT"));
	assert_null(cmd.error);
	workflow_command_clear(&cmd);

	assert_int_equal(parse(&p, "::set-output::v", &cmd), 1);
	assert_null(cmd.target_name);
	assert_true(cmd.fails_step);
	assert_non_null(strstr(cmd.error, "name"));
	workflow_command_clear(&cmd);
	workflow_command_parser_free(&p);
}

static void test_unsecure_commands(void **state)
{
	(void)state;
	struct workflow_command_parser p;
	struct workflow_command cmd;
	workflow_command_parser_init(&p);
	assert_int_equal(parse(&p, "::set-env name=A::b", &cmd), 1);
	assert_true(cmd.fails_step);
	assert_non_null(strstr(cmd.error, "ACTIONS_ALLOW_UNSECURE_COMMANDS"));
	assert_non_null(strstr(cmd.error, "set-env"));
	workflow_command_clear(&cmd);
	assert_int_equal(parse(&p, "::add-path::/x", &cmd), 1);
	assert_true(cmd.fails_step);
	assert_non_null(strstr(cmd.error, "add-path"));
	workflow_command_clear(&cmd);

	p.allow_unsecure_commands = true;
	assert_int_equal(parse(&p, "::set-env name=A::b", &cmd), 1);
	assert_null(cmd.error);
	assert_string_equal(cmd.target_name, "A");
	assert_string_equal(cmd.message, "b");
	workflow_command_clear(&cmd);
	assert_int_equal(parse(&p, "::set-env::b", &cmd), 1);
	assert_true(cmd.fails_step);
	workflow_command_clear(&cmd);
	/* Refused, but the step goes on. */
	assert_int_equal(parse(&p, "::set-env name=node_options::--x", &cmd), 1);
	assert_non_null(cmd.error);
	assert_false(cmd.fails_step);
	workflow_command_clear(&cmd);
	assert_int_equal(parse(&p, "::add-path::/opt/bin", &cmd), 1);
	assert_null(cmd.error);
	assert_string_equal(cmd.message, "/opt/bin");
	workflow_command_clear(&cmd);
	assert_int_equal(parse(&p, "::add-path::", &cmd), 1);
	assert_true(cmd.fails_step);
	workflow_command_clear(&cmd);
	workflow_command_parser_free(&p);
}

static void test_echo(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		bool on;
		bool error;
	} cases[] = {
		{ "::echo::on", true, false },	   { "::echo::ON", true, false },
		{ "::echo:: On ", true, false },   { "::echo::off", false, false },
		{ "::echo::OFF\r", false, false }, { "::echo::", false, true },
		{ "::echo::yes", false, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct workflow_command_parser p;
		struct workflow_command cmd;
		workflow_command_parser_init(&p);
		assert_int_equal(parse(&p, cases[i].line, &cmd), 1);
		assert_int_equal(cmd.kind, WORKFLOW_COMMAND_ECHO);
		if (cmd.echo_on != cases[i].on || (cmd.error != NULL) != cases[i].error)
			fail_msg("'%s': on %d error '%s'", cases[i].line, cmd.echo_on,
				 cmd.error ? cmd.error : "(none)");
		workflow_command_clear(&cmd);
		workflow_command_parser_free(&p);
	}
}

struct annotation_case {
	const char *line;
	const char *file;
	const char *title;
	long line_number, end_line, column, end_column;
};

/* The runner's ValidateLinesAndColumns, case by case. */
static const struct annotation_case annotations[] = {
	{ "::error file=src/a.c,line=3,endLine=3,col=4,endColumn=9,title=Bad::m", "src/a.c", "Bad",
	  3, 3, 4, 9 },
	{ "::error::m", NULL, NULL, 0, 0, 0, 0 },
	{ "::warning endLine=5::m", NULL, NULL, 5, 5, 0, 0 },
	{ "::warning line=5,endColumn=7::m", NULL, NULL, 5, 0, 7, 7 },
	{ "::warning col=2,endColumn=4::m", NULL, NULL, 0, 0, 0, 0 },
	{ "::warning line=2,endLine=4,col=1::m", NULL, NULL, 2, 4, 0, 0 },
	{ "::warning line=4,endLine=2::m", NULL, NULL, 0, 0, 0, 0 },
	{ "::warning line=4,col=9,endColumn=3::m", NULL, NULL, 4, 0, 0, 0 },
	{ "::notice line=abc,col=x::m", NULL, NULL, 0, 0, 0, 0 },
	{ "::notice line= 7 ,col=+2::m", NULL, NULL, 7, 0, 2, 0 },
	{ "::notice line=0::m", NULL, NULL, 0, 0, 0, 0 },
	{ "::notice line=-3::m", NULL, NULL, 0, 0, 0, 0 },
	{ "::notice line=99999999999999999999::m", NULL, NULL, 0, 0, 0, 0 },
	{ "::notice FILE=x%2Cy.c,LINE=1::m", "x,y.c", NULL, 1, 0, 0, 0 },
};

static void test_annotations(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(annotations) / sizeof(annotations[0]); i++) {
		const struct annotation_case *c = &annotations[i];
		struct workflow_command_parser p;
		struct workflow_command cmd;
		workflow_command_parser_init(&p);
		assert_int_equal(parse(&p, c->line, &cmd), 1);
		const struct workflow_annotation *a = &cmd.annotation;
		bool same_file = c->file ? a->file && strcmp(a->file, c->file) == 0 : !a->file;
		bool same_title =
			c->title ? a->title && strcmp(a->title, c->title) == 0 : !a->title;
		if (!same_file || !same_title || a->line != c->line_number ||
		    a->end_line != c->end_line || a->column != c->column ||
		    a->end_column != c->end_column)
			fail_msg("case %zu '%s': file %s title %s line %ld-%ld col %ld-%ld", i,
				 c->line, a->file ? a->file : "-", a->title ? a->title : "-",
				 a->line, a->end_line, a->column, a->end_column);
		workflow_command_clear(&cmd);
		workflow_command_parser_free(&p);
	}
}

static void test_stop_commands(void **state)
{
	(void)state;
	struct workflow_command_parser p;
	struct workflow_command cmd;
	workflow_command_parser_init(&p);
	assert_int_equal(parse(&p, "::stop-commands::pause-token-1", &cmd), 1);
	assert_int_equal(cmd.kind, WORKFLOW_COMMAND_STOP_COMMANDS);
	assert_string_equal(cmd.message, "pause-token-1");
	assert_null(cmd.error);
	workflow_command_clear(&cmd);
	assert_true(workflow_command_parser_stopped(&p));

	/* Everything is output now, another stop-commands included. */
	assert_int_equal(parse(&p, "::set-output name=x::y", &cmd), 0);
	assert_int_equal(parse(&p, "::add-mask::secret", &cmd), 0);
	assert_int_equal(parse(&p, "::stop-commands::other", &cmd), 0);
	assert_int_equal(parse(&p, "pause-token-1", &cmd), 0);
	assert_int_equal(parse(&p, "::pause-token-12::", &cmd), 0);
	assert_int_equal(parse(&p, "::pause-token-1", &cmd), 0);
	assert_true(workflow_command_parser_stopped(&p));

	/* The token, in any case and with any properties or message, resumes. */
	assert_int_equal(parse(&p, "  ::PAUSE-token-1 a=b::rest", &cmd), 1);
	assert_int_equal(cmd.kind, WORKFLOW_COMMAND_RESUME_COMMANDS);
	assert_string_equal(cmd.name, "PAUSE-token-1");
	assert_string_equal(cmd.message, "rest");
	workflow_command_clear(&cmd);
	assert_false(workflow_command_parser_stopped(&p));

	assert_int_equal(parse(&p, "::debug::back", &cmd), 1);
	assert_int_equal(cmd.kind, WORKFLOW_COMMAND_DEBUG);
	workflow_command_clear(&cmd);
	/* The old token is no command any more. */
	assert_int_equal(parse(&p, "::pause-token-1::", &cmd), 0);
	workflow_command_parser_free(&p);
}

static void test_stop_token_escapes_and_spaces(void **state)
{
	(void)state;
	struct workflow_command_parser p;
	struct workflow_command cmd;
	workflow_command_parser_init(&p);
	/* The token is the unescaped message. */
	assert_int_equal(parse(&p, "::stop-commands::a%25b", &cmd), 1);
	workflow_command_clear(&cmd);
	assert_int_equal(parse(&p, "::a%25b::", &cmd), 0);
	assert_int_equal(parse(&p, "::a%b::", &cmd), 1);
	assert_int_equal(cmd.kind, WORKFLOW_COMMAND_RESUME_COMMANDS);
	workflow_command_clear(&cmd);
	/* A token with a space can never come back, as with the runner. */
	assert_int_equal(parse(&p, "::stop-commands::two words", &cmd), 1);
	workflow_command_clear(&cmd);
	assert_int_equal(parse(&p, "::two words::", &cmd), 0);
	assert_true(workflow_command_parser_stopped(&p));
	workflow_command_parser_free(&p);
}

static void test_stop_token_refused(void **state)
{
	(void)state;
	static const char *const refused[] = {
		"::stop-commands::",
		"::stop-commands::pause-logging",
		"::stop-commands::PAUSE-LOGGING",
		"::stop-commands::set-output",
		"::stop-commands::Debug",
		"::stop-commands::stop-commands",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct workflow_command_parser p;
		struct workflow_command cmd;
		workflow_command_parser_init(&p);
		assert_int_equal(parse(&p, refused[i], &cmd), 1);
		assert_int_equal(cmd.kind, WORKFLOW_COMMAND_STOP_COMMANDS);
		if (!cmd.error || !cmd.fails_step)
			fail_msg("'%s' was accepted", refused[i]);
		assert_non_null(strstr(cmd.error, "ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS"));
		workflow_command_clear(&cmd);
		assert_false(workflow_command_parser_stopped(&p));
		assert_int_equal(parse(&p, "::debug::x", &cmd), 1);
		workflow_command_clear(&cmd);
		workflow_command_parser_free(&p);
	}

	/* Allowed, a command name as token resumes at that command... */
	struct workflow_command_parser p;
	struct workflow_command cmd;
	workflow_command_parser_init(&p);
	p.allow_unsecure_stop_tokens = true;
	assert_int_equal(parse(&p, "::stop-commands::debug", &cmd), 1);
	assert_null(cmd.error);
	workflow_command_clear(&cmd);
	assert_int_equal(parse(&p, "::warning::x", &cmd), 0);
	assert_int_equal(parse(&p, "::debug::x", &cmd), 1);
	assert_int_equal(cmd.kind, WORKFLOW_COMMAND_RESUME_COMMANDS);
	workflow_command_clear(&cmd);
	/* ...and an empty one never resumes. */
	assert_int_equal(parse(&p, "::stop-commands::", &cmd), 1);
	workflow_command_clear(&cmd);
	assert_true(workflow_command_parser_stopped(&p));
	assert_int_equal(parse(&p, "::::", &cmd), 0);
	assert_int_equal(parse(&p, ":: ::", &cmd), 0);
	assert_true(workflow_command_parser_stopped(&p));
	workflow_command_parser_free(&p);
}

static void test_nul_bytes_in_message(void **state)
{
	(void)state;
	struct workflow_command_parser p;
	struct workflow_command cmd;
	workflow_command_parser_init(&p);
	assert_int_equal(workflow_command_parse_line(&p, "::debug::a\0b", 12, &cmd), 1);
	assert_int_equal(cmd.message_len, 3);
	assert_memory_equal(cmd.message, "a\0b", 4);
	workflow_command_clear(&cmd);
	workflow_command_clear(&cmd); /* harmless twice */
	workflow_command_parser_free(&p);
}

static void test_flag_enabled(void **state)
{
	(void)state;
	assert_true(workflow_command_flag_enabled("true"));
	assert_true(workflow_command_flag_enabled("TRUE"));
	assert_true(workflow_command_flag_enabled(" True\n"));
	assert_false(workflow_command_flag_enabled(NULL));
	assert_false(workflow_command_flag_enabled(""));
	assert_false(workflow_command_flag_enabled("1"));
	assert_false(workflow_command_flag_enabled("yes"));
	assert_false(workflow_command_flag_enabled("truex"));
}

/* ---- runner files ------------------------------------------------------ */

struct pairs_case {
	const char *data;
	size_t len;		 /* 0: strlen(data) */
	const char *expected[8]; /* name, value, name, value, ..., NULL */
};

static const struct pairs_case pairs_cases[] = {
	{ "", 0, { NULL } },
	{ "\n\n\r\n", 0, { NULL } },
	{ "A=1\n", 0, { "A", "1", NULL } },
	{ "A=1", 0, { "A", "1", NULL } },
	{ "A=\n", 0, { "A", "", NULL } },
	{ "\nA=1\n\nB=two=2\n\n", 0, { "A", "1", "B", "two=2", NULL } },
	{ "A=1\nA=2\n", 0, { "A", "1", "A", "2", NULL } },
	{ "A B=c d\n", 0, { "A B", "c d", NULL } },
	{ "A=b<<c\n", 0, { "A", "b<<c", NULL } },
	{ "M<<EOF\nl1\nl2\nEOF\nN=3\n", 0, { "M", "l1\nl2", "N", "3", NULL } },
	{ "M<<EOF\nEOF\n", 0, { "M", "", NULL } },
	{ "M<<EOF\n\nEOF\n", 0, { "M", "", NULL } },
	{ "M<<EOF\n\n\nEOF\n", 0, { "M", "\n", NULL } },
	{ "M<<EOF\n\na\n\nEOF", 0, { "M", "\na\n", NULL } },
	{ "M<<EOF\nv\nEOF", 0, { "M", "v", NULL } },
	{ "M<<EOF\nxEOF\nEOF y\n EOF\nEOF\n", 0, { "M", "xEOF\nEOF y\n EOF", NULL } },
	{ "M<<E=x\nv\nE=x\n", 0, { "M", "v", NULL } },
	{ "M<<EOF\nA=1\nEOF\n", 0, { "M", "A=1", NULL } },
	{ "A=1\r\nM<<EOF\r\nl1\r\nl2\r\nEOF\r\nB=2\r\n",
	  0,
	  { "A", "1", "M", "l1\r\nl2", "B", "2", NULL } },
	{ "\xEF\xBB\xBF"
	  "A=1\n",
	  0,
	  { "A", "1", NULL } },
	{ "A=\xc3\xa9t\xc3\xa9\n", 0, { "A", "\xc3\xa9t\xc3\xa9", NULL } },
};

static void test_pairs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pairs_cases) / sizeof(pairs_cases[0]); i++) {
		const struct pairs_case *c = &pairs_cases[i];
		struct runner_pair *pairs = NULL;
		size_t count = 99;
		struct err e = ERR_INIT;
		size_t len = c->len ? c->len : strlen(c->data);
		if (runner_file_parse_pairs("GITHUB_ENV", c->data, len, &pairs, &count, &e) != 0)
			fail_msg("case %zu: %s", i, e.msg);
		size_t expected = 0;
		while (c->expected[expected * 2])
			expected++;
		if (count != expected)
			fail_msg("case %zu: %zu pairs, expected %zu", i, count, expected);
		for (size_t k = 0; k < count; k++) {
			if (strcmp(pairs[k].name, c->expected[2 * k]) != 0 ||
			    strcmp(pairs[k].value, c->expected[2 * k + 1]) != 0)
				fail_msg("case %zu pair %zu: '%s'='%s'", i, k, pairs[k].name,
					 pairs[k].value);
		}
		runner_pairs_free(pairs, count);
	}
}

struct error_case {
	const char *kind;
	const char *data;
	size_t len;
	const char *message;
};

static const struct error_case error_cases[] = {
	{ "GITHUB_ENV", "=v\n", 0, "GITHUB_ENV line 1: the name before '=' is empty" },
	{ "GITHUB_OUTPUT", "A=1\n\nM<<EOF\nv\nEOF \n", 0,
	  "GITHUB_OUTPUT line 3: heredoc delimiter 'EOF' not found" },
	{ "GITHUB_OUTPUT", "M<<EOF\nv", 0,
	  "GITHUB_OUTPUT line 1: heredoc delimiter 'EOF' not found" },
	{ "GITHUB_OUTPUT", "M<<EOF\nvEOF\n", 0,
	  "GITHUB_OUTPUT line 1: heredoc delimiter 'EOF' not found" },
	{ "GITHUB_STATE", "A=1\n<<EOF\nv\nEOF\n", 0,
	  "GITHUB_STATE line 2: the name before '<<' is empty" },
	{ "GITHUB_ENV", "A<<\nv\n\n", 0,
	  "GITHUB_ENV line 1: the heredoc delimiter after '<<' is empty" },
	{ "GITHUB_ENV", "A=1\nsecond line of a value\n", 0,
	  "GITHUB_ENV line 2: expected NAME=VALUE or NAME<<DELIMITER" },
	{ "GITHUB_ENV", "A=1\n  \n", 0, "GITHUB_ENV line 2: expected NAME=VALUE" },
	{ "GITHUB_ENV", "A=1\nB=x\0y\n", 10, "GITHUB_ENV line 2: contains a NUL byte" },
	{ "GITHUB_ENV", "M<<EOF\nx\0y\nEOF\n", 15, "GITHUB_ENV line 2: contains a NUL byte" },
	{ "GITHUB_ENV", "\r\n\r\nA=1\r\n=2\r\n", 0, "GITHUB_ENV line 4: the name before '='" },
};

static void test_pair_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		struct runner_pair *pairs = (struct runner_pair *)1;
		size_t count = 99;
		struct err e = ERR_INIT;
		size_t len = c->len ? c->len : strlen(c->data);
		if (runner_file_parse_pairs(c->kind, c->data, len, &pairs, &count, &e) != -1)
			fail_msg("case %zu: accepted", i);
		assert_null(pairs);
		assert_int_equal(count, 0);
		if (strncmp(e.msg, c->message, strlen(c->message)) != 0)
			fail_msg("case %zu: '%s', expected '%s...'", i, e.msg, c->message);
	}
}

/* An error must not echo the line: it may be part of a secret. */
static void test_pair_errors_do_not_echo_values(void **state)
{
	(void)state;
	struct runner_pair *pairs;
	size_t count;
	struct err e = ERR_INIT;
	const char *data = "KEY=-----BEGIN KEY-----\nMIIsecretsecret\n-----END KEY-----\n";
	assert_int_equal(
		runner_file_parse_pairs("GITHUB_ENV", data, strlen(data), &pairs, &count, &e), -1);
	assert_null(strstr(e.msg, "MIIsecret"));
	assert_non_null(strstr(e.msg, "line 2"));
}

static void test_paths(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		const char *expected[5];
	} cases[] = {
		{ "", { NULL } },
		{ "\n\r\n\r", { NULL } },
		{ "/opt/bin", { "/opt/bin", NULL } },
		{ "/a\n\n/b\r\n/c\r/d\n", { "/a", "/b", "/c", "/d", NULL } },
		{ "\xEF\xBB\xBF/a\n/a\n", { "/a", "/a", NULL } },
		{ "  \n/with space/bin\n", { "  ", "/with space/bin", NULL } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **paths = NULL;
		size_t count = 99;
		struct err e = ERR_INIT;
		assert_int_equal(runner_file_parse_paths(cases[i].data, strlen(cases[i].data),
							 &paths, &count, &e),
				 0);
		size_t expected = 0;
		while (cases[i].expected[expected])
			expected++;
		if (count != expected)
			fail_msg("case %zu: %zu paths, expected %zu", i, count, expected);
		for (size_t k = 0; k < count; k++)
			assert_string_equal(paths[k], cases[i].expected[k]);
		runner_paths_free(paths, count);
	}
	char **paths = (char **)1;
	size_t count = 99;
	struct err e = ERR_INIT;
	assert_int_equal(runner_file_parse_paths("/a\n/b\0c\n", 8, &paths, &count, &e), -1);
	assert_null(paths);
	assert_int_equal(count, 0);
	assert_string_equal(e.msg, "GITHUB_PATH line 2: contains a NUL byte");
}

static int tmpdir_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/ampel-test-commands-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path.data)) {
		buf_free(&path);
		return -1;
	}
	*state = buf_detach(&path);
	return 0;
}

static int tmpdir_teardown(void **state)
{
	struct buf cmd = BUF_INIT;
	buf_addf(&cmd, "rm -rf '%s'", (char *)*state);
	int rc = system(cmd.data);
	buf_free(&cmd);
	free(*state);
	return rc == 0 ? 0 : -1;
}

static char *write_file(const char *dir, const char *name, const char *data, size_t len)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	FILE *f = fopen(path.data, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return buf_detach(&path);
}

static void test_read_files(void **state)
{
	const char *dir = *state;
	struct runner_pair *pairs;
	size_t count;
	struct err e = ERR_INIT;

	/* A step that writes nothing leaves no file or an empty one. */
	struct buf missing = BUF_INIT;
	buf_addf(&missing, "%s/missing", dir);
	assert_int_equal(runner_file_read_pairs("GITHUB_ENV", missing.data, &pairs, &count, &e), 0);
	assert_int_equal(count, 0);
	assert_null(pairs);
	char **paths;
	assert_int_equal(runner_file_read_paths(missing.data, &paths, &count, &e), 0);
	assert_int_equal(count, 0);
	buf_free(&missing);

	char *empty = write_file(dir, "empty", "", 0);
	assert_int_equal(runner_file_read_pairs("GITHUB_ENV", empty, &pairs, &count, &e), 0);
	assert_int_equal(count, 0);
	free(empty);

	const char *text = "A=1\nB<<EOF\nx\ny\nEOF\n";
	char *env = write_file(dir, "env", text, strlen(text));
	assert_int_equal(runner_file_read_pairs("GITHUB_ENV", env, &pairs, &count, &e), 0);
	assert_int_equal(count, 2);
	assert_string_equal(pairs[1].name, "B");
	assert_string_equal(pairs[1].value, "x\ny");
	runner_pairs_free(pairs, count);
	free(env);

	char *bad = write_file(dir, "bad", "A=1\nB<<EOF\n", 11);
	assert_int_equal(runner_file_read_pairs("GITHUB_OUTPUT", bad, &pairs, &count, &e), -1);
	assert_string_equal(e.msg, "GITHUB_OUTPUT line 2: heredoc delimiter 'EOF' not found (it "
				   "must stand alone on a later line)");
	free(bad);

	char *path_file = write_file(dir, "path", "/x\n/y\n", 6);
	assert_int_equal(runner_file_read_paths(path_file, &paths, &count, &e), 0);
	assert_int_equal(count, 2);
	assert_string_equal(paths[1], "/y");
	runner_paths_free(paths, count);
	free(path_file);

	size_t big_len = RUNNER_FILE_MAX_SIZE + 1;
	char *big_data = xmalloc(big_len);
	memset(big_data, 'x', big_len);
	big_data[0] = 'A';
	big_data[1] = '=';
	char *big = write_file(dir, "big", big_data, big_len);
	free(big_data);
	assert_int_equal(runner_file_read_pairs("GITHUB_ENV", big, &pairs, &count, &e), -1);
	assert_null(pairs);
	assert_true(strncmp(e.msg, "GITHUB_ENV: ", 12) == 0);
	assert_non_null(strstr(e.msg, "1048577 bytes"));
	assert_int_equal(runner_file_read_paths(big, &paths, &count, &e), -1);
	assert_true(strncmp(e.msg, "GITHUB_PATH: ", 13) == 0);
	free(big);

	/* A directory is no file: an error, not silence. */
	assert_int_equal(runner_file_read_pairs("GITHUB_ENV", dir, &pairs, &count, &e), -1);
	assert_true(strncmp(e.msg, "GITHUB_ENV: ", 12) == 0);
}

static void test_env_name_blocked(void **state)
{
	(void)state;
	assert_true(runner_file_env_name_blocked("NODE_OPTIONS"));
	assert_true(runner_file_env_name_blocked("node_options"));
	assert_false(runner_file_env_name_blocked("NODE_ENV"));
	assert_false(runner_file_env_name_blocked(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_plain_lines),
		cmocka_unit_test(test_set_output_fields),
		cmocka_unit_test(test_unsecure_commands),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_annotations),
		cmocka_unit_test(test_stop_commands),
		cmocka_unit_test(test_stop_token_escapes_and_spaces),
		cmocka_unit_test(test_stop_token_refused),
		cmocka_unit_test(test_nul_bytes_in_message),
		cmocka_unit_test(test_flag_enabled),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_pair_errors),
		cmocka_unit_test(test_pair_errors_do_not_echo_values),
		cmocka_unit_test(test_paths),
		cmocka_unit_test_setup_teardown(test_read_files, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_env_name_blocked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
