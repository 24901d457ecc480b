/*
 * progress: a one-line spinner and counter on stderr for long work.
 *
 * A human at a terminal sees that analysis or a run is alive
 * ("Analyzing ⠋ 1234 files  src/foo"); scripts, pipes and --quiet see
 * nothing at all, because the display turns itself off when it is not wanted.
 */
#ifndef AMPEL_UTIL_PROGRESS_H
#define AMPEL_UTIL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct progress;

/* Global switch (--quiet): when set, progress_start returns a silent handle. */
void progress_set_quiet(bool quiet);
/*
 * Where progress goes: NULL means stderr. The display is on only when the
 * stream is a terminal (and TERM is not "dumb"), or when force_tty is set,
 * which is for tests. Takes effect for progress started afterwards.
 */
void progress_set_output(FILE *out, bool force_tty);

/*
 * Starts a display with a label ("Analyzing"). Never returns NULL; when the
 * display is off the handle records nothing and prints nothing. Draws at once.
 */
struct progress *progress_start(const char *label);
/* Names what is counted ("files"), shown after the count. */
void progress_set_unit(struct progress *p, const char *unit);
/* Sets a known total, shown as "count/total". 0 means unknown. */
void progress_set_total(struct progress *p, size_t total);
/*
 * Records the count and an optional detail (a path, a step name; NULL for
 * none) and redraws if the last draw is more than ~100 ms old. Cheap
 * enough to call per item, from several threads.
 */
void progress_update(struct progress *p, size_t count, const char *detail);
/* Advances the spinner without new numbers, for work with no count. */
void progress_tick(struct progress *p);
/*
 * Clears the line, prints final_message and a newline if it is not NULL,
 * and frees p. p may be NULL.
 */
void progress_done(struct progress *p, const char *final_message);

#endif
