/*
 * dockerfile: assembles a Dockerfile and .dockerignore from a recipe in
 * config/dockerfiles.yaml and a project of the analysis document.
 *
 * What to install, which images, users and health checks is data; this file
 * only picks the recipe, pins the versions, fills the placeholders and lays
 * out the stages in the order that keeps the dependency layer cached.
 */
#include "gen/dockerfile.h"
#include "gen/dockerfile_internal.h"
#include "gen/files.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* The project, its context and the placeholders                        */

struct gen {
	const struct recipes *r;
	const struct yaml_node *recipe;
	const struct yaml_node *overlay; /* the recipe's frameworks entry for this project */
	const json_t *analysis, *project;
	const char *path;    /* the project, from the repository root */
	const char *context; /* the build context, from the repository root */
	const char *member;  /* the project, from the context ("." when the same) */
	struct map *vars;    /* placeholder -> value (char *); absent = no value */
	char missing[64];    /* the placeholder that made the last fill fail */
	struct buf out;	     /* the Dockerfile */
};

/* A recipe field, as the project's framework entry overrides it. */
static const struct yaml_node *rget(const struct gen *g, const char *key)
{
	const struct yaml_node *node = g->overlay ? yaml_get(g->overlay, key) : NULL;
	return node ? node : yaml_get(g->recipe, key);
}

static const char *field(const struct gen *g, const char *key)
{
	return yaml_str(rget(g, key));
}

static bool field_bool(const struct gen *g, const char *key, bool def)
{
	const struct yaml_node *node = rget(g, key);
	bool value = def;
	if (node)
		yaml_bool(node, NULL, &value, NULL);
	return value;
}

static void var_set(struct gen *g, const char *name, const char *value)
{
	if (value)
		free(map_put(g->vars, name, xstrdup(value)));
}

/* Appends tmpl with its placeholders filled; false (g->missing set) when one has no value. */
static bool fill(struct gen *g, const char *tmpl, struct buf *out)
{
	for (const char *p = tmpl; *p; p++) {
		size_t n = *p == '{' ? strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_:") : 0;
		if (n == 0 || p[1 + n] != '}') {
			buf_addch(out, *p);
			continue;
		}
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		const char *value = map_get(g->vars, name);
		if (!value) {
			snprintf(g->missing, sizeof(g->missing), "%s", name);
			return false;
		}
		buf_adds(out, value);
		p += n + 1;
	}
	return true;
}

/* A fresh string of the filled template, or NULL when a placeholder has no value. */
static char *fill_new(struct gen *g, const char *tmpl)
{
	struct buf out = BUF_INIT;
	if (!tmpl || !fill(g, tmpl, &out)) {
		buf_free(&out);
		return NULL;
	}
	return buf_detach(&out);
}

static const char *relative(const char *path, const char *base)
{
	if (strcmp(base, ".") == 0)
		return path;
	if (strcmp(path, base) == 0)
		return ".";
	return path + strlen(base) + 1;
}

/* The start command minus the recipe's prefixes, and its first word. */
static void set_start_vars(struct gen *g)
{
	const char *start = json_get_str(json_object_get(g->project, "commands"), "start", NULL);
	if (!start)
		return;
	const struct yaml_node *strip = rget(g, "start_strip");
	for (size_t i = 0; strip && i < strip->count; i++) {
		if (str_starts_with(start, strip->items[i]->value)) {
			start += strlen(strip->items[i]->value);
			break;
		}
	}
	/* A development server made to listen beyond localhost. */
	struct buf listening = BUF_INIT;
	char *suffix = fill_new(g, dockerfile_listen_everywhere(g->r, start));
	if (suffix) {
		buf_addf(&listening, "%s%s", start, suffix);
		start = listening.data;
	}
	free(suffix);
	var_set(g, "start", start);
	size_t n = strcspn(start, " \t");
	char *program = xstrdup(start);
	program[n] = '\0';
	var_set(g, "program", program);
	const char *args = start + n + strspn(start + n, " \t");
	var_set(g, "args", args);
	free(program);
	buf_free(&listening);
}

static void set_vars(struct gen *g, const char *version)
{
	const json_t *p = g->project, *commands = json_object_get(p, "commands");
	var_set(g, "version", version);
	var_set(g, "install", json_get_str(commands, "install", NULL));
	var_set(g, "build", json_get_str(commands, "build", NULL));
	/* Where the program starts, as the analysis found it ({go_package}). */
	const char *entry;
	json_t *value;
	json_object_foreach(json_object_get(p, "entry_points"), entry, value)
	{
		var_set(g, entry, json_string_value(value));
	}
	const char *name = json_get_str(p, "name", "app");
	var_set(g, "name", name);
	char *image = dockerfile_image_name(name);
	var_set(g, "image_name", image);
	free(image);
	var_set(g, "user", field(g, "user"));
	json_t *port = json_object_get(p, "port");
	if (field(g, "port")) {
		var_set(g, "port", field(g, "port")); /* the recipe's server listens there */
	} else if (json_is_integer(port)) {
		char text[32];
		snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(port));
		var_set(g, "port", text);
	}
	const char *manifest =
		json_string_value(json_array_get(json_object_get(p, "manifests"), 0));
	if (manifest) {
		var_set(g, "manifest", relative(manifest, g->context));
		const char *base = strrchr(manifest, '/') ? strrchr(manifest, '/') + 1 : manifest;
		char *stem = xstrdup(base);
		char *dot = strrchr(stem, '.');
		if (dot && dot != stem)
			*dot = '\0';
		var_set(g, "manifest_stem", stem);
		free(stem);
	}
	struct buf dirs = BUF_INIT;
	buf_adds(&dirs, ".");
	size_t i;
	json_t *other;
	json_array_foreach(json_object_get(g->analysis, "projects"), i, other)
	{
		const char *of =
			json_get_str(json_object_get(other, "workspace"), "member_of", NULL);
		if (str_eq(of, g->context))
			buf_addf(&dirs, " %s",
				 relative(json_get_str(other, "path", "."), g->context));
	}
	var_set(g, "member_dirs", dirs.data);
	buf_free(&dirs);
	var_set(g, "member", g->member);
	set_start_vars(g);
}

/* ------------------------------------------------------------------ */
/* Writing instructions                                                 */

/* RUN, broken before each "&&" outside quotes when the line is long. */
static void emit_run(struct gen *g, const char *command)
{
	buf_adds(&g->out, "RUN ");
	bool wrap = strlen(command) > 80 && !strstr(command, "; do ");
	char quote = 0;
	for (const char *p = command; *p; p++) {
		if (quote ? *p == quote : (*p == '\'' || *p == '"'))
			quote = quote ? 0 : *p;
		if (wrap && !quote && strncmp(p, " && ", 4) == 0) {
			buf_adds(&g->out, " \\\n\t&& ");
			p += 3;
			continue;
		}
		buf_addch(&g->out, *p);
	}
	buf_addch(&g->out, '\n');
}

/* Runs each filled entry of a list field; false when a required one cannot be filled. */
static bool emit_runs(struct gen *g, const char *key)
{
	const struct yaml_node *list = rget(g, key);
	for (size_t i = 0; list && i < list->count; i++) {
		char *command = fill_new(g, list->items[i]->value);
		if (!command)
			return false;
		emit_run(g, command);
		free(command);
	}
	return true;
}

/* An optional step, NULL when the recipe says null or a placeholder has no value. */
static char *step_command(struct gen *g, const char *key, const char *def)
{
	const struct yaml_node *node = rget(g, key);
	return fill_new(g, node ? (yaml_is_null(node) ? NULL : node->value) : def);
}

static void emit_step(struct gen *g, const char *key, const char *def)
{
	char *command = step_command(g, key, def);
	if (command)
		emit_run(g, command);
	free(command);
}

static void emit_env(struct gen *g, const char *key)
{
	const struct yaml_node *env = rget(g, key);
	struct buf lines = BUF_INIT;
	for (size_t i = 0; env && i < env->count; i++) {
		char *value = fill_new(g, env->pairs[i].value->value);
		if (!value)
			continue;
		bool bare = value[0] &&
			    strspn(value, "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,@%+-") ==
				    strlen(value);
		buf_addf(&lines, "%s%s=", lines.len ? " \\\n\t" : "", env->pairs[i].key->value);
		if (bare) {
			buf_adds(&lines, value);
		} else {
			buf_addch(&lines, '"');
			for (const char *p = value; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_addch(&lines, '\\');
				buf_addch(&lines, *p);
			}
			buf_addch(&lines, '"');
		}
		free(value);
	}
	if (lines.len)
		buf_addf(&g->out, "ENV %s\n", lines.data);
	buf_free(&lines);
}

static void push_list(struct vec *names, const struct yaml_node *list)
{
	for (size_t i = 0; list && i < list->count; i++)
		vec_push(names, (void *)list->items[i]->value);
}

/*
 * Distro packages of a stage: the recipe's, plus the system libraries its
 * (non-dev) dependencies need; a single stage gets both sets.
 */
static void emit_packages(struct gen *g, bool build_stage, bool final_stage)
{
	struct vec names = VEC_INIT;
	if (build_stage)
		push_list(&names, rget(g, "build_packages"));
	if (final_stage)
		push_list(&names, rget(g, "packages"));
	const struct yaml_node *deps = rget(g, "dependency_packages");
	for (size_t i = 0; deps && i < deps->count; i++) {
		const char *dep = yaml_str(yaml_get(deps->items[i], "dependency"));
		size_t j;
		json_t *d;
		bool used = false;
		json_array_foreach(json_object_get(g->project, "dependencies"), j, d)
		{
			used = used || (str_eq(json_get_str(d, "name", NULL), dep) &&
					!json_get_bool(d, "dev", false));
		}
		if (used && build_stage)
			push_list(&names, yaml_get(deps->items[i], "build"));
		if (used && final_stage)
			push_list(&names, yaml_get(deps->items[i], "runtime"));
	}
	struct buf joined = BUF_INIT;
	for (size_t i = 0; i < names.len; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(names.items[i], names.items[j]) == 0;
		if (!seen)
			buf_addf(&joined, "%s%s", joined.len ? " " : "", (char *)names.items[i]);
	}
	if (joined.len) {
		var_set(g, "packages", joined.data);
		char *command = fill_new(g, g->r->package_install);
		emit_run(g, command);
		free(command);
	}
	buf_free(&joined);
	vec_free(&names, NULL);
}

/* Adds path to files unless it is there already. */
static void files_add(struct vec *files, const char *path)
{
	for (size_t i = 0; i < files->len; i++) {
		if (strcmp(files->items[i], path) == 0)
			return;
	}
	vec_push(files, xstrdup(path));
}

static void files_add_manifests(struct gen *g, struct vec *files, const json_t *project)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(project, "manifests"), i, m)
	{
		files_add(files, relative(json_string_value(m), g->context));
	}
}

/*
 * The dependency files, copied before the install step so that the layer
 * it makes is rebuilt only when they change: the context's manifests, the
 * recipe's lock files and every workspace member's manifests, each into
 * its own directory.
 */
static void emit_dependency_files(struct gen *g, const char *chown)
{
	struct vec files = VEC_INIT;
	files_add_manifests(g, &files, dockerfile_project_at(g->analysis, g->context));
	const struct yaml_node *extra = rget(g, "files");
	for (size_t i = 0; extra && i < extra->count; i++) {
		bool covered = false; /* build.gradle* when build.gradle.kts is listed */
		for (size_t k = 0; k < files.len; k++)
			covered =
				covered || fnmatch(extra->items[i]->value, files.items[k], 0) == 0;
		if (!covered)
			files_add(&files, extra->items[i]->value);
	}
	size_t i;
	json_t *other;
	json_array_foreach(json_object_get(g->analysis, "projects"), i, other)
	{
		const char *of =
			json_get_str(json_object_get(other, "workspace"), "member_of", NULL);
		if (other == g->project || str_eq(of, g->context))
			files_add_manifests(g, &files, other);
	}
	struct buf line = BUF_INIT;
	buf_addf(&line, "COPY %s", chown);
	buf_rtrim(&line);
	size_t plain = line.len;
	for (size_t k = 0; k < files.len; k++) {
		const char *f = files.items[k];
		if (!strchr(f, '/'))
			buf_addf(&line, " %s", f);
	}
	if (line.len > plain)
		buf_addf(&g->out, "%s ./\n", line.data);
	for (size_t k = 0; k < files.len; k++) {
		const char *f = files.items[k];
		const char *slash = strrchr(f, '/');
		if (!slash)
			continue;
		if (slash[1] == '\0')
			buf_addf(&g->out, "COPY %s%s %s\n", chown, f, f);
		else
			buf_addf(&g->out, "COPY %s%s %.*s\n", chown, f, (int)(slash - f + 1), f);
	}
	buf_free(&line);
	vec_free(&files, free);
}

/* CMD/HEALTHCHECK exec form: a JSON array. */
static void emit_argv(struct buf *out, const struct vec *argv)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < argv->len; i++) {
		json_t *s = json_string(argv->items[i]);
		char *text = json_dumps(s, JSON_ENCODE_ANY);
		buf_addf(out, "%s%s", i ? ", " : "", text);
		free(text);
		json_decref(s);
	}
	buf_addch(out, ']');
}

/* Words of a command; a command that needs a shell becomes sh -c. */
static void split_command(const char *command, struct vec *argv)
{
	bool shell = strpbrk(command, "$&|;<>*?()`\\\"'") != NULL;
	size_t n = strcspn(command, " =");
	shell = shell || command[n] == '='; /* FOO=bar cmd */
	if (shell) {
		vec_push(argv, xstrdup("sh"));
		vec_push(argv, xstrdup("-c"));
		vec_push(argv, xstrdup(command));
		return;
	}
	str_split(command, ' ', argv);
	for (size_t i = argv->len; i-- > 0;) {
		if (((char *)argv->items[i])[0] == '\0')
			free(vec_remove(argv, i));
	}
}

static void emit_healthcheck(struct gen *g)
{
	const struct yaml_node *list = rget(g, "healthcheck");
	struct vec argv = VEC_INIT;
	for (size_t i = 0; list && i < list->count; i++) {
		char *arg = fill_new(g, list->items[i]->value);
		if (!arg) {
			vec_free(&argv, free);
			return; /* no port: nothing to check */
		}
		vec_push(&argv, arg);
	}
	if (argv.len) {
		buf_addf(&g->out, "HEALTHCHECK %s CMD ", g->r->healthcheck_options);
		emit_argv(&g->out, &argv);
		buf_addch(&g->out, '\n');
	}
	vec_free(&argv, free);
}

/* Each "IMAGE FROM TO" of copy_images: a tool taken from its official image. */
static bool emit_copy_images(struct gen *g)
{
	const struct yaml_node *list = rget(g, "copy_images");
	for (size_t i = 0; list && i < list->count; i++) {
		char *spec = fill_new(g, list->items[i]->value);
		if (!spec)
			return false;
		size_t n = strcspn(spec, " ");
		buf_addf(&g->out, "COPY --from=%.*s%s\n", (int)n, spec, spec + n);
		free(spec);
	}
	return true;
}

static void emit_install_and_build(struct gen *g, const char *chown)
{
	bool member = strcmp(g->member, ".") != 0 && !field_bool(g, "build_at_root", false);
	emit_dependency_files(g, chown);
	emit_step(g, "install", "{install}");
	buf_addf(&g->out, "COPY %s. .\n", chown);
	char *build = step_command(g, "build", "{build}");
	if (build && member)
		buf_addf(&g->out, "WORKDIR /app/%s\n", g->member);
	if (build)
		emit_run(g, build);
	if (build && member)
		buf_adds(&g->out, "WORKDIR /app\n");
	free(build);
	emit_step(g, "after_build", NULL);
}

static bool emit_user_setup(struct gen *g)
{
	const char *create = field(g, "create_user");
	char *command = create ? fill_new(g, create) : NULL;
	if (create && !command)
		return false;
	if (command)
		emit_run(g, command);
	free(command);
	buf_adds(&g->out, "WORKDIR /app\n");
	return emit_runs(g, "setup");
}

/* Paths the app writes at run time, owned by its user; relative to the project. */
static void emit_writable(struct gen *g)
{
	const struct yaml_node *list = rget(g, "writable");
	struct buf paths = BUF_INIT;
	for (size_t i = 0; list && i < list->count; i++) {
		if (strcmp(g->member, ".") != 0)
			buf_addf(&paths, " %s/%s", g->member, list->items[i]->value);
		else
			buf_addf(&paths, " %s", list->items[i]->value);
	}
	if (paths.len) {
		struct buf command = BUF_INIT;
		buf_addf(&command, "mkdir -p%s && chown -R %s%s", paths.data, field(g, "user"),
			 paths.data);
		emit_run(g, command.data);
		buf_free(&command);
	}
	buf_free(&paths);
}

static int unsupported(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int unsupported(struct err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
	return GEN_UNSUPPORTED;
}

/* The project's declared version, else its workspace root's (where pins usually live). */
static const char *declared_version(const struct gen *g, const char *runtime)
{
	const char *version = json_get_str(json_object_get(g->project, "runtimes"), runtime, NULL);
	const char *root =
		json_get_str(json_object_get(g->project, "workspace"), "member_of", NULL);
	if (!version && root)
		version = json_get_str(
			json_object_get(dockerfile_project_at(g->analysis, root), "runtimes"),
			runtime, NULL);
	return version;
}

/* The stages. GEN_UNSUPPORTED when a required field cannot be filled. */
static int emit_dockerfile(struct gen *g, const char *what, struct err *e)
{
	bool multi = field(g, "build_image") != NULL;
	bool as_user = field_bool(g, "run_as_user", false);
	const char *user = field(g, "user");
	char *image = fill_new(g, field(g, "image"));
	char *build_image = multi ? fill_new(g, field(g, "build_image")) : NULL;
	char *start = NULL;
	struct vec argv = VEC_INIT;
	int rc = 0;
	if (!image || (multi && !build_image))
		goto missing;
	if (multi) {
		buf_addf(&g->out,
			 "# Build stage: the toolchain and every dependency.\n"
			 "FROM %s AS build\n",
			 build_image);
		emit_env(g, "build_env");
		emit_packages(g, true, false);
		buf_adds(&g->out, "WORKDIR /app\n");
		if (!emit_runs(g, "build_setup") || !emit_copy_images(g))
			goto missing;
		emit_install_and_build(g, "");
		buf_addf(&g->out,
			 "\n# Runtime stage: the app and what it needs to run, nothing "
			 "else.\nFROM %s\n",
			 image);
		emit_env(g, "env");
		emit_packages(g, false, true);
		if (!emit_user_setup(g))
			goto missing;
		const struct yaml_node *artifacts = rget(g, "artifacts");
		for (size_t i = 0; i < (artifacts ? artifacts->count : 1); i++) {
			char *copy =
				fill_new(g, artifacts ? artifacts->items[i]->value : "/app /app");
			if (!copy)
				goto missing;
			buf_addf(&g->out, "COPY --from=build %s\n", copy);
			free(copy);
		}
	} else {
		buf_addf(&g->out, "FROM %s\n", image);
		emit_env(g, "env");
		emit_packages(g, true, true);
		if (!emit_user_setup(g) || !emit_copy_images(g))
			goto missing;
		struct buf chown = BUF_INIT;
		if (as_user) {
			buf_addf(&g->out, "USER %s\n", user);
			buf_addf(&chown, "--chown=%s:%s ", user, user);
		}
		emit_install_and_build(g, chown.data ? chown.data : "");
		buf_free(&chown);
	}
	emit_writable(g);
	/* The member's directory exists when the whole workspace was copied. */
	if (strcmp(g->member, ".") != 0 && (!multi || !rget(g, "artifacts")))
		buf_addf(&g->out, "WORKDIR /app/%s\n", g->member);
	if (multi || !as_user)
		buf_addf(&g->out, "USER %s\n", user);
	if (map_get(g->vars, "port"))
		buf_addf(&g->out, "EXPOSE %s\n", (char *)map_get(g->vars, "port"));
	emit_healthcheck(g);
	if (field_bool(g, "needs_start", true) &&
	    json_is_true(json_object_get(g->project, "dev_server"))) {
		rc = unsupported(e,
				 "cannot write a Dockerfile for %s: its start is a development "
				 "server (a browser app's, or a dev script), and no recipe serves "
				 "what it builds yet",
				 what);
		goto out;
	}
	if (field_bool(g, "needs_start", true) && !map_get(g->vars, "start")) {
		rc = unsupported(e,
				 "cannot write a Dockerfile for %s: it has no start command "
				 "(add a start script or a Procfile web: process)",
				 what);
		goto out;
	}
	start = fill_new(g, field(g, "start") ? field(g, "start") : "{start}");
	if (!start)
		goto missing;
	split_command(start, &argv);
	buf_adds(&g->out, "CMD ");
	emit_argv(&g->out, &argv);
	buf_addch(&g->out, '\n');
	goto out;
missing:
	if (str_starts_with(g->missing, "version:")) {
		/* A second runtime's version (pnpm's) that no maintained image has: why. */
		const char *runtime = g->missing + strlen("version:");
		struct buf why = BUF_INIT;
		free(dockerfile_version_choose(yaml_get(g->r->versions, runtime),
					       declared_version(g, runtime), &why));
		rc = unsupported(e, "cannot write a Dockerfile for %s: %s %s", what, runtime,
				 buf_cstr(&why));
		buf_free(&why);
	} else {
		rc = unsupported(e,
				 "cannot write a Dockerfile for %s: recipe '%s' needs {%s}, which "
				 "the analysis does not give",
				 what, field(g, "id"), g->missing);
	}
out:
	vec_free(&argv, free);
	free(start);
	free(image);
	free(build_image);
	return rc;
}

/* Build instructions and the variables to set at deploy time, as comments. */
static void emit_preamble(struct gen *g, const char *command, const char *what,
			  const char *dockerfile)
{
	gen_header(&g->out, "#", command, what);
	const char *image = map_get(g->vars, "image_name");
	if (strcmp(g->context, g->path) == 0)
		buf_addf(&g->out, "# Build: docker build -t %s %s\n", image, g->context);
	else
		buf_addf(&g->out, "# Build from the workspace root: docker build -f %s -t %s %s\n",
			 dockerfile, image, g->context);
	struct buf names = BUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(g->project, "env"), i, v)
	{
		const char *name = json_get_str(v, "name", NULL);
		if (name && strcmp(name, "PORT") != 0)
			buf_addf(&names, "%s%s", names.len ? ", " : "", name);
	}
	if (names.len)
		buf_addf(&g->out, "# Set at run time, never in the image: %s.\n", names.data);
	buf_free(&names);
	buf_addch(&g->out, '\n');
}

static char *dockerignore(struct gen *g, const char *command, const char *what)
{
	struct buf out = BUF_INIT;
	gen_header(&out, "#", command, what);
	struct vec seen = VEC_INIT;
	const struct yaml_node *lists[] = { g->r->ignore, rget(g, "ignore") };
	for (size_t l = 0; l < 2; l++) {
		for (size_t i = 0; lists[l] && i < lists[l]->count; i++) {
			const char *line = lists[l]->items[i]->value;
			bool dup = false;
			for (size_t j = 0; j < seen.len; j++)
				dup = dup || strcmp(seen.items[j], line) == 0;
			if (!dup) {
				vec_push(&seen, (void *)line);
				buf_addf(&out, "%s\n", line);
			}
		}
	}
	vec_free(&seen, NULL);
	return buf_detach(&out);
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */

static const struct yaml_node *recipe_choose(struct gen *g)
{
	for (size_t i = 0; i < g->r->list->count; i++) {
		const struct yaml_node *recipe = g->r->list->items[i];
		struct buf key = BUF_INIT;
		buf_addf(&key, "version:%s", yaml_str(yaml_get(recipe, "runtime")));
		const char *version = map_get(g->vars, key.data);
		buf_free(&key);
		if (dockerfile_recipe_matches(yaml_get(recipe, "match"), g->project,
					      version ? version : "0"))
			return recipe;
	}
	return NULL;
}

/* {version:RUNTIME} for every runtime the recipes know. */
static void set_versions(struct gen *g)
{
	for (size_t i = 0; i < g->r->versions->count; i++) {
		const char *runtime = g->r->versions->pairs[i].key->value;
		struct buf why = BUF_INIT, key = BUF_INIT;
		char *version = dockerfile_version_choose(g->r->versions->pairs[i].value,
							  declared_version(g, runtime), &why);
		buf_addf(&key, "version:%s", runtime);
		var_set(g, key.data, version);
		free(version);
		buf_free(&key);
		buf_free(&why);
	}
}

static int generate(struct gen *g, const struct dockerfile_options *options, struct gen_files *out,
		    struct err *e)
{
	struct buf what = BUF_INIT;
	dockerfile_describe(g->project, &what);
	set_versions(g);
	g->recipe = recipe_choose(g);
	if (!g->recipe) {
		int rc = unsupported(e, "cannot write a Dockerfile for %s: no recipe in %s fits it",
				     what.data, g->r->origin);
		buf_free(&what);
		return rc;
	}
	g->overlay = dockerfile_recipe_overlay(g->recipe, g->project);
	if (field(g, "unsupported")) {
		int rc = unsupported(e, "cannot write a Dockerfile for %s: %s", what.data,
				     field(g, "unsupported"));
		buf_free(&what);
		return rc;
	}
	const char *runtime = field(g, "runtime");
	struct buf why = BUF_INIT;
	char *version = dockerfile_version_choose(yaml_get(g->r->versions, runtime),
						  declared_version(g, runtime), &why);
	int rc = 0;
	if (!version) {
		rc = unsupported(e, "cannot write a Dockerfile for %s: %s %s", what.data, runtime,
				 why.data);
		goto out;
	}
	const char *member_of =
		json_get_str(json_object_get(g->project, "workspace"), "member_of", NULL);
	g->context = str_eq(field(g, "context"), "workspace") && member_of ? member_of : g->path;
	g->member = relative(g->path, g->context);
	set_vars(g, version);

	struct buf dockerfile = BUF_INIT, ignore = BUF_INIT;
	const char *dir = strcmp(g->path, ".") == 0 ? "" : g->path;
	buf_addf(&dockerfile, "%s%sDockerfile", dir, *dir ? "/" : "");
	buf_addf(&ignore, "%s%s%s", dir, *dir ? "/" : "",
		 strcmp(g->context, g->path) == 0 ? ".dockerignore" : "Dockerfile.dockerignore");
	const char *command =
		options && options->command ? options->command : "ampel generate dockerfile";
	emit_preamble(g, command, what.data, dockerfile.data);
	rc = emit_dockerfile(g, what.data, e);
	if (rc == 0) {
		char *ignore_text = dockerignore(g, command, what.data);
		gen_files_add(out, dockerfile.data, g->out.data);
		gen_files_add(out, ignore.data, ignore_text);
		free(ignore_text);
	}
	buf_free(&dockerfile);
	buf_free(&ignore);
out:
	free(version);
	buf_free(&why);
	buf_free(&what);
	return rc;
}

long gen_dockerfile_port(const json_t *analysis, const json_t *project)
{
	struct recipes r;
	struct err e = ERR_INIT;
	long port = 0;
	if (dockerfile_recipes_load(&r, &e) == 0) {
		struct gen g = { .r = &r, .analysis = analysis, .project = project };
		g.vars = map_new();
		set_versions(&g);
		g.recipe = recipe_choose(&g);
		g.overlay = g.recipe ? dockerfile_recipe_overlay(g.recipe, project) : NULL;
		const char *text = g.recipe ? field(&g, "port") : NULL;
		port = text ? strtol(text, NULL, 10) : 0;
		map_free(g.vars, free);
	}
	dockerfile_recipes_free(&r);
	return port;
}

int gen_dockerfile(const json_t *analysis, const struct dockerfile_options *options,
		   struct gen_files *out, struct err *e)
{
	const char *wanted = options ? options->project : NULL;
	const json_t *project = wanted ? dockerfile_project_at(analysis, wanted)
				       : dockerfile_project_main(analysis);
	if (!project && wanted)
		return err_set(e, "no project at '%s' in the analysis", wanted);
	if (!project)
		return unsupported(e, "cannot write a Dockerfile: the root is not an app of a "
				      "known stack and no project has a start command (name one "
				      "with --project)");
	struct recipes r;
	if (dockerfile_recipes_load(&r, e) < 0) {
		dockerfile_recipes_free(&r);
		return -1;
	}
	struct gen g = { .r = &r, .analysis = analysis, .project = project };
	g.path = json_get_str(project, "path", ".");
	g.vars = map_new();
	int rc = generate(&g, options, out, e);
	map_free(g.vars, free);
	buf_free(&g.out);
	dockerfile_recipes_free(&r);
	return rc;
}
