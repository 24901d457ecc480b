/*
 * Python manifests: pyproject.toml (PEP 621, Poetry, PDM, uv, PEP 735
 * dependency groups), requirements*.txt, Pipfile, setup.py and setup.cfg.
 */
#include "intel/manifest_internal.h"

#include "util/buf.h"
#include "util/str.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static void python_requirement(struct manifest_ctx *ctx, const char *requirement, bool dev)
{
	struct buf name = BUF_INIT, version = BUF_INIT;
	if (requirement && manifest_pep508(requirement, &name, &version))
		manifest_dependency(ctx, "pypi", buf_cstr(&name), buf_cstr(&version), dev);
	buf_free(&name);
	buf_free(&version);
}

static void python_requirement_list(struct manifest_ctx *ctx, json_t *list, bool dev)
{
	if (!json_is_array(list))
		return;
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		python_requirement(ctx, manifest_json_str(item), dev);
	}
}

/* A table of group -> list of requirements (optional-dependencies, PDM, PEP 735). */
static void python_requirement_groups(struct manifest_ctx *ctx, json_t *groups, bool all_dev)
{
	if (!json_is_object(groups))
		return;
	const char *group;
	json_t *list;
	json_object_foreach(groups, group, list)
	{
		python_requirement_list(ctx, list, all_dev || manifest_dev_group(group));
	}
}

/* Poetry: name -> "^1.2" | {version = "^1.2", ...} | [{...}, {...}]. */
static void python_poetry_table(struct manifest_ctx *ctx, json_t *deps, bool dev)
{
	if (!json_is_object(deps))
		return;
	const char *name;
	json_t *value;
	json_object_foreach(deps, name, value)
	{
		const char *version = manifest_json_str(value);
		if (!version && json_is_object(value))
			version = manifest_json_str(json_object_get(value, "version"));
		if (strcmp(name, "python") == 0)
			manifest_runtime(ctx, "python", version);
		else
			manifest_dependency(ctx, "pypi", name, version, dev);
	}
}

/*
 * PDM's own task runner ([tool.pdm.scripts]): `pdm run start` runs the
 * `start` entry, written as a command string or a table with cmd, shell or
 * call (composite tasks have no single command and are left out).
 */
static void python_pdm_scripts(struct manifest_ctx *ctx, const json_t *scripts)
{
	const char *name;
	json_t *value;
	json_object_foreach((json_t *)scripts, name, value)
	{
		const char *command = manifest_json_str(value);
		if (!command && json_is_object(value)) {
			static const char *const keys[] = { "cmd", "shell", "call" };
			for (size_t i = 0; !command && i < sizeof(keys) / sizeof(*keys); i++)
				command = manifest_json_str(json_object_get(value, keys[i]));
			if (!command && json_is_array(json_object_get(value, "cmd")))
				command = name; /* cmd as an argument list: the task exists */
		}
		if (name[0] != '_')
			manifest_script(ctx, "pypi", name, command);
	}
}

/*
 * {py_command}: the console script the project installs ([project.scripts]
 * or Poetry's [tool.poetry.scripts]): the one named after the project, else
 * the only one. A CLI app starts with it (`uv run spotdl`).
 */
static void python_console_script(struct manifest_ctx *ctx, json_t *root)
{
	json_t *scripts = manifest_json_path(root, "project.scripts");
	if (!json_is_object(scripts))
		scripts = manifest_json_path(root, "tool.poetry.scripts");
	const char *slash = ctx->p->name ? strrchr(ctx->p->name, '/') : NULL;
	const char *project = slash ? slash + 1 : ctx->p->name;
	const char *chosen = NULL;
	const char *name;
	json_t *value;
	json_object_foreach(scripts, name, value)
	{
		if (project && strcasecmp(name, project) == 0)
			chosen = name;
	}
	if (!chosen && json_object_size(scripts) == 1)
		chosen = json_object_iter_key(json_object_iter(scripts));
	manifest_entry_point(ctx, "py_command", chosen);
}

void manifest_parse_pyproject(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_toml(ctx);
	if (!root)
		return;
	json_t *project = json_object_get(root, "project");
	manifest_set_name(ctx, manifest_json_str(json_object_get(project, "name")));
	manifest_runtime(ctx, "python",
			 manifest_json_str(json_object_get(project, "requires-python")));
	python_requirement_list(ctx, json_object_get(project, "dependencies"), false);
	python_requirement_groups(ctx, json_object_get(project, "optional-dependencies"), false);

	json_t *poetry = manifest_json_path(root, "tool.poetry");
	manifest_set_name(ctx, manifest_json_str(json_object_get(poetry, "name")));
	python_poetry_table(ctx, json_object_get(poetry, "dependencies"), false);
	python_poetry_table(ctx, json_object_get(poetry, "dev-dependencies"), true);
	json_t *groups = json_object_get(poetry, "group");
	if (json_is_object(groups)) {
		const char *group;
		json_t *table;
		json_object_foreach(groups, group, table)
		{
			python_poetry_table(ctx, json_object_get(table, "dependencies"),
					    strcmp(group, "main") != 0);
		}
	}

	python_requirement_groups(ctx, manifest_json_path(root, "tool.pdm.dev-dependencies"), true);
	python_pdm_scripts(ctx, manifest_json_path(root, "tool.pdm.scripts"));
	python_requirement_list(ctx, manifest_json_path(root, "tool.uv.dev-dependencies"), true);
	python_requirement_groups(ctx, json_object_get(root, "dependency-groups"), true);

	json_t *members = manifest_json_path(root, "tool.uv.workspace.members");
	if (json_is_array(members)) {
		size_t i;
		json_t *item;
		json_array_foreach(members, i, item)
		{
			manifest_workspace_member(ctx, manifest_json_str(item));
		}
	}
	python_console_script(ctx, root);
	json_decref(root);
}

/* requirements-dev.txt, requirements/test.txt: the part that names the set. */
static bool python_requirements_dev(const char *file_name)
{
	const char *stem = file_name;
	if (str_starts_with(stem, "requirements"))
		stem += strlen("requirements");
	return manifest_dev_group(stem);
}

void manifest_parse_requirements(struct manifest_ctx *ctx)
{
	bool dev = python_requirements_dev(ctx->name);
	struct buf line = BUF_INIT;
	const char *s = ctx->data;
	while (*s) {
		size_t n = strcspn(s, "\n");
		buf_add(&line, s, n);
		s += n + (s[n] == '\n');
		buf_rtrim(&line);
		/* A trailing backslash continues the requirement on the next line. */
		if (line.len && line.data[line.len - 1] == '\\' && *s) {
			buf_truncate(&line, line.len - 1);
			continue;
		}
		char *text = str_trim(line.data ? line.data : (char *)"");
		char *hash = strstr(text, " #");
		if (hash)
			*hash = '\0';
		if (*text && *text != '#' && *text != '-' && *text != '.' && *text != '/' &&
		    !strstr(text, "://"))
			python_requirement(ctx, text, dev);
		buf_reset(&line);
	}
	buf_free(&line);
}

void manifest_parse_pipfile(struct manifest_ctx *ctx)
{
	json_t *root = manifest_parse_toml(ctx);
	if (!root)
		return;
	json_t *requires = json_object_get(root, "requires");
	manifest_runtime(ctx, "python",
			 manifest_json_str(json_object_get(requires, "python_full_version")));
	manifest_runtime(ctx, "python",
			 manifest_json_str(json_object_get(requires, "python_version")));
	static const char *const sections[] = { "packages", "dev-packages" };
	for (size_t k = 0; k < 2; k++) {
		json_t *deps = json_object_get(root, sections[k]);
		if (!json_is_object(deps))
			continue;
		const char *name;
		json_t *value;
		json_object_foreach(deps, name, value)
		{
			const char *version = manifest_json_str(value);
			if (!version)
				version = manifest_json_str(json_object_get(value, "version"));
			if (version && strcmp(version, "*") == 0)
				version = "";
			manifest_dependency(ctx, "pypi", name, version, k == 1);
		}
	}
	json_decref(root);
}

/* The quoted value after `key=` (setup.py keyword argument), or false. */
static bool python_keyword_string(const char *data, const char *key, struct buf *out)
{
	size_t key_len = strlen(key);
	for (const char *s = strstr(data, key); s; s = strstr(s + 1, key)) {
		if (s > data && (isalnum((unsigned char)s[-1]) || s[-1] == '_'))
			continue;
		const char *p = s + key_len;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=' || p[1] == '=')
			continue;
		p++;
		if (manifest_read_quoted(&p, out))
			return true;
	}
	return false;
}

/* Every quoted string in the [...] list after `key=` in setup.py. */
static void python_keyword_list(struct manifest_ctx *ctx, const char *key, bool dev)
{
	struct buf item = BUF_INIT;
	size_t key_len = strlen(key);
	for (const char *s = strstr(ctx->data, key); s; s = strstr(s + 1, key)) {
		const char *p = s + key_len;
		p += strspn(p, " \t");
		if (*p != '=')
			continue;
		p++;
		p += strspn(p, " \t\r\n");
		if (*p != '[')
			continue;
		for (p++; *p && *p != ']';) {
			if (*p == '#') {
				p += strcspn(p, "\n");
			} else if (*p == '"' || *p == '\'') {
				if (!manifest_read_quoted(&p, &item))
					break;
				python_requirement(ctx, buf_cstr(&item), dev);
			} else {
				p++;
			}
		}
		break;
	}
	buf_free(&item);
}

/* setup.py is a program; these are the literal forms nearly every one uses. */
void manifest_parse_setup_py(struct manifest_ctx *ctx)
{
	struct buf value = BUF_INIT;
	if (python_keyword_string(ctx->data, "name", &value))
		manifest_set_name(ctx, buf_cstr(&value));
	if (python_keyword_string(ctx->data, "python_requires", &value))
		manifest_runtime(ctx, "python", buf_cstr(&value));
	python_keyword_list(ctx, "install_requires", false);
	python_keyword_list(ctx, "tests_require", true);
	buf_free(&value);
}

/* setup.cfg: INI with indented continuation lines for lists. */
void manifest_parse_setup_cfg(struct manifest_ctx *ctx)
{
	struct buf section = BUF_INIT, key = BUF_INIT, line = BUF_INIT;
	const char *s = ctx->data;
	while (*s) {
		size_t n = strcspn(s, "\n");
		buf_reset(&line);
		buf_add(&line, s, n);
		s += n + (s[n] == '\n');
		bool continuation = line.len && (line.data[0] == ' ' || line.data[0] == '\t');
		char *text = str_trim(line.data ? line.data : (char *)"");
		if (!*text || *text == '#' || *text == ';')
			continue;
		if (*text == '[') {
			buf_reset(&section);
			buf_add(&section, text + 1, strcspn(text + 1, "]"));
			buf_reset(&key);
			continue;
		}
		const char *value = text;
		if (!continuation) {
			char *eq = strchr(text, '=');
			if (!eq)
				continue;
			*eq = '\0';
			buf_reset(&key);
			buf_adds(&key, str_trim(text));
			value = str_trim(eq + 1);
		}
		const char *sec = buf_cstr(&section), *k = buf_cstr(&key);
		if (strcmp(sec, "metadata") == 0 && strcmp(k, "name") == 0)
			manifest_set_name(ctx, value);
		else if (strcmp(sec, "options") == 0 && strcmp(k, "python_requires") == 0)
			manifest_runtime(ctx, "python", value);
		else if (strcmp(sec, "options") == 0 && strcmp(k, "install_requires") == 0 &&
			 *value)
			python_requirement(ctx, value, false);
		else if (strcmp(sec, "options") == 0 && strcmp(k, "tests_require") == 0 && *value)
			python_requirement(ctx, value, true);
	}
	buf_free(&section);
	buf_free(&key);
	buf_free(&line);
}
