/*
 * Workflow security checker: every rule fires on a bad sample at the exact
 * line and column (tests/fixtures/workflows/bad/, including the injection
 * examples of GitHub's hardening guide), real-world-style good samples
 * (tests/fixtures/workflows/good/) give no finding at all, and a broken
 * rule file is refused with the file, line and rule named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gen/check.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/vec.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKFLOWS AMPEL_SOURCE_ROOT "/tests/fixtures/workflows"

struct expected {
	const char *rule;
	int line;
	int column;
};

static int run_check(const char *path, struct vec *findings)
{
	struct err e = ERR_INIT;
	struct buf text = BUF_INIT;
	if (buf_read_file(&text, path, 0, &e) < 0)
		fail_msg("%s", e.msg);
	int rc = check_workflow(path, buf_cstr(&text), text.len, findings, &e);
	if (rc < 0)
		fail_msg("check %s: %s", path, e.msg);
	buf_free(&text);
	return rc;
}

static void print_findings(const char *path, const struct vec *findings)
{
	for (size_t i = 0; i < findings->len; i++) {
		const struct check_finding *f = findings->items[i];
		print_message("  %s:%d:%d: %s: %s [%s]\n", path, f->line, f->column, f->severity,
			      f->message, f->rule);
	}
}

/* The findings are exactly `want` (in order: the checker sorts them). */
static void assert_findings(const char *name, const struct expected *want, size_t count)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bad/%s", WORKFLOWS, name);
	struct vec findings = VEC_INIT;
	run_check(path, &findings);
	bool same = findings.len == count;
	for (size_t i = 0; same && i < count; i++) {
		const struct check_finding *f = findings.items[i];
		same = strcmp(f->rule, want[i].rule) == 0 && f->line == want[i].line &&
		       f->column == want[i].column;
	}
	if (!same) {
		print_message("%s: got\n", name);
		print_findings(name, &findings);
		print_message("want\n");
		for (size_t i = 0; i < count; i++)
			print_message("  %d:%d [%s]\n", want[i].line, want[i].column, want[i].rule);
	}
	vec_free(&findings, check_finding_free);
	assert_true(same);
}

#define ASSERT_FINDINGS(name, ...)                                            \
	do {                                                                  \
		static const struct expected want_[] = { __VA_ARGS__ };       \
		assert_findings(name, want_, sizeof(want_) / sizeof(*want_)); \
	} while (0)

static void test_script_injection(void **state)
{
	(void)state;
	/* The env: route (step "safe") is the fix and is not flagged. */
	ASSERT_FINDINGS("script-injection.yml", { "script-injection", 16, 18 },
			{ "script-injection", 20, 27 }, { "script-injection", 25, 27 },
			{ "script-injection", 27, 20 });
}

static void test_github_documented_injections(void **state)
{
	(void)state;
	ASSERT_FINDINGS("github-docs-injection.yml", { "script-injection", 16, 18 },
			{ "script-injection", 27, 28 }, { "script-injection", 29, 20 },
			{ "script-injection", 30, 38 });
}

static void test_pr_target_checkout(void **state)
{
	(void)state;
	ASSERT_FINDINGS("pr-target-checkout.yml", { "pr-target-checkout", 14, 16 },
			{ "pr-target-checkout", 16, 14 });
	ASSERT_FINDINGS("workflow-run-checkout.yml", { "pr-target-checkout", 14, 23 },
			{ "pr-target-checkout", 15, 16 }, { "script-injection", 17, 20 });
}

static void test_secrets_echoed(void **state)
{
	(void)state;
	/* Line 17 pipes the token into docker login: not printed, not flagged. */
	ASSERT_FINDINGS("secrets-echoed.yml", { "secrets-echoed", 13, 14 },
			{ "secrets-echoed", 16, 11 }, { "secrets-echoed", 19, 11 },
			{ "secrets-echoed", 21, 14 });
}

static void test_permissions(void **state)
{
	(void)state;
	ASSERT_FINDINGS("permissions.yml", { "permissions-write-all", 3, 14 },
			{ "permissions-write-all", 7, 18 });
	ASSERT_FINDINGS("permissions-missing.yml", { "permissions-missing", 1, 1 });
}

static void test_unpinned_actions(void **state)
{
	(void)state;
	/* actions/checkout@v4, alpine:3.19, a full SHA and ./local-action pass. */
	ASSERT_FINDINGS("unpinned.yml", { "unpinned-action", 10, 15 },
			{ "unpinned-action", 11, 15 }, { "unpinned-action", 12, 15 },
			{ "action-tag-not-sha", 13, 15 }, { "image-unpinned", 14, 15 },
			{ "image-unpinned", 15, 15 }, { "unpinned-action", 20, 11 });
}

static void test_self_hosted(void **state)
{
	(void)state;
	ASSERT_FINDINGS("self-hosted.yml", { "self-hosted-runner", 8, 14 },
			{ "image-unpinned", 9, 16 });
}

static void test_gitlab(void **state)
{
	(void)state;
	/* redis:7 and alpine:3.19 pass; so does the token piped to docker login. */
	ASSERT_FINDINGS("gitlab-ci.yml", { "image-unpinned", 1, 8 }, { "image-unpinned", 8, 7 },
			{ "secrets-echoed", 17, 7 }, { "secrets-echoed", 21, 7 });
}

/* Every bad sample has a test above, and says something. */
static void test_every_bad_sample_has_findings(void **state)
{
	(void)state;
	DIR *dir = opendir(WORKFLOWS "/bad");
	assert_non_null(dir);
	int files = 0;
	for (struct dirent *d; (d = readdir(dir));) {
		if (d->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/bad/%s", WORKFLOWS, d->d_name);
		struct vec findings = VEC_INIT;
		run_check(path, &findings);
		if (findings.len == 0)
			print_message("%s: no findings\n", d->d_name);
		assert_true(findings.len > 0);
		for (size_t i = 0; i < findings.len; i++) {
			const struct check_finding *f = findings.items[i];
			assert_true(strcmp(f->severity, "error") == 0 ||
				    strcmp(f->severity, "warning") == 0);
			assert_non_null(strstr(f->message, "; fix: "));
		}
		vec_free(&findings, check_finding_free);
		files++;
	}
	closedir(dir);
	assert_true(files >= 9);
}

static void test_good_samples_are_clean(void **state)
{
	(void)state;
	DIR *dir = opendir(WORKFLOWS "/good");
	assert_non_null(dir);
	int files = 0, dirty = 0;
	for (struct dirent *d; (d = readdir(dir));) {
		if (d->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/good/%s", WORKFLOWS, d->d_name);
		struct vec findings = VEC_INIT;
		run_check(path, &findings);
		if (findings.len) {
			print_findings(d->d_name, &findings);
			dirty++;
		}
		vec_free(&findings, check_finding_free);
		files++;
	}
	closedir(dir);
	assert_true(files >= 7);
	assert_int_equal(dirty, 0);
}

static void test_invalid_yaml_names_the_line(void **state)
{
	(void)state;
	const char *text = "on: push\njobs:\n  a: [\n";
	struct vec findings = VEC_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(check_workflow("ci.yml", text, strlen(text), &findings, &e), -1);
	assert_non_null(strstr(e.msg, "ci.yml:"));
	assert_int_equal(findings.len, 0);
	/* Empty and scalar documents are valid YAML with nothing to check. */
	assert_int_equal(check_workflow("empty.yml", "", 0, &findings, &e), 0);
	assert_int_equal(check_workflow("scalar.yml", "hello", 5, &findings, &e), 0);
	assert_int_equal(findings.len, 0);
	vec_free(&findings, check_finding_free);
}

/* Shapes no runner accepts still give an answer, never a crash (fuzz finds). */
static void test_odd_shapes(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"? [a, b]\n: {script: [echo $CI_JOB_TOKEN]}\nstages: [x]\n",
		"on:\n  ? {a: b}\n  : x\njobs:\n  ? [j]\n  : {runs-on: self-hosted}\n",
		"on: [pull_request]\njobs:\n  a: 3\n  b: {steps: run}\n  c: {steps: [3, [x]]}\n",
		"on: {pull_request_target: }\njobs:\n  a:\n    steps:\n      - uses: "
		"actions/checkout\n"
		"        with: {ref: [x]}\n      - uses: '@'\n      - uses: docker://\n",
		"env: {? [k] : '${{ secrets.X }}'}\njobs: {a: {steps: [{run: '${{'}, {run: '}}${{ "
		"env. }}'}]}}\n",
		"image: {name: [x]}\nservices: [[], {name: {}}]\njob: {script: [[[echo "
		"$MY_TOKEN]]]}\n",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		struct vec findings = VEC_INIT;
		struct err e = ERR_INIT;
		int rc = check_workflow(i % 2 ? "w.yml" : ".gitlab-ci.yml", texts[i],
					strlen(texts[i]), &findings, &e);
		if (rc < 0)
			fail_msg("sample %zu: %s", i, e.msg);
		for (size_t k = 0; k < findings.len; k++) {
			const struct check_finding *f = findings.items[k];
			assert_true(f->line >= 1 && f->column >= 1);
		}
		vec_free(&findings, check_finding_free);
	}
}

/* Anchors make one node appear twice; it is reported once. */
static void test_aliases_report_once(void **state)
{
	(void)state;
	const char *text = "on: issues\n"
			   "permissions: {contents: read}\n"
			   "jobs:\n"
			   "  a:\n"
			   "    runs-on: ubuntu-latest\n"
			   "    steps: &steps\n"
			   "      - run: echo ${{ github.event.issue.title }}\n"
			   "  b:\n"
			   "    runs-on: ubuntu-latest\n"
			   "    steps: *steps\n";
	struct vec findings = VEC_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(check_workflow("w.yml", text, strlen(text), &findings, &e), 0);
	assert_int_equal(findings.len, 1);
	const struct check_finding *f = findings.items[0];
	assert_int_equal(f->line, 7);
	assert_int_equal(f->column, 19);
	vec_free(&findings, check_finding_free);
}

static void assert_rules_error(const char *rules_text, const char *want)
{
	struct check_rules *rules = NULL;
	struct err e = ERR_INIT;
	int rc = check_rules_parse(&rules, "rules.yaml", rules_text, strlen(rules_text), &e);
	if (rc == 0 || !strstr(e.msg, want))
		fail_msg("want an error with '%s', got rc=%d '%s'", want, rc, e.msg);
	assert_null(rules);
}

static void test_rule_file_validation(void **state)
{
	(void)state;
	assert_rules_error("rules:\n  - id: no-such-rule\n",
			   "rules.yaml:2:9: unknown rule 'no-such-rule'");
	assert_rules_error("rules:\n  - id: permissions-missing\n    severity: loud\n"
			   "    message: m\n    fix: f\n",
			   "rules.yaml:3:15: rule 'permissions-missing': severity must be");
	assert_rules_error("rules:\n  - id: permissions-missing\n    severity: error\n"
			   "    message: m\n",
			   "rules.yaml:2:5: rule 'permissions-missing': missing 'fix'");
	assert_rules_error("rules:\n  - id: unpinned-action\n    severity: error\n"
			   "    message: m {action}\n    fix: f {image}\n    branches: [main]\n",
			   "rules.yaml:5:10: rule 'unpinned-action': unknown placeholder {image}");
	assert_rules_error("rules:\n  - id: unpinned-action\n    severity: error\n"
			   "    message: m\n    fix: f\n    branch: [main]\n",
			   "rules.yaml:6:5: rule 'unpinned-action': unknown field 'branch'");
	assert_rules_error("rules:\n  - id: unpinned-action\n    severity: error\n"
			   "    message: m\n    fix: f\n",
			   "rule 'unpinned-action': missing 'branches'");
	assert_rules_error("rules:\n  - id: script-injection\n    severity: error\n"
			   "    message: m\n    fix: f\n    untrusted: ['github\\.(']\n",
			   "rules.yaml:6:17: rule 'script-injection': untrusted: bad pattern");
	assert_rules_error("rules:\n  - id: image-unpinned\n    severity: error\n"
			   "    message: m\n    fix: f\n    mutable_tags: []\n",
			   "rule 'image-unpinned': mutable_tags must be a non-empty list");
	assert_rules_error(
		"rules:\n  - {id: permissions-missing, severity: off, message: m, fix: f}\n"
		"  - {id: permissions-missing, severity: off, message: m, fix: f}\n",
		"rules.yaml:3:10: rule 'permissions-missing' is defined twice");
	assert_rules_error("checks: []\n", "expected a 'rules' list");
	assert_rules_error("", "empty file");
}

/* The shipped file loads, and a rule set to off stays quiet. */
static void test_rules_load_and_severity_off(void **state)
{
	(void)state;
	struct check_rules *rules = NULL;
	struct err e = ERR_INIT;
	if (check_rules_load(&rules, &e) < 0)
		fail_msg("%s", e.msg);
	check_rules_free(rules);

	const char *custom = "rules:\n"
			     "  - id: permissions-missing\n"
			     "    severity: off\n"
			     "    message: m\n"
			     "    fix: f\n"
			     "  - id: unpinned-action\n"
			     "    severity: warning\n"
			     "    message: '{action} at {ref}'\n"
			     "    fix: pin it\n"
			     "    branches: [trunk]\n";
	assert_int_equal(check_rules_parse(&rules, "custom.yaml", custom, strlen(custom), &e), 0);
	const char *text = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
			   "      - uses: o/r@trunk\n      - uses: o/r@main\n";
	struct vec findings = VEC_INIT;
	assert_int_equal(check_workflow_with(rules, "w.yml", text, strlen(text), &findings, &e), 0);
	assert_int_equal(findings.len, 1);
	const struct check_finding *f = findings.items[0];
	assert_string_equal(f->rule, "unpinned-action");
	assert_string_equal(f->severity, "warning");
	assert_string_equal(f->message, "o/r at trunk; fix: pin it");
	assert_int_equal(f->line, 6);
	vec_free(&findings, check_finding_free);
	check_rules_free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script_injection),
		cmocka_unit_test(test_github_documented_injections),
		cmocka_unit_test(test_pr_target_checkout),
		cmocka_unit_test(test_secrets_echoed),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_unpinned_actions),
		cmocka_unit_test(test_self_hosted),
		cmocka_unit_test(test_gitlab),
		cmocka_unit_test(test_every_bad_sample_has_findings),
		cmocka_unit_test(test_good_samples_are_clean),
		cmocka_unit_test(test_invalid_yaml_names_the_line),
		cmocka_unit_test(test_odd_shapes),
		cmocka_unit_test(test_aliases_report_once),
		cmocka_unit_test(test_rule_file_validation),
		cmocka_unit_test(test_rules_load_and_severity_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
