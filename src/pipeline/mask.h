/*
 * mask: hides secret values in everything a job prints.
 *
 * Secrets reach the log through the commands a step runs, so every line
 * passes through mask_apply before it is shown or stored. The rules are the
 * GitHub runner's: every occurrence of every registered value becomes `***`,
 * occurrences that overlap or touch are hidden as one `***`, and a
 * multi-line value is registered whole and line by line (a program printing
 * it splits it into lines). One mask serves a whole run: jobs log from
 * several threads while `::add-mask::` adds values, so both are locked.
 */
#ifndef AMPEL_PIPELINE_MASK_H
#define AMPEL_PIPELINE_MASK_H

#include <stddef.h>

struct buf;
struct mask;

struct mask *mask_new(void);
void mask_free(struct mask *m);

/*
 * Registers value, and each line of a multi-line value (without its "\r").
 * Empty and whitespace-only values and lines are ignored: the runner refuses
 * them in `::add-mask::` and line by line, and hiding every blank would wreck
 * the log while hiding nothing.
 */
void mask_add(struct mask *m, const char *value);
/* Distinct values registered so far. */
size_t mask_count(const struct mask *m);

/*
 * Appends text[0..len) to out with every secret replaced by "***". Linear
 * in len whatever the number of secrets (Aho-Corasick). m may be NULL (no
 * secrets). Safe to call from several threads, also while mask_add runs.
 */
void mask_apply_buf(const struct mask *m, const char *text, size_t len, struct buf *out);
/* The same into a new NUL-terminated string; *out_len (when not NULL) gets its length. */
char *mask_apply(const struct mask *m, const char *text, size_t len, size_t *out_len);

#endif
