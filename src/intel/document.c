#include "intel/document.h"

#include "intel/analyze.h"
#include "intel/fingerprint.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/map.h"

#include <math.h>
#include <string.h>

/* Confidences are reported to two decimals so documents diff cleanly. */
static json_t *document_confidence(double value)
{
	return json_real(round(value * 100.0) / 100.0);
}

static json_t *document_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *document_languages(const struct project *p)
{
	json_t *list = json_array();
	for (size_t i = 0; i < p->languages.len; i++) {
		const struct language_share *share = p->languages.items[i];
		json_array_append_new(list, json_pack("{s:s, s:o, s:I, s:I}", "name", share->id,
						      "confidence",
						      document_confidence(share->confidence),
						      "bytes", (json_int_t)share->bytes, "files",
						      (json_int_t)share->files));
	}
	return list;
}

/* Most confident first; ties by id, so documents are stable. */
static int document_compare_findings(const void *a, const void *b)
{
	const struct finding *fa = *(const struct finding *const *)a;
	const struct finding *fb = *(const struct finding *const *)b;
	if (fa->confidence != fb->confidence)
		return fa->confidence < fb->confidence ? 1 : -1;
	return strcmp(fa->id, fb->id);
}

static json_t *document_findings(const struct project *p, enum finding_kind kind, bool detailed)
{
	struct vec found = VEC_INIT;
	for (size_t i = 0; i < p->findings.len; i++) {
		struct finding *f = p->findings.items[i];
		if (f->kind == kind)
			vec_push(&found, f);
	}
	vec_sort(&found, document_compare_findings);
	/* The package manager that runs the project leads its list. */
	for (size_t i = 1; kind == FINDING_PACKAGE_MANAGER && i < found.len; i++)
		if (found.items[i] == p->package_manager)
			vec_insert(&found, 0, vec_remove(&found, i));
	json_t *list = json_array();
	for (size_t i = 0; i < found.len; i++) {
		const struct finding *f = found.items[i];
		if (!detailed) {
			json_array_append_new(list, json_string(f->id));
			continue;
		}
		json_t *item = json_pack("{s:s, s:o}", "name", f->id, "confidence",
					 document_confidence(f->confidence));
		if (f->evidence)
			json_object_set_new(item, "evidence", json_string(f->evidence));
		json_array_append_new(list, item);
	}
	vec_free(&found, NULL);
	return list;
}

static json_t *document_string_map(const struct map *m)
{
	json_t *obj = json_object();
	const char *key;
	void *value;
	for (size_t cursor = 0; map_next(m, &cursor, &key, &value);)
		json_object_set_new(obj, key, json_string(value));
	return obj;
}

static json_t *document_dependencies(const struct project *p)
{
	json_t *list = json_array();
	for (size_t i = 0; i < p->dependencies.len; i++) {
		const struct dependency *d = p->dependencies.items[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b}", "ecosystem",
						      d->ecosystem, "name", d->name, "version",
						      d->version, "dev", d->dev));
	}
	return list;
}

static json_t *document_env(const struct project *p)
{
	json_t *list = json_array();
	for (size_t i = 0; i < p->env.len; i++) {
		const struct env_var *v = p->env.items[i];
		json_array_append_new(
			list, json_pack("{s:s, s:s}", "name", v->name, "source", v->source));
	}
	return list;
}

static json_t *document_commands(const struct project *p)
{
	json_t *obj = json_object();
	for (int kind = 0; kind < COMMAND_KINDS; kind++)
		json_object_set_new(obj, command_kind_name(kind),
				    document_string_or_null(p->commands[kind]));
	return obj;
}

/* CI and CD findings as [{"provider"|"target": id, "path": file}]. */
static json_t *document_pipelines(const struct project *p, enum finding_kind kind,
				  const char *id_key)
{
	json_t *list = json_array();
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		if (f->kind == kind)
			json_array_append_new(
				list, json_pack("{s:s, s:s?}", id_key, f->id, "path", f->path));
	}
	return list;
}

static json_t *document_containers(const struct project *p)
{
	json_t *dockerfiles = json_array();
	json_t *compose = json_array();
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		if (f->kind != FINDING_CONTAINER || !f->path)
			continue;
		json_array_append_new(strstr(f->id, "compose") ? compose : dockerfiles,
				      json_string(f->path));
	}
	return json_pack("{s:o, s:o}", "dockerfiles", dockerfiles, "compose", compose);
}

static json_t *document_workspace(const struct project *p)
{
	if (!p->is_workspace_root && !p->workspace)
		return json_null();
	json_t *members = json_array();
	for (size_t i = 0; i < p->workspace_members.len; i++)
		json_array_append_new(members, json_string(p->workspace_members.items[i]));
	return json_pack("{s:b, s:o, s:s?}", "root", p->is_workspace_root, "members", members,
			 "member_of", p->workspace ? p->workspace->path : NULL);
}

static json_t *document_project(const struct project *p)
{
	json_t *obj = json_object();
	json_object_set_new(obj, "path", json_string(p->path));
	json_object_set_new(obj, "name", json_string(p->name));
	json_object_set_new(obj, "manifests", json_array());
	for (size_t i = 0; i < p->manifests.len; i++)
		json_array_append_new(json_object_get(obj, "manifests"),
				      json_string(p->manifests.items[i]));
	json_object_set_new(obj, "primary_language", document_string_or_null(p->primary_language));
	json_object_set_new(obj, "languages", document_languages(p));
	json_object_set_new(obj, "frameworks", document_findings(p, FINDING_FRAMEWORK, true));
	json_object_set_new(obj, "package_managers",
			    document_findings(p, FINDING_PACKAGE_MANAGER, false));
	json_object_set_new(obj, "build_tools", document_findings(p, FINDING_BUILD_TOOL, false));
	json_object_set_new(obj, "test_frameworks",
			    document_findings(p, FINDING_TEST_FRAMEWORK, false));
	json_object_set_new(obj, "linters", document_findings(p, FINDING_LINTER, false));
	json_object_set_new(obj, "runtimes", document_string_map(p->runtimes));
	json_object_set_new(obj, "commands", document_commands(p));
	json_object_set_new(obj, "dev_server", json_boolean(p->dev_server));
	json_object_set_new(obj, "entry_points", document_string_map(p->entry_points));
	json_object_set_new(obj, "dependencies", document_dependencies(p));
	json_object_set_new(obj, "env", document_env(p));
	json_object_set_new(obj, "port", p->port ? json_integer(p->port) : json_null());
	json_object_set_new(obj, "port_source", document_string_or_null(p->port_source));
	json_object_set_new(obj, "containers", document_containers(p));
	json_object_set_new(obj, "ci", document_pipelines(p, FINDING_CI, "provider"));
	json_object_set_new(obj, "cd", document_pipelines(p, FINDING_CD, "target"));
	json_object_set_new(obj, "workspace", document_workspace(p));
	json_object_set_new(obj, "confidence", document_confidence(p->confidence));
	return obj;
}

static bool document_any_finding(const struct analysis *analysis, enum finding_kind kind)
{
	for (size_t i = 0; i < analysis->projects.len; i++)
		if (project_top(analysis->projects.items[i], kind))
			return true;
	return false;
}

json_t *document_render(const struct analysis *analysis)
{
	json_t *projects = json_array();
	for (size_t i = 0; i < analysis->projects.len; i++)
		json_array_append_new(projects, document_project(analysis->projects.items[i]));
	json_t *warnings = json_array();
	for (size_t i = 0; i < analysis->scan->warnings.len; i++)
		json_array_append_new(warnings, json_string(analysis->scan->warnings.items[i]));
	json_t *missing =
		json_pack("{s:b, s:b, s:b}", "ci", !document_any_finding(analysis, FINDING_CI),
			  "cd", !document_any_finding(analysis, FINDING_CD), "container",
			  !document_any_finding(analysis, FINDING_CONTAINER));
	json_t *document = json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:I, s:I, s:I}}", "schema",
				     ANALYSIS_SCHEMA, "root", analysis->root, "projects", projects,
				     "missing", missing, "warnings", warnings, "stats", "files",
				     (json_int_t)analysis->scan->files.len, "bytes",
				     (json_int_t)analysis->scan->bytes, "elapsed_ms",
				     (json_int_t)llround(analysis->elapsed_ms));
	/* Computed from the rendered facts, so it sees exactly what readers see. */
	struct fingerprint *fingerprint = fingerprint_from_document(document);
	json_object_set_new(document, "fingerprint", fingerprint_to_json(fingerprint));
	fingerprint_free(fingerprint);
	return document;
}

/* "a, b, c" of the strings in a list, or of each item's `key` member. */
static void document_print_list(FILE *out, const char *label, const json_t *list, const char *key)
{
	if (!json_array_size(list))
		return;
	fprintf(out, "  %-12s", label);
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const json_t *text = key ? json_object_get(item, key) : item;
		fprintf(out, "%s%s", i ? ", " : "", json_string_value(text));
		const char *path = json_string_value(json_object_get(item, "path"));
		if (key && path)
			fprintf(out, " (%s)", path);
	}
	fputc('\n', out);
}

static void document_print_languages(FILE *out, const json_t *languages)
{
	size_t i;
	json_t *language;
	fprintf(out, "  %-12s", "languages");
	if (!json_array_size(languages))
		fputs("none found", out);
	json_array_foreach(languages, i, language)
	{
		if (i >= 6) {
			fprintf(out, ", +%zu more", json_array_size(languages) - i);
			break;
		}
		fprintf(out, "%s%s %.0f%%", i ? ", " : "",
			json_string_value(json_object_get(language, "name")),
			json_real_value(json_object_get(language, "confidence")) * 100.0);
	}
	fputc('\n', out);
}

static void document_print_project(FILE *out, const json_t *project)
{
	const char *primary = json_string_value(json_object_get(project, "primary_language"));
	fprintf(out, "\nproject %s (%s)\n", json_string_value(json_object_get(project, "path")),
		primary ? primary : "no language found");
	document_print_languages(out, json_object_get(project, "languages"));
	document_print_list(out, "frameworks", json_object_get(project, "frameworks"), "name");
	document_print_list(out, "packages", json_object_get(project, "package_managers"), NULL);
	document_print_list(out, "build", json_object_get(project, "build_tools"), NULL);
	document_print_list(out, "tests", json_object_get(project, "test_frameworks"), NULL);
	document_print_list(out, "linters", json_object_get(project, "linters"), NULL);

	const char *key;
	json_t *value;
	const json_t *runtimes = json_object_get(project, "runtimes");
	if (json_object_size(runtimes)) {
		fprintf(out, "  %-12s", "runtimes");
		const char *separator = "";
		json_object_foreach((json_t *)runtimes, key, value)
		{
			fprintf(out, "%s%s %s", separator, key, json_string_value(value));
			separator = ", ";
		}
		fputc('\n', out);
	}
	json_object_foreach(json_object_get(project, "commands"), key, value)
	{
		if (json_is_string(value))
			fprintf(out, "  %-12s%s\n", key, json_string_value(value));
	}
	const json_t *port = json_object_get(project, "port");
	if (json_is_integer(port))
		fprintf(out, "  %-12s%lld (%s)\n", "port", (long long)json_integer_value(port),
			json_string_value(json_object_get(project, "port_source")));
	document_print_list(out, "env", json_object_get(project, "env"), "name");
	const json_t *containers = json_object_get(project, "containers");
	document_print_list(out, "dockerfiles", json_object_get(containers, "dockerfiles"), NULL);
	document_print_list(out, "compose", json_object_get(containers, "compose"), NULL);
	document_print_list(out, "ci", json_object_get(project, "ci"), "provider");
	document_print_list(out, "cd", json_object_get(project, "cd"), "target");
}

void document_print_summary(FILE *out, const json_t *document)
{
	const json_t *stats = json_object_get(document, "stats");
	fprintf(out, "%s: %lld files, %lld bytes, analysed in %lld ms\n",
		json_string_value(json_object_get(document, "root")),
		(long long)json_integer_value(json_object_get(stats, "files")),
		(long long)json_integer_value(json_object_get(stats, "bytes")),
		(long long)json_integer_value(json_object_get(stats, "elapsed_ms")));
	size_t i;
	json_t *project;
	json_array_foreach(json_object_get(document, "projects"), i, project)
		document_print_project(out, project);

	const json_t *missing = json_object_get(document, "missing");
	const char *what[] = { "ci", "cd", "container" };
	bool any = false;
	for (size_t k = 0; k < 3; k++)
		if (json_is_true(json_object_get(missing, what[k]))) {
			fprintf(out, "%s%s", any ? ", " : "\nmissing: ", what[k]);
			any = true;
		}
	if (any)
		fputc('\n', out);
	json_t *warning;
	json_array_foreach(json_object_get(document, "warnings"), i, warning)
	{
		if (i == 0)
			fputs("\nwarnings:\n", out);
		fprintf(out, "  %s\n", json_string_value(warning));
	}
}

const json_t *document_find_project(const json_t *document, const char *path)
{
	size_t i;
	json_t *project;
	json_array_foreach(json_object_get(document, "projects"), i, project)
	{
		const char *project_path = json_string_value(json_object_get(project, "path"));
		if (project_path && strcmp(project_path, path) == 0)
			return project;
	}
	return NULL;
}
