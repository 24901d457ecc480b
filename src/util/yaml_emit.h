/*
 * yaml_emit: writes a JSON value as tidy, hand-written-looking YAML.
 *
 * Generated workflows and manifests are read and reviewed by people, and
 * parsed by YAML 1.1 (GitLab, Bitbucket) as well as 1.2 (GitHub) readers,
 * so the output is block style, in insertion order, with strings quoted
 * only when some YAML reader would take them for something else ("on",
 * "yes", "1.20", "*.js", "a: b"), and multi-line strings as literal blocks.
 * The same value always gives the same bytes.
 */
#ifndef AMPEL_UTIL_YAML_EMIT_H
#define AMPEL_UTIL_YAML_EMIT_H

#include <jansson.h>
#include <stdbool.h>

struct buf;

enum yaml_emit_flags {
	/* A blank line between the top-level keys, and between the entries of
	 * the mappings listed in yaml_emit_options.spaced_keys. */
	YAML_EMIT_SPACED = 1 << 0,
};

struct yaml_emit_options {
	unsigned flags;
	/* Mapping keys whose entries are separated by blank lines (e.g. "jobs"),
	 * NULL-terminated; only with YAML_EMIT_SPACED. */
	const char *const *spaced_keys;
};

/* Appends value as a YAML document (no "---"), ending in one newline. */
void yaml_emit(struct buf *out, const json_t *value, const struct yaml_emit_options *options);
/* Appends a scalar string as YAML would need it written (plain or quoted). */
void yaml_emit_scalar(struct buf *out, const char *text);
/* True when text can be written plain and reads back as the same string. */
bool yaml_plain_safe(const char *text);

#endif
