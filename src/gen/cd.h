/*
 * cd: deployment configs and workflows for Fly.io, AWS ECS, Cloud Run,
 * Azure Container Apps, DigitalOcean App Platform and Kubernetes.
 *
 * A release process as teams run it: development on pushes to the default
 * branch, staging on release/ branches, production on v*.*.* tags behind a
 * protected environment; a smoke test after each deploy and a rollback
 * where the platform has one. Provider knowledge (credentials, regions,
 * defaults) is data: config/deployment-providers.yaml. Secrets are named,
 * never written.
 */
#ifndef AMPEL_GEN_CD_H
#define AMPEL_GEN_CD_H

#include <jansson.h>

#include "gen/ci.h"

struct err;
struct gen_files;

struct cd_options {
	const char *target; /* flyio, aws-ecs, gcp-cloudrun, azure-containerapps, digitalocean,
			       kubernetes */
	enum ci_provider provider; /* where the deploy pipeline runs: any of the four */
	const char *project;	   /* project path; NULL = the main one */
	const char *region;	   /* NULL = the provider's default */
	const char *command;	   /* the command line, for the header comment */
};

int gen_cd(const json_t *analysis, const struct cd_options *options, struct gen_files *out,
	   struct err *e);

/*
 * The provider catalog as data, for the server (deployment credentials):
 * a new array in *out of {id, name, docs, regions, default_region,
 * credentials: [{name, label, type, required, secret, pattern?, options?}]}
 * in file order. Loaded and validated by the same code as generation, so
 * the server and `ampel generate cd` can never disagree on a provider.
 */
int cd_providers_describe(json_t **out, struct err *e);

#endif
