/*
 * dockerfile_internal: the loaded config/dockerfiles.yaml and the rules that
 * read it, shared by the loader (dockerfile_recipes.c), the project chooser
 * (dockerfile_project.c) and the assembler (dockerfile.c). Nothing else
 * includes it.
 */
#ifndef AMPEL_GEN_DOCKERFILE_INTERNAL_H
#define AMPEL_GEN_DOCKERFILE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

struct buf;
struct err;
struct yaml_doc;
struct yaml_node;

struct recipes {
	struct yaml_doc *doc;
	char *origin; /* "config/dockerfiles.yaml" or the override path */
	const struct yaml_node *versions, *list, *ignore, *listen;
	const char *healthcheck_options, *package_install;
};

/*
 * The words a start needs to listen on every address (`listen_everywhere`
 * in config/dockerfiles.yaml): a development server started as maintainers
 * start it listens on localhost only. NULL when start needs none.
 */
const char *dockerfile_listen_everywhere(const struct recipes *r, const char *start);

/* Reads and validates the recipes (the override directory's or the embedded ones). */
int dockerfile_recipes_load(struct recipes *r, struct err *e);
void dockerfile_recipes_free(struct recipes *r);

/*
 * Picks the image version for a runtime (the rule is documented at the top of
 * config/dockerfiles.yaml). NULL with *why set when the declared version is
 * older than every maintained image.
 */
char *dockerfile_version_choose(const struct yaml_node *entry, const char *declared,
				struct buf *why);

/* True when a recipe's match: fits the project; version is its runtime's image version. */
bool dockerfile_recipe_matches(const struct yaml_node *match, const json_t *project,
			       const char *version);

/* The recipe's frameworks: entry for the project's first framework that has one, or NULL. */
const struct yaml_node *dockerfile_recipe_overlay(const struct yaml_node *recipe,
						  const json_t *project);

/* The project at path ("." for the root) of the analysis, or NULL. */
const json_t *dockerfile_project_at(const json_t *analysis, const char *path);

/*
 * The project an image is for when none is named: the root when it is an
 * app of a known stack, the member its start runs, else the first project
 * that starts an app. NULL when none does.
 */
const json_t *dockerfile_project_main(const json_t *analysis);

/* "@acme/api" -> "acme-api": a valid image repository name (malloc'd). */
char *dockerfile_image_name(const char *name);

/* Appends "the nextjs project at apps/web (typescript, pnpm, node 20.11.0)". */
void dockerfile_describe(const json_t *project, struct buf *out);

#endif
