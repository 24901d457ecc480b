/*
 * Deployment generation: golden files per target for real fixture
 * repositories (GitHub Actions, and GitLab CI, Bitbucket Pipelines and
 * Jenkins for node-express), determinism, refusals (unknown target, no
 * server to deploy), the provider catalog's validation with file:line
 * errors, no secret value ever written, and the external validators
 * (actionlint, workflow schema, YAML/JSON/TOML parse) run on what every
 * target writes for several fixtures.
 *
 * Golden files live in tests/golden/cd/<fixture>.<target>.txt (every file
 * of one run, each after a "==> path <==" line). After an intended change,
 * regenerate them with:
 *   AMPEL_UPDATE_GOLDEN=1 meson test -C BUILD gen_cd
 * and review the diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gen/cd.h"
#include "gen/check.h"
#include "gen/files.h"
#include "intel/analyze.h"
#include "intel/document.h"
#include "util/buf.h"
#include "util/embed.h"
#include "util/err.h"
#include "util/spawn.h"
#include "util/str.h"
#include "util/vec.h"

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURES AMPEL_SOURCE_ROOT "/tests/fixtures/repos"
#define GOLDEN	 AMPEL_SOURCE_ROOT "/tests/golden/cd"

static const char *const targets[] = { "flyio",	       "aws-ecs",
				       "gcp-cloudrun", "azure-containerapps",
				       "digitalocean", "kubernetes" };
#define TARGET_COUNT (sizeof(targets) / sizeof(targets[0]))

static json_t *analyze_fixture(const char *name)
{
	struct err e = ERR_INIT;
	struct analysis *analysis = NULL;
	struct analyze_options options = { 0 };
	struct buf root = BUF_INIT;
	buf_addf(&root, "%s/%s", FIXTURES, name);
	if (analyze_repository(&analysis, root.data, &options, &e) < 0)
		fail_msg("analyze %s: %s", name, e.msg);
	json_t *document = document_render(analysis);
	analysis_free(analysis);
	buf_free(&root);
	return document;
}

/* Every file of a run, each after a "==> path <==" line. */
static char *render_files(const struct gen_files *files)
{
	struct buf text = BUF_INIT;
	for (size_t i = 0; i < files->files.len; i++) {
		const struct gen_file *f = files->files.items[i];
		buf_addf(&text, "%s==> %s <==\n%s", i ? "\n" : "", f->path, f->content);
	}
	return buf_detach(&text);
}

static int generate_for(const json_t *document, const char *target, const char *project,
			enum ci_provider provider, struct gen_files *files, struct err *e)
{
	struct buf command = BUF_INIT;
	static const char *const provider_flags[] = { "", " --provider gitlab",
						      " --provider bitbucket",
						      " --provider jenkins" };
	buf_addf(&command, "ampel generate cd --target %s%s", target ? target : "",
		 provider_flags[provider]);
	struct cd_options options = {
		.target = target, .provider = provider, .project = project, .command = command.data
	};
	int rc = gen_cd(document, &options, files, e);
	buf_free(&command);
	return rc;
}

static int generate(const json_t *document, const char *target, const char *project,
		    struct gen_files *files, struct err *e)
{
	return generate_for(document, target, project, CI_GITHUB, files, e);
}

static void check_golden(const char *fixture, const char *target, const char *actual)
{
	struct buf path = BUF_INIT, expected = BUF_INIT;
	struct err e = ERR_INIT;
	buf_addf(&path, "%s/%s.%s.txt", GOLDEN, fixture, target);
	if (getenv("AMPEL_UPDATE_GOLDEN")) {
		mkdir(GOLDEN, 0755);
		struct buf content = BUF_INIT;
		buf_adds(&content, actual);
		if (buf_write_file(&content, path.data, &e) < 0)
			fail_msg("%s", e.msg);
		buf_free(&content);
	} else if (buf_read_file(&expected, path.data, 0, &e) < 0) {
		fail_msg("%s (regenerate with AMPEL_UPDATE_GOLDEN=1)", e.msg);
	} else if (strcmp(expected.data, actual) != 0) {
		fail_msg("%s differs from the output; if the change is intended, regenerate "
			 "with AMPEL_UPDATE_GOLDEN=1 and review the diff",
			 path.data);
	}
	buf_free(&path);
	buf_free(&expected);
}

static void golden_fixture(const char *fixture, const char *const *which, size_t count)
{
	json_t *document = analyze_fixture(fixture);
	for (size_t i = 0; i < count; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		if (generate(document, which[i], NULL, &files, &e) != 0)
			fail_msg("%s %s: %s", fixture, which[i], e.msg);
		char *text = render_files(&files);
		check_golden(fixture, which[i], text);
		free(text);
		gen_files_free(&files);
	}
	json_decref(document);
}

static const char *const provider_names[] = { "github", "gitlab", "bitbucket", "jenkins" };

/* tests/golden/cd/<fixture>.<target>.<provider>.txt for every target. */
static void golden_provider(const char *fixture, enum ci_provider provider)
{
	json_t *document = analyze_fixture(fixture);
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		if (generate_for(document, targets[i], NULL, provider, &files, &e) != 0)
			fail_msg("%s %s %s: %s", fixture, targets[i], provider_names[provider],
				 e.msg);
		char *text = render_files(&files);
		struct buf name = BUF_INIT;
		buf_addf(&name, "%s.%s", targets[i], provider_names[provider]);
		check_golden(fixture, name.data, text);
		buf_free(&name);
		free(text);
		gen_files_free(&files);
	}
	json_decref(document);
}

static void test_golden_node_express_gitlab(void **state)
{
	(void)state;
	golden_provider("node-express", CI_GITLAB);
}

static void test_golden_node_express_bitbucket(void **state)
{
	(void)state;
	golden_provider("node-express", CI_BITBUCKET);
}

static void test_golden_node_express_jenkins(void **state)
{
	(void)state;
	golden_provider("node-express", CI_JENKINS);
}

/* The deploy file of one provider, or NULL; no GitHub workflow besides it. */
static const char *pipeline_file(const struct gen_files *files, const char *path)
{
	const char *pipeline = NULL;
	for (size_t f = 0; f < files->files.len; f++) {
		const struct gen_file *file = files->files.items[f];
		assert_null(strstr(file->path, ".github/"));
		if (strcmp(file->path, path) == 0)
			pipeline = file->content;
	}
	return pipeline;
}

static bool target_uses_oidc(const char *target)
{
	return strcmp(target, "aws-ecs") == 0 || strcmp(target, "gcp-cloudrun") == 0 ||
	       strcmp(target, "azure-containerapps") == 0;
}

/* Bitbucket: deployment environments, manual production, OIDC, rollback. */
static void test_bitbucket_release_process(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("node-express");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate_for(document, targets[i], NULL, CI_BITBUCKET, &files, &e),
				 0);
		const char *pipeline = pipeline_file(&files, "bitbucket-pipelines.yml");
		assert_non_null(pipeline);
		assert_non_null(strstr(pipeline, "  branches:\n    main:\n"));
		assert_non_null(strstr(pipeline, "    release/*:\n"));
		assert_non_null(strstr(pipeline, "  tags:\n    v*.*.*:\n"));
		assert_non_null(strstr(pipeline, "deployment: test\n"));
		assert_non_null(strstr(pipeline, "deployment: staging\n"));
		assert_non_null(
			strstr(pipeline, "deployment: production\n          trigger: manual"));
		assert_non_null(
			strstr(pipeline, "concurrency-group: deploy-express-api-production"));
		assert_non_null(strstr(pipeline, "--retry-all-errors"));
		assert_non_null(strstr(pipeline, "Secured variables to set"));
		assert_non_null(strstr(pipeline, "Rollback:"));
		assert_null(strstr(pipeline, ":latest"));
		assert_null(strstr(pipeline, "${{"));
		assert_null(strstr(pipeline, "CI_COMMIT"));
		assert_int_equal(strstr(pipeline, "oidc: true") != NULL,
				 target_uses_oidc(targets[i]));
		assert_int_equal(strstr(pipeline, "kaniko") != NULL,
				 strcmp(targets[i], "flyio") != 0);
		/* A rollback wherever the platform has one. */
		assert_int_equal(strstr(pipeline, "after-script:") != NULL,
				 strcmp(targets[i], "digitalocean") != 0);
		gen_files_free(&files);
	}
	json_decref(document);
}

/* Jenkins: when per environment, input before production, credentials by id. */
static void test_jenkins_release_process(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("node-express");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate_for(document, targets[i], NULL, CI_JENKINS, &files, &e),
				 0);
		const char *pipeline = pipeline_file(&files, "Jenkinsfile");
		assert_non_null(pipeline);
		assert_true(str_starts_with(pipeline, "// Generated by Ampel"));
		assert_non_null(strstr(pipeline, "when {\n                beforeAgent true\n"
						 "                branch 'main'\n"));
		assert_non_null(strstr(pipeline, "branch 'release/*'\n"));
		assert_non_null(strstr(pipeline, "beforeInput true\n                tag 'v*.*.*'\n"
						 "            }\n            input {"));
		assert_non_null(strstr(pipeline, "withCredentials(["));
		assert_non_null(strstr(pipeline, "credentialsId: '"));
		assert_non_null(strstr(pipeline, "lock('deploy-express-api-production')"));
		assert_non_null(strstr(pipeline, "--retry-all-errors"));
		assert_non_null(strstr(pipeline, "Credentials to create"));
		assert_null(strstr(pipeline, "${{"));
		assert_null(strstr(pipeline, "CI_COMMIT"));
		/* No OIDC on Jenkins: stored keys sign in. */
		assert_null(strstr(pipeline, "OIDC_TOKEN"));
		assert_int_equal(strstr(pipeline, "post {\n                failure {") != NULL,
				 strcmp(targets[i], "digitalocean") != 0);
		assert_int_equal(strstr(pipeline, "stash name: 'image'") != NULL,
				 strcmp(targets[i], "flyio") != 0);
		gen_files_free(&files);
	}
	json_decref(document);
}

/* The same release process as the GitHub workflow, in GitLab's terms. */
static void test_gitlab_release_process(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("node-express");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate_for(document, targets[i], NULL, CI_GITLAB, &files, &e),
				 0);
		const char *pipeline = pipeline_file(&files, ".gitlab-ci.yml");
		assert_non_null(pipeline);
		assert_non_null(strstr(pipeline, "if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"));
		assert_non_null(strstr(pipeline, "if: $CI_COMMIT_BRANCH =~ /^release\\//"));
		assert_non_null(strstr(pipeline, "if: $CI_COMMIT_TAG =~ /^v\\d+\\.\\d+\\.\\d+$/\n"
						 "      when: manual"));
		assert_non_null(strstr(pipeline, "resource_group: deploy-express-api-production"));
		assert_non_null(strstr(pipeline, "interruptible: false"));
		assert_non_null(strstr(pipeline, "--retry-all-errors"));
		assert_non_null(strstr(pipeline, "Protected environments"));
		assert_null(strstr(pipeline, ":latest"));
		assert_null(strstr(pipeline, "${{"));
		assert_int_equal(strstr(pipeline, "id_tokens:") != NULL,
				 target_uses_oidc(targets[i]));
		assert_int_equal(strstr(pipeline, "kaniko") != NULL,
				 strcmp(targets[i], "flyio") != 0);
		/* ampel generate check finds nothing to say about it. */
		struct vec findings = VEC_INIT;
		assert_int_equal(
			check_workflow(".gitlab-ci.yml", pipeline, strlen(pipeline), &findings, &e),
			0);
		for (size_t f = 0; f < findings.len; f++) {
			const struct check_finding *finding = findings.items[f];
			print_error("%s:%d: %s %s: %s\n", targets[i], finding->line,
				    finding->severity, finding->rule, finding->message);
		}
		assert_int_equal(findings.len, 0);
		vec_free(&findings, check_finding_free);
		gen_files_free(&files);
	}
	json_decref(document);
}

static void test_golden_node_express(void **state)
{
	(void)state;
	golden_fixture("node-express", targets, TARGET_COUNT);
}

static void test_golden_python_fastapi_uv(void **state)
{
	(void)state;
	golden_fixture("python-fastapi-uv", targets, TARGET_COUNT);
}

static void test_golden_go_gin_kubernetes(void **state)
{
	(void)state;
	static const char *const kubernetes[] = { "kubernetes" };
	golden_fixture("go-gin", kubernetes, 1);
}

static void test_files_per_target(void **state)
{
	(void)state;
	static const char *const expected[][5] = {
		{ "fly.toml", ".github/workflows/deploy.yml" },
		{ ".aws/task-definition.json", ".github/workflows/deploy.yml" },
		{ ".github/workflows/deploy.yml" },
		{ ".github/workflows/deploy.yml" },
		{ ".do/app.yaml", ".github/workflows/deploy.yml" },
		{ "k8s/deployment.yaml", "k8s/service.yaml", "k8s/ingress.yaml",
		  "k8s/kustomization.yaml", ".github/workflows/deploy.yml" },
	};
	json_t *document = analyze_fixture("node-express");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate(document, targets[i], NULL, &files, &e), 0);
		size_t n = 0;
		while (n < 5 && expected[i][n])
			n++;
		assert_int_equal(files.files.len, n);
		for (size_t j = 0; j < n; j++)
			assert_non_null(gen_files_find(&files, expected[i][j]));
		gen_files_free(&files);
	}
	json_decref(document);
}

static void test_workflow_release_process(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("python-fastapi-uv");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate(document, targets[i], NULL, &files, &e), 0);
		const char *wf = gen_files_find(&files, ".github/workflows/deploy.yml")->content;
		assert_non_null(strstr(wf, "name: development"));
		assert_non_null(strstr(wf, "name: staging"));
		assert_non_null(strstr(wf, "name: production"));
		assert_non_null(strstr(wf, "release/**"));
		assert_non_null(strstr(wf, "v*.*.*"));
		assert_non_null(strstr(wf, "required reviewers"));
		assert_non_null(strstr(wf, "Smoke test"));
		assert_non_null(strstr(wf, "timeout-minutes:"));
		assert_non_null(strstr(wf, "cancel-in-progress: false"));
		assert_non_null(strstr(wf, "Dockerfile"));
		assert_non_null(strstr(wf, "Rollback:"));
		assert_null(strstr(wf, "write-all"));
		/* id-token only where a cloud is signed in to through OIDC. */
		bool oidc = strcmp(targets[i], "aws-ecs") == 0 ||
			    strcmp(targets[i], "gcp-cloudrun") == 0 ||
			    strcmp(targets[i], "azure-containerapps") == 0;
		assert_int_equal(strstr(wf, "id-token: write") != NULL, oidc);
		assert_int_equal(strstr(wf, "packages: write") != NULL,
				 strcmp(targets[i], "kubernetes") == 0);
		gen_files_free(&files);
	}
	json_decref(document);
}

static void test_kubernetes_manifests(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("go-gin");
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(generate(document, "kubernetes", NULL, &files, &e), 0);
	const char *deployment = gen_files_find(&files, "k8s/deployment.yaml")->content;
	assert_non_null(strstr(deployment, "containerPort: 8080"));
	assert_non_null(strstr(deployment, "livenessProbe:"));
	assert_non_null(strstr(deployment, "readinessProbe:"));
	assert_non_null(strstr(deployment, "runAsNonRoot: true"));
	assert_non_null(strstr(deployment, "requests:"));
	assert_non_null(strstr(deployment, "limits:"));
	const char *wf = gen_files_find(&files, ".github/workflows/deploy.yml")->content;
	assert_non_null(strstr(wf, "kubectl rollout status"));
	assert_non_null(strstr(wf, "kubectl rollout undo"));
	assert_non_null(strstr(wf, "ghcr.io"));
	gen_files_free(&files);
	json_decref(document);
}

static void test_deterministic(void **state)
{
	(void)state;
	json_t *first_doc = analyze_fixture("node-express");
	json_t *second_doc = analyze_fixture("node-express");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files a = GEN_FILES_INIT, b = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate(first_doc, targets[i], NULL, &a, &e), 0);
		assert_int_equal(generate(second_doc, targets[i], NULL, &b, &e), 0);
		char *ta = render_files(&a), *tb = render_files(&b);
		assert_string_equal(ta, tb);
		free(ta);
		free(tb);
		gen_files_free(&a);
		gen_files_free(&b);
	}
	json_decref(first_doc);
	json_decref(second_doc);
}

static void test_refusals(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("node-express");
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;

	assert_int_equal(generate(document, "heroku", NULL, &files, &e), GEN_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "unknown deployment target 'heroku'"));
	assert_non_null(strstr(e.msg, "kubernetes"));

	err_clear(&e);
	assert_int_equal(generate(document, NULL, NULL, &files, &e), -1);
	assert_non_null(strstr(e.msg, "--target"));

	err_clear(&e);
	struct cd_options region = { .target = "flyio", .provider = CI_GITHUB, .region = "mars" };
	assert_int_equal(gen_cd(document, &region, &files, &e), -1);
	assert_non_null(strstr(e.msg, "'mars'"));

	err_clear(&e);
	assert_int_equal(generate(document, "flyio", "apps/none", &files, &e), -1);
	assert_non_null(strstr(e.msg, "no project at 'apps/none'"));
	assert_int_equal(files.files.len, 0);
	json_decref(document);

	/* A library: no port and nothing to start. */
	document = analyze_fixture("python-setuptools-lib");
	err_clear(&e);
	assert_int_equal(generate(document, "kubernetes", NULL, &files, &e), GEN_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "no server to deploy"));
	json_decref(document);

	document = json_pack("{s:s, s:[]}", "schema", "ampel.analysis/v1", "projects");
	err_clear(&e);
	assert_int_equal(generate(document, "flyio", NULL, &files, &e), GEN_UNSUPPORTED);
	assert_int_equal(files.files.len, 0);
	json_decref(document);
}

static void test_monorepo_project(void **state)
{
	(void)state;
	json_t *document = analyze_fixture("monorepo-npm-workspaces");
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(generate(document, "flyio", "apps/web", &files, &e), 0);
	const struct gen_file *toml = gen_files_find(&files, "apps/web/fly.toml");
	assert_non_null(toml);
	assert_non_null(strstr(toml->content, "internal_port = 3000"));
	const struct gen_file *wf = gen_files_find(&files, ".github/workflows/deploy-web.yml");
	assert_non_null(wf);
	assert_non_null(strstr(wf->content, "working-directory: apps/web"));
	gen_files_free(&files);
	json_decref(document);
}

/* Credential-looking inputs only ever take a secrets reference. */
static void check_secret_references(const char *text)
{
	static const char *const keys[] = { " token: ", " password: ", " kubeconfig: ",
					    " role-to-assume: ", " client-id: " };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t len = strlen(keys[k]);
		for (const char *at = strstr(text, keys[k]); at; at = strstr(at + len, keys[k])) {
			if (!str_starts_with(at + len, "${{ secrets."))
				fail_msg("%.60s: not a secrets reference", at);
		}
	}
}

/* Every secret is referenced by name; no value reaches a file. */
static void test_no_secret_values(void **state)
{
	(void)state;
	setenv("FLY_API_TOKEN", "fo1_do-not-leak-this", 1);
	setenv("DATABASE_URL", "postgres://user:hunter2@db/app", 1);
	json_t *document = analyze_fixture("node-express");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		assert_int_equal(generate(document, targets[i], NULL, &files, &e), 0);
		char *text = render_files(&files);
		assert_null(strstr(text, "do-not-leak"));
		assert_null(strstr(text, "hunter2"));
		check_secret_references(text);
		assert_non_null(strstr(text, "Secrets to set"));
		free(text);
		gen_files_free(&files);
	}
	json_decref(document);
	unsetenv("FLY_API_TOKEN");
	unsetenv("DATABASE_URL");
}

static char temp_root[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_providers(const char *dir, const char *text)
{
	struct buf path = BUF_INIT, content = BUF_INIT;
	struct err e = ERR_INIT;
	buf_addf(&path, "%s/deployment-providers.yaml", dir);
	buf_adds(&content, text);
	assert_int_equal(buf_write_file(&content, path.data, &e), 0);
	buf_free(&path);
	buf_free(&content);
}

static const char good_target[] = "version: 1\n"
				  "targets:\n"
				  "  - id: flyio\n"
				  "    name: Fly.io\n"
				  "    api_base: https://api.machines.dev/v1\n"
				  "    docs: https://fly.io/docs/\n"
				  "    default_region: iad\n"
				  "    regions: [iad]\n"
				  "    credentials:\n"
				  "      - name: FLY_API_TOKEN\n"
				  "        label: token\n"
				  "        type: %s\n"
				  "        required: true\n"
				  "        pattern: '%s'\n"
				  "    defaults:\n"
				  "      %s: {port: 8080, memory: 256, cpu: \"1\"}\n";

/* Loads text as the providers file and expects an error containing want. */
static void expect_catalog_error(const char *type, const char *pattern, const char *language,
				 const char *want)
{
	char dir[] = "/tmp/ampel-cd-config-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct buf text = BUF_INIT;
	buf_addf(&text, good_target, type, pattern, language);
	write_providers(dir, text.data);
	embed_set_override_dir(dir);
	json_t *document = analyze_fixture("node-express");
	struct gen_files files = GEN_FILES_INIT;
	struct err e = ERR_INIT;
	int rc = generate(document, "flyio", NULL, &files, &e);
	embed_set_override_dir(NULL);
	if (!want) {
		assert_int_equal(rc, 0);
	} else {
		assert_int_equal(rc, -1);
		if (!strstr(e.msg, want))
			fail_msg("want '%s' in: %s", want, e.msg);
		assert_int_equal(files.files.len, 0);
	}
	gen_files_free(&files);
	json_decref(document);
	buf_free(&text);
	remove_tree(dir);
}

static void test_catalog_validation(void **state)
{
	(void)state;
	expect_catalog_error("api_token", "^fo1_", "default", NULL);
	expect_catalog_error("password", "^fo1_", "default",
			     "deployment-providers.yaml:12:15: target 'flyio' credential "
			     "'FLY_API_TOKEN': type 'password' is not one of");
	expect_catalog_error("api_token", "^(fo1_", "default",
			     "deployment-providers.yaml:14:18: target 'flyio' credential "
			     "'FLY_API_TOKEN': pattern at offset");
	expect_catalog_error("api_token", "^fo1_", "javascript",
			     "deployment-providers.yaml:16:7: target 'flyio': defaults need a "
			     "'default' entry");
}

static void test_embedded_catalog_loads(void **state)
{
	(void)state;
	/* Every target of the shipped file generates: the file is valid and complete. */
	json_t *document = analyze_fixture("go-gin");
	for (size_t i = 0; i < TARGET_COUNT; i++) {
		struct gen_files files = GEN_FILES_INIT;
		struct err e = ERR_INIT;
		if (generate(document, targets[i], NULL, &files, &e) != 0)
			fail_msg("%s: %s", targets[i], e.msg);
		gen_files_free(&files);
	}
	json_decref(document);
}

static const char *shared_dir(void)
{
	const char *dir = getenv("AMPEL_SHARED_DIR");
	return dir ? dir : AMPEL_SOURCE_ROOT "/../shared";
}

static void print_line(void *ctx, enum spawn_stream stream, const char *data, size_t len)
{
	(void)stream;
	(void)len;
	struct buf *last = ctx;
	buf_reset(last);
	buf_adds(last, data);
	if (str_starts_with(data, "FAIL "))
		fprintf(stderr, "%s\n", data);
}

/* The files of several fixtures for every target, through the real validators. */
static void test_external_validators(void **state)
{
	(void)state;
	struct buf script = BUF_INIT;
	buf_addf(&script, "%s/validators/validate-generated.sh", shared_dir());
	if (access(script.data, X_OK) != 0)
		fail_msg("validators not found: %s (set AMPEL_SHARED_DIR)", script.data);
	static const char *const fixtures[] = {
		"node-express",		  "python-fastapi-uv", "go-gin",
		"java-spring-maven",	  "ruby-rails",	       "rust-axum",
		"monorepo-npm-workspaces"
	};
	snprintf(temp_root, sizeof(temp_root), "/tmp/ampel-cd-validate-XXXXXX");
	assert_non_null(mkdtemp(temp_root));
	int written = 0;
	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
		json_t *document = analyze_fixture(fixtures[f]);
		for (size_t t = 0; t < 4 * TARGET_COUNT; t++) {
			struct gen_files files = GEN_FILES_INIT;
			struct err e = ERR_INIT;
			enum ci_provider provider = (enum ci_provider)(t / TARGET_COUNT);
			const char *target = targets[t % TARGET_COUNT];
			if (generate_for(document, target, NULL, provider, &files, &e) != 0)
				fail_msg("%s %s %s: %s", fixtures[f], target,
					 provider_names[provider], e.msg);
			struct buf dir = BUF_INIT;
			buf_addf(&dir, "%s/%s.%s.%s", temp_root, fixtures[f], target,
				 provider_names[provider]);
			assert_int_equal(mkdir(dir.data, 0755), 0);
			if (gen_files_write(&files, dir.data, false, &e) < 0)
				fail_msg("%s", e.msg);
			written += (int)files.files.len;
			buf_free(&dir);
			gen_files_free(&files);
		}
		json_decref(document);
	}
	const char *argv[] = { script.data, temp_root, NULL };
	struct buf last = BUF_INIT;
	struct spawn_options options = { .argv = argv,
					 .stderr_to = SPAWN_DEVNULL,
					 .on_output = print_line,
					 .output_ctx = &last,
					 .timeout_ms = 600000 };
	struct spawn_result result = { 0 };
	struct err e = ERR_INIT;
	assert_int_equal(spawn_run(&options, &result, &e), 0);
	printf("validate-generated.sh (%d files): %s\n", written, last.data);
	if (result.exit_code != 0)
		fail_msg("validators failed (files kept in %s): %s", temp_root, last.data);
	remove_tree(temp_root);
	buf_free(&last);
	buf_free(&script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_node_express),
		cmocka_unit_test(test_golden_node_express_gitlab),
		cmocka_unit_test(test_gitlab_release_process),
		cmocka_unit_test(test_golden_node_express_bitbucket),
		cmocka_unit_test(test_bitbucket_release_process),
		cmocka_unit_test(test_golden_node_express_jenkins),
		cmocka_unit_test(test_jenkins_release_process),
		cmocka_unit_test(test_golden_python_fastapi_uv),
		cmocka_unit_test(test_golden_go_gin_kubernetes),
		cmocka_unit_test(test_files_per_target),
		cmocka_unit_test(test_workflow_release_process),
		cmocka_unit_test(test_kubernetes_manifests),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_monorepo_project),
		cmocka_unit_test(test_no_secret_values),
		cmocka_unit_test(test_catalog_validation),
		cmocka_unit_test(test_embedded_catalog_loads),
		cmocka_unit_test(test_external_validators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
