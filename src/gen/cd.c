/*
 * cd: picks the project and target, resolves port, sizing and region, and
 * hands a cd_context to the target's writer. The provider catalog is
 * validated here, so a bad entry is reported with its file and line
 * before anything is generated.
 */
#include "gen/cd.h"

#include "gen/cd_internal.h"
#include "gen/dockerfile.h"
#include "gen/files.h"
#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/json.h"
#include "util/map.h"
#include "util/str.h"
#include "util/xalloc.h"
#include "util/yaml.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define CD_PROVIDERS_FILE "deployment-providers.yaml"

static void cd_credential_free(void *item)
{
	struct cd_credential *c = item;
	free(c->name);
	free(c->label);
	free(c->pattern);
	vec_free(&c->options, free);
	free(c);
}

static void cd_sizing_free(void *item)
{
	struct cd_sizing *s = item;
	free(s->cpu);
	free(s->size);
	free(s);
}

static void cd_target_free(void *item)
{
	struct cd_target *t = item;
	free(t->id);
	free(t->name);
	free(t->api_base);
	free(t->docs);
	free(t->default_region);
	vec_free(&t->regions, free);
	vec_free(&t->credentials, cd_credential_free);
	if (t->defaults)
		map_free(t->defaults, cd_sizing_free);
	free(t);
}

void cd_catalog_free(struct cd_catalog *catalog)
{
	if (!catalog)
		return;
	vec_free(&catalog->targets, cd_target_free);
	free(catalog);
}

const struct cd_target *cd_catalog_find(const struct cd_catalog *catalog, const char *id)
{
	for (size_t i = 0; i < catalog->targets.len; i++) {
		const struct cd_target *t = catalog->targets.items[i];
		if (str_eq(t->id, id))
			return t;
	}
	return NULL;
}

bool cd_credential_is_secret(const struct cd_credential *credential)
{
	return credential->type == CD_CREDENTIAL_API_TOKEN ||
	       credential->type == CD_CREDENTIAL_SECRET;
}

/* A required non-empty string member of a mapping. */
static int cd_yaml_string(const struct yaml_node *map, const char *key, const char *file,
			  const char *what, char **out, struct err *e)
{
	const struct yaml_node *node = yaml_get(map, key);
	if (!node || yaml_is_null(node))
		return yaml_err(e, file, map, "%s: '%s' is required", what, key);
	if (node->kind != YAML_SCALAR || node->length == 0)
		return yaml_err(e, file, node, "%s: '%s' must be a non-empty string", what, key);
	*out = xstrdup(node->value);
	return 0;
}

static int cd_yaml_string_list(const struct yaml_node *node, const char *file, const char *what,
			       struct vec *out, struct err *e)
{
	if (!node || node->kind != YAML_SEQUENCE || node->count == 0)
		return yaml_err(e, file, node, "%s must be a non-empty list", what);
	for (size_t i = 0; i < node->count; i++) {
		const char *text = yaml_str(node->items[i]);
		if (!text || !*text)
			return yaml_err(e, file, node->items[i], "%s: items must be strings", what);
		vec_push(out, xstrdup(text));
	}
	return 0;
}

static int cd_parse_credential(struct cd_target *t, const struct yaml_node *node, const char *file,
			       struct err *e)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(e, file, node, "target '%s': each credential must be a mapping",
				t->id);
	struct cd_credential *c = xcalloc(1, sizeof(*c));
	vec_push(&t->credentials, c);
	struct buf what = BUF_INIT;
	buf_addf(&what, "target '%s' credential", t->id);
	int rc = cd_yaml_string(node, "name", file, what.data, &c->name, e);
	if (rc == 0) {
		buf_addf(&what, " '%s'", c->name);
		rc = cd_yaml_string(node, "label", file, what.data, &c->label, e);
	}
	char *type = NULL;
	if (rc == 0)
		rc = cd_yaml_string(node, "type", file, what.data, &type, e);
	if (rc == 0) {
		static const char *const names[] = { "api_token", "secret", "text", "select",
						     "region" };
		size_t i = 0;
		while (i < 5 && strcmp(names[i], type) != 0)
			i++;
		if (i == 5)
			rc = yaml_err(e, file, yaml_get(node, "type"),
				      "%s: type '%s' is not one of api_token, secret, text, "
				      "select, region",
				      what.data, type);
		c->type = (enum cd_credential_type)i;
	}
	free(type);
	const struct yaml_node *required = yaml_get(node, "required");
	if (rc == 0 && !required)
		rc = yaml_err(e, file, node, "%s: 'required' (true or false) is missing",
			      what.data);
	if (rc == 0)
		rc = yaml_bool(required, file, &c->required, e);
	const struct yaml_node *pattern = yaml_get(node, "pattern");
	if (rc == 0 && pattern) {
		if (!yaml_str(pattern))
			rc = yaml_err(e, file, pattern, "%s: pattern must be a string", what.data);
		int code;
		PCRE2_SIZE offset;
		pcre2_code *re = rc ? NULL
				    : pcre2_compile((PCRE2_SPTR)pattern->value,
						    PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
		if (rc == 0 && !re) {
			PCRE2_UCHAR message[256];
			pcre2_get_error_message(code, message, sizeof(message));
			rc = yaml_err(e, file, pattern, "%s: pattern at offset %zu: %s", what.data,
				      (size_t)offset, (const char *)message);
		}
		pcre2_code_free(re);
		if (rc == 0)
			c->pattern = xstrdup(pattern->value);
	}
	if (rc == 0 && c->type == CD_CREDENTIAL_SELECT)
		rc = cd_yaml_string_list(yaml_get(node, "options"), file, what.data, &c->options,
					 e);
	buf_free(&what);
	return rc;
}

static int cd_parse_long(const struct yaml_node *map, const char *key, const char *file,
			 const char *what, long min, long max, long *out, struct err *e)
{
	const struct yaml_node *node = yaml_get(map, key);
	long long value;
	if (!node)
		return yaml_err(e, file, map, "%s: '%s' is required", what, key);
	if (yaml_int(node, file, &value, e) < 0)
		return -1;
	if (value < min || value > max)
		return yaml_err(e, file, node, "%s: %s must be between %ld and %ld", what, key, min,
				max);
	*out = (long)value;
	return 0;
}

static int cd_parse_defaults(struct cd_target *t, const struct yaml_node *node, const char *file,
			     struct err *e)
{
	if (!node || node->kind != YAML_MAPPING)
		return yaml_err(e, file, node,
				"target '%s': 'defaults' must be a mapping of "
				"languages",
				t->id);
	t->defaults = map_new();
	for (size_t i = 0; i < node->count; i++) {
		const char *language = yaml_str(node->pairs[i].key);
		const struct yaml_node *entry = node->pairs[i].value;
		struct buf what = BUF_INIT;
		buf_addf(&what, "target '%s' defaults '%s'", t->id, language);
		if (entry->kind != YAML_MAPPING) {
			yaml_err(e, file, entry, "%s: must be a mapping {port, memory, cpu}",
				 what.data);
			buf_free(&what);
			return -1;
		}
		struct cd_sizing *s = xcalloc(1, sizeof(*s));
		map_put(t->defaults, language, s);
		int rc = cd_parse_long(entry, "port", file, what.data, 1, 65535, &s->port, e);
		if (rc == 0)
			rc = cd_parse_long(entry, "memory", file, what.data, 64, 1048576,
					   &s->memory, e);
		if (rc == 0)
			rc = cd_yaml_string(entry, "cpu", file, what.data, &s->cpu, e);
		const struct yaml_node *size = yaml_get(entry, "size");
		if (rc == 0 && size)
			rc = cd_yaml_string(entry, "size", file, what.data, &s->size, e);
		buf_free(&what);
		if (rc < 0)
			return -1;
	}
	if (!map_get(t->defaults, "default"))
		return yaml_err(e, file, node, "target '%s': defaults need a 'default' entry",
				t->id);
	return 0;
}

static int cd_parse_target(struct cd_catalog *catalog, const struct yaml_node *node,
			   const char *file, struct err *e)
{
	if (node->kind != YAML_MAPPING)
		return yaml_err(e, file, node, "each target must be a mapping");
	struct cd_target *t = xcalloc(1, sizeof(*t));
	vec_push(&catalog->targets, t);
	if (cd_yaml_string(node, "id", file, "target", &t->id, e) < 0)
		return -1;
	for (size_t i = 0; i + 1 < catalog->targets.len; i++) {
		const struct cd_target *other = catalog->targets.items[i];
		if (strcmp(other->id, t->id) == 0)
			return yaml_err(e, file, yaml_get(node, "id"),
					"target '%s' is defined twice", t->id);
	}
	struct buf what = BUF_INIT;
	buf_addf(&what, "target '%s'", t->id);
	int rc = cd_yaml_string(node, "name", file, what.data, &t->name, e);
	if (rc == 0)
		rc = cd_yaml_string(node, "api_base", file, what.data, &t->api_base, e);
	if (rc == 0)
		rc = cd_yaml_string(node, "docs", file, what.data, &t->docs, e);
	if (rc == 0 && !str_starts_with(t->docs, "https://"))
		rc = yaml_err(e, file, yaml_get(node, "docs"), "%s: docs must be an https URL",
			      what.data);
	if (rc == 0)
		rc = cd_yaml_string(node, "default_region", file, what.data, &t->default_region, e);
	if (rc == 0) {
		buf_adds(&what, " regions");
		rc = cd_yaml_string_list(yaml_get(node, "regions"), file, what.data, &t->regions,
					 e);
	}
	if (rc == 0) {
		bool found = false;
		for (size_t i = 0; i < t->regions.len; i++)
			found |= strcmp(t->regions.items[i], t->default_region) == 0;
		if (!found)
			rc = yaml_err(e, file, yaml_get(node, "default_region"),
				      "target '%s': default_region '%s' is not in regions", t->id,
				      t->default_region);
	}
	buf_free(&what);
	const struct yaml_node *credentials = yaml_get(node, "credentials");
	if (rc == 0 && (!credentials || credentials->kind != YAML_SEQUENCE))
		rc = yaml_err(e, file, credentials ? credentials : node,
			      "target '%s': 'credentials' must be a list", t->id);
	for (size_t i = 0; rc == 0 && i < credentials->count; i++)
		rc = cd_parse_credential(t, credentials->items[i], file, e);
	if (rc == 0)
		rc = cd_parse_defaults(t, yaml_get(node, "defaults"), file, e);
	return rc;
}

int cd_catalog_parse(struct cd_catalog **out, const char *origin, const char *data, size_t len,
		     struct err *e)
{
	struct yaml_doc *doc = NULL;
	*out = NULL;
	if (yaml_parse(&doc, origin, data, len, e) < 0)
		return -1;
	struct cd_catalog *catalog = xcalloc(1, sizeof(*catalog));
	const struct yaml_node *root = doc->root;
	const struct yaml_node *targets = yaml_get(root, "targets");
	int rc = 0;
	if (!root || root->kind != YAML_MAPPING)
		rc = err_set(e, "%s: must be a mapping with 'version' and 'targets'", origin);
	const struct yaml_node *version = rc ? NULL : yaml_get(root, "version");
	if (rc == 0 && (!version || !str_eq(yaml_str(version), "1")))
		rc = yaml_err(e, origin, version ? version : root, "'version' must be 1");
	if (rc == 0 && (!targets || targets->kind != YAML_SEQUENCE))
		rc = yaml_err(e, origin, targets ? targets : root, "'targets' must be a list");
	for (size_t i = 0; rc == 0 && i < targets->count; i++)
		rc = cd_parse_target(catalog, targets->items[i], origin, e);
	yaml_doc_free(doc);
	if (rc < 0) {
		cd_catalog_free(catalog);
		return -1;
	}
	*out = catalog;
	return 0;
}

int cd_catalog_load(struct cd_catalog **out, struct err *e)
{
	struct buf data = BUF_INIT;
	char *origin = NULL;
	int rc = embed_read_config(CD_PROVIDERS_FILE, &data, &origin, e);
	if (rc == 0)
		rc = cd_catalog_parse(out, origin, data.data, data.len, e);
	free(origin);
	buf_free(&data);
	return rc;
}

static json_t *cd_credential_describe(const struct cd_credential *c)
{
	static const char *const types[] = { "api_token", "secret", "text", "select", "region" };
	json_t *out = json_pack("{s:s, s:s, s:s, s:b, s:b}", "name", c->name, "label", c->label,
				"type", types[c->type], "required", c->required, "secret",
				cd_credential_is_secret(c));
	if (c->pattern)
		json_object_set_new(out, "pattern", json_string(c->pattern));
	if (c->type == CD_CREDENTIAL_SELECT) {
		json_t *options = json_array();
		for (size_t i = 0; i < c->options.len; i++)
			json_array_append_new(options, json_string(c->options.items[i]));
		json_object_set_new(out, "options", options);
	}
	return out;
}

int cd_providers_describe(json_t **out, struct err *e)
{
	struct cd_catalog *catalog = NULL;
	*out = NULL;
	if (cd_catalog_load(&catalog, e) < 0)
		return -1;
	json_t *providers = json_array();
	for (size_t i = 0; i < catalog->targets.len; i++) {
		const struct cd_target *t = catalog->targets.items[i];
		json_t *regions = json_array();
		for (size_t r = 0; r < t->regions.len; r++)
			json_array_append_new(regions, json_string(t->regions.items[r]));
		json_t *credentials = json_array();
		for (size_t c = 0; c < t->credentials.len; c++)
			json_array_append_new(credentials,
					      cd_credential_describe(t->credentials.items[c]));
		json_array_append_new(providers,
				      json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "id", t->id,
						"name", t->name, "docs", t->docs, "regions",
						regions, "default_region", t->default_region,
						"credentials", credentials));
	}
	cd_catalog_free(catalog);
	*out = providers;
	return 0;
}

/*
 * The project to deploy: the one asked for, else the first that listens
 * on a port, else the first with a start command, else the root.
 */
static const json_t *cd_pick_project(const json_t *projects, const char *path, struct err *e)
{
	size_t i;
	const json_t *project;
	if (path) {
		json_array_foreach(projects, i, project)
		{
			if (str_eq(json_get_str(project, "path", NULL), path))
				return project;
		}
		struct buf known = BUF_INIT;
		json_array_foreach(projects, i, project)
		{
			buf_addf(&known, "%s%s", i ? ", " : "", json_get_str(project, "path", "?"));
		}
		err_set(e, "no project at '%s' (projects: %s)", path,
			known.len ? known.data : "none");
		buf_free(&known);
		return NULL;
	}
	json_array_foreach(projects, i, project)
	{
		if (json_is_integer(json_object_get(project, "port")))
			return project;
	}
	json_array_foreach(projects, i, project)
	{
		if (json_is_string(json_object_get(json_object_get(project, "commands"), "start")))
			return project;
	}
	return json_array_get(projects, 0);
}

/* Lowercase letters, digits and single dashes, at most 40 characters. */
static char *cd_slugify(const char *name)
{
	const char *slash = strrchr(name, '/');
	if (slash && slash[1])
		name = slash + 1;
	struct buf slug = BUF_INIT;
	for (const char *p = name; *p && slug.len < 40; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (isalnum((unsigned char)c) && (unsigned char)c < 0x80)
			buf_addch(&slug, c);
		else if (slug.len && slug.data[slug.len - 1] != '-')
			buf_addch(&slug, '-');
	}
	while (slug.len && slug.data[slug.len - 1] == '-')
		buf_truncate(&slug, slug.len - 1);
	if (slug.len && isdigit((unsigned char)slug.data[0]))
		buf_truncate(&slug, 0);
	if (!slug.len)
		buf_adds(&slug, "app");
	return buf_detach(&slug);
}

static char *cd_describe(const json_t *project, const char *path)
{
	struct buf out = BUF_INIT;
	const char *framework = json_get_str(
		json_array_get(json_object_get(project, "frameworks"), 0), "name", NULL);
	const char *language = json_get_str(project, "primary_language", NULL);
	const char *pm =
		json_string_value(json_array_get(json_object_get(project, "package_managers"), 0));
	const char *what = framework ? framework : language ? language : "unknown";
	if (pm && language && strcmp(pm, language) == 0)
		pm = NULL; /* "go (go)" says nothing */
	buf_addf(&out, "%s %s app", strchr("aeiou", what[0]) ? "an" : "a", what);
	if (framework && (language || pm))
		buf_addf(&out, " (%s%s%s)", language ? language : "", language && pm ? ", " : "",
			 pm ? pm : "");
	else if (!framework && pm)
		buf_addf(&out, " (%s)", pm);
	if (str_eq(path, "."))
		buf_adds(&out, " at the repository root");
	else
		buf_addf(&out, " at %s", path);
	return buf_detach(&out);
}

typedef int cd_writer(const struct cd_context *ctx, struct gen_files *out, struct err *e);

static cd_writer *cd_writer_for(const char *id)
{
	static const struct {
		const char *id;
		cd_writer *write;
	} writers[] = {
		{ "flyio", cd_flyio_generate },
		{ "aws-ecs", cd_aws_ecs_generate },
		{ "gcp-cloudrun", cd_cloudrun_generate },
		{ "azure-containerapps", cd_azure_generate },
		{ "digitalocean", cd_digitalocean_generate },
		{ "kubernetes", cd_kubernetes_generate },
	};
	for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		if (str_eq(writers[i].id, id))
			return writers[i].write;
	}
	return NULL;
}

static int cd_unsupported(struct err *e, const char *fmt, const char *a, const char *b)
{
	err_set(e, fmt, a, b);
	return GEN_UNSUPPORTED;
}

static void cd_list_targets(struct buf *out, const struct cd_catalog *catalog)
{
	for (size_t i = 0; i < catalog->targets.len; i++) {
		const struct cd_target *t = catalog->targets.items[i];
		if (cd_writer_for(t->id))
			buf_addf(out, "%s%s", out->len ? ", " : "", t->id);
	}
}

/* Resolves region, port, sizing and names; returns 0, -1 or GEN_UNSUPPORTED. */
static int cd_context_init(struct cd_context *ctx, const json_t *analysis,
			   const struct cd_target *target, struct err *e)
{
	const struct cd_options *options = ctx->options;
	const json_t *projects = json_object_get(analysis, "projects");
	if (!json_is_array(projects) || json_array_size(projects) == 0)
		return cd_unsupported(e, "%s%s: the analysis has no project to deploy",
				      "generate cd", "");
	const json_t *project = cd_pick_project(projects, options->project, e);
	if (!project)
		return -1;
	ctx->target = target;
	ctx->project = project;
	ctx->project_path = json_get_str(project, "path", ".");
	ctx->dir = xstrdup("");
	if (!str_eq(ctx->project_path, ".")) {
		free(ctx->dir);
		struct buf dir = BUF_INIT;
		buf_addf(&dir, "%s/", ctx->project_path);
		ctx->dir = buf_detach(&dir);
	}
	ctx->inferred = cd_describe(project, ctx->project_path);
	const char *name = json_get_str(project, "name", NULL);
	ctx->slug = cd_slugify(name ? name : ctx->project_path);

	ctx->region = options->region ? options->region : target->default_region;
	bool region_known = false;
	for (size_t i = 0; i < target->regions.len; i++)
		region_known |= strcmp(target->regions.items[i], ctx->region) == 0;
	if (!region_known) {
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < target->regions.len; i++)
			buf_addf(&list, "%s%s", i ? ", " : "", (char *)target->regions.items[i]);
		err_set(e, "%s has no region '%s' (regions: %s)", target->name, ctx->region,
			list.data);
		buf_free(&list);
		return -1;
	}

	const char *language = json_get_str(project, "primary_language", NULL);
	ctx->sizing = language ? map_get(target->defaults, language) : NULL;
	ctx->language = ctx->sizing ? language : "default";
	if (!ctx->sizing)
		ctx->sizing = map_get(target->defaults, "default");

	const json_t *port = json_object_get(project, "port");
	const json_t *start = json_object_get(json_object_get(project, "commands"), "start");
	long image_port = gen_dockerfile_port(analysis, project);
	if (image_port)
		ctx->port = image_port; /* the image's own server (a static site's nginx) */
	else if (json_is_integer(port))
		ctx->port = (long)json_integer_value(port);
	else if (json_is_string(start))
		ctx->port = ctx->sizing->port; /* a server without a detected port */
	else
		return cd_unsupported(e,
				      "%s: no port and no start command were detected for the "
				      "project at %s, so there is no server to deploy",
				      target->name, ctx->project_path);
	ctx->health_path = json_get_str(project, "health_path", "/");
	return 0;
}

static void cd_context_clear(struct cd_context *ctx)
{
	free(ctx->dir);
	free(ctx->slug);
	free(ctx->inferred);
}

int gen_cd(const json_t *analysis, const struct cd_options *options, struct gen_files *out,
	   struct err *e)
{
	if (!options->target || !*options->target)
		return err_set(e, "generate cd: --target is required (flyio, aws-ecs, "
				  "gcp-cloudrun, azure-containerapps, digitalocean, kubernetes)");
	struct cd_catalog *catalog = NULL;
	if (cd_catalog_load(&catalog, e) < 0)
		return -1;
	const struct cd_target *target = cd_catalog_find(catalog, options->target);
	if (!target || !cd_writer_for(target->id)) {
		struct buf known = BUF_INIT;
		cd_list_targets(&known, catalog);
		int rc = cd_unsupported(e, "unknown deployment target '%s' (targets: %s)",
					options->target, known.data);
		buf_free(&known);
		cd_catalog_free(catalog);
		return rc;
	}
	struct cd_context ctx = { .options = options };
	int rc = cd_context_init(&ctx, analysis, target, e);
	if (rc == 0) {
		/* All or nothing: a target that fails half-way adds no file. */
		struct gen_files staged = GEN_FILES_INIT;
		rc = cd_writer_for(target->id)(&ctx, &staged, e);
		for (size_t i = 0; rc == 0 && i < staged.files.len; i++) {
			const struct gen_file *f = staged.files.items[i];
			gen_files_add(out, f->path, f->content);
		}
		gen_files_free(&staged);
	}
	cd_context_clear(&ctx);
	cd_catalog_free(catalog);
	return rc;
}

char *cd_path(const struct cd_context *ctx, const char *name)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s%s", ctx->dir, name);
	return buf_detach(&path);
}

char *cd_app_name(const struct cd_context *ctx, const struct cd_environment *env)
{
	struct buf name = BUF_INIT;
	buf_addf(&name, "%s%s", ctx->slug, env->suffix);
	return buf_detach(&name);
}
