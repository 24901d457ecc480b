#include "intel/commands.h"

#include "intel/entry_points.h"
#include "intel/languages.h"
#include "intel/makefile.h"
#include "intel/project.h"
#include "intel/rules.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/str.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* npm's placeholder test script: running it only fails. */
static bool commands_script_is_real(const char *script)
{
	return script && !str_blank(script) && !strstr(script, "no test specified");
}

/* The `web:` process of a Procfile, which is what Heroku-style hosts start. */
static const char *commands_procfile_web(const struct project *p, struct scan *scan,
					 struct arena *arena)
{
	const struct scan_file *procfile = scan_find_in_project(scan, p, "Procfile");
	if (!procfile)
		return NULL;
	struct buf text = BUF_INIT;
	const char *web = NULL;
	if (scan_read(scan, procfile, &text, NULL) == 0) {
		for (char *line = text.data, *next; line && !web; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (str_starts_with(line, "web:"))
				web = arena_strdup(arena, str_trim(line + 4));
		}
	}
	buf_free(&text);
	return web && *web ? web : NULL;
}

/* Whether text is one word in quotes with nothing the shell would expand inside. */
static bool commands_quoted_word(const char *text, size_t n)
{
	if (n < 2 || (text[0] != '"' && text[0] != '\'') || text[n - 1] != text[0])
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (strchr(" \t\"'$\\`", text[i]))
			return false;
	return true;
}

/*
 * One exec-form word as a shell would need it: quoted where the shell
 * would split or misread it (`"hello.app:create_app()"`, a word with a
 * space), as is otherwise. `$` stays bare: maintainers write `$PORT` in
 * exec form meaning the variable.
 */
static void commands_shell_word(const char *word, struct buf *out)
{
	if (!word[strcspn(word, " \t()<>;&|'\"")]) {
		buf_adds(out, word);
		return;
	}
	if (!strchr(word, '"') && !strchr(word, '\\') && !strchr(word, '`')) {
		buf_addf(out, "\"%s\"", word);
		return;
	}
	buf_addch(out, '\'');
	for (const char *c = word; *c; c++) {
		if (*c == '\'')
			buf_adds(out, "'\\''");
		else
			buf_addch(out, *c);
	}
	buf_addch(out, '\'');
}

/* A Dockerfile instruction's argument: exec form ["a", "b"] joined, or shell form as is. */
static void commands_docker_argument(const char *text, struct buf *out)
{
	buf_reset(out);
	json_t *list = text[0] == '[' ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_array(list)) {
		/* Shell form: one quoted word ("/entrypoint.sh") is that word to the shell. */
		size_t n = strlen(text);
		if (commands_quoted_word(text, n))
			buf_add(out, text + 1, n - 2);
		else
			buf_adds(out, text);
		json_decref(list);
		return;
	}
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		/* ["sh", "-c", "script"] runs the script: that is the command. */
		if (i == 2 && json_array_size(list) == 3 && out->len &&
		    (strcmp(out->data, "sh -c") == 0 || strcmp(out->data, "/bin/sh -c") == 0)) {
			buf_reset(out);
			buf_adds(out, json_string_value(item));
			break;
		}
		const char *word = json_is_string(item) ? json_string_value(item) : "";
		if (!*word) /* CMD [""]: no arguments */
			continue;
		if (out->len)
			buf_addch(out, ' ');
		commands_shell_word(word, out);
	}
	json_decref(list);
}

/*
 * The image a FROM line's arguments name, without flags, registry,
 * `library/` or tag (`docker.io/library/node:20-alpine AS web` is node);
 * a stage named earlier stands for its image. Records the line's own
 * stage name in stages.
 */
static const char *commands_stage_image(char *args, struct map *stages, struct arena *arena)
{
	char *words[3] = { NULL, NULL, NULL };
	size_t n = 0;
	for (char *save = NULL, *word = strtok_r(args, " \t", &save); word && n < 3;
	     word = strtok_r(NULL, " \t", &save))
		if (strncmp(word, "--", 2) != 0)
			words[n++] = word;
	if (!words[0])
		return NULL;
	char *image = str_lower(words[0]);
	image[strcspn(image, "@")] = '\0';
	char *tag = strchr(strrchr(image, '/') ? strrchr(image, '/') : image, ':');
	if (tag)
		*tag = '\0';
	if (str_starts_with(image, "docker.io/"))
		image += strlen("docker.io/");
	if (str_starts_with(image, "library/"))
		image += strlen("library/");
	const char *resolved = map_get(stages, image);
	if (!resolved)
		resolved = arena_strdup(arena, image);
	if (words[1] && strcasecmp(words[1], "as") == 0 && words[2])
		map_put(stages, str_lower(words[2]), (void *)resolved);
	return resolved;
}

/*
 * Whether the image's entrypoint is a script of the project that prepares
 * the container and then runs its arguments (`exec "$@"`): the CMD is then
 * the program. The script is found by the longest tail of its image path
 * that names a project file (/app/bin/docker-entrypoint-web is
 * bin/docker-entrypoint-web).
 */
static bool commands_entrypoint_runs_cmd(const struct project *p, struct scan *scan,
					 const char *entrypoint)
{
	if (!*entrypoint || strpbrk(entrypoint, " \t"))
		return false;
	const struct scan_file *script = NULL;
	for (const char *tail = entrypoint; tail && !script; tail = strchr(tail + 1, '/'))
		script = scan_find_in_project(scan, p, tail + (*tail == '/'));
	struct buf text = BUF_INIT;
	bool runs = script && scan_read(scan, script, &text, NULL) == 0 &&
		    (strstr(buf_cstr(&text), "exec \"$@\"") ||
		     strstr(buf_cstr(&text), "exec \"${@}\""));
	buf_free(&text);
	return runs;
}

/*
 * What the project's Dockerfile runs (ENTRYPOINT then CMD of its last
 * stage): the maintainers' own answer when nothing else tells how to start.
 * Without an ENTRYPOINT of its own, an official image's entrypoint may put
 * its program first (`image_programs:` in the rules).
 */
static const char *commands_dockerfile_start(const struct project *p, struct scan *scan,
					     const struct rule_set *rules, struct arena *arena)
{
	const struct scan_file *dockerfile = scan_find_in_project(scan, p, "Dockerfile");
	struct buf text = BUF_INIT;
	if (!dockerfile || scan_read(scan, dockerfile, &text, NULL) < 0) {
		buf_free(&text);
		return NULL;
	}
	struct buf entrypoint = BUF_INIT, cmd = BUF_INIT, line = BUF_INIT;
	struct map *stages = map_new();
	const char *image = NULL;
	for (char *at = text.data; at && *at;) {
		/* One instruction, with its backslash continuations joined. */
		buf_reset(&line);
		for (;;) {
			char *nl = strchr(at, '\n');
			size_t n = nl ? (size_t)(nl - at) : strlen(at);
			buf_add(&line, at, n);
			at = nl ? nl + 1 : NULL;
			buf_rtrim(&line);
			if (!at || !line.len || line.data[line.len - 1] != '\\')
				break;
			buf_truncate(&line, line.len - 1);
		}
		char *instruction = str_trim(line.data ? line.data : (char *)"");
		if (strncasecmp(instruction, "FROM ", 5) == 0) {
			buf_reset(&entrypoint);
			buf_reset(&cmd);
			image = commands_stage_image(instruction + 5, stages, arena);
		} else if (strncasecmp(instruction, "ENTRYPOINT ", 11) == 0) {
			commands_docker_argument(str_trim(instruction + 11), &entrypoint);
		} else if (strncasecmp(instruction, "CMD ", 4) == 0) {
			commands_docker_argument(str_trim(instruction + 4), &cmd);
		}
	}
	/* An init wrapper (tini, dumb-init) only forwards signals to the CMD; a
	 * setup script that ends in `exec "$@"` only prepares for it. */
	if (strstr(buf_cstr(&entrypoint), "tini") || strstr(buf_cstr(&entrypoint), "dumb-init") ||
	    (cmd.len && commands_entrypoint_runs_cmd(p, scan, buf_cstr(&entrypoint))))
		buf_reset(&entrypoint);
	if (!entrypoint.len && cmd.len) {
		char *first = arena_strndup(arena, cmd.data, strcspn(cmd.data, " \t"));
		const char *program = rules_image_program(rules, image, first);
		if (program)
			buf_adds(&entrypoint, program);
	}
	const char *start = NULL;
	if (entrypoint.len || cmd.len)
		start = arena_printf(arena, "%s%s%s", buf_cstr(&entrypoint),
				     entrypoint.len && cmd.len ? " " : "", buf_cstr(&cmd));
	/*
	 * A program the image runs from its virtualenv (/app/.venv/bin/python3)
	 * is the one a checkout runs by name once installed.
	 */
	const char *venv = start ? strstr(start, "venv/bin/") : NULL;
	if (venv && venv < start + strcspn(start, " "))
		start = venv + strlen("venv/bin/");
	map_free(stages, NULL);
	buf_free(&entrypoint);
	buf_free(&cmd);
	buf_free(&line);
	buf_free(&text);
	return start;
}

/*
 * Whether a start is only a shell script (`/docker-entrypoint.sh`, `bash
 * /entrypoint.sh`): an image's entrypoint wrapper, not the program. A
 * script given arguments (`entrypoint.sh run server`, Gleam's shipment)
 * is the program's own launcher.
 */
static bool commands_is_wrapper_script(const char *start)
{
	static const char *const shells[] = { "sh ", "bash ", "/bin/sh ", "/bin/bash " };
	for (size_t i = 0; i < sizeof(shells) / sizeof(*shells); i++)
		if (str_starts_with(start, shells[i]))
			start += strlen(shells[i]);
	size_t n = strcspn(start, " \t");
	return n > 3 && !start[n] && strncmp(start + n - 3, ".sh", 3) == 0;
}

static bool commands_has_compose(const struct project *p, const struct scan *scan)
{
	static const char *const names[] = { "compose.yaml", "compose.yml", "docker-compose.yml",
					     "docker-compose.yaml" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (scan_find_in_project(scan, p, names[i]))
			return true;
	return false;
}

struct commands_context {
	struct project *p;
	const struct rule_set *rules;
	struct scan *scan;
	struct arena *arena;
	struct map *vars; /* the project's placeholders; run and exec set per rule */
	const struct rule *package_manager;
	/* Target files read so far, by name ("Makefile", "Taskfile.yml"); NULL
	 * values for files the project lacks or that do not parse. */
	struct map *target_files;
	/* The start runs a development server: a browser app's own script or
	 * dev server, or the `dev` script for want of another start. */
	bool start_is_dev_server;
	const struct finding *target_finding; /* whose targets are being weighed */
};

/*
 * The package manager of ecosystem among p's findings, most confident
 * first: a Django app's pytest runs under poetry even when the repository
 * also has a package.json for its front-end tooling.
 */
static const struct rule *commands_manager_of(const struct project *p, const char *ecosystem)
{
	const struct finding *best = NULL;
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		if (f->kind == FINDING_PACKAGE_MANAGER && f->rule &&
		    str_eq(rule_ecosystem(f->rule), ecosystem) &&
		    (!best || f->confidence > best->confidence))
			best = f;
	}
	return best ? best->rule : NULL;
}

/* Sets {run}, {exec} and {js} for a template of rule: its own ecosystem's manager's. */
static void commands_set_runner(struct commands_context *c, const struct rule *rule)
{
	const struct rule *manager = c->package_manager;
	const char *ecosystem = rule_ecosystem(rule);
	if (ecosystem && rule_kind(rule) != FINDING_PACKAGE_MANAGER &&
	    (!manager || !str_eq(rule_ecosystem(manager), ecosystem)))
		manager = commands_manager_of(c->p, ecosystem);
	if (rule_kind(rule) == FINDING_PACKAGE_MANAGER)
		manager = rule;
	static const char *const names[] = { "run", "exec", "js" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		const char *value = manager ? rule_var(manager, names[i]) : NULL;
		/* Without a manager, tools run as installed: "{exec} pytest" is "pytest". */
		if (!value && !manager && strcmp(names[i], "exec") == 0)
			value = "";
		/* JavaScript runs on node unless the manager brings its own runtime (bun). */
		if (!value && strcmp(names[i], "js") == 0)
			value = "node";
		if (value)
			map_put(c->vars, names[i], (void *)value);
		else
			map_del(c->vars, names[i]);
	}
}

/* The filled template, or NULL when the rule has none or a placeholder is unknown. */
static const char *commands_from_rule(struct commands_context *c, const struct rule *rule,
				      enum command_kind kind)
{
	if (!rule)
		return NULL;
	/* The runner's placeholders first: the alternatives are weighed with them known. */
	commands_set_runner(c, rule);
	const char *template_text = rule_project_command(rule, kind, c->p, c->scan, c->vars);
	if (!template_text)
		return NULL;
	struct buf out = BUF_INIT;
	const char *command = NULL;
	if (rules_expand(template_text, c->vars, &out) == 0)
		command = arena_strdup(c->arena, out.data);
	buf_free(&out);
	return command;
}

/* The most confident finding of kind whose rule has a command for what we want. */
static const char *commands_from_findings(struct commands_context *c, enum finding_kind finding,
					  enum command_kind kind)
{
	const char *best = NULL;
	double best_confidence = 0;
	for (size_t i = 0; i < c->p->findings.len; i++) {
		const struct finding *f = c->p->findings.items[i];
		if (f->kind != finding || f->confidence <= best_confidence ||
		    finding_is_implied(c->p, f))
			continue;
		const char *command = commands_from_rule(c, f->rule, kind);
		if (command) {
			best = command;
			best_confidence = f->confidence;
		}
	}
	return best;
}

/* "{run} script" when manager's manifest has a real script of that name. */
static const char *commands_script_of(struct commands_context *c, const struct rule *manager,
				      const char *script)
{
	const char *run = manager ? rule_var(manager, "run") : NULL;
	if (!run)
		return NULL;
	struct buf key = BUF_INIT;
	buf_addf(&key, "%s:%s", rule_ecosystem(manager), script);
	const char *command = map_get(c->p->ecosystem_scripts, key.data);
	buf_free(&key);
	if (!commands_script_is_real(command))
		return NULL;
	return arena_printf(c->arena, "%s %s", run, script);
}

/*
 * "{run} build" when the manifest of the project's package manager has a
 * real `build` script (composer does not run package.json's scripts).
 */
static const char *commands_from_script(struct commands_context *c, const char *script)
{
	return commands_script_of(c, c->package_manager, script);
}

/*
 * Whether the project's own ecosystem (its package manager's) builds it:
 * the manager or one of that ecosystem's frameworks has a build template
 * (`cargo build`, `bin/rails assets:precompile`).
 */
static bool commands_own_ecosystem_builds(struct commands_context *c)
{
	const char *ecosystem = c->package_manager ? rule_ecosystem(c->package_manager) : NULL;
	for (size_t i = 0; ecosystem && i < c->p->findings.len; i++) {
		const struct finding *f = c->p->findings.items[i];
		if (f->rule && str_eq(rule_ecosystem(f->rule), ecosystem) &&
		    (f->kind == FINDING_PACKAGE_MANAGER || f->kind == FINDING_FRAMEWORK) &&
		    commands_from_rule(c, f->rule, COMMAND_BUILD))
			return true;
	}
	return false;
}

/*
 * A build script of another ecosystem's manager found in the project, when
 * its own ecosystem has no build: a Laravel app whose assets build with
 * `npm run build` builds that way, not with the bundler's bare `npx vite
 * build`; a Rust service with a front-end package.json still builds with
 * cargo.
 */
static const char *commands_build_script_elsewhere(struct commands_context *c)
{
	if (commands_own_ecosystem_builds(c))
		return NULL;
	for (size_t i = 0; i < c->p->findings.len; i++) {
		const struct finding *f = c->p->findings.items[i];
		if (f->kind != FINDING_PACKAGE_MANAGER || !f->rule || f->rule == c->package_manager)
			continue;
		const char *command = commands_script_of(c, f->rule, "build");
		const struct vec *fallbacks = rules_script_fallbacks(c->rules, COMMAND_BUILD);
		for (size_t j = 0; !command && j < fallbacks->len; j++)
			command = commands_script_of(c, f->rule, fallbacks->items[j]);
		if (command)
			return command;
	}
	return NULL;
}

static void commands_target_file_free(void *item)
{
	makefile_free(item);
}

/* The named target file of the project, parsed once; NULL when it has none. */
static struct makefile *commands_target_file(struct commands_context *c, const char *name)
{
	if (map_has(c->target_files, name))
		return map_get(c->target_files, name);
	const struct scan_file *f = scan_find_in_project(c->scan, c->p, name);
	struct buf text = BUF_INIT;
	struct makefile *parsed = NULL;
	if (f && scan_read(c->scan, f, &text, NULL) == 0)
		parsed = str_ends_with(name, ".yml") || str_ends_with(name, ".yaml")
				 ? makefile_from_taskfile(buf_cstr(&text), text.len)
				 : makefile_parse(buf_cstr(&text), text.len);
	buf_free(&text);
	map_put(c->target_files, name, parsed);
	return parsed;
}

/*
 * The targets rule's `when_target` weighs: the first of its `targets_in`
 * files the project has, else its Makefile (GNU make's lookup order).
 */
static struct makefile *commands_targets(struct commands_context *c, const struct rule *rule)
{
	static const char *const makefiles[] = { "GNUmakefile", "makefile", "Makefile" };
	const struct vec *own = rule_targets_in(rule);
	size_t count = own->len ? own->len : sizeof(makefiles) / sizeof(*makefiles);
	for (size_t i = 0; i < count; i++) {
		const char *name = own->len ? own->items[i] : makefiles[i];
		if (scan_find_in_project(c->scan, c->p, name))
			return commands_target_file(c, name);
	}
	return NULL;
}

/*
 * Whether a general build system (one of no package ecosystem: CMake,
 * Meson, Bazel) is found beside the task runner, and surer: it configures
 * the real build, and a Makefile's default goal is a convenience or legacy
 * copy. An ecosystem's own build (`go build ./...`, `python -m build`)
 * does not count: the Makefile wraps more than that.
 */
static bool commands_other_build_system(const struct commands_context *c)
{
	for (size_t i = 0; i < c->p->findings.len; i++) {
		const struct finding *f = c->p->findings.items[i];
		if (f != c->target_finding && f->rule && rule_kind(f->rule) == FINDING_BUILD_TOOL &&
		    !rule_ecosystem(f->rule) && f->confidence > c->target_finding->confidence &&
		    rule_command(f->rule, COMMAND_BUILD))
			return true;
	}
	return false;
}

static bool commands_target_holds(const char *target, enum command_kind kind, void *ctx)
{
	struct commands_context *c = ctx;
	if (strcmp(target, ".DEFAULT_GOAL") == 0 && commands_other_build_system(c))
		return false;
	return makefile_target_does(commands_targets(c, c->target_finding->rule), target, kind);
}

/*
 * The project's own task targets (`make build`, `make run`): the most
 * confident finding whose rule has a `when_target` alternative that holds.
 */
static const char *commands_from_targets(struct commands_context *c, enum command_kind kind)
{
	const char *best = NULL;
	double best_confidence = 0;
	for (size_t i = 0; i < c->p->findings.len; i++) {
		const struct finding *f = c->p->findings.items[i];
		if (!f->rule || f->confidence <= best_confidence)
			continue;
		c->target_finding = f;
		const char *template_text =
			rule_target_command(f->rule, kind, commands_target_holds, c);
		struct buf out = BUF_INIT;
		if (template_text && rules_expand(template_text, c->vars, &out) == 0) {
			best = arena_strdup(c->arena, out.data);
			best_confidence = f->confidence;
		}
		buf_free(&out);
	}
	return best;
}

/*
 * A browser app whose frameworks are all dev-server ones (React, Vue,
 * Vite: `front_end: dev-server` in the rules) is run by its own dev-server
 * script, as its README says to. Any framework that serves the app itself
 * (Next.js, Express, NestJS) has its own way to start; SvelteKit serves it
 * only where its rule's start applies (`front_end: dev-server-unless-start`:
 * the Node adapter's `node build`), and is a browser app otherwise.
 */
static bool commands_is_front_end(const struct commands_context *c)
{
	bool front_end = false;
	for (size_t i = 0; i < c->p->findings.len; i++) {
		const struct finding *f = c->p->findings.items[i];
		if (!f->rule)
			continue;
		enum rule_front_end kind = rule_front_end(f->rule);
		if (kind == FRONT_END_UNLESS_START)
			kind = rule_project_command(f->rule, COMMAND_START, c->p, c->scan, c->vars)
				       ? FRONT_END_NONE
				       : FRONT_END_DEV_SERVER;
		if (kind == FRONT_END_DEV_SERVER)
			front_end = true;
		else if (f->kind == FINDING_FRAMEWORK)
			return false;
	}
	return front_end;
}

/* A front-end project without a start script: its dev-server script. */
static const char *commands_dev_server(struct commands_context *c)
{
	if (!commands_is_front_end(c))
		return NULL;
	const char *command = commands_from_script(c, "serve");
	return command ? command : commands_from_script(c, "dev");
}

static const char *commands_choose(struct commands_context *c, enum command_kind kind)
{
	static const char *const script_names[COMMAND_KINDS] = { NULL, "build", "test", "lint",
								 "start" };
	/* Where to look, in order, after the project's own scripts; -1 ends. */
	static const int order[COMMAND_KINDS][5] = {
		[COMMAND_INSTALL] = { -1 },
		[COMMAND_BUILD] = { FINDING_FRAMEWORK, FINDING_BUILD_TOOL, FINDING_PACKAGE_MANAGER,
				    -1 },
		[COMMAND_TEST] = { FINDING_TEST_FRAMEWORK, FINDING_FRAMEWORK,
				   FINDING_PACKAGE_MANAGER, FINDING_BUILD_TOOL, -1 },
		[COMMAND_LINT] = { FINDING_LINTER, -1 },
		[COMMAND_START] = { FINDING_FRAMEWORK, FINDING_PACKAGE_MANAGER, FINDING_BUILD_TOOL,
				    -1 },
	};
	const char *command = NULL;
	/*
	 * A workspace installs once, from its root, for the members its package
	 * manager manages: not the npm front-end a Gradle or Maven build lists
	 * as a module (kestra's ui), which installs with npm.
	 */
	const struct project *ws = c->p->workspace;
	if (kind == COMMAND_INSTALL && ws && ws->commands[kind] &&
	    (!c->package_manager || !ws->package_manager ||
	     ws->package_manager->rule == c->package_manager))
		return ws->commands[kind];
	/*
	 * A package manager installs; only a project without one installs
	 * through its own task targets (`make deps`).
	 */
	if (kind == COMMAND_INSTALL)
		return c->package_manager ? commands_from_rule(c, c->package_manager, kind)
					  : commands_from_targets(c, kind);
	/*
	 * The project's own script first (`npm start`): a Procfile's web
	 * process says how one host starts it (`pm2 start server.js`).
	 */
	if (script_names[kind])
		command = commands_from_script(c, script_names[kind]);
	/* A browser app's own start script serves it for development (CRA's). */
	if (command && kind == COMMAND_START)
		c->start_is_dev_server = commands_is_front_end(c);
	if (!command && kind == COMMAND_START)
		command = commands_procfile_web(c->p, c->scan, c->arena);
	/*
	 * No script named after the command, but a variant the maintainers
	 * run for production (`start:prod`, `build:prod`: script_fallbacks in
	 * the rules). Where both exist the plain one stays.
	 */
	const struct vec *fallbacks = rules_script_fallbacks(c->rules, (enum command_kind)kind);
	for (size_t i = 0; !command && i < fallbacks->len; i++)
		command = commands_from_script(c, fallbacks->items[i]);
	if (!command)
		command = commands_from_targets(c, kind);
	if (!command && kind == COMMAND_BUILD)
		command = commands_build_script_elsewhere(c);
	const char *wrapper = NULL; /* a Dockerfile's entrypoint script: a last resort */
	for (const int *where = order[kind]; *where >= 0 && !command; where++) {
		/*
		 * What the project's Dockerfile runs is the maintainers' own
		 * answer: it beats a package manager's generic `go run .` or
		 * `cargo run`, and a build tool's `run` task. An entrypoint
		 * script only wraps the start (migrations, then exec): what
		 * else tells how to start comes first.
		 */
		if (kind == COMMAND_START && *where == FINDING_PACKAGE_MANAGER) {
			command = commands_dockerfile_start(c->p, c->scan, c->rules, c->arena);
			if (command && commands_is_wrapper_script(command)) {
				wrapper = command;
				command = NULL;
			}
		}
		/*
		 * A front-end app whose framework has no start of its own, and
		 * no Dockerfile saying otherwise, runs its dev server.
		 */
		if (!command && kind == COMMAND_START && *where == FINDING_BUILD_TOOL) {
			command = commands_dev_server(c);
			c->start_is_dev_server = command != NULL;
		}
		if (!command)
			command = *where == FINDING_PACKAGE_MANAGER
					  ? commands_from_rule(c, c->package_manager, kind)
					  : commands_from_findings(c, (enum finding_kind) * where,
								   kind);
	}
	if (!command)
		command = wrapper;
	/*
	 * Nothing else starts it, but its manifest has a `dev` script: what
	 * its README says to run (a monorepo root's `turbo dev`).
	 */
	if (!command && kind == COMMAND_START) {
		command = commands_from_script(c, "dev");
		c->start_is_dev_server = command != NULL;
	}
	/* Services composed together start together. */
	if (!command && kind == COMMAND_START && commands_has_compose(c->p, c->scan))
		command = "docker compose up";
	return command;
}

const struct finding *commands_package_manager(const struct project *p)
{
	const char *family = language_family(p->primary_language);
	const struct finding *best = NULL;
	bool best_matches = false;
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		if (f->kind != FINDING_PACKAGE_MANAGER)
			continue;
		bool matches = f->rule && family &&
			       str_eq(language_family(rule_language(f->rule)), family);
		if (!best || (matches && !best_matches) ||
		    (matches == best_matches && f->confidence > best->confidence)) {
			best = f;
			best_matches = matches;
		}
	}
	return best;
}

void commands_infer(struct project *p, const struct rule_set *rules, struct scan *scan,
		    struct arena *arena)
{
	p->package_manager = commands_package_manager(p);
	struct commands_context c = {
		.p = p,
		.rules = rules,
		.scan = scan,
		.arena = arena,
		.vars = map_new(),
		.target_files = map_new(),
	};
	c.package_manager = p->package_manager ? p->package_manager->rule : NULL;
	map_put(c.vars, "name", (void *)p->name);
	if (p->port)
		map_put(c.vars, "port", arena_printf(arena, "%d", p->port));
	entry_points_guess(p, scan, arena, p->entry_points);
	const char *name;
	void *value;
	for (size_t cursor = 0; map_next(p->entry_points, &cursor, &name, &value);)
		map_put(c.vars, name, value);

	for (int kind = 0; kind < COMMAND_KINDS; kind++)
		p->commands[kind] = commands_choose(&c, kind);
	p->dev_server = c.start_is_dev_server;
	map_free(c.target_files, commands_target_file_free);
	map_free(c.vars, NULL);
}
