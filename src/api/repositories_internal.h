/*
 * repositories_internal: what repositories.c (registration, validation,
 * routes) needs of repositories_clone.c (the clone job and the clone
 * directories under <data_dir>/repositories).
 */
#ifndef AMPEL_API_REPOSITORIES_INTERNAL_H
#define AMPEL_API_REPOSITORIES_INTERNAL_H

#include <jansson.h>

struct api_context;

/* Where the clone of repository id goes: <data_dir>/repositories/<id> (a new string). */
char *repositories_clone_path(const struct api_context *ctx, const char *id);

/*
 * Removes the clone of a repository that was just deleted (row), with what
 * crashed attempts left beside it; only a clone this server made, never
 * the directory of a path registration, which is the user's own.
 */
void repositories_clone_remove(const struct api_context *ctx, const json_t *row);

#endif
