#include "intel/project.h"

#include "util/arena.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const finding_kind_names[] = {
	"framework", "package_manager", "build_tool", "test_framework", "linter", "ci",
	"cd",	     "container",
};

static const char *const command_kind_names[] = { "install", "build", "test", "lint", "start" };

const char *finding_kind_name(enum finding_kind kind)
{
	return finding_kind_names[kind];
}

const char *command_kind_name(enum command_kind kind)
{
	return command_kind_names[kind];
}

int command_kind_parse(const char *name)
{
	for (int k = 0; k < COMMAND_KINDS; k++)
		if (name && strcmp(name, command_kind_names[k]) == 0)
			return k;
	return -1;
}

struct project *project_new(struct arena *arena, const char *dir)
{
	struct project *p = xcalloc(1, sizeof(*p));
	p->dir = arena_strdup(arena, dir);
	p->path = *dir ? p->dir : ".";
	const char *slash = strrchr(dir, '/');
	p->name = slash ? slash + 1 : dir;
	p->scripts = map_new();
	p->ecosystem_scripts = map_new();
	p->runtimes = map_new();
	p->runtime_sources = map_new();
	p->entry_points = map_new();
	return p;
}

void project_free(struct project *p)
{
	if (!p)
		return;
	vec_free(&p->manifests, NULL);
	vec_free(&p->dependencies, NULL);
	vec_free(&p->findings, NULL);
	vec_free(&p->env, NULL);
	vec_free(&p->languages, NULL);
	vec_free(&p->workspace_members, NULL);
	map_free(p->scripts, NULL);
	map_free(p->ecosystem_scripts, NULL);
	map_free(p->runtimes, NULL);
	map_free(p->runtime_sources, NULL);
	map_free(p->entry_points, NULL);
	free(p);
}

void project_add_dependency(struct project *p, struct arena *arena, const char *ecosystem,
			    const char *name, const char *version, bool dev, const char *source)
{
	for (size_t i = 0; i < p->dependencies.len; i++) {
		struct dependency *d = p->dependencies.items[i];
		/* A runtime dependency stays one even when also listed for dev. */
		if (strcmp(d->name, name) == 0 && strcmp(d->ecosystem, ecosystem) == 0) {
			d->dev = d->dev && dev;
			return;
		}
	}
	struct dependency *d = arena_calloc(arena, 1, sizeof(*d));
	d->ecosystem = arena_strdup(arena, ecosystem);
	d->name = arena_strdup(arena, name);
	d->version = arena_strdup(arena, version ? version : "");
	d->dev = dev;
	d->source = arena_strdup(arena, source);
	vec_push(&p->dependencies, d);
}

struct finding *project_add_finding(struct project *p, struct arena *arena, enum finding_kind kind,
				    const char *id, const char *name, double confidence,
				    const char *evidence)
{
	struct finding *f = (struct finding *)project_find(p, kind, id);
	if (!f) {
		f = arena_calloc(arena, 1, sizeof(*f));
		f->kind = kind;
		f->id = arena_strdup(arena, id);
		f->name = arena_strdup(arena, name ? name : id);
		vec_push(&p->findings, f);
	} else if (confidence <= f->confidence) {
		return f;
	}
	f->confidence = confidence;
	f->evidence = evidence ? arena_strdup(arena, evidence) : NULL;
	return f;
}

const struct finding *project_find(const struct project *p, enum finding_kind kind, const char *id)
{
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		if (f->kind == kind && strcmp(f->id, id) == 0)
			return f;
	}
	return NULL;
}

const struct finding *project_top(const struct project *p, enum finding_kind kind)
{
	const struct finding *best = NULL;
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		if (f->kind == kind && (!best || f->confidence > best->confidence))
			best = f;
	}
	return best;
}

const struct dependency *project_dependency(const struct project *p, const char *name)
{
	for (size_t i = 0; i < p->dependencies.len; i++) {
		const struct dependency *d = p->dependencies.items[i];
		if (strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

void project_set_runtime(struct project *p, struct arena *arena, const char *runtime,
			 const char *version, const char *source)
{
	if (!version || !*version || map_has(p->runtimes, runtime))
		return;
	map_put(p->runtimes, runtime, arena_strdup(arena, version));
	map_put(p->runtime_sources, runtime, arena_strdup(arena, source));
}

void project_add_env(struct project *p, struct arena *arena, const char *name, const char *source)
{
	size_t i = 0;
	for (; i < p->env.len; i++) {
		const struct env_var *v = p->env.items[i];
		int cmp = strcmp(v->name, name);
		if (cmp == 0)
			return;
		if (cmp > 0)
			break;
	}
	struct env_var *v = arena_calloc(arena, 1, sizeof(*v));
	v->name = arena_strdup(arena, name);
	v->source = arena_strdup(arena, source);
	vec_insert(&p->env, i, v);
}
