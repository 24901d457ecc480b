/*
 * Fuzzes the readers behind `ampel analyze`'s commands, ports and entry
 * points on a whole analysis: the first byte picks a file the inference
 * reads (a Dockerfile's stages and CMD, a Procfile, a Package.swift's
 * executables, a pyproject's scripts, a Makefile, a .csproj, a Cargo.toml's
 * binaries, a svelte.config's adapter, an entrypoint script's `exec "$@"`,
 * a deps.edn's aliases ...), the rest
 * is that file's content in an otherwise small project. Any bytes must give
 * a document, never a crash, a hang or a leak.
 */
#include "intel/analyze.h"
#include "intel/document.h"
#include "util/err.h"
#include "util/fs.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fuzzed file, and a manifest beside it that makes its reader run. */
static const struct {
	const char *name;
	const char *manifest;
	const char *manifest_text;
} fuzz_analyze_files[] = {
	{ "Dockerfile", "package.json", "{\"name\":\"app\"}" },
	{ "Dockerfile", "deno.json", "{}" },
	{ "Procfile", "requirements.txt", "flask\ngunicorn\n" },
	{ "Package.swift", NULL, NULL },
	{ "pyproject.toml", "app.py", "if __name__ == \"__main__\":\n    main()\n" },
	{ "Makefile", "go.mod", "module example.com/app\n\ngo 1.22\n" },
	{ "Api.csproj", "App.sln", "" },
	{ "mix.exs", NULL, NULL },
	{ "package.json", "Dockerfile", "FROM node:20 AS base\nFROM base\nCMD [\"server.js\"]\n" },
	{ "main.go", "go.mod", "module example.com/app\n\ngo 1.22\n" },
	{ ".env.example", "package.json", "{\"name\":\"app\"}" },
	{ "fly.toml", "Gemfile", "source 'https://rubygems.org'\ngem 'rails'\n" },
	{ "Cargo.toml", NULL, NULL },
	{ "svelte.config.js", "package.json", "{\"devDependencies\":{\"@sveltejs/kit\":\"2\"}}" },
	{ "docker-entrypoint.sh", "Dockerfile",
	  "FROM python:3.12\nENTRYPOINT [\"/app/docker-entrypoint.sh\"]\nCMD [\"gunicorn\", "
	  "\"a:b()\"]\n" },
	{ "deps.edn", "build.clj", "(defn uber [_])\n" },
};

#define FUZZ_ANALYZE_FILES (sizeof(fuzz_analyze_files) / sizeof(*fuzz_analyze_files))

static char fuzz_root[] = "/tmp/ampel-fuzz-analyze-XXXXXX";

static void fuzz_cleanup(void)
{
	fs_remove_tree(fuzz_root, NULL);
}

static void fuzz_write(const char *name, const void *data, size_t size)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", fuzz_root, name);
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_root[strlen(fuzz_root) - 1] == 'X') {
		if (!mkdtemp(fuzz_root))
			abort();
		atexit(fuzz_cleanup);
	}
	if (size < 1)
		return 0;
	unsigned pick = data[0] % FUZZ_ANALYZE_FILES;
	fuzz_write(fuzz_analyze_files[pick].name, data + 1, size - 1);
	if (fuzz_analyze_files[pick].manifest)
		fuzz_write(fuzz_analyze_files[pick].manifest,
			   fuzz_analyze_files[pick].manifest_text,
			   strlen(fuzz_analyze_files[pick].manifest_text));

	struct analysis *analysis = NULL;
	struct err e = ERR_INIT;
	struct analyze_options options = { .progress = false };
	if (analyze_repository(&analysis, fuzz_root, &options, &e) < 0)
		abort(); /* bad content is a warning in the document, not a failure */
	json_t *document = document_render(analysis);
	if (!json_is_array(json_object_get(document, "projects")))
		abort();
	json_decref(document);
	analysis_free(analysis);

	char path[256];
	snprintf(path, sizeof(path), "%s/%s", fuzz_root, fuzz_analyze_files[pick].name);
	unlink(path);
	if (fuzz_analyze_files[pick].manifest) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_root, fuzz_analyze_files[pick].manifest);
		unlink(path);
	}
	return 0;
}
