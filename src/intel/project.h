/*
 * project: what analysis learns about one project of a repository.
 *
 * A repository holds one or more projects (a monorepo's packages, or
 * unrelated apps in subfolders), each a directory with its own manifest.
 * Detectors fill a project's facts in stages (manifests, rules, runtimes,
 * sources, commands); the analysis document is rendered from them. All
 * strings live in the analysis arena.
 */
#ifndef AMPEL_INTEL_PROJECT_H
#define AMPEL_INTEL_PROJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/vec.h"

struct arena;
struct map;
struct rule;
struct scan;

struct dependency {
	const char *ecosystem; /* npm, pypi, cargo, go, maven, rubygems, packagist, hex, nuget,
				  swift, pub */
	const char *name;
	const char *version; /* as declared ("^18.2.0", ">=2,<3"); "" when none */
	bool dev;	     /* development/test only */
	const char *source;  /* manifest path from the repository root */
};

/* A detected framework, package manager, build tool, test framework, CI, CD... */
enum finding_kind {
	FINDING_FRAMEWORK,
	FINDING_PACKAGE_MANAGER,
	FINDING_BUILD_TOOL,
	FINDING_TEST_FRAMEWORK,
	FINDING_LINTER,
	FINDING_CI,
	FINDING_CD,
	FINDING_CONTAINER,
};

struct finding {
	enum finding_kind kind;
	const char *id;	  /* lowercase id: "nextjs", "pnpm", "github" */
	const char *name; /* display name: "Next.js" */
	double confidence;
	const char *evidence;	 /* the strongest signal, e.g. "package.json: dependency next" */
	const char *path;	 /* for ci/cd/container: the file from the repository root */
	const struct rule *rule; /* the rule that found it (commands, port, ...) */
};

struct env_var {
	const char *name;
	const char *source; /* "src/db.js:3" or ".env.example:1" */
};

struct language_share {
	const char *id;
	uint64_t bytes;
	size_t files;
	double confidence;
};

/* The five commands a CI or a container runs; NULL where there is nothing. */
enum command_kind { COMMAND_INSTALL, COMMAND_BUILD, COMMAND_TEST, COMMAND_LINT, COMMAND_START };
#define COMMAND_KINDS 5

struct project {
	const char *path;	 /* "." or "apps/web" */
	const char *dir;	 /* the same as a scan dir: "" or "apps/web" */
	const char *name;	 /* from the manifest when it has one, else the dir name */
	struct vec manifests;	 /* const char *: manifest paths from the root */
	struct vec dependencies; /* struct dependency * */
	struct map *scripts;	 /* package.json/composer scripts: name -> command */
	/* "npm:build" -> command: each manifest's scripts, for the package
	 * manager that runs them (composer's "test" is not package.json's). */
	struct map *ecosystem_scripts;
	struct map *runtimes;	     /* "node" -> "20" (see docs/analysis.md for keys) */
	struct map *runtime_sources; /* "node" -> ".nvmrc" */
	struct vec findings;	     /* struct finding * */
	struct vec env;		     /* struct env_var *, sorted by name, unique */
	int port;		     /* 0 when it cannot be told */
	const char *port_source;
	const char *commands[COMMAND_KINDS];
	/* Where the program starts, found in the tree: entry-point placeholder
	 * -> value ("go_package" -> "cmd/memos"; src/intel/entry_points.h). */
	struct map *entry_points;
	/* Its start runs a development server: a browser app's own, or a
	 * `dev` script for want of a start. */
	bool dev_server;
	const struct finding *package_manager; /* the one that runs the project */
	struct vec languages;		       /* struct language_share *, by bytes, descending */
	const char *primary_language;
	struct vec workspace_members; /* const char *: project paths this one declares */
	bool is_workspace_root;
	double confidence;
	struct project *parent;	   /* the enclosing project; NULL for the root */
	struct project *workspace; /* the workspace root that declares it a member */
};

struct project *project_new(struct arena *arena, const char *dir);
void project_add_dependency(struct project *p, struct arena *arena, const char *ecosystem,
			    const char *name, const char *version, bool dev, const char *source);
/* Adds or strengthens a finding (the highest confidence and its evidence win). */
struct finding *project_add_finding(struct project *p, struct arena *arena, enum finding_kind kind,
				    const char *id, const char *name, double confidence,
				    const char *evidence);
const struct finding *project_find(const struct project *p, enum finding_kind kind, const char *id);
/* The most confident finding of a kind (e.g. the package manager), or NULL. */
const struct finding *project_top(const struct project *p, enum finding_kind kind);
const struct dependency *project_dependency(const struct project *p, const char *name);
/* Records a runtime version unless one from a stronger source is already set. */
void project_set_runtime(struct project *p, struct arena *arena, const char *runtime,
			 const char *version, const char *source);
void project_add_env(struct project *p, struct arena *arena, const char *name, const char *source);
/* Frees the vectors and maps (strings are in the arena). */
void project_free(struct project *p);
const char *finding_kind_name(enum finding_kind kind);
const char *command_kind_name(enum command_kind kind);
/* The command kind named name ("build"), or -1. */
int command_kind_parse(const char *name);

#endif
