/*
 * JVM manifests: Maven pom.xml (read as XML) and Gradle build scripts
 * (Groovy or Kotlin DSL, read line by line for the forms nearly every build
 * uses: they are programs, so anything computed is out of reach).
 */
#include "intel/manifest_internal.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/str.h"

#include <libxml/tree.h>

#include <ctype.h>
#include <string.h>

/* ---- Maven ---- */

/* Replaces ${name} with the pom's <properties> value where there is one. */
static const char *pom_resolve(struct manifest_ctx *ctx, struct map *properties, const char *text)
{
	if (!text || !strstr(text, "${"))
		return text;
	struct buf out = BUF_INIT, key = BUF_INIT;
	buf_adds(&out, "");
	for (const char *s = text; *s;) {
		const char *open = strstr(s, "${");
		const char *close = open ? strchr(open, '}') : NULL;
		if (!close) {
			buf_adds(&out, s);
			break;
		}
		buf_add(&out, s, (size_t)(open - s));
		buf_reset(&key);
		buf_add(&key, open + 2, (size_t)(close - open - 2));
		const char *value = map_get(properties, buf_cstr(&key));
		if (value)
			buf_adds(&out, value);
		else
			buf_add(&out, open, (size_t)(close - open + 1));
		s = close + 1;
	}
	const char *resolved = arena_strdup(ctx->arena, buf_cstr(&out));
	buf_free(&out);
	buf_free(&key);
	return resolved;
}

static void pom_dependency(struct manifest_ctx *ctx, struct map *properties, xmlNode *node,
			   bool dev)
{
	const char *group = manifest_xml_text(ctx, manifest_xml_child(node, "groupId"));
	const char *artifact = manifest_xml_text(ctx, manifest_xml_child(node, "artifactId"));
	if (!artifact)
		return;
	const char *version = pom_resolve(
		ctx, properties, manifest_xml_text(ctx, manifest_xml_child(node, "version")));
	const char *scope = manifest_xml_text(ctx, manifest_xml_child(node, "scope"));
	struct buf name = BUF_INIT;
	buf_addf(&name, "%s:%s", group ? group : "", artifact);
	manifest_dependency(ctx, "maven", buf_cstr(&name), version,
			    dev || (scope && strcmp(scope, "test") == 0));
	buf_free(&name);
}

void manifest_parse_pom(struct manifest_ctx *ctx)
{
	xmlDoc *doc = manifest_parse_xml(ctx);
	if (!doc)
		return;
	xmlNode *project = xmlDocGetRootElement(doc);
	struct map *properties = map_new();
	for (xmlNode *n = manifest_xml_child(project, "properties")
				  ? manifest_xml_child(project, "properties")->children
				  : NULL;
	     n; n = n->next) {
		const char *value = n->type == XML_ELEMENT_NODE ? manifest_xml_text(ctx, n) : NULL;
		if (value)
			map_put(properties, (const char *)n->name, (void *)value);
	}
	const char *version = manifest_xml_text(ctx, manifest_xml_child(project, "version"));
	if (version)
		map_put(properties, "project.version", (void *)version);

	manifest_set_name(ctx, manifest_xml_text(ctx, manifest_xml_child(project, "artifactId")));

	/* The release flag is what javac targets; java.version is Spring Boot's. */
	static const char *const java_keys[] = { "maven.compiler.release", "java.version",
						 "maven.compiler.source", "maven.compiler.target" };
	for (size_t i = 0; i < sizeof(java_keys) / sizeof(*java_keys); i++)
		manifest_runtime(ctx, "java",
				 pom_resolve(ctx, properties, map_get(properties, java_keys[i])));
	xmlNode *plugins = manifest_xml_child(manifest_xml_child(project, "build"), "plugins");
	for (xmlNode *n = plugins ? plugins->children : NULL; n; n = n->next) {
		const char *artifact = manifest_xml_text(ctx, manifest_xml_child(n, "artifactId"));
		if (!artifact || strcmp(artifact, "maven-compiler-plugin") != 0)
			continue;
		xmlNode *config = manifest_xml_child(n, "configuration");
		const char *release = manifest_xml_text(ctx, manifest_xml_child(config, "release"));
		if (!release)
			release = manifest_xml_text(ctx, manifest_xml_child(config, "source"));
		manifest_runtime(ctx, "java", pom_resolve(ctx, properties, release));
	}

	/* The parent (spring-boot-starter-parent) says as much as a dependency. */
	xmlNode *parent = manifest_xml_child(project, "parent");
	if (parent)
		pom_dependency(ctx, properties, parent, false);
	xmlNode *deps = manifest_xml_child(project, "dependencies");
	for (xmlNode *n = deps ? deps->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "dependency"))
			pom_dependency(ctx, properties, n, false);

	xmlNode *modules = manifest_xml_child(project, "modules");
	if (modules)
		ctx->p->is_workspace_root = true;
	for (xmlNode *n = modules ? modules->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "module"))
			manifest_workspace_member(ctx, manifest_xml_text(ctx, n));
	map_free(properties, NULL);
	xmlFreeDoc(doc);
}

/* ---- Gradle ---- */

static bool gradle_word_is(const char *s, const char *word)
{
	size_t n = strlen(word);
	return strncmp(s, word, n) == 0 && !isalnum((unsigned char)s[n]) && s[n] != '_';
}

/* The dependency configuration a line starts with, or 0; dev tells test ones. */
static size_t gradle_configuration(const char *s, bool *dev)
{
	static const char *const plain[] = { "implementation",
					     "api",
					     "compileOnly",
					     "runtimeOnly",
					     "annotationProcessor",
					     "kapt",
					     "ksp",
					     "developmentOnly",
					     "compile",
					     "runtime",
					     "providedCompile",
					     "providedRuntime",
					     "compileOnlyApi" };
	static const char *const suffixes[] = { "Implementation", "CompileOnly", "RuntimeOnly",
						"AnnotationProcessor", "Api" };
	size_t n = 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	if (!n || (s[n] != ' ' && s[n] != '\t' && s[n] != '('))
		return 0;
	bool known = false;
	for (size_t i = 0; !known && i < sizeof(plain) / sizeof(*plain); i++)
		known = strlen(plain[i]) == n && strncmp(s, plain[i], n) == 0;
	for (size_t i = 0; !known && i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		size_t m = strlen(suffixes[i]);
		known = n > m && strncmp(s + n - m, suffixes[i], m) == 0;
	}
	if (!known)
		return 0;
	*dev = strncmp(s, "test", 4) == 0 || memmem(s, n, "Test", 4) != NULL;
	return n;
}

/* Reads `key: 'value'` / `key = "value"` from a map-notation dependency. */
static bool gradle_map_value(const char *s, const char *key, struct buf *out)
{
	for (const char *p = strstr(s, key); p; p = strstr(p + 1, key)) {
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		const char *q = p + strlen(key);
		q += strspn(q, " \t");
		if (*q != ':' && *q != '=')
			continue;
		q++;
		if (manifest_read_quoted(&q, out))
			return true;
	}
	return false;
}

static void gradle_dependency_line(struct manifest_ctx *ctx, const char *rest, bool dev)
{
	struct buf text = BUF_INIT, name = BUF_INIT, version = BUF_INIT;
	if (gradle_map_value(rest, "group", &text)) {
		buf_addf(&name, "%s:", buf_cstr(&text));
		if (gradle_map_value(rest, "name", &text))
			buf_adds(&name, buf_cstr(&text));
		if (gradle_map_value(rest, "version", &text))
			buf_adds(&version, buf_cstr(&text));
		manifest_dependency(ctx, "maven", buf_cstr(&name), buf_cstr(&version), dev);
		goto out;
	}
	/* kotlin("stdlib") is org.jetbrains.kotlin:kotlin-stdlib. */
	const char *kotlin = strstr(rest, "kotlin(");
	const char *p = kotlin ? kotlin + 7 : rest;
	while (*p && *p != '"' && *p != '\'')
		p++;
	if (!manifest_read_quoted(&p, &text))
		goto out;
	if (kotlin) {
		buf_addf(&name, "org.jetbrains.kotlin:kotlin-%s", buf_cstr(&text));
		manifest_dependency(ctx, "maven", buf_cstr(&name), "", dev);
		goto out;
	}
	/* "group:name:version[:classifier][@ext]"; ":core" is a project, not a module. */
	const char *coords = buf_cstr(&text);
	const char *first = strchr(coords, ':');
	if (!first || first == coords)
		goto out;
	const char *second = strchr(first + 1, ':');
	buf_add(&name, coords, second ? (size_t)(second - coords) : strlen(coords));
	if (second)
		buf_add(&version, second + 1, strcspn(second + 1, ":@"));
	manifest_dependency(ctx, "maven", buf_cstr(&name), buf_cstr(&version), dev);
out:
	buf_free(&text);
	buf_free(&name);
	buf_free(&version);
}

/* `id 'org.springframework.boot' version '3.2.0'`, `kotlin("jvm") version "1.9.22"`. */
static void gradle_plugin_line(struct manifest_ctx *ctx, const char *line)
{
	struct buf id = BUF_INIT, version = BUF_INIT;
	bool kotlin = str_starts_with(line, "kotlin(");
	const char *p = line + (kotlin ? 7 : 2);
	p += strspn(p, " \t(");
	if (manifest_read_quoted(&p, &version)) {
		if (kotlin)
			buf_adds(&id, "org.jetbrains.kotlin.");
		buf_adds(&id, buf_cstr(&version));
		buf_reset(&version);
		const char *v = strstr(p, "version");
		if (v) {
			v += 7;
			v += strspn(v, " \t(");
			if (!manifest_read_quoted(&v, &version))
				buf_reset(&version);
		}
		manifest_dependency(ctx, "maven", buf_cstr(&id), buf_cstr(&version), false);
	}
	buf_free(&id);
	buf_free(&version);
}

/* The JDK a build asks for: toolchains first, then source compatibility. */
static void gradle_java_version(struct manifest_ctx *ctx)
{
	static const char *const calls[] = { "JavaLanguageVersion.of(", "jvmToolchain(" };
	struct buf version = BUF_INIT;
	for (size_t i = 0; i < 2; i++) {
		const char *s = strstr(ctx->data, calls[i]);
		if (!s)
			continue;
		s += strlen(calls[i]);
		s += strspn(s, " \t\"'");
		buf_reset(&version);
		buf_add(&version, s, strspn(s, "0123456789"));
		manifest_runtime(ctx, "java", buf_cstr(&version));
	}
	const char *s = strstr(ctx->data, "sourceCompatibility");
	if (s) {
		s += strlen("sourceCompatibility");
		s += strspn(s, " \t=");
		buf_reset(&version);
		const char *enum_prefix = "JavaVersion.VERSION_";
		if (str_starts_with(s, enum_prefix)) {
			s += strlen(enum_prefix);
			for (; isdigit((unsigned char)*s) || *s == '_'; s++)
				buf_addch(&version, *s == '_' ? '.' : *s);
		} else if (!manifest_read_quoted(&s, &version)) {
			buf_add(&version, s, strspn(s, "0123456789."));
		}
		manifest_runtime(ctx, "java", buf_cstr(&version));
	}
	buf_free(&version);
}

void manifest_parse_gradle(struct manifest_ctx *ctx)
{
	gradle_java_version(ctx);
	struct buf line = BUF_INIT;
	for (const char *s = ctx->data; *s;) {
		size_t n = strcspn(s, "\n");
		buf_reset(&line);
		buf_add(&line, s, n);
		s += n + (s[n] == '\n');
		const char *text = str_trim(line.data);
		bool dev = false;
		size_t config = gradle_configuration(text, &dev);
		if (config)
			gradle_dependency_line(ctx, text + config, dev);
		else if (gradle_word_is(text, "id") || str_starts_with(text, "kotlin("))
			gradle_plugin_line(ctx, text);
	}
	buf_free(&line);
}

/* settings.gradle: the root project's name and the included subprojects. */
void manifest_parse_gradle_settings(struct manifest_ctx *ctx)
{
	struct buf line = BUF_INIT, value = BUF_INIT, member = BUF_INIT;
	for (const char *s = ctx->data; *s;) {
		size_t n = strcspn(s, "\n");
		buf_reset(&line);
		buf_add(&line, s, n);
		s += n + (s[n] == '\n');
		const char *text = str_trim(line.data);
		if (str_starts_with(text, "rootProject.name")) {
			const char *p = text + strlen("rootProject.name");
			p += strspn(p, " \t=");
			if (manifest_read_quoted(&p, &value))
				manifest_set_name(ctx, buf_cstr(&value));
		} else if (gradle_word_is(text, "include")) {
			/* include 'app', ':libs:core' -> app, libs/core */
			for (const char *p = text + 7; *p;) {
				if (*p != '"' && *p != '\'') {
					p++;
					continue;
				}
				if (!manifest_read_quoted(&p, &value))
					break;
				buf_reset(&member);
				for (const char *c = buf_cstr(&value); *c; c++)
					if (*c != ':' || member.len)
						buf_addch(&member, *c == ':' ? '/' : *c);
				manifest_workspace_member(ctx, buf_cstr(&member));
			}
		}
	}
	buf_free(&line);
	buf_free(&value);
	buf_free(&member);
}
