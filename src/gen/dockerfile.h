/*
 * dockerfile: a Dockerfile and .dockerignore for a project.
 *
 * Multi-stage, a base image pinned to the detected runtime version, the
 * dependency layer cached apart from the source, a non-root user, EXPOSE
 * of the detected port and a HEALTHCHECK where it makes sense. Recipes per
 * stack are data: config/dockerfiles.yaml.
 */
#ifndef AMPEL_GEN_DOCKERFILE_H
#define AMPEL_GEN_DOCKERFILE_H

#include <jansson.h>

struct err;
struct gen_files;

struct dockerfile_options {
	const char *project; /* project path in the analysis; NULL = the main one */
	const char *command; /* the command line, for the header comment */
};

/* Adds <project>/Dockerfile and <project>/.dockerignore, or GEN_UNSUPPORTED. */
int gen_dockerfile(const json_t *analysis, const struct dockerfile_options *options,
		   struct gen_files *out, struct err *e);

/*
 * The port the image for project listens on when its recipe's own server
 * decides it (a static site's nginx: 8080), so deployments route there;
 * 0 when it is the app's port as analysed (or no recipe fits).
 */
long gen_dockerfile_port(const json_t *analysis, const json_t *project);

#endif
