#include "intel/entry_points.h"

#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/str.h"
#include "util/vec.h"

#include <ctype.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

/* f's path relative to p's directory. */
static const char *relative_path(const struct project *p, const struct scan_file *f)
{
	size_t prefix = *p->dir ? strlen(p->dir) + 1 : 0;
	return strlen(f->path) >= prefix ? f->path + prefix : f->path;
}

/*
 * Whether text has a line starting with line_start; as a whole word (not
 * `package mainframe` for `package main`) when word is set.
 */
static bool text_has_line(const char *text, const char *line_start, bool word)
{
	size_t n = strlen(line_start);
	for (const char *line = text; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, line_start, n) == 0 &&
		    !(word && (isalnum((unsigned char)line[n]) || line[n] == '_')))
			return true;
	}
	return false;
}

/* Whether f's text (read if it can be) holds any of needles. */
static bool file_mentions(const struct scan *scan, const struct scan_file *f,
			  const char *const *needles, size_t count)
{
	struct buf text = BUF_INIT;
	bool found = false;
	if (!f->foreign && scan_read(scan, f, &text, NULL) == 0)
		for (size_t i = 0; i < count && !found; i++)
			found = strstr(buf_cstr(&text), needles[i]) != NULL;
	buf_free(&text);
	return found;
}

/* The last element of a path or module name: "github.com/usememos/memos" is "memos". */
static const char *last_element(const char *name)
{
	const char *slash = name ? strrchr(name, '/') : NULL;
	return slash ? slash + 1 : name;
}

/* The line that makes a Python file a script: it runs when started. */
static const char *const python_main_guard[] = { "if __name__ == \"__main__\"",
						 "if __name__ == '__main__'" };

/*
 * Root scripts that tool a project rather than start it: packaging, task
 * runners, and the ones that set up its data (create_db.py, init_db.py,
 * seed.py).
 */
static bool python_tooling_script(const char *name)
{
	static const char *const tooling[] = { "setup.py",   "manage.py",  "conftest.py",
					       "noxfile.py", "fabfile.py", "tasks.py",
					       "dodo.py",    "conf.py" };
	static const char *const data_setup[] = { "create_",  "init_", "drop_",
						  "populate", "seed",  "migrate" };
	for (size_t i = 0; i < sizeof(tooling) / sizeof(*tooling); i++)
		if (strcmp(name, tooling[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(data_setup) / sizeof(*data_setup); i++)
		if (str_starts_with(name, data_setup[i]))
			return true;
	return false;
}

/*
 * {py_main} otherwise: the one Python file at the project's root that is
 * not a test, a packaging or a tooling script (a Streamlit app's
 * `Chatbot.py` beside its pages/).
 */
static void guess_only_root_script(const struct project *p, const struct scan *scan,
				   struct map *vars)
{
	const struct vec *root = scan_dir_files(scan, p->dir);
	const char *only = NULL;
	for (size_t i = 0; root && i < root->len; i++) {
		const struct scan_file *f = root->items[i];
		if (!str_ends_with(f->name, ".py") || python_tooling_script(f->name) ||
		    str_starts_with(f->name, "test_") || str_ends_with(f->name, "_test.py"))
			continue;
		if (only)
			return;
		only = f->name;
	}
	if (only)
		map_put(vars, "py_main", (void *)only);
}

/*
 * {module}: the Python package holding wsgi.py (Django's project module);
 * {app}: "module:variable" of the WSGI/ASGI application, from the usual
 * entry files; {main}: the entry file of a Node or Ruby app (server.js,
 * which `npm start` runs, else package.json's main, else the usual names);
 * {py_main}: the script a Python app runner is given (Streamlit's
 * conventional streamlit_app.py, else app.py or main.py, else the one
 * script at the root).
 */
static void guess_conventional_files(const struct project *p, struct scan *scan,
				     struct arena *arena, struct map *vars)
{
	const struct vec *files = scan_project_files(scan, p);
	for (size_t i = 0; i < files->len && !map_has(vars, "module"); i++) {
		const struct scan_file *f = files->items[i];
		const char *path = relative_path(p, f);
		const char *slash = strchr(path, '/');
		if (strcmp(f->name, "wsgi.py") == 0 && slash && slash == strrchr(path, '/'))
			map_put(vars, "module", arena_strndup(arena, path, (size_t)(slash - path)));
	}
	/* A wsgi.py or asgi.py exists to be the server's entry: it comes first. */
	static const char *const app_files[][2] = {
		{ "wsgi.py", "wsgi:app" },	   { "asgi.py", "asgi:app" },
		{ "main.py", "main:app" },	   { "app.py", "app:app" },
		{ "app/main.py", "app.main:app" }, { "src/main.py", "src.main:app" },
		{ "server.py", "server:app" },
	};
	for (size_t i = 0; i < sizeof(app_files) / sizeof(*app_files); i++)
		if (scan_find_in_project(scan, p, app_files[i][0])) {
			map_put(vars, "app", (void *)app_files[i][1]);
			break;
		}
	static const char *const main_files[] = { "server.js",	 "index.js",	  "app.js",
						  "main.js",	 "src/server.js", "src/index.js",
						  "src/main.js", "app.rb",	  "config.ru" };
	/* `npm start` without a script runs server.js; else package.json's
	 * main (put there as the manifest was read). */
	if (scan_find_in_project(scan, p, "server.js"))
		map_put(vars, "main", "server.js");
	for (size_t i = 0; i < sizeof(main_files) / sizeof(*main_files) && !map_has(vars, "main");
	     i++)
		if (scan_find_in_project(scan, p, main_files[i]))
			map_put(vars, "main", (void *)main_files[i]);
	static const char *const py_main_files[] = {
		"streamlit_app.py", "app.py", "main.py", "Home.py", "src/app.py", "src/main.py"
	};
	for (size_t i = 0; i < sizeof(py_main_files) / sizeof(*py_main_files); i++)
		if (scan_find_in_project(scan, p, py_main_files[i])) {
			map_put(vars, "py_main", (void *)py_main_files[i]);
			break;
		}
	if (!map_has(vars, "py_main"))
		guess_only_root_script(p, scan, vars);
}

bool entry_point_serves(const char *name)
{
	static const char *const names[] = { "server", "api", "web", "http" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		size_t n = strlen(name), m = strlen(names[i]);
		if (str_eq(name, names[i]) ||
		    (n > m + 1 && strchr("-_", name[n - m - 1]) && str_eq(name + n - m, names[i])))
			return true;
	}
	return false;
}

/*
 * Whether a folder of a Go module holds helpers rather than the product
 * (examples, tools, scripts, tests), by any element of its path.
 */
static bool go_helper_dir(const char *dir)
{
	static const char *const helpers[] = { "example", "examples", "tool",	  "tools",
					       "script",  "scripts",  "hack",	  "test",
					       "tests",	  "testdata", "internal", "docs",
					       "contrib", "e2e",      "magefiles" };
	for (const char *segment = dir; segment; segment = strchr(segment, '/')) {
		segment += *segment == '/';
		size_t n = strcspn(segment, "/");
		for (size_t i = 0; i < sizeof(helpers) / sizeof(*helpers); i++)
			if (strlen(helpers[i]) == n && strncmp(segment, helpers[i], n) == 0)
				return true;
	}
	return false;
}

/*
 * Whether a .go file belongs to a main package that builds: `package main`,
 * and no `ignore` build constraint (a generator or build script run with
 * `go run build.go`, left out of every build).
 */
static bool go_file_in_main(const struct scan *scan, const struct scan_file *f)
{
	struct buf text = BUF_INIT;
	bool in_main = !f->foreign && scan_read(scan, f, &text, NULL) == 0 &&
		       text_has_line(buf_cstr(&text), "package main", true) &&
		       !text_has_line(buf_cstr(&text), "//go:build ignore", false) &&
		       !text_has_line(buf_cstr(&text), "// +build ignore", false);
	buf_free(&text);
	return in_main;
}

/*
 * Of several program folders, the one named as a server (a client beside
 * its server: yopass and yopass-server), else the one named after the
 * module, as Rust's {cargo_run} chooses among binaries.
 */
static const char *go_choose(const struct vec *dirs, const char *module)
{
	if (dirs->len == 1)
		return dirs->items[0];
	const char *server = NULL, *named = NULL;
	size_t servers = 0;
	for (size_t i = 0; i < dirs->len; i++) {
		const char *name = last_element(dirs->items[i]);
		if (str_eq(name, module))
			named = dirs->items[i];
		if (entry_point_serves(name) && servers++ == 0)
			server = dirs->items[i];
	}
	return servers == 1 ? server : named;
}

/*
 * {go_package} and {go_command}: the folder of the Go program when it is
 * not at the module's root, and its name: the one main package under cmd/
 * (`cmd/memos`), the usual layout, else the one main.go elsewhere outside
 * helper folders (`app/api`). Of several, the one named as a server, else
 * the one named after the module. A root main package is the program, and
 * sets nothing.
 */
static void guess_go_command(const struct project *p, struct scan *scan, struct arena *arena,
			     struct map *vars)
{
	if (!scan_find_in_project(scan, p, "go.mod"))
		return;
	const struct vec *files = scan_project_files(scan, p);
	struct vec in_cmd = { 0 }, elsewhere = { 0 }; /* const char *: folders, in arena */
	bool root_main = false;
	for (size_t i = 0; i < files->len && !root_main; i++) {
		const struct scan_file *f = files->items[i];
		const char *path = relative_path(p, f);
		if (!str_ends_with(f->name, ".go") || str_ends_with(f->name, "_test.go"))
			continue;
		/* Outside the root and cmd/NAME, only a main.go names a program. */
		size_t dir_len = f->name > path ? (size_t)(f->name - path) - 1 : 0;
		bool cmd = str_starts_with(path, "cmd/") && dir_len > 4 &&
			   !memchr(path + 4, '/', dir_len - 4);
		if (dir_len && !cmd && !str_eq(f->name, "main.go"))
			continue;
		const char *dir = dir_len ? arena_strndup(arena, path, dir_len) : "";
		struct vec *into = cmd ? &in_cmd : &elsewhere;
		if (dir_len && !cmd && go_helper_dir(dir))
			continue;
		if ((*dir && vec_has_str(into, dir)) || !go_file_in_main(scan, f))
			continue;
		if (!*dir)
			root_main = true;
		else
			vec_push(into, (void *)dir);
	}
	const char *chosen = NULL;
	if (!root_main)
		chosen = go_choose(in_cmd.len ? &in_cmd : &elsewhere, last_element(p->name));
	if (chosen) {
		map_put(vars, "go_package", (void *)chosen);
		map_put(vars, "go_command", (void *)last_element(chosen));
	}
	vec_free(&in_cmd, NULL);
	vec_free(&elsewhere, NULL);
}

/*
 * Whether a .NET project's path says it holds tests: a segment (between
 * '/', '.', '-', '_') that is "test(s)" in any case, or ends in "Test(s)"
 * ("Foo.UnitTests", "tests/Api.IntegrationTest"), but not "Latest".
 */
static bool dotnet_is_test_project(const char *path)
{
	const char *segment = path;
	for (const char *c = path;; c++) {
		if (*c && !strchr("/.-_", *c))
			continue;
		size_t n = (size_t)(c - segment);
		const char *end = c;
		bool plural = n >= 5 && strncasecmp(end - 5, "tests", 5) == 0;
		size_t stem = plural ? 5 : 4;
		bool test = n >= stem && strncasecmp(end - stem, "test", 4) == 0;
		if (test && (n == stem || end[-(long)stem] == 'T'))
			return true;
		if (!*c)
			return false;
		segment = c + 1;
	}
}

/* Whether p's own folder holds a .NET solution or project file. */
static bool dotnet_at_root(const struct project *p, const struct scan *scan)
{
	const struct vec *root = scan_dir_files(scan, p->dir);
	for (size_t i = 0; root && i < root->len; i++) {
		const struct scan_file *f = root->items[i];
		if (str_ends_with(f->name, ".sln") || str_ends_with(f->name, ".slnx") ||
		    str_ends_with(f->name, ".csproj") || str_ends_with(f->name, ".fsproj"))
			return true;
	}
	return false;
}

/*
 * {dotnet_project}: the project `dotnet run` starts for a solution, when it
 * is not at the root: an Aspire app host (it starts the whole app), else
 * the one ASP.NET Core project, else the one console program, among every
 * project file under the solution's folder (each is a project of its own
 * too); of several, the one nearest the solution when only one is (a
 * sample app in a subfolder is not the product). Its folder is named when
 * the folder holds no other project file.
 */
static void guess_dotnet_project(const struct project *p, struct scan *scan, struct arena *arena,
				 struct map *vars)
{
	if (!dotnet_at_root(p, scan))
		return;
	enum { ASPIRE, WEB, EXE, KINDS };
	static const char *const markers[KINDS][2] = {
		[ASPIRE] = { "Aspire.AppHost.Sdk", "<IsAspireHost>true</IsAspireHost>" },
		[WEB] = { "Sdk=\"Microsoft.NET.Sdk.Web\"", "Sdk=\"Microsoft.NET.Sdk.Web/" },
		[EXE] = { "<OutputType>Exe</OutputType>", "<OutputType>exe</OutputType>" },
	};
	/* Per kind: the shallowest project file, and how many are that shallow. */
	const struct scan_file *found[KINDS] = { NULL };
	size_t counts[KINDS] = { 0 }, depths[KINDS] = { 0 };
	struct buf prefix = BUF_INIT;
	if (*p->dir)
		buf_addf(&prefix, "%s/", p->dir);
	struct buf text = BUF_INIT;
	for (size_t i = scan_first_under(scan, buf_cstr(&prefix)); i < scan->files.len; i++) {
		const struct scan_file *f = scan->files.items[i];
		if (!str_starts_with(f->path, buf_cstr(&prefix)))
			break;
		if ((!str_ends_with(f->name, ".csproj") && !str_ends_with(f->name, ".fsproj")) ||
		    dotnet_is_test_project(f->path + prefix.len) || f->foreign ||
		    scan_read(scan, f, &text, NULL) != 0)
			continue;
		int kind = KINDS;
		for (int k = 0; k < KINDS && kind == KINDS; k++)
			if (strstr(buf_cstr(&text), markers[k][0]) ||
			    strstr(buf_cstr(&text), markers[k][1]))
				kind = k;
		size_t depth = 0;
		for (const char *c = f->path + prefix.len; *c; c++)
			depth += *c == '/';
		if (kind < KINDS && (!found[kind] || depth < depths[kind])) {
			found[kind] = f;
			depths[kind] = depth;
			counts[kind] = 1;
		} else if (kind < KINDS && depth == depths[kind]) {
			counts[kind]++;
		}
	}
	buf_free(&text);
	const struct scan_file *chosen = NULL;
	for (int k = 0; k < KINDS && !chosen; k++)
		if (counts[k] == 1)
			chosen = found[k];
	if (chosen && strcmp(chosen->dir, p->dir) != 0) {
		/* Otherwise none, or at the root: plain `dotnet run`. */
		size_t siblings = 0;
		const struct vec *dir_files = scan_dir_files(scan, chosen->dir);
		for (size_t i = 0; dir_files && i < dir_files->len; i++) {
			const struct scan_file *f = dir_files->items[i];
			siblings += str_ends_with(f->name, "proj");
		}
		const char *path = chosen->path + prefix.len;
		size_t length = siblings > 1 ? strlen(path) : (size_t)(strrchr(path, '/') - path);
		map_put(vars, "dotnet_project", arena_strndup(arena, path, length));
	}
	buf_free(&prefix);
}

/* Whether a Python import name is the project's name ("my-app" and My_App are my_app). */
static bool python_names_match(const char *module, size_t n, const char *project)
{
	if (!project || strlen(project) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = module[i] == '-' ? '_' : (char)tolower((unsigned char)module[i]);
		char b = project[i] == '-' ? '_' : (char)tolower((unsigned char)project[i]);
		if (a != b)
			return false;
	}
	return true;
}

/*
 * {py_module}: the package `python -m` runs, one with a __main__.py at the
 * project's root or under src/: the one named after the project, else the
 * only one (reworkd_platform/__main__.py starts the API).
 */
static void guess_python_module(const struct project *p, struct scan *scan, struct arena *arena,
				struct map *vars)
{
	const struct vec *files = scan_project_files(scan, p);
	const char *only = NULL, *named = NULL;
	size_t count = 0;
	for (size_t i = 0; i < files->len && !named; i++) {
		const struct scan_file *f = files->items[i];
		if (strcmp(f->name, "__main__.py") != 0)
			continue;
		const char *path = relative_path(p, f);
		if (str_starts_with(path, "src/"))
			path += 4;
		const char *slash = strchr(path, '/');
		if (!slash || strcmp(slash, "/__main__.py") != 0)
			continue;
		size_t n = (size_t)(slash - path);
		if (python_names_match(path, n, last_element(p->name)))
			named = arena_strndup(arena, path, n);
		else if (count++ == 0)
			only = arena_strndup(arena, path, n);
	}
	if (named || count == 1)
		map_put(vars, "py_module", (void *)(named ? named : only));
}

/* Whether the project's root holds a package dir named stem, in any case (SABnzbd.py, sabnzbd/). */
static bool python_package_beside(const struct project *p, struct scan *scan, const char *stem)
{
	const struct vec *files = scan_project_files(scan, p);
	size_t n = strlen(stem);
	for (size_t i = 0; i < files->len; i++) {
		const char *path = relative_path(p, files->items[i]);
		if (strncasecmp(path, stem, n) == 0 && strcmp(path + n, "/__init__.py") == 0)
			return true;
	}
	return false;
}

/*
 * {py_launcher} without a launcher at the root: the one `main.py`,
 * `app.py`, `server.py` or `run.py` with a `__main__` guard directly in the
 * usual source folder (app/main.py: `python app/main.py`).
 */
static void guess_python_launcher_below(const struct project *p, struct scan *scan,
					struct arena *arena, struct map *vars)
{
	static const char *const dirs[] = { "app", "src", "backend", "server" };
	static const char *const names[] = { "main.py", "app.py", "server.py", "run.py" };
	const char *only = NULL;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		for (size_t j = 0; j < sizeof(names) / sizeof(*names); j++) {
			const char *path = arena_printf(arena, "%s/%s", dirs[i], names[j]);
			const struct scan_file *f = scan_find_in_project(scan, p, path);
			if (!f || !file_mentions(scan, f, python_main_guard, 2))
				continue;
			if (only)
				return;
			only = path;
		}
	if (only)
		map_put(vars, "py_launcher", (void *)only);
}

/*
 * {py_launcher}: the script at the project's root that starts it, with a
 * `__main__` guard: the one named after the project or after the package
 * beside it (sqlmap.py; cps.py next to cps/), else the only such script
 * (bot.py). Maintainers document `python cps.py`, and it beats a
 * framework's generic `flask run`.
 */
static void guess_python_launcher(const struct project *p, struct scan *scan, struct arena *arena,
				  struct map *vars)
{
	const struct vec *root = scan_dir_files(scan, p->dir);
	const char *project = last_element(p->name);
	const char *named = NULL, *only = NULL;
	size_t named_count = 0, count = 0;
	for (size_t i = 0; root && i < root->len; i++) {
		const struct scan_file *f = root->items[i];
		if (!str_ends_with(f->name, ".py") || python_tooling_script(f->name) ||
		    !file_mentions(scan, f, python_main_guard, 2))
			continue;
		char *stem = arena_strndup(arena, f->name, strlen(f->name) - 3);
		if ((project && strcasecmp(stem, project) == 0) ||
		    python_package_beside(p, scan, stem)) {
			named = f->name;
			named_count++;
		}
		only = f->name;
		count++;
	}
	if (named_count == 1)
		map_put(vars, "py_launcher", (void *)named);
	else if (named_count == 0 && count == 1)
		map_put(vars, "py_launcher", (void *)only);
	else if (count == 0)
		guess_python_launcher_below(p, scan, arena, vars);
}

void entry_points_guess(const struct project *p, struct scan *scan, struct arena *arena,
			struct map *vars)
{
	guess_conventional_files(p, scan, arena, vars);
	guess_go_command(p, scan, arena, vars);
	guess_dotnet_project(p, scan, arena, vars);
	guess_python_launcher(p, scan, arena, vars);
	guess_python_module(p, scan, arena, vars);
}
