/*
 * updates: dependency update configuration (Dependabot, Renovate).
 *
 * Covers every ecosystem and directory the analysis found, weekly, with
 * minor and patch updates grouped so that reviewers see one PR per
 * ecosystem instead of dozens.
 */
#ifndef AMPEL_GEN_UPDATES_H
#define AMPEL_GEN_UPDATES_H

#include <jansson.h>
#include <stdbool.h>

struct err;
struct gen_files;

/* Adds .github/dependabot.yml, and renovate.json when renovate is set. */
int gen_updates(const json_t *analysis, bool renovate, const char *command, struct gen_files *out,
		struct err *e);

#endif
