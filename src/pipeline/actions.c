/*
 * actions: the `uses:` steps Ampel can run on the local machine.
 *
 * Local actions (`uses: ./path`) run for real: composite steps through the
 * same step runner, Node actions with `node` and their pre/post programs.
 * The handful of remote actions nearly every workflow uses have local
 * equivalents here: checkout copies the repository, cache keeps archives
 * between runs, artifacts move between jobs of the run, and setup-* actions
 * check that the host's toolchain is there instead of downloading one.
 * Any other remote action fails its step with a message saying so.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/run_internal.h"
#include "pipeline/workflow.h"
#include "pipeline/workflow_load.h"
#include "util/fs.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/xalloc.h"

void post_step_free(void *item)
{
	struct post_step *post = item;
	free(post->name);
	argv_free(post->argv);
	free(post->condition);
	json_decref(post->env);
	free(post);
}

static void say(struct leg_run *lr, json_t *log, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(struct leg_run *lr, json_t *log, const char *step, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&text, fmt, ap);
	va_end(ap);
	json_array_append_new(log, json_string(text.data));
	leg_emit(lr, step, RUN_LINE_OUTPUT, text.data);
	buf_free(&text);
}

static const char *input(const json_t *inputs, const char *name, const char *fallback)
{
	const char *value = json_string_value(json_object_get(inputs, name));
	return value && *value ? value : fallback;
}

/* Runs a shell snippet for a built-in action, its output going to the step's log. */
static int builtin_shell(struct leg_run *lr, const char *step_name, json_t *log, const char *cwd,
			 const char *script, json_t *env)
{
	char *argv[] = { xstrdup("bash"), xstrdup("-eo"),  xstrdup("pipefail"),
			 xstrdup("-c"),	  xstrdup(script), NULL };
	json_t *outputs = json_object();
	struct step_process sp = { .step_name = step_name,
				   .argv = argv,
				   .cwd = cwd,
				   .env = env,
				   .timeout_ms = 30 * 60 * 1000,
				   .outputs = outputs,
				   .log = log };
	int exit_code;
	bool timed_out, cancelled;
	step_process_run(lr, &sp, &exit_code, &timed_out, &cancelled);
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	json_decref(outputs);
	return exit_code;
}

/* The lines of a multi-line input (path:, restore-keys:), trimmed, blanks dropped. */
static void input_lines(const char *text, struct vec *out)
{
	struct vec lines = VEC_INIT;
	str_split(text ? text : "", '\n', &lines);
	for (size_t i = 0; i < lines.len; i++) {
		char *line = str_trim(lines.items[i]);
		if (*line)
			vec_push(out, xstrdup(line));
	}
	vec_free(&lines, free);
}

/*
 * Copies the files matching patterns (globs, `!` excludes, relative to from)
 * into dest, keeping their relative paths. bash's globstar does the
 * matching so `**` behaves as users expect.
 */
static int copy_matching(struct leg_run *lr, const char *step, json_t *log, const char *from,
			 const struct vec *patterns, const char *dest)
{
	struct buf script = BUF_INIT;
	buf_adds(&script, "shopt -s globstar nullglob dotglob; dest=");
	buf_add_shell_quoted(&script, dest);
	buf_adds(&script, "; mkdir -p \"$dest\"; n=0; excluded() { for x in");
	for (size_t i = 0; i < patterns->len; i++) {
		const char *p = patterns->items[i];
		if (p[0] == '!') {
			buf_addch(&script, ' ');
			buf_add_shell_quoted(&script, p + 1);
		}
	}
	buf_adds(&script,
		 "; do [[ \"$1\" == $x || \"$1\" == $x/* ]] && return 0; done; return 1; }; "
		 "for f in");
	for (size_t i = 0; i < patterns->len; i++) {
		const char *p = patterns->items[i];
		if (p[0] == '!')
			continue;
		buf_addch(&script, ' ');
		/* Globs unquoted, the rest quoted: a space in a file name must not split it. */
		for (const char *c = p; *c; c++) {
			if (strchr("*?[]", *c))
				buf_addch(&script, *c);
			else if (*c == '~' && c == p)
				buf_adds(&script, "$HOME");
			else {
				buf_addch(&script, '\\');
				buf_addch(&script, *c);
			}
		}
	}
	buf_adds(&script, "; do [ -e \"$f\" ] || continue; excluded \"$f\" && continue; "
			  "cp -a --parents -- \"$f\" \"$dest\"/ && n=$((n+1)); done; echo \"$n\" > "
			  "\"$dest/../.count-$$\"; mv \"$dest/../.count-$$\" \"$dest.count\"");
	int rc = builtin_shell(lr, step, log, from, script.data, NULL);
	buf_free(&script);
	if (rc != 0)
		return -1;
	struct buf count_file = BUF_INIT;
	buf_addf(&count_file, "%s.count", dest);
	struct buf count = BUF_INIT;
	struct err e = ERR_INIT;
	int copied = buf_read_file(&count, count_file.data, 64, &e) == 0 ? atoi(count.data) : 0;
	err_clear(&e);
	unlink(count_file.data);
	buf_free(&count_file);
	buf_free(&count);
	return copied;
}

/*
 * `ref:` names a commit of the repository, not its working tree: clone the
 * repository (all its history, a superset of any fetch-depth) and detach
 * at that commit. A branch known only as a remote-tracking one counts.
 */
static int checkout_ref(struct leg_run *lr, const char *step, json_t *log, const char *ref,
			const char *dest)
{
	struct buf script = BUF_INIT;
	buf_adds(&script, "repo=");
	buf_add_shell_quoted(&script, lr->run->opt->repo_dir);
	buf_adds(&script, "; ref=");
	buf_add_shell_quoted(&script, ref);
	buf_adds(&script, "; dest=");
	buf_add_shell_quoted(&script, dest);
	buf_adds(
		&script,
		"; sha=$(git -C \"$repo\" rev-parse --verify --quiet \"$ref^{commit}\" || "
		"git -C \"$repo\" rev-parse --verify --quiet \"origin/$ref^{commit}\") || "
		"{ echo \"error: ref '$ref' is not a commit of $repo\"; exit 1; }; "
		"if [ -n \"$(ls -A \"$dest\" 2>/dev/null)\" ]; then "
		"echo \"error: $dest is not empty: cannot check out '$ref' there\"; exit 1; fi; "
		"echo \"Checking out $ref ($sha) into the workspace\"; "
		"git clone --quiet --no-checkout -- \"$repo\" \"$dest\" && "
		"git -C \"$dest\" -c advice.detachedHead=false checkout --quiet --detach \"$sha\"");
	int rc = builtin_shell(lr, step, log, lr->workspace, script.data, NULL);
	buf_free(&script);
	return rc == 0 ? 0 : -1;
}

static int action_checkout(struct leg_run *lr, const char *step, json_t *inputs, json_t *log)
{
	const char *path = input(inputs, "path", NULL);
	const char *ref = input(inputs, "ref", NULL);
	char *dest = workspace_join(lr->workspace, path);
	struct err e = ERR_INIT;
	int rc;
	if (ref && *ref) {
		rc = checkout_ref(lr, step, log, ref, dest);
	} else {
		say(lr, log, step, "Copying %s into the workspace", lr->run->opt->repo_dir);
		if ((rc = workspace_copy_tree(lr->run->opt->repo_dir, dest, &e)) < 0) {
			say(lr, log, step, "error: %s", e.msg);
			err_clear(&e);
		}
	}
	if (rc < 0) {
		free(dest);
		return 1;
	}
	/* A GitLab job receives the artifacts of the jobs it depends on. */
	for (size_t n = 0; lr->run->wf->kind == WORKFLOW_GITLAB && n < lr->job->needs_count; n++) {
		struct buf from = BUF_INIT;
		buf_addf(&from, "%s/gitlab/%s", lr->run->artifacts_dir, lr->job->needs[n]);
		if (access(from.data, F_OK) == 0) {
			say(lr, log, step, "Restoring artifacts of %s", lr->job->needs[n]);
			if (workspace_copy_tree(from.data, dest, &e) < 0) {
				say(lr, log, step, "error: %s", e.msg);
				err_clear(&e);
				rc = -1;
			}
		}
		buf_free(&from);
	}
	free(dest);
	return rc < 0 ? 1 : 0;
}

/* Saves a GitLab job's artifacts:paths for the jobs after it. */
int actions_save_gitlab_artifacts(struct leg_run *lr, json_t *log)
{
	if (lr->job->artifact_paths_count == 0)
		return 0;
	struct vec patterns = VEC_INIT;
	for (size_t i = 0; i < lr->job->artifact_paths_count; i++)
		vec_push(&patterns, xstrdup(lr->job->artifact_paths[i]));
	struct buf dest = BUF_INIT;
	buf_addf(&dest, "%s/gitlab/%s", lr->run->artifacts_dir, lr->job->id);
	int copied =
		copy_matching(lr, "Uploading artifacts", log, lr->workspace, &patterns, dest.data);
	if (copied >= 0)
		say(lr, log, "Uploading artifacts", "Uploaded %d artifact path(s)", copied);
	buf_free(&dest);
	vec_free(&patterns, free);
	return copied < 0 ? 1 : 0;
}

static int action_upload_artifact(struct leg_run *lr, const char *step, json_t *inputs,
				  json_t *outputs, json_t *log)
{
	const char *name = input(inputs, "name", "artifact");
	const char *if_none = input(inputs, "if-no-files-found", "warn");
	struct vec patterns = VEC_INIT;
	input_lines(input(inputs, "path", ""), &patterns);
	if (patterns.len == 0) {
		say(lr, log, step, "error: upload-artifact needs a 'path' input");
		vec_free(&patterns, free);
		return 1;
	}
	struct buf dest = BUF_INIT;
	buf_addf(&dest, "%s/github/%s", lr->run->artifacts_dir, name);
	struct stat st;
	int copied;
	/* One directory uploads its contents, as upload-artifact does. */
	char *single = patterns.len == 1 ? workspace_join(lr->workspace, patterns.items[0]) : NULL;
	if (single && !glob_has_wildcards(patterns.items[0]) && stat(single, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		struct err e = ERR_INIT;
		copied = workspace_copy_tree(single, dest.data, &e) == 0 ? 1 : -1;
		err_clear(&e);
	} else {
		copied = copy_matching(lr, step, log, lr->workspace, &patterns, dest.data);
	}
	free(single);
	vec_free(&patterns, free);
	int rc = 0;
	if (copied < 0) {
		rc = 1;
	} else if (copied == 0) {
		if (strcmp(if_none, "error") == 0) {
			say(lr, log, step, "error: no files were found for artifact '%s'", name);
			rc = 1;
		} else if (strcmp(if_none, "warn") == 0) {
			say(lr, log, step, "warning: no files were found for artifact '%s'", name);
		}
	} else {
		say(lr, log, step, "Artifact '%s' stored (%d path(s))", name, copied);
		json_object_set_new(outputs, "artifact-id", json_string(name));
	}
	buf_free(&dest);
	return rc;
}

static int action_download_artifact(struct leg_run *lr, const char *step, json_t *inputs,
				    json_t *outputs, json_t *log)
{
	const char *name = input(inputs, "name", NULL);
	char *dest = workspace_join(lr->workspace, input(inputs, "path", NULL));
	struct buf from = BUF_INIT;
	struct err e = ERR_INIT;
	int rc = 0;
	if (name) {
		buf_addf(&from, "%s/github/%s", lr->run->artifacts_dir, name);
		if (access(from.data, F_OK) != 0) {
			say(lr, log, step, "error: no artifact named '%s' in this run", name);
			rc = 1;
		} else if (workspace_copy_tree(from.data, dest, &e) < 0) {
			say(lr, log, step, "error: %s", e.msg);
			rc = 1;
		}
	} else {
		/* Without a name every artifact lands in a directory of its own. */
		buf_addf(&from, "%s/github", lr->run->artifacts_dir);
		DIR *dir = opendir(from.data);
		struct dirent *entry;
		while (dir && (entry = readdir(dir))) {
			if (entry->d_name[0] == '.')
				continue;
			struct buf one = BUF_INIT, to = BUF_INIT;
			buf_addf(&one, "%s/%s", from.data, entry->d_name);
			buf_addf(&to, "%s/%s", dest, entry->d_name);
			if (workspace_copy_tree(one.data, to.data, &e) < 0) {
				say(lr, log, step, "error: %s", e.msg);
				rc = 1;
			}
			buf_free(&one);
			buf_free(&to);
		}
		if (dir)
			closedir(dir);
	}
	if (rc == 0)
		json_object_set_new(outputs, "download-path", json_string(dest));
	err_clear(&e);
	buf_free(&from);
	free(dest);
	return rc;
}

/* Cache keys become file names: anything but [A-Za-z0-9._-] is %XX. */
static void cache_file(struct leg_run *lr, const char *key, struct buf *out)
{
	buf_addf(out, "%s/", lr->run->cache_dir);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')
			buf_addch(out, (char)*p);
		else
			buf_addf(out, "%%%02X", *p);
	}
	buf_adds(out, ".tar.gz");
}

/* The key an archive's file name stands for (cache_file in reverse). */
static char *cache_key_of(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len = strlen(base) - strlen(".tar.gz");
	struct buf key = BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		unsigned int byte;
		if (base[i] == '%' && i + 2 < len && sscanf(base + i + 1, "%2X", &byte) == 1) {
			buf_addch(&key, (char)byte);
			i += 2;
		} else {
			buf_addch(&key, base[i]);
		}
	}
	return buf_detach(&key);
}

/* The newest archive whose key starts with prefix, for restore-keys. */
static char *cache_find_prefix(struct leg_run *lr, const char *prefix)
{
	struct buf encoded = BUF_INIT;
	cache_file(lr, prefix, &encoded);
	buf_truncate(&encoded, encoded.len - strlen(".tar.gz"));
	const char *base = strrchr(encoded.data, '/') + 1;
	DIR *dir = opendir(lr->run->cache_dir);
	char *best = NULL;
	time_t best_time = 0;
	struct dirent *entry;
	while (dir && (entry = readdir(dir))) {
		if (!str_starts_with(entry->d_name, base) ||
		    !str_ends_with(entry->d_name, ".tar.gz"))
			continue;
		struct buf path = BUF_INIT;
		buf_addf(&path, "%s/%s", lr->run->cache_dir, entry->d_name);
		struct stat st;
		if (stat(path.data, &st) == 0 && (!best || st.st_mtime > best_time)) {
			free(best);
			best = buf_detach(&path);
			best_time = st.st_mtime;
		}
		buf_free(&path);
	}
	if (dir)
		closedir(dir);
	buf_free(&encoded);
	return best;
}

/* The tar command that saves paths (relative to the workspace, or ~/absolute). */
static void cache_tar_arguments(const struct vec *paths, struct buf *script)
{
	for (size_t i = 0; i < paths->len; i++) {
		const char *p = paths->items[i];
		buf_addch(script, ' ');
		if (p[0] == '~') {
			buf_adds(script, "\"$HOME\"");
			buf_add_shell_quoted(script, p + 1);
		} else {
			buf_add_shell_quoted(script, p);
		}
	}
}

static int action_cache(struct leg_run *lr, const struct workflow_step *step_def, const char *step,
			json_t *inputs, json_t *outputs, json_t *log)
{
	const char *key = input(inputs, "key", NULL);
	struct vec paths = VEC_INIT;
	input_lines(input(inputs, "path", ""), &paths);
	if (!key || paths.len == 0) {
		say(lr, log, step, "error: the cache action needs 'key' and 'path' inputs");
		vec_free(&paths, free);
		return 1;
	}
	struct err e = ERR_INIT;
	if (fs_make_dirs(lr->run->cache_dir, 0755, &e) < 0) {
		say(lr, log, step, "error: %s", e.msg);
		err_clear(&e);
		vec_free(&paths, free);
		return 1;
	}
	bool save_only = strstr(step_def->uses, "/save@") != NULL;
	bool restore_only = strstr(step_def->uses, "/restore@") != NULL;
	struct buf archive = BUF_INIT;
	cache_file(lr, key, &archive);
	bool exact = access(archive.data, R_OK) == 0;
	char *restore = exact ? xstrdup(archive.data) : NULL;
	struct vec restore_keys = VEC_INIT;
	input_lines(input(inputs, "restore-keys", ""), &restore_keys);
	for (size_t i = 0; !restore && i < restore_keys.len; i++)
		restore = cache_find_prefix(lr, restore_keys.items[i]);
	vec_free(&restore_keys, free);
	int rc = 0;
	if (!save_only) {
		if (restore) {
			struct buf script = BUF_INIT;
			buf_adds(&script, "tar -xzPf ");
			buf_add_shell_quoted(&script, restore);
			rc = builtin_shell(lr, step, log, lr->workspace, script.data, NULL);
			buf_free(&script);
			char *matched = cache_key_of(restore);
			say(lr, log, step, "Cache restored from key: %s", matched);
			free(matched);
		} else {
			say(lr, log, step, "Cache not found for key: %s", key);
		}
		json_object_set_new(outputs, "cache-hit", json_string(exact ? "true" : "false"));
		json_object_set_new(outputs, "cache-primary-key", json_string(key));
		if (restore) {
			char *matched = cache_key_of(restore);
			json_object_set_new(outputs, "cache-matched-key", json_string(matched));
			free(matched);
		}
	}
	if (!restore_only && !exact) {
		struct buf script = BUF_INIT;
		buf_adds(&script, "tmp=");
		buf_add_shell_quoted(&script, archive.data);
		buf_adds(&script, ".$$; tar -czPf \"$tmp\"");
		cache_tar_arguments(&paths, &script);
		buf_adds(&script, " 2>/dev/null && mv \"$tmp\" ");
		buf_add_shell_quoted(&script, archive.data);
		buf_adds(&script, " && echo \"Cache saved with key: ");
		buf_adds(&script, key);
		buf_adds(&script,
			 "\" || { rm -f \"$tmp\"; echo 'Cache not saved: a path is missing'; }");
		if (save_only) {
			rc = builtin_shell(lr, step, log, lr->workspace, script.data, NULL);
		} else {
			/* Saved after the job's steps, and only when they succeeded. */
			struct post_step *post = xcalloc(1, sizeof(*post));
			struct buf name = BUF_INIT;
			buf_addf(&name, "Post %s", step);
			post->name = buf_detach(&name);
			post->condition = xstrdup("success()");
			char **argv = xcalloc(5, sizeof(*argv));
			argv[0] = xstrdup("bash");
			argv[1] = xstrdup("-c");
			argv[2] = buf_detach(&script);
			post->argv = argv;
			vec_push(&lr->post_steps, post);
		}
		buf_free(&script);
	}
	free(restore);
	buf_free(&archive);
	vec_free(&paths, free);
	return rc;
}

/* setup-* actions: the host's toolchain stands in for the one they would download. */
static const struct setup_action {
	const char *action;
	const char *tool;
	const char *version_input;
	const char *output;
} setup_actions[] = {
	{ "actions/setup-node", "node", "node-version", "node-version" },
	{ "actions/setup-python", "python3", "python-version", "python-version" },
	{ "actions/setup-go", "go", "go-version", "go-version" },
	{ "actions/setup-java", "java", "java-version", "version" },
	{ "actions/setup-dotnet", "dotnet", "dotnet-version", "dotnet-version" },
	{ "ruby/setup-ruby", "ruby", "ruby-version", "ruby-prefix" },
	{ "shivammathur/setup-php", "php", "php-version", "php-version" },
	{ "erlef/setup-beam", "elixir", "elixir-version", "elixir-version" },
	{ "dtolnay/rust-toolchain", "cargo", "toolchain", "name" },
	{ "actions-rs/toolchain", "cargo", "toolchain", "rustc" },
	{ "pnpm/action-setup", "pnpm", "version", "version" },
	{ "oven-sh/setup-bun", "bun", "bun-version", "bun-version" },
	{ "denoland/setup-deno", "deno", "deno-version", "deno-version" },
	{ "subosito/flutter-action", "flutter", "flutter-version", "VERSION" },
	{ "dart-lang/setup-dart", "dart", "sdk", "dart-version" },
	{ "swift-actions/setup-swift", "swift", "swift-version", "version" },
	{ "mlugg/setup-zig", "zig", "version", "version" },
	{ "goto-bus-stop/setup-zig", "zig", "version", "version" },
	{ "haskell-actions/setup", "ghc", "ghc-version", "ghc-version" },
	{ "gradle/actions/setup-gradle", NULL, NULL, NULL },
	{ "gradle/gradle-build-action", NULL, NULL, NULL },
};

static int action_setup(struct leg_run *lr, const struct setup_action *setup, const char *step,
			json_t *inputs, json_t *outputs, json_t *log)
{
	if (!setup->tool) {
		say(lr, log, step, "%s: nothing to set up locally; the host's tools are used",
		    setup->action);
		return 0;
	}
	struct buf script = BUF_INIT;
	const char *version_flag = strcmp(setup->tool, "go") == 0     ? "version"
				   : strcmp(setup->tool, "zig") == 0  ? "version"
				   : strcmp(setup->tool, "java") == 0 ? "-version"
								      : "--version";
	buf_addf(&script,
		 "if ! command -v %s >/dev/null; then echo '%s: %s is not installed on this "
		 "machine; Ampel uses the host toolchain instead of downloading one'; exit 1; fi; "
		 "%s %s 2>&1 | head -1",
		 setup->tool, setup->action, setup->tool, setup->tool, version_flag);
	const char *wanted = input(inputs, setup->version_input, NULL);
	if (wanted)
		say(lr, log, step, "Requested %s %s; using the host's:", setup->tool, wanted);
	int rc = builtin_shell(lr, step, log, lr->workspace, script.data, NULL);
	buf_free(&script);
	if (rc == 0 && wanted)
		json_object_set_new(outputs, setup->output, json_string(wanted));
	return rc == 0 ? 0 : 1;
}

/* INPUT_<NAME> variables, as the runner passes inputs to programs. */
static json_t *input_environment(const json_t *inputs)
{
	json_t *env = json_object();
	const char *name;
	const json_t *value;
	json_object_foreach((json_t *)inputs, name, value)
	{
		struct buf var = BUF_INIT;
		buf_adds(&var, "INPUT_");
		for (const char *p = name; *p; p++)
			buf_addch(&var, *p == ' ' ? '_' : (char)toupper((unsigned char)*p));
		json_object_set(env, var.data, (json_t *)value);
		buf_free(&var);
	}
	return env;
}

/* Declared defaults (which may be expressions) fill the inputs not given. */
static json_t *action_inputs(struct leg_run *lr, const struct workflow_action *action,
			     json_t *given, json_t *log, const char *step)
{
	json_t *inputs = json_deep_copy(given);
	const char *name;
	const json_t *spec;
	json_object_foreach(action->inputs, name, spec)
	{
		if (json_object_get(inputs, name))
			continue;
		/* `default: false` is YAML's boolean; the runner passes its text */
		const json_t *declared = json_object_get(spec, "default");
		char *fallback =
			declared && !json_is_null(declared) ? expr_value_to_string(declared) : NULL;
		struct buf value = BUF_INIT;
		if (fallback) {
			struct expr_env env;
			expr_env_for(lr, &env, lr->contexts);
			struct err e = ERR_INIT;
			if (expr_interpolate(fallback, &env, &value, &e) < 0) {
				say(lr, log, step, "warning: input '%s' default: %s", name, e.msg);
				err_clear(&e);
			}
		} else if (json_is_true(json_object_get(spec, "required"))) {
			say(lr, log, step, "warning: input required and not supplied: %s", name);
		}
		json_object_set_new(inputs, name, json_string(value.data ? value.data : ""));
		buf_free(&value);
		free(fallback);
	}
	return inputs;
}

static int node_program(struct leg_run *lr, const struct workflow_action *action,
			const char *program, const char *step, json_t *env, json_t *outputs,
			json_t *log)
{
	char *path = workspace_join(action->dir, program);
	char *argv[] = { xstrdup("node"), path, NULL };
	struct step_process sp = { .step_name = step,
				   .argv = argv,
				   .cwd = lr->workspace,
				   .env = env,
				   .timeout_ms = 6L * 3600 * 1000,
				   .outputs = outputs,
				   .log = log };
	int exit_code;
	bool timed_out, cancelled;
	step_process_run(lr, &sp, &exit_code, &timed_out, &cancelled);
	free(argv[0]);
	free(path);
	return exit_code;
}

static int local_node_action(struct leg_run *lr, const struct workflow_action *action,
			     const char *uses, const char *step, const json_t *step_env,
			     json_t *inputs, json_t *outputs, json_t *log)
{
	/* The step's env, then its inputs as INPUT_<NAME>, as the runner gives them. */
	json_t *env = json_deep_copy(step_env);
	json_t *input_env = input_environment(inputs);
	json_object_update(env, input_env);
	json_decref(input_env);
	json_object_set_new(env, "GITHUB_ACTION_PATH", json_string(action->dir));
	/*
	 * GitHub runs pre programs while setting up the job, before any
	 * checkout, so a local action's never runs; the runner says so.
	 */
	if (action->pre)
		say(lr, log, step,
		    "warning: `pre` execution is not supported for local action from '%s'", uses);
	int rc = node_program(lr, action, action->main, step, env, outputs, log);
	if (action->post) {
		struct post_step *post = xcalloc(1, sizeof(*post));
		struct buf name = BUF_INIT;
		buf_addf(&name, "Post %s", step);
		post->name = buf_detach(&name);
		post->condition = xstrdup(action->post_if ? action->post_if : "always()");
		char **argv = xcalloc(3, sizeof(*argv));
		argv[0] = xstrdup("node");
		argv[1] = workspace_join(action->dir, action->post);
		post->argv = argv;
		/* The state the main program saved arrives as STATE_<name>. */
		post->env = json_deep_copy(env);
		const char *key;
		const json_t *value;
		json_object_foreach(lr->state, key, value)
		{
			struct buf var = BUF_INIT;
			buf_addf(&var, "STATE_%s", key);
			json_object_set(post->env, var.data, (json_t *)value);
			buf_free(&var);
		}
		vec_push(&lr->post_steps, post);
	}
	json_decref(env);
	return rc;
}

static int composite_action(struct leg_run *lr, struct step_scope *outer,
			    const struct workflow_action *action, const char *step,
			    const json_t *step_env, json_t *inputs, json_t *outputs)
{
	json_t *steps_context = json_object();
	struct buf label = BUF_INIT;
	buf_addf(&label, "%s / ", step);
	struct step_scope scope = { .steps = steps_context,
				    .inputs = inputs,
				    .action_dir = action->dir,
				    .reports = outer->reports,
				    .label = label.data };
	/* Steps inside see the calling step's env; what they add to GITHUB_ENV stays. */
	json_t *saved_env = json_deep_copy(lr->env);
	json_object_update(lr->env, (json_t *)step_env);
	enum expr_status before = lr->status;
	lr->status = EXPR_STATUS_SUCCESS;
	steps_execute(lr, action->composite->steps, action->composite->steps_count, &scope);
	int rc = lr->status == EXPR_STATUS_SUCCESS ? 0 : 1;
	lr->status = before;
	/* Outputs are the action's: its steps, its inputs, the env its steps saw. */
	json_t *contexts = json_copy(lr->contexts);
	json_object_set(contexts, "steps", steps_context);
	json_object_set_new(contexts, "env", json_deep_copy(lr->env));
	json_object_set(contexts, "inputs", inputs);
	struct expr_env out_env;
	expr_env_for(lr, &out_env, contexts);
	struct err e = ERR_INIT;
	const char *name;
	const json_t *spec;
	json_object_foreach(action->outputs, name, spec)
	{
		const char *text = json_string_value(json_object_get(spec, "value"));
		struct buf out = BUF_INIT;
		if (text && expr_interpolate(text, &out_env, &out, &e) == 0)
			json_object_set_new(outputs, name, json_string(out.data ? out.data : ""));
		err_clear(&e);
		buf_free(&out);
	}
	/* What the step's env set goes; what the steps wrote to GITHUB_ENV stays. */
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)step_env, key, value)
	{
		const json_t *now = json_object_get(lr->env, key);
		if (now && json_equal(now, value)) {
			const json_t *old = json_object_get(saved_env, key);
			if (old)
				json_object_set(lr->env, key, (json_t *)old);
			else
				json_object_del(lr->env, key);
		}
	}
	json_decref(saved_env);
	json_decref(contexts);
	json_decref(steps_context);
	buf_free(&label);
	return rc;
}

static int local_action(struct leg_run *lr, struct step_scope *scope,
			const struct workflow_step *step_def, const char *step,
			const json_t *step_env, json_t *given, json_t *outputs, json_t *log)
{
	/* Inside a composite, ./ is still the workspace, as on GitHub. */
	char *dir = workspace_join(lr->workspace, step_def->uses + 2);
	struct workflow_action *action = NULL;
	struct err e = ERR_INIT;
	if (workflow_action_load(&action, dir, &e) < 0) {
		say(lr, log, step, "error: %s%s", e.msg,
		    access(lr->workspace, F_OK) == 0 ? " (did a checkout step run first?)" : "");
		err_clear(&e);
		free(dir);
		return 1;
	}
	free(dir);
	json_t *inputs = action_inputs(lr, action, given, log, step);
	int rc;
	if (strcmp(action->using, "composite") == 0) {
		rc = composite_action(lr, scope, action, step, step_env, inputs, outputs);
	} else if (strncmp(action->using, "node", 4) == 0) {
		rc = local_node_action(lr, action, step_def->uses, step, step_env, inputs, outputs,
				       log);
	} else {
		say(lr, log, step, "error: %s: actions using '%s' are not supported by Ampel",
		    action->file, action->using);
		rc = 1;
	}
	json_decref(inputs);
	workflow_action_free(action);
	return rc;
}

/* "actions/checkout@v4" is "actions/checkout" with any ref. */
static bool uses_is(const char *uses, const char *action)
{
	size_t len = strlen(action);
	return strncmp(uses, action, len) == 0 && (uses[len] == '@' || uses[len] == '\0');
}

int action_run(struct leg_run *lr, struct step_scope *scope, const struct workflow_step *step,
	       const char *step_name, const json_t *step_env, json_t *inputs, json_t *outputs,
	       json_t *log)
{
	const char *uses = step->uses;
	if (str_starts_with(uses, "./"))
		return local_action(lr, scope, step, step_name, step_env, inputs, outputs, log);
	if (uses_is(uses, "actions/checkout"))
		return action_checkout(lr, step_name, inputs, log);
	if (uses_is(uses, "actions/cache") || uses_is(uses, "actions/cache/restore") ||
	    uses_is(uses, "actions/cache/save"))
		return action_cache(lr, step, step_name, inputs, outputs, log);
	if (uses_is(uses, "actions/upload-artifact"))
		return action_upload_artifact(lr, step_name, inputs, outputs, log);
	if (uses_is(uses, "actions/download-artifact"))
		return action_download_artifact(lr, step_name, inputs, outputs, log);
	for (size_t i = 0; i < sizeof(setup_actions) / sizeof(*setup_actions); i++)
		if (uses_is(uses, setup_actions[i].action))
			return action_setup(lr, &setup_actions[i], step_name, inputs, outputs, log);
	if (str_starts_with(uses, "docker://"))
		say(lr, log, step_name,
		    "error: '%s' is a container action; Ampel does not run containers yet", uses);
	else
		say(lr, log, step_name,
		    "error: '%s' is a remote action, which Ampel cannot run locally. Ampel runs "
		    "local actions (uses: ./path) and has built-in actions/checkout, "
		    "actions/cache, actions/upload-artifact, actions/download-artifact and "
		    "the setup-* actions (using the host's toolchain).",
		    uses);
	return 1;
}
