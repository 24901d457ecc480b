#include "intel/makefile.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <stdlib.h>
#include <string.h>

struct makefile_target {
	struct vec prerequisites; /* char * */
	struct buf recipe;	  /* its lines, '\n'-separated */
};

struct makefile {
	struct map *targets; /* name -> struct makefile_target * */
	char *default_goal;
	bool goal_is_explicit; /* set with .DEFAULT_GOAL */
};

/*
 * Targets that are a phase around the build, not the build: a default goal
 * made of only these (`all: clean test`, `all: install`) does not build.
 */
static const char *const makefile_phases[] = {
	"test",	   "tests",	"check", "lint",     "fmt",	 "format", "clean", "distclean",
	"install", "uninstall", "help",	 "generate", "deps",	 "setup",  "init",  "docs",
	"doc",	   "vet",	"tidy",	 "sync",     "coverage", "bench",
};

/* Commands that package, ship or containerise what was built. */
static const char *const makefile_packagers[] = {
	"docker",     "docker-compose", "podman", "buildah",  "nerdctl",
	"goreleaser", "kubectl",	"helm",	  "skaffold",
};

/* Tools whose `test` subcommand runs the test suite (`go test`, `$(GO) test`). */
static const char *const makefile_test_tools[] = {
	"go", "cargo", "swift", "mix", "npm", "yarn", "pnpm", "bun", "dotnet", "stack", "cabal",
};

static bool makefile_in(const char *word, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(word, list[i]) == 0)
			return true;
	return false;
}
#define MAKEFILE_IN(word, list) makefile_in(word, list, sizeof(list) / sizeof(*list))

static void makefile_target_free(void *item)
{
	struct makefile_target *t = item;
	vec_free(&t->prerequisites, free);
	buf_free(&t->recipe);
	free(t);
}

static struct makefile_target *makefile_target(struct makefile *mk, const char *name)
{
	struct makefile_target *t = map_get(mk->targets, name);
	if (!t) {
		t = xcalloc(1, sizeof(*t));
		buf_init(&t->recipe);
		map_put(mk->targets, name, t);
	}
	return t;
}

/* Splits s on blanks into words (xstrndup'd into out). */
static void makefile_words(const char *s, struct vec *out)
{
	for (;;) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		if (!n)
			break;
		vec_push(out, xstrndup(s, n));
		s += n;
	}
}

/* Where the rule's ':' is, or NULL when the line is not a rule (an assignment). */
static const char *makefile_rule_colon(const char *line)
{
	/* $(...) references may hold ':' (substitutions) and '='. */
	int depth = 0;
	for (const char *c = line; *c; c++) {
		if (*c == '(' || *c == '{')
			depth++;
		else if ((*c == ')' || *c == '}') && depth)
			depth--;
		else if (depth)
			continue;
		else if (*c == '=')
			return NULL; /* NAME = value, NAME ?= value, NAME += value */
		else if (*c == ':')
			return c[1] == '=' || (c[1] == ':' && c[2] == '=') ? NULL : c;
	}
	return NULL;
}

static bool makefile_is_directive(const char *line)
{
	static const char *const directives[] = {
		"ifeq",	   "ifneq",    "ifdef",	   "ifndef",   "else",	   "endif",
		"include", "-include", "sinclude", "export",   "unexport", "override",
		"vpath",   "define",   "endef",	   "undefine",
	};
	size_t n = strcspn(line, " \t(");
	for (size_t i = 0; i < sizeof(directives) / sizeof(*directives); i++)
		if (strlen(directives[i]) == n && strncmp(line, directives[i], n) == 0)
			return true;
	return false;
}

/* `.DEFAULT_GOAL := name` (or =, ?=). */
static void makefile_default_goal_assignment(struct makefile *mk, const char *line)
{
	if (!str_starts_with(line, ".DEFAULT_GOAL"))
		return;
	const char *value = strchr(line, '=');
	if (!value)
		return;
	struct vec words = VEC_INIT;
	makefile_words(value + 1, &words);
	if (words.len) {
		free(mk->default_goal);
		mk->default_goal = xstrdup(words.items[0]);
	}
	vec_free(&words, free);
}

/* One rule line: `targets: prerequisites [| order-only] [; recipe]`. */
static void makefile_rule(struct makefile *mk, char *line, char *colon, struct vec *current,
			  bool *goal_set)
{
	*colon = '\0';
	char *rest = colon + 1 + (colon[1] == ':');
	char *inline_recipe = strchr(rest, ';');
	if (inline_recipe)
		*inline_recipe++ = '\0';
	struct vec names = VEC_INIT;
	makefile_words(line, &names);
	current->len = 0;
	/* `target: VAR = value` sets a variable for the target, nothing else. */
	bool assignment = makefile_rule_colon(rest) == NULL && strchr(rest, '=');
	for (size_t i = 0; i < names.len; i++) {
		const char *name = names.items[i];
		if (strchr(name, '%'))
			continue; /* pattern rule */
		struct makefile_target *t = makefile_target(mk, name);
		vec_push(current, t);
		/* The first target not starting with '.' is the default goal. */
		if (!*goal_set && (name[0] != '.' || strchr(name, '/'))) {
			free(mk->default_goal);
			mk->default_goal = xstrdup(name);
			*goal_set = true;
		}
		if (assignment)
			continue;
		struct vec prerequisites = VEC_INIT;
		makefile_words(rest, &prerequisites);
		for (size_t j = 0; j < prerequisites.len; j++) {
			if (strcmp(prerequisites.items[j], "|") == 0)
				free(prerequisites.items[j]);
			else
				vec_push(&t->prerequisites, prerequisites.items[j]);
		}
		vec_free(&prerequisites, NULL);
		if (inline_recipe && !str_blank(inline_recipe))
			buf_addf(&t->recipe, "%s\n", str_trim(inline_recipe));
	}
	vec_free(&names, free);
}

struct makefile *makefile_parse(const char *text, size_t len)
{
	struct makefile *mk = xcalloc(1, sizeof(*mk));
	mk->targets = map_new();
	struct vec current = VEC_INIT; /* the targets recipe lines belong to */
	struct buf line = BUF_INIT;
	bool goal_set = false, in_define = false;
	for (size_t at = 0; at < len;) {
		/* One logical line, backslash continuations joined. */
		buf_reset(&line);
		for (;;) {
			const char *nl = memchr(text + at, '\n', len - at);
			size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
			buf_add(&line, text + at, n);
			at += n + (nl ? 1 : 0);
			if (line.len && line.data[line.len - 1] == '\r')
				buf_truncate(&line, line.len - 1);
			if (!nl || !line.len || line.data[line.len - 1] != '\\')
				break;
			buf_truncate(&line, line.len - 1);
			buf_addch(&line, ' ');
		}
		char *s = line.data ? line.data : (char *)"";
		if (s[0] == '\t') {
			char *recipe = str_trim(s);
			for (size_t i = 0; *recipe && *recipe != '#' && i < current.len; i++) {
				struct makefile_target *t = current.items[i];
				buf_addf(&t->recipe, "%s\n", recipe);
			}
			continue;
		}
		char *hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		s = str_trim(s);
		if (in_define) {
			in_define = !str_starts_with(s, "endef");
			continue;
		}
		if (!*s)
			continue;
		if (makefile_is_directive(s)) {
			in_define = str_starts_with(s, "define") || strstr(s, " define ");
			current.len = 0;
			continue;
		}
		char *colon = (char *)makefile_rule_colon(s);
		if (!colon) {
			if (str_starts_with(s, ".DEFAULT_GOAL")) {
				makefile_default_goal_assignment(mk, s);
				mk->goal_is_explicit = goal_set = mk->default_goal != NULL;
			}
			current.len = 0;
			continue;
		}
		makefile_rule(mk, s, colon, &current, &goal_set);
	}
	vec_free(&current, NULL);
	buf_free(&line);
	return mk;
}

/*
 * One entry of a task's cmds or deps: a command line, or another task it
 * runs (a deps entry names one; a cmds entry says `task:`).
 */
static void taskfile_step(struct makefile_target *t, const struct yaml_node *step, bool dep)
{
	if (step->kind == YAML_SCALAR && yaml_str(step)) {
		if (dep)
			vec_push(&t->prerequisites, xstrdup(yaml_str(step)));
		else
			buf_addf(&t->recipe, "%s\n", yaml_str(step));
		return;
	}
	const char *task = yaml_str(yaml_get(step, "task"));
	const char *cmd = yaml_str(yaml_get(step, "cmd"));
	if (task)
		vec_push(&t->prerequisites, xstrdup(task));
	else if (cmd)
		buf_addf(&t->recipe, "%s\n", cmd);
}

struct makefile *makefile_from_taskfile(const char *text, size_t len)
{
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	if (yaml_parse(&doc, "Taskfile.yml", text, len, &e) < 0)
		return NULL;
	const struct yaml_node *tasks = yaml_get(doc->root, "tasks");
	if (!tasks || tasks->kind != YAML_MAPPING) {
		yaml_doc_free(doc);
		return NULL;
	}
	struct makefile *mk = xcalloc(1, sizeof(*mk));
	mk->targets = map_new();
	for (size_t i = 0; i < tasks->count; i++) {
		const char *name = yaml_str(tasks->pairs[i].key);
		const struct yaml_node *task = tasks->pairs[i].value;
		if (!name)
			continue;
		struct makefile_target *t = makefile_target(mk, name);
		/* A task may be only its command: `build: go build ./...`. */
		if (task->kind == YAML_SCALAR) {
			taskfile_step(t, task, false);
			continue;
		}
		static const char *const lists[] = { "deps", "cmds" };
		for (size_t l = 0; l < 2; l++) {
			const struct yaml_node *list = yaml_get(task, lists[l]);
			for (size_t j = 0; list && list->kind == YAML_SEQUENCE && j < list->count;
			     j++)
				taskfile_step(t, list->items[j], l == 0);
		}
		const struct yaml_node *cmd = yaml_get(task, "cmd");
		if (cmd)
			taskfile_step(t, cmd, false);
	}
	/* `task` alone runs the task named default. */
	if (map_get(mk->targets, "default")) {
		mk->default_goal = xstrdup("default");
		mk->goal_is_explicit = true;
	}
	yaml_doc_free(doc);
	return mk;
}

void makefile_free(struct makefile *mk)
{
	if (!mk)
		return;
	map_free(mk->targets, makefile_target_free);
	free(mk->default_goal);
	free(mk);
}

const char *makefile_default_goal(const struct makefile *mk)
{
	return mk ? mk->default_goal : NULL;
}

/*
 * Whether a recipe copies the built product into the system (GNU's `make
 * install`: the install program, $(DESTDIR)$(PREFIX)/bin): that installs
 * what was built, it does not fetch what the build needs.
 */
static bool makefile_installs_product(const char *recipe)
{
	static const char *const names[] = { "INSTALL", "DESTDIR", "PREFIX", "prefix",
					     "bindir",	"BINDIR",  "libdir" };
	for (const char *c = recipe; *c;) {
		/* The install program as a line's command: `install -m 755 app $(BINDIR)`. */
		if (c == recipe || c[-1] == '\n') {
			const char *command = c + strspn(c, "@-+ \t");
			if (str_starts_with(command, "install ") ||
			    str_starts_with(command, "install\t"))
				return true;
		}
		size_t n = strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_");
		if (!n) {
			if (str_starts_with(c, "/usr/"))
				return true;
			c++;
			continue;
		}
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
			if (strlen(names[i]) == n && strncmp(c, names[i], n) == 0)
				return true;
		c += n;
	}
	return false;
}

/* Whether a recipe runs a packager, or for a build, the test suite. */
static bool makefile_recipe_disqualifies(const char *recipe, enum command_kind kind)
{
	if (kind == COMMAND_INSTALL && makefile_installs_product(recipe))
		return true;
	struct vec words = VEC_INIT;
	struct buf copy = BUF_INIT;
	buf_adds(&copy, recipe);
	for (char *c = copy.data; c && *c; c++)
		if (*c == '\n' || *c == ';' || *c == '&' || *c == '|' || *c == '@' || *c == '(' ||
		    *c == ')')
			*c = ' ';
	makefile_words(buf_cstr(&copy), &words);
	bool bad = false;
	for (size_t i = 0; i < words.len && !bad; i++) {
		const char *word = words.items[i];
		const char *base = strrchr(word, '/') ? strrchr(word, '/') + 1 : word;
		if (MAKEFILE_IN(base, makefile_packagers))
			bad = true;
		else if (kind == COMMAND_BUILD &&
			 (strcmp(base, "pytest") == 0 || strcmp(base, "py.test") == 0))
			bad = true;
		else if (kind == COMMAND_BUILD && i && strcmp(word, "test") == 0) {
			/* `$(GO) test` lost its parentheses above: "$ GO test". */
			const char *tool = words.items[i - 1];
			char *lower = str_lower(xstrdup(tool));
			bad = MAKEFILE_IN(lower, makefile_test_tools);
			free(lower);
		}
	}
	vec_free(&words, free);
	buf_free(&copy);
	return bad;
}

/* Whether making name builds something: a phase alone does not. */
static bool makefile_builds(const struct makefile *mk, const char *name, int depth)
{
	if (MAKEFILE_IN(name, makefile_phases) || depth > 8)
		return false;
	const struct makefile_target *t = map_get(mk->targets, name);
	if (!t)
		return true; /* a file to make, or a rule make finds elsewhere */
	if (t->recipe.len)
		return !makefile_recipe_disqualifies(t->recipe.data, COMMAND_BUILD);
	for (size_t i = 0; i < t->prerequisites.len; i++)
		if (makefile_builds(mk, t->prerequisites.items[i], depth + 1))
			return true;
	return false;
}

bool makefile_target_does(const struct makefile *mk, const char *target, enum command_kind kind)
{
	if (!mk || !target)
		return false;
	if (strcmp(target, ".DEFAULT_GOAL") == 0) {
		const char *goal = mk->default_goal;
		bool conventional = goal && (mk->goal_is_explicit || strcmp(goal, "all") == 0 ||
					     strcmp(goal, "default") == 0 || strchr(goal, '/'));
		return conventional && makefile_builds(mk, goal, 0);
	}
	const struct makefile_target *t = map_get(mk->targets, target);
	if (!t || (!t->recipe.len && !t->prerequisites.len))
		return false;
	return !makefile_recipe_disqualifies(buf_cstr(&t->recipe), kind);
}
