/*
 * Fuzzes the manifest parsers: the first byte picks the file name (and so
 * the parser), the rest is that file's content. Any bytes must be read or
 * become a scan warning, never a crash, a hang or a leak.
 */
#include "intel/languages.h"
#include "intel/manifest.h"
#include "intel/project.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_manifest_names[] = {
	"package.json",	    "pyproject.toml",
	"Cargo.toml",	    "go.mod",
	"pom.xml",	    "build.gradle",
	"Gemfile",	    "composer.json",
	"mix.exs",	    "Api.csproj",
	"Package.swift",    "pubspec.yaml",
	"requirements.txt", "Pipfile",
	"setup.py",	    "setup.cfg",
	"go.work",	    "settings.gradle.kts",
	"app.gemspec",	    "App.sln",
	"deno.jsonc",	    "pnpm-workspace.yaml",
	"lerna.json",	    "rush.json",
	"build.zig.zon",    "requirements/dev.txt",
	"build.gradle.kts", "deno.json",
};

#define FUZZ_MANIFEST_NAMES (sizeof(fuzz_manifest_names) / sizeof(*fuzz_manifest_names))

/* An empty directory to scan, so each run gets a fresh scan for its warnings. */
static char fuzz_root[] = "/tmp/ampel-fuzz-manifest-XXXXXX";
static struct language_table *fuzz_languages;

static void fuzz_cleanup(void)
{
	rmdir(fuzz_root);
	language_table_free(fuzz_languages);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	if (!fuzz_languages) {
		if (!mkdtemp(fuzz_root) || language_table_load(&fuzz_languages, &e) < 0)
			abort();
		atexit(fuzz_cleanup);
	}
	if (size < 1)
		return 0;
	const char *name = fuzz_manifest_names[data[0] % FUZZ_MANIFEST_NAMES];

	struct scan *scan = NULL;
	if (scan_tree(&scan, fuzz_root, fuzz_languages, NULL, &e) < 0)
		abort();
	struct arena *arena = arena_new();
	struct project *p = project_new(arena, "");
	if (manifest_read_text(p, scan, arena, name, (const char *)data + 1, size - 1) != 0)
		abort();
	/* Whatever was recorded must be complete strings. */
	for (size_t i = 0; i < p->dependencies.len; i++) {
		const struct dependency *d = p->dependencies.items[i];
		if (!d->name[0] || !d->version || !d->ecosystem[0])
			abort();
	}
	for (size_t i = 0; i < p->workspace_members.len; i++)
		if (!((const char *)p->workspace_members.items[i])[0])
			abort();
	project_free(p);
	arena_free(arena);
	scan_free(scan);
	return 0;
}
