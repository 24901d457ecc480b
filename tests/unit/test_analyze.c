/*
 * Repository intelligence end to end: every fixture repository under
 * tests/fixtures/repos/ is analysed and compared with what its maintainers
 * would say it is (tests/fixtures/analysis-expected.yaml); the held-out
 * skeletons of real-world apps (tests/fixtures/realworld/) are scored
 * against what their maintainers run; hostile trees give warnings, never
 * crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/str.h"
#include "util/yaml.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURES AMPEL_SOURCE_ROOT "/tests/fixtures"

static json_t *analyze_to_document(const char *root)
{
	struct err e = ERR_INIT;
	struct analysis *analysis = NULL;
	struct analyze_options options = { 0 };
	if (analyze_repository(&analysis, root, &options, &e) < 0)
		fail_msg("analyze %s: %s", root, e.msg);
	json_t *document = document_render(analysis);
	analysis_free(analysis);
	return document;
}

/* True when list (of strings, or of objects with `key`) holds id. */
static bool list_has(const json_t *list, const char *key, const char *id)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const json_t *text = key ? json_object_get(item, key) : item;
		if (json_is_string(text) && strcmp(json_string_value(text), id) == 0)
			return true;
	}
	return false;
}

struct tally {
	struct buf failures;
	int checks;
	int failed;
};

static void tally_check(struct tally *t, bool ok, const char *fixture, const char *path,
			const char *field, const char *want, const char *got)
{
	t->checks++;
	if (ok)
		return;
	t->failed++;
	buf_addf(&t->failures, "  %s [%s] %s: want %s, got %s\n", fixture, path, field, want,
		 got ? got : "null");
}

/* The compact JSON of a value, for messages. */
static const char *json_text(const json_t *value, struct buf *scratch)
{
	buf_reset(scratch);
	if (!value)
		return "absent";
	json_write_buf(scratch, value, 0, NULL);
	return scratch->data;
}

static void check_list_field(struct tally *t, const char *fixture, const char *path,
			     const json_t *project, const char *field, const char *key,
			     const struct yaml_node *want)
{
	struct buf scratch = BUF_INIT;
	const json_t *got = json_object_get(project, field);
	for (size_t i = 0; i < want->count; i++) {
		const char *id = yaml_str(want->items[i]);
		tally_check(t, list_has(got, key, id), fixture, path, field, id,
			    json_text(got, &scratch));
	}
	buf_free(&scratch);
}

static void check_project(struct tally *t, const char *fixture, const char *path,
			  const json_t *project, const struct yaml_node *want)
{
	struct buf scratch = BUF_INIT;
	for (size_t i = 0; i < want->count; i++) {
		const char *field = yaml_str(want->pairs[i].key);
		const struct yaml_node *value = want->pairs[i].value;
		const json_t *got = json_object_get(project, field);
		if (strcmp(field, "frameworks") == 0 || strcmp(field, "ci") == 0 ||
		    strcmp(field, "cd") == 0 || strcmp(field, "env") == 0) {
			const char *key = strcmp(field, "ci") == 0   ? "provider"
					  : strcmp(field, "cd") == 0 ? "target"
								     : "name";
			check_list_field(t, fixture, path, project, field, key, value);
		} else if (strcmp(field, "test_frameworks") == 0 ||
			   strcmp(field, "build_tools") == 0 || strcmp(field, "linters") == 0) {
			check_list_field(t, fixture, path, project, field, NULL, value);
		} else if (strcmp(field, "package_manager") == 0) {
			const json_t *first =
				json_array_get(json_object_get(project, "package_managers"), 0);
			tally_check(
				t, first && strcmp(json_string_value(first), yaml_str(value)) == 0,
				fixture, path, field, yaml_str(value), json_string_value(first));
		} else if (strcmp(field, "commands") == 0 || strcmp(field, "runtimes") == 0 ||
			   strcmp(field, "entry_points") == 0) {
			for (size_t j = 0; j < value->count; j++) {
				const char *name = yaml_str(value->pairs[j].key);
				const struct yaml_node *expected = value->pairs[j].value;
				const json_t *actual = json_object_get(got, name);
				bool ok = yaml_is_null(expected)
						  ? (!actual || json_is_null(actual))
						  : (json_is_string(actual) &&
						     strcmp(json_string_value(actual),
							    yaml_str(expected)) == 0);
				char label[64];
				snprintf(label, sizeof(label), "%s.%s", field, name);
				tally_check(t, ok, fixture, path, label,
					    yaml_is_null(expected) ? "null" : yaml_str(expected),
					    json_text(actual, &scratch));
			}
		} else if (strcmp(field, "dev_server") == 0) {
			bool dev_server = false;
			yaml_bool(value, "expected", &dev_server, NULL);
			tally_check(t, dev_server == json_is_true(got), fixture, path, field,
				    yaml_str(value), json_text(got, &scratch));
		} else if (strcmp(field, "port") == 0) {
			long long want_port = 0;
			if (!yaml_is_null(value))
				yaml_int(value, "expected", &want_port, NULL);
			long long got_port = json_is_integer(got) ? json_integer_value(got) : 0;
			tally_check(t, want_port == got_port, fixture, path, field, yaml_str(value),
				    json_text(got, &scratch));
		} else {
			/* primary_language, name and other plain strings */
			bool ok = yaml_is_null(value)
					  ? json_is_null(got)
					  : json_is_string(got) && strcmp(json_string_value(got),
									  yaml_str(value)) == 0;
			tally_check(t, ok, fixture, path, field,
				    yaml_is_null(value) ? "null" : yaml_str(value),
				    json_text(got, &scratch));
		}
	}
	buf_free(&scratch);
}

static void test_fixtures_match_expectations(void **state)
{
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	if (yaml_load_file(&doc, FIXTURES "/analysis-expected.yaml", &e) < 0)
		fail_msg("%s", e.msg);
	struct tally t = { BUF_INIT, 0, 0 };
	const struct yaml_node *fixtures = yaml_get(doc->root, "fixtures");
	assert_non_null(fixtures);
	for (size_t i = 0; i < fixtures->count; i++) {
		const char *fixture = yaml_str(fixtures->pairs[i].key);
		struct buf root = BUF_INIT;
		buf_addf(&root, FIXTURES "/repos/%s", fixture);
		json_t *document = analyze_to_document(root.data);
		const struct yaml_node *projects = fixtures->pairs[i].value;
		for (size_t j = 0; j < projects->count; j++) {
			const char *path = yaml_str(projects->pairs[j].key);
			const json_t *project = document_find_project(document, path);
			tally_check(&t, project != NULL, fixture, path, "project", "present", NULL);
			if (project)
				check_project(&t, fixture, path, project, projects->pairs[j].value);
		}
		json_decref(document);
		buf_free(&root);
	}
	printf("analysis expectations: %d of %d checks hold\n", t.checks - t.failed, t.checks);
	if (t.failed)
		fail_msg("%d checks failed:\n%s", t.failed, buf_cstr(&t.failures));
	buf_free(&t.failures);
	yaml_doc_free(doc);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Symlink loops, binary and huge files, unreadable files: warnings, no crash. */
static void test_hostile_tree(void **state)
{
	char root[] = "/tmp/ampel-test-analyze-XXXXXX";
	assert_non_null(mkdtemp(root));
	struct buf cmd = BUF_INIT;
	buf_addf(&cmd, "cp -r %s/repos/hostile/. %s/", FIXTURES, root);
	assert_int_equal(system(cmd.data), 0);

	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/loop", root);
	assert_int_equal(symlink(".", path.data), 0);
	buf_reset(&path);
	buf_addf(&path, "%s/outside", root);
	assert_int_equal(symlink("/etc", path.data), 0);
	buf_reset(&path);
	buf_addf(&path, "%s/src/huge.js", root);
	size_t huge = 3 * 1024 * 1024;
	char *big = malloc(huge);
	memset(big, 'x', huge);
	write_file(path.data, big, huge);
	free(big);
	buf_reset(&path);
	buf_addf(&path, "%s/src/binary.js", root);
	write_file(path.data,
		   "\x7f"
		   "ELF\0\0\1",
		   7);
	buf_reset(&path);
	buf_addf(&path, "%s/src/secret.env.js", root);
	write_file(path.data, "process.env.HIDDEN", 18);
	chmod(path.data, 0);
	/* A FIFO where a Procfile is read: opening it to read would block. */
	buf_reset(&path);
	buf_addf(&path, "%s/Procfile", root);
	assert_int_equal(mkfifo(path.data, 0644), 0);
	/* A huge file the walk does not size (not source): its reader sizes it. */
	buf_reset(&path);
	buf_addf(&path, "%s/.env.example", root);
	big = malloc(huge);
	memset(big, '#', huge);
	write_file(path.data, big, huge);
	free(big);

	json_t *document = analyze_to_document(root);
	const json_t *warnings = json_object_get(document, "warnings");
	/* Every invalid manifest is named with its line. */
	static const char *const named[] = { "package.json:", "Cargo.toml:", "pom.xml:",
					     "pyproject.toml:", "composer.json:" };
	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++) {
		bool found = false;
		size_t j;
		json_t *w;
		json_array_foreach(warnings, j, w)
		{
			found |= strstr(json_string_value(w), named[i]) != NULL;
		}
		if (!found)
			fail_msg("no warning names %s", named[i]);
	}
	/* The link to /etc was not followed. */
	const json_t *stats = json_object_get(document, "stats");
	assert_true(json_integer_value(json_object_get(stats, "files")) < 100);
	json_decref(document);

	buf_reset(&cmd);
	buf_addf(&cmd, "rm -rf %s", root);
	assert_int_equal(system(cmd.data), 0);
	buf_free(&cmd);
	buf_free(&path);
}

static void test_document_is_deterministic(void **state)
{
	json_t *a = analyze_to_document(FIXTURES "/repos/monorepo-npm-workspaces");
	json_t *b = analyze_to_document(FIXTURES "/repos/monorepo-npm-workspaces");
	/* Only the timing may differ. */
	json_object_del(json_object_get(a, "stats"), "elapsed_ms");
	json_object_del(json_object_get(b, "stats"), "elapsed_ms");
	struct buf text_a = BUF_INIT, text_b = BUF_INIT;
	json_write_buf(&text_a, a, JSON_WRITE_PRETTY, NULL);
	json_write_buf(&text_b, b, JSON_WRITE_PRETTY, NULL);
	assert_string_equal(text_a.data, text_b.data);
	assert_string_equal(json_string_value(json_object_get(a, "schema")), ANALYSIS_SCHEMA);
	buf_free(&text_a);
	buf_free(&text_b);
	json_decref(a);
	json_decref(b);
}

/* Accuracy over the real-world set, per measure. */
struct score {
	int right[3];
	int total[3];
	struct buf misses;
};

enum { SCORE_LANGUAGE, SCORE_PACKAGE_MANAGER, SCORE_COMMANDS };

static void score_add(struct score *sc, int measure, bool ok, const char *app, const char *path,
		      const char *field, const char *want, const char *got)
{
	sc->total[measure]++;
	if (ok) {
		sc->right[measure]++;
		return;
	}
	buf_addf(&sc->misses, "  %s [%s] %s: want %s, got %s\n", app, path, field, want,
		 got ? got : "null");
}

/* Whether got is one of the spellings the maintainers' files accept. */
static bool command_accepted(const struct yaml_node *accepted, const char *got)
{
	if (yaml_is_null(accepted)) /* "nothing to run": the answer must be null too */
		return got == NULL;
	if (!got)
		return false;
	if (accepted->kind == YAML_SCALAR)
		return strcmp(yaml_str(accepted), got) == 0;
	for (size_t i = 0; i < accepted->count; i++)
		if (str_eq(yaml_str(accepted->items[i]), got))
			return true;
	return false;
}

static void score_project(struct score *sc, const char *app, const char *path,
			  const json_t *project, const struct yaml_node *want)
{
	/* An expected null means "none": the answer must be null too. */
	const struct yaml_node *language_node = yaml_get(want, "primary_language");
	const char *language = yaml_is_null(language_node) ? NULL : yaml_str(language_node);
	const char *got_language = json_string_value(json_object_get(project, "primary_language"));
	if (language_node)
		score_add(sc, SCORE_LANGUAGE, str_eq(language, got_language), app, path,
			  "primary_language", language ? language : "null", got_language);
	const struct yaml_node *pm_node = yaml_get(want, "package_manager");
	const char *pm = yaml_is_null(pm_node) ? NULL : yaml_str(pm_node);
	const char *got_pm =
		json_string_value(json_array_get(json_object_get(project, "package_managers"), 0));
	if (pm_node)
		score_add(sc, SCORE_PACKAGE_MANAGER, str_eq(pm, got_pm), app, path,
			  "package_manager", pm ? pm : "null", got_pm);
	const struct yaml_node *commands = yaml_get(want, "commands");
	static const char *const scored[] = { "install", "build", "start" };
	for (size_t i = 0; i < sizeof(scored) / sizeof(*scored); i++) {
		const struct yaml_node *accepted = yaml_get(commands, scored[i]);
		if (!accepted)
			continue;
		const char *got = json_string_value(
			json_object_get(json_object_get(project, "commands"), scored[i]));
		const char *first = accepted->kind == YAML_SCALAR ? yaml_str(accepted)
				    : accepted->count		  ? yaml_str(accepted->items[0])
								  : "?";
		score_add(sc, SCORE_COMMANDS, command_accepted(accepted, got), app, path, scored[i],
			  first, got);
	}
}

static void score_set(struct score *sc, const char *set)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, FIXTURES "/realworld/%s/expected.yaml", set);
	struct yaml_doc *doc = NULL;
	struct err e = ERR_INIT;
	if (access(path.data, R_OK) != 0) {
		buf_free(&path);
		return;
	}
	if (yaml_load_file(&doc, path.data, &e) < 0)
		fail_msg("%s", e.msg);
	const struct yaml_node *apps = yaml_get(doc->root, "apps");
	for (size_t i = 0; apps && i < apps->count; i++) {
		const char *app = yaml_str(apps->pairs[i].key);
		buf_reset(&path);
		buf_addf(&path, FIXTURES "/realworld/%s/%s", set, app);
		json_t *document = analyze_to_document(path.data);
		const struct yaml_node *projects = yaml_get(apps->pairs[i].value, "projects");
		for (size_t j = 0; projects && j < projects->count; j++) {
			const char *project_path = yaml_str(projects->pairs[j].key);
			const json_t *project = document_find_project(document, project_path);
			if (!project) {
				score_add(sc, SCORE_LANGUAGE, false, app, project_path, "project",
					  "present", NULL);
				continue;
			}
			score_project(sc, app, project_path, project, projects->pairs[j].value);
		}
		json_decref(document);
	}
	yaml_doc_free(doc);
	buf_free(&path);
}

/* Prints one set's (or all sets') figures against the bar. */
static bool score_print(const char *label, const struct score *sc, const double bars[3])
{
	static const char *const names[] = { "language", "package manager", "commands" };
	bool below = false;
	for (int m = 0; m < 3; m++) {
		double share = sc->total[m] ? (double)sc->right[m] / sc->total[m] : 1.0;
		printf("real-world %-5s %-16s %4d / %4d = %5.1f%% (bar %.0f%%)\n", label, names[m],
		       sc->right[m], sc->total[m], share * 100.0, bars[m] * 100.0);
		below |= share < bars[m];
	}
	return below;
}

/* Scores sets and adds them into *all; prints each against the bar. */
static void score_sets(const char *const *sets, size_t count, struct score *all,
		       const double bars[3])
{
	for (size_t i = 0; i < count && sets[i]; i++) {
		struct score sc = { { 0 }, { 0 }, BUF_INIT };
		score_set(&sc, sets[i]);
		score_print(sets[i], &sc, bars);
		for (int m = 0; m < 3; m++) {
			all->right[m] += sc.right[m];
			all->total[m] += sc.total[m];
		}
		buf_add(&all->misses, buf_cstr(&sc.misses), sc.misses.len);
		buf_free(&sc.misses);
	}
}

/*
 * The bar is language >= 98%, package manager >= 95%, install,
 * build and start commands >= 90% of what the maintainers run. Sets a, b
 * and c were used to improve the rules (c after being measured once held
 * out); d, e and f were written later and measured once held out
 * (commands 60.8%, see their NOTES.md), then used to improve the rules too;
 * g was measured once held out (commands 68.4%); h was measured once held
 * out (language 100%, package manager 100%, commands 57/70 = 81.4%), then
 * used too; i was measured once held out (language 32/33 = 97.0%, package
 * manager 100%, commands 55/68 = 80.9%), then used too; so was j (language
 * 100%, package manager 100%, commands 50/63 = 79.4%); k was written last
 * and measured once held out (language 100%, package manager 29/30 =
 * 96.7%, commands 56/66 = 84.8%), then used too; l was written last and
 * measured once held out: language 100%, package manager 100%, commands
 * 51/55 = 92.7%, the first set to meet all three bars; m, over 28
 * ecosystems with the long tail, was written last and measured once held
 * out: language 100%, package manager 100%, commands 61/75 = 81.3%.
 * n to t were written last, in parallel by seven helpers from one brief
 * (122 apps, 147 projects, weighted like the real world with the long tail
 * present), and measured once held out together: language 146/147 =
 * 99.3%, package manager 147/147 = 100%, commands 323/380 = 85.0%.
 * u to zz were written last the same way (145 apps, 167 projects) and
 * measured once held out together: language 166/167 = 99.4%, package
 * manager 167/167 = 100%, commands 396/447 = 88.6% (each set's misses are
 * in its NOTES.md).
 * The figures are printed against the bar; the assertions guard each
 * group against regressions below the level it reached.
 */
static void test_realworld_accuracy(void **state)
{
	static const double bars[] = { 0.98, 0.95, 0.90 };
	static const struct {
		const char *label;
		const char *sets[3];
		double floors[3];
	} groups[] = {
		{ "a-c", { "a", "b", "c" }, { 0.98, 0.95, 0.93 } },
		{ "d-f", { "d", "e", "f" }, { 0.98, 0.95, 0.86 } },
		{ "g", { "g", NULL, NULL }, { 0.98, 0.95, 0.73 } },
		{ "h", { "h", NULL, NULL }, { 0.98, 0.95, 0.91 } },
		{ "i", { "i", NULL, NULL }, { 0.96, 0.95, 0.92 } },
		{ "j", { "j", NULL, NULL }, { 0.98, 0.95, 0.92 } },
		{ "k", { "k", NULL, NULL }, { 0.98, 0.95, 0.96 } },
		{ "l", { "l", NULL, NULL }, { 0.98, 0.95, 0.96 } },
		{ "m", { "m", NULL, NULL }, { 0.98, 0.95, 0.90 } },
		{ "n", { "n", NULL, NULL }, { 0.98, 0.95, 0.93 } },
		{ "o", { "o", NULL, NULL }, { 0.98, 0.95, 0.93 } },
		{ "p", { "p", NULL, NULL }, { 0.98, 0.95, 0.87 } },
		{ "q", { "q", NULL, NULL }, { 0.98, 0.95, 0.95 } },
		{ "r", { "r", NULL, NULL }, { 0.98, 0.95, 0.96 } },
		{ "s", { "s", NULL, NULL }, { 0.98, 0.95, 0.95 } },
		{ "t", { "t", NULL, NULL }, { 0.98, 0.95, 0.93 } },
		{ "u", { "u", NULL, NULL }, { 0.98, 0.95, 0.98 } },
		{ "v", { "v", NULL, NULL }, { 0.98, 0.95, 0.95 } },
		{ "w", { "w", NULL, NULL }, { 0.98, 0.95, 0.95 } },
		{ "x", { "x", NULL, NULL }, { 0.96, 0.95, 0.91 } },
		{ "y", { "y", NULL, NULL }, { 0.98, 0.95, 0.91 } },
		{ "z", { "z", NULL, NULL }, { 0.98, 0.95, 0.98 } },
		{ "zz", { "zz", NULL, NULL }, { 0.98, 0.95, 0.91 } },
		{ "aa", { "aa", NULL, NULL }, { 0.98, 0.95, 0.90 } },
		{ "ab", { "ab", NULL, NULL }, { 0.98, 0.95, 0.92 } },
		{ "ac", { "ac", NULL, NULL }, { 0.98, 0.95, 0.93 } },
		{ "ad", { "ad", NULL, NULL }, { 0.98, 0.95, 0.94 } },
		{ "ae", { "ae", NULL, NULL }, { 0.98, 0.95, 0.93 } },
		{ "af", { "af", NULL, NULL }, { 0.98, 0.95, 0.94 } },
		{ "ag", { "ag", NULL, NULL }, { 0.98, 0.95, 0.92 } },
	};
	bool regressed = false;
	struct score everything = { { 0 }, { 0 }, BUF_INIT };
	for (size_t g = 0; g < sizeof(groups) / sizeof(*groups); g++) {
		struct score all = { { 0 }, { 0 }, BUF_INIT };
		score_sets(groups[g].sets, 3, &all, bars);
		if (!all.total[SCORE_LANGUAGE])
			fail_msg("no real-world set %s under %s", groups[g].sets[0],
				 FIXTURES "/realworld");
		if (score_print(groups[g].label, &all, bars))
			printf("real-world %s: under the issue's bar\n", groups[g].label);
		bool below = score_print("floor", &all, groups[g].floors);
		regressed |= below;
		if (getenv("AMPEL_REALWORLD_MISSES") || below)
			printf("misses (%s):\n%s", groups[g].label, buf_cstr(&all.misses));
		for (int m = 0; m < 3; m++) {
			everything.right[m] += all.right[m];
			everything.total[m] += all.total[m];
		}
		buf_free(&all.misses);
	}
	score_print("all", &everything, bars);
	if (regressed)
		fail_msg("real-world accuracy fell below the level reached");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_match_expectations),
		cmocka_unit_test(test_hostile_tree),
		cmocka_unit_test(test_document_is_deterministic),
		cmocka_unit_test(test_realworld_accuracy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
