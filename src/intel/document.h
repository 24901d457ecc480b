/*
 * document: the analysis as the ampel.analysis/v1 JSON document, and as a
 * summary for people.
 *
 * The JSON document is the contract with everything downstream (generate,
 * the server's API, agents); docs/analysis.md describes it field by field.
 */
#ifndef AMPEL_INTEL_DOCUMENT_H
#define AMPEL_INTEL_DOCUMENT_H

#include <jansson.h>
#include <stdio.h>

struct analysis;

#define ANALYSIS_SCHEMA "ampel.analysis/v1"

/* A new JSON document (the caller json_decref's it). */
json_t *document_render(const struct analysis *analysis);
/* The project at path ("." for the root) of a document, or NULL. */
const json_t *document_find_project(const json_t *document, const char *path);
/* The readable summary `ampel analyze` prints without --json. */
void document_print_summary(FILE *out, const json_t *document);

#endif
