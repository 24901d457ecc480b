/*
 * Fuzzes what a step hands back to the runner: the input is read as stdout
 * (line by line through the workflow command parser, whose add-mask values
 * feed a mask), as a $GITHUB_ENV and a $GITHUB_PATH file, and is then
 * masked. All of it comes from the programs a workflow runs, so any bytes
 * must parse without crashing, and masking must agree with the runner's
 * plain definition (checked against a naive version) and leave no secret
 * visible.
 */
#include "pipeline/mask.h"
#include "pipeline/runner_files.h"
#include "pipeline/workflow_commands.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Values added to the mask; each may register many lines. */
#define MAX_ADDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct secrets {
	char **values;
	size_t count;
	size_t adds;
};

static void remember(struct secrets *s, const char *value, size_t len)
{
	s->values = xrealloc(s->values, (s->count + 1) * sizeof(*s->values));
	s->values[s->count++] = xstrndup(value, len);
}

/* Every occurrence of every value covered, each covered run one "***". */
static char *naive_mask(const struct secrets *s, const char *text, size_t n, size_t *out_len)
{
	bool *covered = xcalloc(n + 1, sizeof(*covered));
	for (size_t k = 0; k < s->count; k++) {
		size_t len = strlen(s->values[k]);
		for (size_t i = 0; len && i + len <= n; i++) {
			if (memcmp(text + i, s->values[k], len) == 0)
				memset(covered + i, 1, len);
		}
	}
	struct buf out = BUF_INIT;
	buf_add(&out, "", 0);
	for (size_t i = 0; i < n;) {
		if (covered[i]) {
			while (i < n && covered[i])
				i++;
			buf_add(&out, "***", 3);
		} else {
			buf_addch(&out, text[i++]);
		}
	}
	free(covered);
	*out_len = out.len;
	return buf_detach(&out);
}

static bool is_blank(const char *s)
{
	for (; *s; s++) {
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n' && *s != '\v' && *s != '\f')
			return false;
	}
	return true;
}

/* Adds value to the mask and what mask_add registers for it to s. */
static void add_secret(struct mask *m, struct secrets *s, const char *value)
{
	if (s->adds >= MAX_ADDS)
		return;
	s->adds++;
	mask_add(m, value);
	if (!*value || is_blank(value))
		return;
	remember(s, value, strlen(value));
	const char *line = value;
	while (strchr(value, '\n') && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		char *copy = xstrndup(line, len);
		if (!is_blank(copy))
			remember(s, copy, len);
		free(copy);
		if (!nl)
			break;
		line = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	const char *text = (const char *)data;
	struct mask *m = mask_new();
	struct secrets secrets = { NULL, 0, 0 };

	struct workflow_command_parser parser;
	workflow_command_parser_init(&parser);
	parser.allow_unsecure_commands = size > 0 && (data[0] & 1);
	parser.allow_unsecure_stop_tokens = size > 0 && (data[0] & 2);
	const char *line = text;
	const char *end = text + size;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
		struct workflow_command cmd;
		int rc = workflow_command_parse_line(&parser, line, len, &cmd);
		if (rc == 1) {
			if (!cmd.message || strlen(cmd.message) > cmd.message_len)
				abort();
			if (cmd.kind == WORKFLOW_COMMAND_ADD_MASK)
				add_secret(m, &secrets, cmd.message);
			for (size_t i = 0; i < cmd.properties_count; i++) {
				if (!cmd.properties[i].name[0])
					abort();
			}
		} else if (rc != 0 || cmd.message) {
			abort();
		}
		workflow_command_clear(&cmd);
		line = nl ? nl + 1 : end;
	}
	workflow_command_parser_free(&parser);

	struct runner_pair *pairs;
	size_t count;
	struct err e = ERR_INIT;
	if (runner_file_parse_pairs("GITHUB_ENV", text, size, &pairs, &count, &e) == 0) {
		for (size_t i = 0; i < count; i++) {
			if (!pairs[i].name[0])
				abort();
			add_secret(m, &secrets, pairs[i].value);
		}
		runner_pairs_free(pairs, count);
	} else if (!err_is_set(&e) || pairs || count) {
		abort();
	}
	char **paths;
	if (runner_file_parse_paths(text, size, &paths, &count, &e) == 0)
		runner_paths_free(paths, count);

	size_t masked_len;
	char *masked = mask_apply(m, text, size, &masked_len);
	size_t expected_len;
	char *expected = naive_mask(&secrets, text, size, &expected_len);
	if (masked_len != expected_len || memcmp(masked, expected, masked_len) != 0)
		abort();
	/* A secret without '*' cannot survive: "***" cannot build one. */
	for (size_t k = 0; k < secrets.count; k++) {
		const char *value = secrets.values[k];
		if (!strchr(value, '*') && memmem(masked, masked_len, value, strlen(value)))
			abort();
		free(secrets.values[k]);
	}
	free(secrets.values);
	free(masked);
	free(expected);
	mask_free(m);
	return 0;
}
