/*
 * fingerprint: a deterministic vector of a repository's stack, so that
 * `ampel analyze --similar DIR...` can rank other repositories by how alike
 * they are built (cosine similarity), and say which features they share.
 *
 * The vector is sparse and named, not hashed: each feature is a readable
 * "group:id" ("language:typescript", "framework:nextjs", "pm:pnpm") whose
 * weight is its evidence (byte share, confidence, or 1 for a tool that is
 * present) times its group's weight, so a similarity can be explained.
 */
#ifndef AMPEL_INTEL_FINGERPRINT_H
#define AMPEL_INTEL_FINGERPRINT_H

#include <jansson.h>
#include <stddef.h>

struct err;

#define FINGERPRINT_VERSION 1

struct fingerprint_feature {
	char *name;    /* "framework:nextjs" */
	double weight; /* in (0, 1], rounded to 4 decimals */
};

struct fingerprint {
	struct fingerprint_feature *features; /* sorted by name, unique */
	size_t count;
};

/*
 * The fingerprint of an ampel.analysis/v1 document: the features of every
 * project (a feature in several projects keeps its highest weight). A
 * document without "projects" but with a "fingerprint" member (a stored
 * one) gives that fingerprint. Never NULL; unknown shapes give no features.
 */
struct fingerprint *fingerprint_from_document(const json_t *document);
/* Reads the JSON form made by fingerprint_to_json. */
int fingerprint_from_json(struct fingerprint **out, const json_t *value, struct err *e);
void fingerprint_free(struct fingerprint *fp);

/* {"version": 1, "features": {"framework:nextjs": 0.9, ...}} (names sorted). */
json_t *fingerprint_to_json(const struct fingerprint *fp);

/* Cosine similarity in [0, 1] (weights are positive); 0 when either is empty. */
double fingerprint_cosine(const struct fingerprint *a, const struct fingerprint *b);

struct fingerprint_match {
	size_t index;	   /* into others */
	const char *root;  /* others[index]'s "root" ("" when absent); borrowed */
	double similarity; /* cosine, rounded to 4 decimals */
};

/*
 * Ranks others against self_doc: out[0..n) (caller-allocated) by
 * similarity descending, ties by root, then by index. Fails when a document
 * is not a JSON object or names a schema other than ampel.analysis/v1.
 */
int fingerprint_rank(const json_t *self_doc, json_t *const *others, size_t n,
		     struct fingerprint_match *out, struct err *e);

/*
 * The ranking as JSON for `ampel analyze --similar`: [{"root": ...,
 * "similarity": 0.93, "shared": ["framework:nextjs", ...]}], where shared
 * lists the features that contribute most to the similarity (at most 5).
 * NULL and e filled on the errors of fingerprint_rank.
 */
json_t *fingerprint_similar_json(const json_t *self_doc, json_t *const *others, size_t n,
				 struct err *e);

#endif
