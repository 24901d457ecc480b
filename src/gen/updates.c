#include "gen/updates.h"

#include "gen/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"
#include "util/yaml_emit.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Grouping keeps the PR count low; ten leaves room for the majors. */
#define UPDATES_PR_LIMIT 10

/*
 * How each Ampel package manager is updated. Dependabot's
 * `package-ecosystem` ids follow its documented list (npm also covers yarn
 * and pnpm; pip covers pipenv and poetry; pdm projects are PEP 621
 * pyproject files, which pip reads); Renovate's manager ids name the
 * managers that read those files. `root_covers` is true when the
 * ecosystem's tool resolves a whole workspace from its root (npm, Cargo,
 * Maven reactor, a .sln), so members need no entry of their own; Go
 * modules in a go.work each keep their own go.mod and need one each, and
 * the go.work root without a go.mod has nothing to update (`manifest`
 * names the file a directory must hold, NULL for any manifest).
 * Deno is left out: Dependabot's schema does not list it yet.
 */
struct updates_manager {
	const char *ampel;	/* package manager id in the analysis */
	const char *dependabot; /* package-ecosystem */
	const char *renovate;	/* space-separated Renovate managers */
	bool root_covers;
	const char *manifest;
};

static const struct updates_manager updates_managers[] = {
	{ "npm", "npm", "npm", true, NULL },
	{ "pnpm", "npm", "npm", true, NULL },
	{ "yarn-classic", "npm", "npm", true, NULL },
	{ "yarn-berry", "npm", "npm", true, NULL },
	{ "bun", "bun", "bun npm", true, NULL },
	{ "pip", "pip", "pip_requirements pip_setup setup-cfg pep621", false, NULL },
	{ "poetry", "pip", "poetry", false, NULL },
	{ "pipenv", "pip", "pipenv", false, NULL },
	{ "pdm", "pip", "pep621", false, NULL },
	{ "uv", "uv", "pep621", true, NULL },
	{ "cargo", "cargo", "cargo", true, NULL },
	{ "go", "gomod", "gomod", false, "go.mod" },
	{ "maven", "maven", "maven", true, NULL },
	{ "gradle", "gradle", "gradle", true, NULL },
	{ "bundler", "bundler", "bundler", false, NULL },
	{ "composer", "composer", "composer", false, NULL },
	{ "mix", "mix", "mix", true, NULL },
	{ "dotnet", "nuget", "nuget", true, NULL },
	{ "swiftpm", "swift", "swift", false, NULL },
	{ "pub", "pub", "pub", false, NULL },
};

/* One Dependabot entry in the making: an ecosystem and its directories. */
struct updates_entry {
	const char *ecosystem;
	const char *prefix;	/* commit-message prefix */
	struct vec directories; /* char *, "/" or "/apps/web", first seen first */
	struct vec renovate;	/* char *, manager ids */
	bool language;		/* a package ecosystem, not infrastructure */
};

static const struct updates_manager *updates_manager_find(const char *ampel)
{
	for (size_t i = 0; i < sizeof(updates_managers) / sizeof(*updates_managers); i++)
		if (strcmp(updates_managers[i].ampel, ampel) == 0)
			return &updates_managers[i];
	return NULL;
}

static void updates_entry_free(void *item)
{
	struct updates_entry *entry = item;
	vec_free(&entry->directories, free);
	vec_free(&entry->renovate, free);
	free(entry);
}

static bool updates_vec_has(const struct vec *v, const char *s)
{
	for (size_t i = 0; i < v->len; i++)
		if (strcmp(v->items[i], s) == 0)
			return true;
	return false;
}

static void updates_vec_add_unique(struct vec *v, const char *s)
{
	if (!updates_vec_has(v, s))
		vec_push(v, xstrdup(s));
}

static struct updates_entry *updates_entry_get(struct vec *entries, const char *ecosystem,
					       const char *prefix, bool language)
{
	for (size_t i = 0; i < entries->len; i++) {
		struct updates_entry *entry = entries->items[i];
		if (strcmp(entry->ecosystem, ecosystem) == 0)
			return entry;
	}
	struct updates_entry *entry = xcalloc(1, sizeof(*entry));
	entry->ecosystem = ecosystem;
	entry->prefix = prefix;
	entry->language = language;
	vec_push(entries, entry);
	return entry;
}

static void updates_add_renovate(struct updates_entry *entry, const char *managers)
{
	struct vec names = VEC_INIT;
	str_split(managers, ' ', &names);
	for (size_t i = 0; i < names.len; i++)
		updates_vec_add_unique(&entry->renovate, names.items[i]);
	vec_free(&names, free);
}

/* "." → "/", "apps/web" → "/apps/web"; for a file, its directory. */
static char *updates_directory(const char *path, bool is_file)
{
	struct buf dir = BUF_INIT;
	buf_addch(&dir, '/');
	if (path && strcmp(path, ".") != 0) {
		const char *start = str_starts_with(path, "./") ? path + 2 : path;
		buf_adds(&dir, start);
		if (is_file) {
			char *slash = strrchr(dir.data, '/');
			buf_truncate(&dir, (size_t)(slash - dir.data));
		}
		while (dir.len > 1 && dir.data[dir.len - 1] == '/')
			buf_truncate(&dir, dir.len - 1);
		if (dir.len == 0)
			buf_addch(&dir, '/');
	}
	return buf_detach(&dir);
}

static const json_t *updates_project_at(const json_t *projects, const char *path)
{
	size_t i;
	const json_t *project;
	json_array_foreach(projects, i, project)
	{
		if (str_eq(json_get_str(project, "path", NULL), path))
			return project;
	}
	return NULL;
}

/* True when the project's workspace root already has an entry for dependabot. */
static bool updates_covered_by_root(const json_t *projects, const json_t *project,
				    const struct updates_manager *manager,
				    const struct vec *entries)
{
	if (!manager->root_covers)
		return false;
	const char *root = json_get_str(json_object_get(project, "workspace"), "member_of", NULL);
	if (!root || !updates_project_at(projects, root))
		return false;
	char *dir = updates_directory(root, false);
	bool covered = false;
	for (size_t i = 0; i < entries->len && !covered; i++) {
		const struct updates_entry *entry = entries->items[i];
		covered = strcmp(entry->ecosystem, manager->dependabot) == 0 &&
			  updates_vec_has(&entry->directories, dir);
	}
	free(dir);
	return covered;
}

static bool updates_has_manifest(const json_t *project, const char *name)
{
	if (!name)
		return true;
	size_t i;
	const json_t *manifest;
	json_array_foreach(json_object_get(project, "manifests"), i, manifest)
	{
		const char *path = json_string_value(manifest);
		const char *base = path ? strrchr(path, '/') : NULL;
		if (str_eq(base ? base + 1 : path, name))
			return true;
	}
	return false;
}

static void updates_add_dir(struct updates_entry *entry, const char *path, bool is_file)
{
	char *dir = updates_directory(path, is_file);
	updates_vec_add_unique(&entry->directories, dir);
	free(dir);
}

static bool updates_is_dockerfile(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strcasestr(base, "dockerfile") || strcasestr(base, "containerfile");
}

/*
 * Language ecosystems first, in the order projects list them (root first,
 * then by path), then what the infrastructure files pull in: container
 * images, charts, Terraform providers and, last, the actions of the CI.
 */
static void updates_collect(const json_t *analysis, struct vec *entries)
{
	const json_t *projects = json_object_get(analysis, "projects");
	size_t i;
	const json_t *project;
	json_array_foreach(projects, i, project)
	{
		const char *path = json_get_str(project, "path", ".");
		size_t k;
		const json_t *pm;
		json_array_foreach(json_object_get(project, "package_managers"), k, pm)
		{
			const struct updates_manager *manager = updates_manager_find(
				json_string_value(pm) ? json_string_value(pm) : "");
			if (!manager || !updates_has_manifest(project, manager->manifest) ||
			    updates_covered_by_root(projects, project, manager, entries))
				continue;
			struct updates_entry *entry =
				updates_entry_get(entries, manager->dependabot, "chore", true);
			updates_add_dir(entry, path, false);
			updates_add_renovate(entry, manager->renovate);
		}
	}

	struct vec infra = VEC_INIT; /* built apart so it lands after every language */
	json_array_foreach(projects, i, project)
	{
		const json_t *containers = json_object_get(project, "containers");
		size_t k;
		const json_t *item;
		json_array_foreach(json_object_get(containers, "dockerfiles"), k, item)
		{
			const char *file = json_string_value(item);
			if (!file || !updates_is_dockerfile(file))
				continue;
			struct updates_entry *entry =
				updates_entry_get(&infra, "docker", "chore", false);
			updates_add_dir(entry, file, true);
			updates_add_renovate(entry, "dockerfile");
		}
		json_array_foreach(json_object_get(containers, "compose"), k, item)
		{
			if (!json_string_value(item))
				continue;
			struct updates_entry *entry =
				updates_entry_get(&infra, "docker-compose", "chore", false);
			updates_add_dir(entry, json_string_value(item), true);
			updates_add_renovate(entry, "docker-compose");
		}
		json_array_foreach(json_object_get(project, "cd"), k, item)
		{
			const char *target = json_get_str(item, "target", "");
			const char *file = json_get_str(item, "path", NULL);
			const char *ecosystem = strcmp(target, "helm") == 0	   ? "helm"
						: strcmp(target, "terraform") == 0 ? "terraform"
										   : NULL;
			if (!ecosystem || !file)
				continue;
			struct updates_entry *entry =
				updates_entry_get(&infra, ecosystem, "chore", false);
			updates_add_dir(entry, file, true);
			updates_add_renovate(entry, strcmp(ecosystem, "helm") == 0 ? "helmv3"
										   : "terraform");
		}
	}
	bool github = false;
	json_array_foreach(projects, i, project)
	{
		size_t k;
		const json_t *item;
		json_array_foreach(json_object_get(project, "ci"), k, item)
		{
			github = github || str_eq(json_get_str(item, "provider", NULL), "github");
		}
	}
	/* Helm and Terraform sort after the image ecosystems for a stable read. */
	static const char *const infra_order[] = { "docker", "docker-compose", "helm",
						   "terraform" };
	for (size_t o = 0; o < sizeof(infra_order) / sizeof(*infra_order); o++)
		for (size_t k = 0; k < infra.len; k++) {
			struct updates_entry *entry = infra.items[k];
			if (entry && strcmp(entry->ecosystem, infra_order[o]) == 0) {
				vec_push(entries, entry);
				infra.items[k] = NULL;
			}
		}
	vec_free(&infra, NULL);
	if (github) {
		struct updates_entry *entry =
			updates_entry_get(entries, "github-actions", "ci", false);
		updates_vec_add_unique(&entry->directories, "/");
		updates_add_renovate(entry, "github-actions");
	}
}

/* "orders-api: npm (/), docker (/), github-actions (/)" */
static char *updates_inferred(const json_t *analysis, const struct vec *entries)
{
	struct buf text = BUF_INIT;
	const json_t *root = json_array_get(json_object_get(analysis, "projects"), 0);
	buf_addf(&text, "%s: ", json_get_str(root, "name", "the repository"));
	for (size_t i = 0; i < entries->len; i++) {
		const struct updates_entry *entry = entries->items[i];
		buf_addf(&text, "%s%s (", i ? ", " : "", entry->ecosystem);
		for (size_t d = 0; d < entry->directories.len; d++)
			buf_addf(&text, "%s%s", d ? " " : "",
				 (const char *)entry->directories.items[d]);
		buf_addch(&text, ')');
	}
	return buf_detach(&text);
}

static json_t *updates_dependabot_entry(const struct updates_entry *entry)
{
	json_t *obj = json_object();
	json_object_set_new(obj, "package-ecosystem", json_string(entry->ecosystem));
	if (entry->directories.len == 1) {
		json_object_set_new(obj, "directory", json_string(entry->directories.items[0]));
	} else {
		json_t *dirs = json_array();
		for (size_t d = 0; d < entry->directories.len; d++)
			json_array_append_new(dirs, json_string(entry->directories.items[d]));
		json_object_set_new(obj, "directories", dirs);
	}
	json_object_set_new(obj, "schedule", json_pack("{s:s}", "interval", "weekly"));
	json_object_set_new(obj, "open-pull-requests-limit", json_integer(UPDATES_PR_LIMIT));
	/* "chore(deps): bump x", "ci(deps): bump actions/checkout" */
	json_object_set_new(obj, "commit-message",
			    json_pack("{s:s, s:s}", "prefix", entry->prefix, "include", "scope"));
	struct buf group = BUF_INIT;
	buf_addf(&group, "%s-minor-patch", entry->ecosystem);
	json_t *groups = json_object();
	json_object_set_new(
		groups, group.data,
		json_pack("{s:[s], s:[s, s]}", "patterns", "*", "update-types", "minor", "patch"));
	buf_free(&group);
	json_object_set_new(obj, "groups", groups);
	return obj;
}

static void updates_dependabot(const struct vec *entries, const char *command, const char *inferred,
			       struct gen_files *out)
{
	json_t *updates = json_array();
	for (size_t i = 0; i < entries->len; i++)
		json_array_append_new(updates, updates_dependabot_entry(entries->items[i]));
	json_t *doc = json_pack("{s:i, s:o}", "version", 2, "updates", updates);
	struct buf text = BUF_INIT;
	gen_header(&text, "#", command, inferred);
	buf_addch(&text, '\n');
	static const char *const spaced[] = { NULL };
	struct yaml_emit_options options = { YAML_EMIT_SPACED, spaced };
	yaml_emit(&text, doc, &options);
	gen_files_add(out, ".github/dependabot.yml", text.data);
	buf_free(&text);
	json_decref(doc);
}

/*
 * JSON has no comments; Renovate's own `description` option (a string or
 * a list of them, shown nowhere but documented as free text) carries the
 * header instead, one line per entry.
 */
static json_t *updates_description(const char *command, const char *inferred)
{
	struct buf header = BUF_INIT;
	gen_header(&header, "#", command, inferred);
	json_t *lines = json_array();
	struct vec parts = VEC_INIT;
	str_split(header.data, '\n', &parts);
	for (size_t i = 0; i < parts.len; i++) {
		const char *line = parts.items[i];
		if (str_starts_with(line, "# "))
			line += 2;
		if (*line)
			json_array_append_new(lines, json_string(line));
	}
	vec_free(&parts, free);
	buf_free(&header);
	return lines;
}

static int updates_renovate(const struct vec *entries, const char *command, const char *inferred,
			    struct gen_files *out, struct err *e)
{
	json_t *rules = json_array();
	for (size_t i = 0; i < entries->len; i++) {
		const struct updates_entry *entry = entries->items[i];
		json_t *managers = json_array();
		for (size_t m = 0; m < entry->renovate.len; m++)
			json_array_append_new(managers, json_string(entry->renovate.items[m]));
		struct buf name = BUF_INIT;
		buf_addf(&name, "%s minor and patch", entry->ecosystem);
		json_array_append_new(rules, json_pack("{s:o, s:[s, s], s:s}", "matchManagers",
						       managers, "matchUpdateTypes", "minor",
						       "patch", "groupName", name.data));
		buf_free(&name);
	}
	json_t *doc = json_object();
	json_object_set_new(doc, "$schema",
			    json_string("https://docs.renovatebot.com/renovate-schema.json"));
	json_object_set_new(doc, "description", updates_description(command, inferred));
	json_object_set_new(doc, "extends",
			    json_pack("[s, s]", "config:recommended", "schedule:weekly"));
	json_object_set_new(doc, "prConcurrentLimit", json_integer(UPDATES_PR_LIMIT));
	json_object_set_new(doc, "packageRules", rules);
	json_object_set_new(doc, "lockFileMaintenance", json_pack("{s:b}", "enabled", 1));
	struct buf text = BUF_INIT;
	int rc = json_write_buf(&text, doc, JSON_WRITE_PRETTY, e);
	if (rc == 0)
		gen_files_add(out, "renovate.json", text.data);
	buf_free(&text);
	json_decref(doc);
	return rc;
}

int gen_updates(const json_t *analysis, bool renovate, const char *command, struct gen_files *out,
		struct err *e)
{
	if (!json_is_array(json_object_get(analysis, "projects")))
		return err_set(e, "analysis document has no 'projects' list");
	struct vec entries = VEC_INIT; /* struct updates_entry * */
	updates_collect(analysis, &entries);
	if (entries.len == 0) {
		vec_free(&entries, updates_entry_free);
		err_set(e, "no dependencies to update: no package manager, Dockerfile, chart, "
			   "Terraform module or GitHub workflow was found");
		return GEN_UNSUPPORTED;
	}
	char *inferred = updates_inferred(analysis, &entries);
	const char *cmd = command ? command : "ampel generate updates";
	updates_dependabot(&entries, cmd, inferred, out);
	int rc = renovate ? updates_renovate(&entries, cmd, inferred, out, e) : 0;
	free(inferred);
	vec_free(&entries, updates_entry_free);
	return rc;
}
