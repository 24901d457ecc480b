#include "util/config.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int load(struct config *cfg, const char *text, struct err *e)
{
	return config_load_string(cfg, "ampel.yaml", text, strlen(text), e);
}

/* Loads text that must be rejected and checks the whole message. */
static void assert_load_error(const char *text, const char *expected)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(load(cfg, text, &e), -1);
	assert_string_equal(e.msg, expected);
	config_free(cfg);
}

static void assert_env_error(char *const *env, const char *expected)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(config_load_env(cfg, env, &e), -1);
	assert_string_equal(e.msg, expected);
	config_free(cfg);
}

static void test_defaults(void **state)
{
	struct config *cfg = config_new();
	assert_string_equal(config_get(cfg, "log.level"), "warn");
	assert_string_equal(config_get(cfg, "log.format"), "text");
	assert_string_equal(config_get(cfg, "data_dir"), "./data");
	assert_string_equal(config_get(cfg, "listen"), "127.0.0.1:8080");
	assert_string_equal(config_get(cfg, "database_url"), "");
	assert_string_equal(config_get(cfg, "config_dir"), "");
	assert_string_equal(config_get(cfg, "quiet"), "false");
	assert_false(config_get_bool(cfg, "quiet"));
	assert_string_equal(config_source(cfg, "log.level"), "default");
	assert_null(config_get(cfg, "no.such"));
	assert_null(config_source(cfg, "no.such"));
	assert_null(config_get(cfg, NULL));
	assert_int_equal(config_get_int(cfg, "no.such"), 0);
	config_free(cfg);
}

/* Each layer overrides the one below it, and each value knows its layer. */
static void test_precedence_of_all_layers(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(load(cfg,
			      "log:\n"
			      "  level: info\n"
			      "  format: json\n"
			      "data_dir: /srv/file\n"
			      "listen: 0.0.0.0:9000\n",
			      &e),
			 0);
	char *env[] = { "PATH=/bin", "AMPEL_LOG_LEVEL=error", "AMPEL_DATA_DIR=/srv/env", NULL };
	assert_int_equal(config_load_env(cfg, env, &e), 0);
	assert_int_equal(config_set(cfg, "log.level", "debug", "--log-level", &e), 0);

	assert_string_equal(config_get(cfg, "log.level"), "debug");
	assert_string_equal(config_source(cfg, "log.level"), "--log-level");
	assert_string_equal(config_get(cfg, "data_dir"), "/srv/env");
	assert_string_equal(config_source(cfg, "data_dir"), "env AMPEL_DATA_DIR");
	assert_string_equal(config_get(cfg, "log.format"), "json");
	assert_string_equal(config_source(cfg, "log.format"), "ampel.yaml:3");
	assert_string_equal(config_get(cfg, "listen"), "0.0.0.0:9000");
	assert_string_equal(config_source(cfg, "listen"), "ampel.yaml:5");
	assert_string_equal(config_get(cfg, "database_url"), "");
	assert_string_equal(config_source(cfg, "database_url"), "default");
	config_free(cfg);
}

static void test_nested_and_dotted_keys(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(load(cfg, "log: {level: error}\n", &e), 0);
	assert_string_equal(config_get(cfg, "log.level"), "error");
	assert_int_equal(load(cfg, "log.format: json\n", &e), 0);
	assert_string_equal(config_get(cfg, "log.format"), "json");
	/* An empty group is allowed and sets nothing. */
	assert_int_equal(load(cfg, "log:\n", &e), 0);
	assert_string_equal(config_get(cfg, "log.level"), "error");
	config_free(cfg);
}

static void test_unknown_key_names_line_and_suggests(void **state)
{
	assert_load_error("quiet: true\n"
			  "log:\n"
			  "  levle: debug\n",
			  "ampel.yaml:3:3: unknown setting 'log.levle'; did you mean 'log.level'?");
	assert_load_error("lgo:\n  level: debug\n",
			  "ampel.yaml:1:1: unknown setting 'lgo'; did you mean 'log'?");
	assert_load_error("data-dir: /x\n",
			  "ampel.yaml:1:1: unknown setting 'data-dir'; did you mean 'data_dir'?");
	/* Nothing close: no guess. */
	assert_load_error("colour: red\n", "ampel.yaml:1:1: unknown setting 'colour'");
}

static void test_bad_enum_from_file(void **state)
{
	assert_load_error(
		"log:\n  level: verbose\n",
		"ampel.yaml:2:10: log.level must be one of debug, info, warn, error, off, "
		"not 'verbose'");
	assert_load_error(
		"log:\n  level: ~\n",
		"ampel.yaml:2:10: log.level must be one of debug, info, warn, error, off, "
		"not ''");
}

static void test_bad_bool_from_file(void **state)
{
	assert_load_error("quiet: maybe\n",
			  "ampel.yaml:1:8: quiet must be true or false, not 'maybe'");
	assert_load_error("quiet: [true]\n",
			  "ampel.yaml:1:8: quiet must be true or false, not a sequence");
}

static void test_bad_listen_from_file(void **state)
{
	assert_load_error("listen: 8080\n",
			  "ampel.yaml:1:9: listen must be an address such as 127.0.0.1:8080, "
			  "[::1]:8080 or :8080, not '8080'");
}

static void test_structure_errors(void **state)
{
	assert_load_error("log: debug\n", "ampel.yaml:1:6: 'log' is a group of settings "
					  "(log.level, log.format), written as a mapping");
	assert_load_error(
		"- quiet\n",
		"ampel.yaml:1:1: ampel.yaml must be a mapping of settings, not a sequence");
	assert_load_error("log:\n  level: info\nlog.level: debug\n",
			  "ampel.yaml:3:1: log.level is set twice (first at ampel.yaml:2)");
	assert_load_error("data_dir: \"a\\0b\"\n",
			  "ampel.yaml:1:11: data_dir: a value cannot contain a NUL byte");
}

static void test_yaml_syntax_error_names_file(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(config_load_string(cfg, "my.yaml", "log: [\n", 7, &e), -1);
	assert_true(strncmp(e.msg, "my.yaml:", 8) == 0);
	config_free(cfg);
}

static void test_empty_document_is_fine(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(load(cfg, "", &e), 0);
	assert_int_equal(load(cfg, "# only a comment\n", &e), 0);
	assert_int_equal(load(cfg, "~\n", &e), 0);
	assert_string_equal(config_source(cfg, "log.level"), "default");
	config_free(cfg);
}

/* A file with one mistake changes nothing, so no half-applied state. */
static void test_file_is_all_or_nothing(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(load(cfg, "data_dir: /changed\nquiet: perhaps\n", &e), -1);
	assert_string_equal(config_get(cfg, "data_dir"), "./data");
	assert_string_equal(config_source(cfg, "data_dir"), "default");
	char *env[] = { "AMPEL_DATA_DIR=/changed", "AMPEL_LOG_FORMAT=xml", NULL };
	assert_int_equal(config_load_env(cfg, env, &e), -1);
	assert_string_equal(config_get(cfg, "data_dir"), "./data");
	config_free(cfg);
}

static void test_bad_values_from_env(void **state)
{
	char *level[] = { "AMPEL_LOG_LEVEL=verbose", NULL };
	assert_env_error(level, "AMPEL_LOG_LEVEL: log.level must be one of debug, info, warn, "
				"error, off, not 'verbose'");
	char *quiet[] = { "AMPEL_QUIET=sometimes", NULL };
	assert_env_error(quiet, "AMPEL_QUIET: quiet must be true or false, not 'sometimes'");
	char *listen[] = { "AMPEL_LISTEN=localhost", NULL };
	assert_env_error(listen, "AMPEL_LISTEN: listen must be an address such as "
				 "127.0.0.1:8080, [::1]:8080 or :8080, not 'localhost'");
	/* Control characters are shown escaped, never raw. */
	char *ctrl[] = { "AMPEL_LOG_FORMAT=a\033[2Jb", NULL };
	assert_env_error(ctrl, "AMPEL_LOG_FORMAT: log.format must be one of text, json, "
			       "not 'a\\x1b[2Jb'");
}

static void test_env_details(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	/* Empty counts as unset; unknown AMPEL_* is ignored; the first duplicate wins. */
	char *env[] = { "AMPEL_DATA_DIR=",
			"AMPEL_NOPE=1",
			"AMPEL_LOG_FORMAT=JSON",
			"AMPEL_LOG_FORMAT=text",
			"AMPEL_QUIET=Yes",
			"AMPEL_LISTENX=1",
			NULL };
	assert_int_equal(config_load_env(cfg, env, &e), 0);
	assert_string_equal(config_source(cfg, "data_dir"), "default");
	assert_string_equal(config_get(cfg, "log.format"), "json");
	assert_string_equal(config_source(cfg, "log.format"), "env AMPEL_LOG_FORMAT");
	assert_string_equal(config_get(cfg, "quiet"), "true");
	assert_true(config_get_bool(cfg, "quiet"));
	assert_string_equal(config_source(cfg, "listen"), "default");
	config_free(cfg);
}

static void test_set_from_flags(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(config_set(cfg, "quiet", "true", "--quiet", &e), 0);
	assert_true(config_get_bool(cfg, "quiet"));
	assert_string_equal(config_source(cfg, "quiet"), "--quiet");
	assert_int_equal(config_set(cfg, "log.format", "xml", "--log-format", &e), -1);
	assert_string_equal(e.msg, "--log-format: log.format must be one of text, json, not 'xml'");
	assert_string_equal(config_get(cfg, "log.format"), "text");
	assert_int_equal(config_set(cfg, "log.lvl", "debug", NULL, &e), -1);
	assert_string_equal(e.msg, "set: unknown setting 'log.lvl'; did you mean 'log.level'?");
	assert_int_equal(config_set(cfg, "data_dir", "/x", NULL, &e), 0);
	assert_string_equal(config_source(cfg, "data_dir"), "set");
	config_free(cfg);
}

static void test_listen_forms(void **state)
{
	static const char *const good[] = { "127.0.0.1:8080", "[::1]:8080", ":8080", "localhost:0",
					    "example.com:65535" };
	static const char *const bad[] = { "8080",	 "::1:8080", "[::1]8080", "host:",
					   "host:65536", "host:80x", "a b:80",	  "[]:80" };
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(config_set(cfg, "listen", good[i], "--listen", &e), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_set(cfg, "listen", bad[i], "--listen", &e), -1);
	config_free(cfg);
}

static const struct config_setting workers = {
	.key = "server.workers",
	.env = "AMPEL_SERVER_WORKERS",
	.type = CONFIG_INT,
	.default_value = "4",
	.min = 1,
	.max = 256,
	.description = "request threads",
};

static const struct config_setting timeout = {
	.key = "server.timeout",
	.env = "AMPEL_SERVER_TIMEOUT",
	.type = CONFIG_DURATION,
	.default_value = "30s",
	.description = "how long a request may take",
};

static void test_define_int_and_duration(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(config_define(cfg, &workers, &e), 0);
	assert_int_equal(config_define(cfg, &timeout, &e), 0);
	assert_int_equal(config_get_int(cfg, "server.workers"), 4);
	assert_int_equal(config_get_duration_ms(cfg, "server.timeout"), 30000);

	assert_int_equal(load(cfg, "server:\n  workers: 16\n  timeout: 1h30m\n", &e), 0);
	assert_int_equal(config_get_int(cfg, "server.workers"), 16);
	assert_int_equal(config_get_duration_ms(cfg, "server.timeout"), 5400000);
	assert_string_equal(config_get(cfg, "server.timeout"), "1h30m");

	assert_int_equal(load(cfg, "server:\n  workers: 0\n", &e), -1);
	assert_string_equal(e.msg, "ampel.yaml:2:12: server.workers must be a whole number from "
				   "1 to 256, not '0'");
	assert_int_equal(load(cfg, "server:\n  workers: lots\n", &e), -1);
	assert_int_equal(load(cfg, "server:\n  workers: 2.5\n", &e), -1);
	assert_int_equal(load(cfg, "server:\n  timeout: soon\n", &e), -1);
	assert_string_equal(e.msg, "ampel.yaml:2:12: server.timeout must be a duration such as "
				   "500ms, 30s, 5m or 1h30m, not 'soon'");

	char *env[] = { "AMPEL_SERVER_WORKERS=300", NULL };
	assert_int_equal(config_load_env(cfg, env, &e), -1);
	assert_string_equal(e.msg, "AMPEL_SERVER_WORKERS: server.workers must be a whole number "
				   "from 1 to 256, not '300'");
	char *env_ok[] = { "AMPEL_SERVER_TIMEOUT=250ms", NULL };
	assert_int_equal(config_load_env(cfg, env_ok, &e), 0);
	assert_int_equal(config_get_duration_ms(cfg, "server.timeout"), 250);
	/* Typed getters do not reinterpret other types. */
	assert_int_equal(config_get_int(cfg, "server.timeout"), 0);
	assert_false(config_get_bool(cfg, "server.workers"));
	config_free(cfg);
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		long long ms;
	} good[] = { { "0", 0 },	 { "45", 45000 },    { "250ms", 250 },	 { "2m", 120000 },
		     { "1d", 86400000 }, { "1m30s", 90000 }, { "1s500ms", 1500 } };
	static const char *const bad[] = { "",	   "s",	   "5x",
					   "1h30", "-5s",  " 5s",
					   "5 s",  "1.5h", "99999999999999999999d" };
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	assert_int_equal(config_define(cfg, &timeout, &e), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(config_set(cfg, "server.timeout", good[i].text, NULL, &e), 0);
		assert_int_equal(config_get_duration_ms(cfg, "server.timeout"), good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_set(cfg, "server.timeout", bad[i], NULL, &e), -1);
	config_free(cfg);
}

static void test_define_rejects_bad_definitions(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	struct config_setting s = { .key = "log.level", .type = CONFIG_STRING };
	assert_int_equal(config_define(cfg, &s, &e), -1);
	assert_string_equal(e.msg, "setting 'log.level' is defined twice");

	s = (struct config_setting){ .key = "log", .type = CONFIG_STRING };
	assert_int_equal(config_define(cfg, &s, &e), -1);
	assert_string_equal(e.msg, "setting 'log' clashes with 'log.level': one would be a group");

	s = (struct config_setting){ .key = "quiet.more", .type = CONFIG_STRING };
	assert_int_equal(config_define(cfg, &s, &e), -1);

	s = (struct config_setting){ .key = "Bad-Key", .type = CONFIG_STRING };
	assert_int_equal(config_define(cfg, &s, &e), -1);
	s = (struct config_setting){ .key = "a..b", .type = CONFIG_STRING };
	assert_int_equal(config_define(cfg, &s, &e), -1);

	s = (struct config_setting){ .key = "x", .env = "X", .type = CONFIG_STRING };
	assert_int_equal(config_define(cfg, &s, &e), -1);
	s = (struct config_setting){ .key = "x", .env = "AMPEL_QUIET", .type = CONFIG_STRING };
	assert_int_equal(config_define(cfg, &s, &e), -1);
	assert_string_equal(e.msg, "setting 'x': environment name AMPEL_QUIET is taken");

	s = (struct config_setting){ .key = "x", .type = CONFIG_ENUM, .allowed = "a||b" };
	assert_int_equal(config_define(cfg, &s, &e), -1);
	s = (struct config_setting){
		.key = "x", .type = CONFIG_ENUM, .allowed = "a|b", .default_value = "c"
	};
	assert_int_equal(config_define(cfg, &s, &e), -1);
	assert_string_equal(e.msg, "default of x must be one of a, b, not 'c'");
	/* None of the failures registered anything. */
	assert_null(config_find(cfg, "x"));
	assert_null(config_find(cfg, "log"));
	config_free(cfg);
}

/* The definition is copied, so a module may pass a temporary. */
static void test_define_copies(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	char key[] = "runner.name";
	struct config_setting s = { .key = key, .type = CONFIG_STRING, .default_value = "r1" };
	assert_int_equal(config_define(cfg, &s, &e), 0);
	key[0] = 'X';
	assert_string_equal(config_get(cfg, "runner.name"), "r1");
	assert_string_equal(config_find(cfg, "runner.name")->key, "runner.name");
	assert_string_equal(config_type_name(config_find(cfg, "runner.name")->type), "string");
	config_free(cfg);
}

static void test_iteration_in_registration_order(void **state)
{
	static const char *const keys[] = {
		"log.level", "log.format",	  "data_dir",	"listen", "database_url",
		"workers",   "job_lease_seconds", "config_dir", "quiet"
	};
	struct config *cfg = config_new();
	struct config_item item;
	size_t n = 0;
	for (size_t i = 0; config_next(cfg, &i, &item); n++) {
		assert_true(n < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(item.setting->key, keys[n]);
		assert_string_equal(item.source, "default");
		assert_non_null(item.value);
		assert_true(strlen(item.setting->description) > 0);
		assert_non_null(item.setting->env);
		assert_true(strncmp(item.setting->env, "AMPEL_", 6) == 0);
	}
	assert_int_equal(n, sizeof(keys) / sizeof(keys[0]));
	assert_true(config_find(cfg, "database_url")->flags & CONFIG_SECRET);
	assert_false(config_find(cfg, "data_dir")->flags & CONFIG_SECRET);
	assert_string_equal(config_find(cfg, "config_dir")->env, "AMPEL_CONFIG_DIR");
	config_free(cfg);
}

struct cwd_fixture {
	char *old_cwd;
	char *dir;
};

static int cwd_setup(void **state)
{
	struct cwd_fixture *f = calloc(1, sizeof(*f));
	const char *base = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/ampel-test-config-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path.data))
		return -1;
	f->dir = buf_detach(&path);
	f->old_cwd = getcwd(NULL, 0);
	if (!f->old_cwd || chdir(f->dir) < 0)
		return -1;
	*state = f;
	return 0;
}

static int cwd_teardown(void **state)
{
	struct cwd_fixture *f = *state;
	unlink("ampel.yaml");
	unlink("other.yaml");
	if (chdir(f->old_cwd) < 0)
		return -1;
	rmdir(f->dir);
	free(f->dir);
	free(f->old_cwd);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	buf_adds(&b, text);
	assert_int_equal(buf_write_file(&b, path, &e), 0);
	buf_free(&b);
}

static void test_standard_without_default_file(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	char *env[] = { "AMPEL_LOG_LEVEL=info", NULL };
	assert_int_equal(config_load_standard(cfg, NULL, env, &e), 0);
	assert_string_equal(config_get(cfg, "log.level"), "info");
	config_free(cfg);
}

static void test_standard_with_default_file(void **state)
{
	write_text("ampel.yaml", "data_dir: /from/default\nlog:\n  level: error\n");
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	char *env[] = { "AMPEL_LOG_LEVEL=info", NULL };
	assert_int_equal(config_load_standard(cfg, NULL, env, &e), 0);
	assert_string_equal(config_get(cfg, "data_dir"), "/from/default");
	assert_string_equal(config_source(cfg, "data_dir"), "ampel.yaml:1");
	/* The environment is applied after the file. */
	assert_string_equal(config_get(cfg, "log.level"), "info");
	config_free(cfg);
}

static void test_standard_explicit_file(void **state)
{
	write_text("ampel.yaml", "data_dir: /from/default\n");
	write_text("other.yaml", "data_dir: /from/other\n");
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	char *env[] = { "AMPEL_CONFIG=ampel.yaml", NULL };
	/* The flag wins over AMPEL_CONFIG, which wins over ./ampel.yaml. */
	assert_int_equal(config_load_standard(cfg, "other.yaml", env, &e), 0);
	assert_string_equal(config_get(cfg, "data_dir"), "/from/other");
	assert_string_equal(config_source(cfg, "data_dir"), "other.yaml:1");
	char *env_other[] = { "AMPEL_CONFIG=other.yaml", NULL };
	struct config *cfg2 = config_new();
	assert_int_equal(config_load_standard(cfg2, NULL, env_other, &e), 0);
	assert_string_equal(config_get(cfg2, "data_dir"), "/from/other");
	config_free(cfg2);
	config_free(cfg);
}

static void test_standard_missing_explicit_file_is_error(void **state)
{
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	char *no_env[] = { NULL };
	assert_int_equal(config_load_standard(cfg, "missing.yaml", no_env, &e), -1);
	assert_string_equal(e.msg, "missing.yaml: cannot open: No such file or directory");
	char *env[] = { "AMPEL_CONFIG=gone.yaml", NULL };
	assert_int_equal(config_load_standard(cfg, NULL, env, &e), -1);
	assert_string_equal(e.msg,
			    "AMPEL_CONFIG: gone.yaml: cannot open: No such file or directory");
	assert_int_equal(config_load_file(cfg, "missing.yaml", &e), -1);
	config_free(cfg);
}

static void test_standard_file_errors_name_path(void **state)
{
	write_text("other.yaml", "\n\nlog:\n  levle: x\n");
	struct config *cfg = config_new();
	struct err e = ERR_INIT;
	char *no_env[] = { NULL };
	assert_int_equal(config_load_standard(cfg, "other.yaml", no_env, &e), -1);
	assert_string_equal(
		e.msg, "other.yaml:4:3: unknown setting 'log.levle'; did you mean 'log.level'?");
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_precedence_of_all_layers),
		cmocka_unit_test(test_nested_and_dotted_keys),
		cmocka_unit_test(test_unknown_key_names_line_and_suggests),
		cmocka_unit_test(test_bad_enum_from_file),
		cmocka_unit_test(test_bad_bool_from_file),
		cmocka_unit_test(test_bad_listen_from_file),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_yaml_syntax_error_names_file),
		cmocka_unit_test(test_empty_document_is_fine),
		cmocka_unit_test(test_file_is_all_or_nothing),
		cmocka_unit_test(test_bad_values_from_env),
		cmocka_unit_test(test_env_details),
		cmocka_unit_test(test_set_from_flags),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_define_int_and_duration),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_define_rejects_bad_definitions),
		cmocka_unit_test(test_define_copies),
		cmocka_unit_test(test_iteration_in_registration_order),
		cmocka_unit_test_setup_teardown(test_standard_without_default_file, cwd_setup,
						cwd_teardown),
		cmocka_unit_test_setup_teardown(test_standard_with_default_file, cwd_setup,
						cwd_teardown),
		cmocka_unit_test_setup_teardown(test_standard_explicit_file, cwd_setup,
						cwd_teardown),
		cmocka_unit_test_setup_teardown(test_standard_missing_explicit_file_is_error,
						cwd_setup, cwd_teardown),
		cmocka_unit_test_setup_teardown(test_standard_file_errors_name_path, cwd_setup,
						cwd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
