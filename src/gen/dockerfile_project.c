/*
 * dockerfile_project: which project of an analysis document an image is
 * for, and the words that name it (its image name, its description), apart
 * from the assembly of the Dockerfile itself (dockerfile.c).
 */
#include "gen/dockerfile_internal.h"

#include "util/buf.h"
#include "util/json.h"
#include "util/str.h"

#include <ctype.h>
#include <string.h>

const json_t *dockerfile_project_at(const json_t *analysis, const char *path)
{
	size_t i;
	json_t *project;
	json_array_foreach(json_object_get(analysis, "projects"), i, project)
	{
		if (str_eq(json_get_str(project, "path", NULL), path))
			return project;
	}
	return NULL;
}

/*
 * The workspace member a root's start command runs (a solution's
 * `dotnet run --project src/Api`): that member is the app, or NULL.
 */
static const json_t *member_started(const json_t *analysis, const json_t *members,
				    const char *start)
{
	size_t i;
	json_t *member;
	json_array_foreach(members, i, member)
	{
		const char *path = json_string_value(member);
		const char *at = path && start ? strstr(start, path) : NULL;
		size_t n = path ? strlen(path) : 0;
		if (at && at > start && at[-1] == ' ' &&
		    (at[n] == '\0' || at[n] == ' ' || at[n] == '/'))
			return dockerfile_project_at(analysis, path);
	}
	return NULL;
}

/* Whether project starts an app an image can run: not a development server. */
static bool starts_app(const json_t *project)
{
	return json_get_str(json_object_get(project, "commands"), "start", NULL) &&
	       !json_is_true(json_object_get(project, "dev_server"));
}

/*
 * The root when it is an app of a known stack (a workspace root only when it
 * starts an app itself, not its `turbo dev`), else the first project with a
 * package manager that starts an app.
 */
const json_t *dockerfile_project_main(const json_t *analysis)
{
	const json_t *root = dockerfile_project_at(analysis, ".");
	const json_t *members = json_object_get(json_object_get(root, "workspace"), "members");
	const char *root_start = json_get_str(json_object_get(root, "commands"), "start", NULL);
	const json_t *started = member_started(analysis, members, root_start);
	if (started)
		return started;
	if (root && json_get_str(root, "primary_language", NULL) &&
	    json_array_size(json_object_get(root, "package_managers")) > 0 &&
	    (json_array_size(members) == 0 || starts_app(root)))
		return root;
	size_t i;
	json_t *project;
	json_array_foreach(json_object_get(analysis, "projects"), i, project)
	{
		if (starts_app(project) &&
		    json_array_size(json_object_get(project, "package_managers")) > 0)
			return project;
	}
	return NULL;
}

/* "@acme/api" -> "acme-api": a valid image repository name. */
char *dockerfile_image_name(const char *name)
{
	struct buf out = BUF_INIT;
	const char *slash = strchr(name, '/');
	if (slash && memchr(name, '.', (size_t)(slash - name)))
		name = strrchr(name, '/') + 1; /* a Go module path: its last element */
	for (const char *p = name; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		bool ok = isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
		if (out.len == 0 && !isalnum((unsigned char)c))
			continue;
		if (!ok && out.len && out.data[out.len - 1] == '-')
			continue;
		buf_addch(&out, ok ? c : '-');
	}
	if (out.len == 0)
		buf_adds(&out, "app");
	return buf_detach(&out);
}

/* "the nextjs project at apps/web (typescript, pnpm, node 20.11.0)" */
void dockerfile_describe(const json_t *p, struct buf *out)
{
	const json_t *frameworks = json_object_get(p, "frameworks");
	const char *kind = json_get_str(json_array_get(frameworks, json_array_size(frameworks) - 1),
					"name", NULL);
	const char *language = json_get_str(p, "primary_language", NULL);
	buf_addf(out, "the %s project at %s (",
		 kind	    ? kind
		 : language ? language
			    : "unknown",
		 json_get_str(p, "path", "."));
	size_t mark = out->len;
	if (language)
		buf_adds(out, language);
	const char *pm =
		json_string_value(json_array_get(json_object_get(p, "package_managers"), 0));
	if (pm)
		buf_addf(out, "%s%s", out->len > mark ? ", " : "", pm);
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)json_object_get(p, "runtimes"), key, value)
	{
		if (json_is_string(value))
			buf_addf(out, "%s%s %s", out->len > mark ? ", " : "", key,
				 json_string_value(value));
	}
	if (out->len == mark)
		buf_adds(out, "nothing detected");
	buf_addch(out, ')');
}
