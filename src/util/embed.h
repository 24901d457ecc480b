/*
 * embed: the YAML files under config/ compiled into the binary.
 *
 * Knowledge is data, and the binary must still be self-contained; the
 * build turns config/ into a table (scripts/embed-files.py). A directory
 * given with --config-dir / AMPEL_CONFIG_DIR overrides any file by name.
 */
#ifndef AMPEL_UTIL_EMBED_H
#define AMPEL_UTIL_EMBED_H

#include <stddef.h>

struct buf;
struct err;

struct embed_file {
	const char *name;	   /* base name, e.g. "languages.yaml" */
	const unsigned char *data; /* NUL-terminated */
	size_t size;		   /* without the terminator */
};

/* Generated table, terminated by an entry with name == NULL. */
extern const struct embed_file embed_files[];
extern const size_t embed_files_count;

/* The embedded file called name, or NULL. */
const struct embed_file *embed_find(const char *name);

/* The override directory (NULL = none); the string is copied. */
void embed_set_override_dir(const char *dir);
const char *embed_override_dir(void);

/*
 * Reads config file `name`: from the override directory when it holds
 * that file, else the embedded copy. *origin_out (optional) receives a
 * path for error messages: "<dir>/<name>" or "config/<name>" (embedded).
 * The caller frees *origin_out.
 */
int embed_read_config(const char *name, struct buf *out, char **origin_out, struct err *e);

#endif
