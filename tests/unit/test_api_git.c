/*
 * The git runner: URL credentials never reach a message, the server's own
 * GIT_DIR & co. never redirect a call, command-executing transports are
 * refused, and a cancelled call is an error.
 */
#include "api/git.h"

#include "util/buf.h"
#include "util/err.h"

#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char temp_dir[] = "/tmp/ampel-git-XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Makes an empty repository at temp_dir/name; its path in path. */
static void make_repo(const char *name, char path[PATH_MAX])
{
	snprintf(path, PATH_MAX, "%s/%s", temp_dir, name);
	const char *args[] = { "init", "--quiet", path, NULL };
	struct git_call call = { .args = args };
	struct err e = ERR_INIT;
	if (git_run(&call, NULL, NULL, &e) != 0)
		fail_msg("git init: %s", e.msg);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(temp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void test_redact(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "https://robot:s3cret@example.com/team/app.git",
		  "https://robot:***@example.com/team/app.git" },
		{ "https://t0ken@example.com/app.git", "https://***@example.com/app.git" },
		{ "ssh://git:pw@example.com/app.git", "ssh://git:***@example.com/app.git" },
		/* a user name alone is no secret outside http(s) */
		{ "ssh://git@example.com/app.git", "ssh://git@example.com/app.git" },
		{ "git@example.com:team/app.git", "git@example.com:team/app.git" },
		{ "https://example.com/a@b", "https://example.com/a@b" },
		{ "/srv/git/app", "/srv/git/app" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *shown = git_url_redact(cases[i][0]);
		assert_string_equal(shown, cases[i][1]);
		free(shown);
	}
	char *none = git_url_redact(NULL);
	assert_string_equal(none, "");
	free(none);
}

static void test_mask_in_text(void **state)
{
	(void)state;
	struct buf text = BUF_INIT;
	buf_adds(&text, "fatal: unable to access 'https://robot:s3cret@example.com/app.git/': "
			"auth failed for s3cret");
	git_url_mask(&text, "https://robot:s3cret@example.com/app.git");
	assert_string_equal(text.data, "fatal: unable to access 'https://robot:***@example.com/"
				       "app.git/': auth failed for ***");
	buf_free(&text);

	buf_adds(&text, "remote: token t0ken is invalid");
	git_url_mask(&text, "https://t0ken@example.com/app.git");
	assert_string_equal(text.data, "remote: token *** is invalid");
	buf_free(&text);

	buf_adds(&text, "nothing to hide in git@example.com:app.git");
	git_url_mask(&text, "git@example.com:app.git");
	assert_string_equal(text.data, "nothing to hide in git@example.com:app.git");
	buf_free(&text);
}

/* git quotes an unknown branch in its error: the credentials in it are masked. */
static void test_error_masks_credentials(void **state)
{
	(void)state;
	char repo[PATH_MAX];
	make_repo("masked", repo);
	static const char *const urls[] = { "https://robot:s3cret@example.com/app.git",
					    "https://t0ken@example.com/app.git" };
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
		const char *args[] = { "branch", "--delete", urls[i], NULL };
		struct git_call call = { .directory = repo, .args = args, .url = urls[i] };
		struct err e = ERR_INIT;
		assert_int_equal(git_run(&call, NULL, NULL, &e), -1);
		char *shown = git_url_redact(urls[i]);
		assert_non_null(strstr(e.msg, "git branch: exited with status 1: error: branch '"));
		assert_non_null(strstr(e.msg, shown));
		assert_null(strstr(e.msg, "s3cret"));
		assert_null(strstr(e.msg, "t0ken"));
		free(shown);
	}
}

/* The server's own GIT_DIR and GIT_WORK_TREE do not send a call to another repository. */
static void test_server_git_environment_ignored(void **state)
{
	(void)state;
	char mine[PATH_MAX], other[PATH_MAX], other_git[PATH_MAX + 8];
	make_repo("mine", mine);
	make_repo("other", other);
	snprintf(other_git, sizeof(other_git), "%s/.git", other);
	setenv("GIT_DIR", other_git, 1);
	setenv("GIT_WORK_TREE", other, 1);

	char *top = NULL;
	struct err e = ERR_INIT;
	assert_int_equal(git_toplevel(mine, &top, &e), 0);
	char resolved[PATH_MAX];
	assert_non_null(realpath(mine, resolved));
	assert_string_equal(top, resolved);
	free(top);

	const char *args[] = { "rev-parse", "--absolute-git-dir", NULL };
	struct git_call call = { .directory = mine, .args = args };
	struct buf out = BUF_INIT;
	assert_int_equal(git_run(&call, &out, NULL, &e), 0);
	buf_rtrim(&out);
	struct buf expected = BUF_INIT;
	buf_addf(&expected, "%s/.git", resolved);
	assert_string_equal(out.data, expected.data);
	buf_free(&expected);
	buf_free(&out);

	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
}

/* ext:: runs a command: git is never allowed to use it. */
static void test_command_transport_refused(void **state)
{
	(void)state;
	char marker[PATH_MAX], url[PATH_MAX + 64];
	snprintf(marker, sizeof(marker), "%s/ran", temp_dir);
	snprintf(url, sizeof(url), "ext::sh -c touch%% %s", marker);
	/* even when the server's environment allows it */
	setenv("GIT_CONFIG_PARAMETERS", "'protocol.ext.allow'='always'", 1);
	const char *args[] = { "ls-remote", url, NULL };
	struct git_call call = { .args = args };
	struct err e = ERR_INIT;
	assert_int_equal(git_run(&call, NULL, NULL, &e), -1);
	unsetenv("GIT_CONFIG_PARAMETERS");
	assert_non_null(strstr(e.msg, "git ls-remote: exited with status 128: "));
	assert_non_null(strstr(e.msg, "'ext' not allowed"));
	assert_int_equal(access(marker, F_OK), -1);
}

static void test_exit_code_and_cancel(void **state)
{
	(void)state;
	char repo[PATH_MAX];
	make_repo("codes", repo);
	const char *args[] = { "check-ref-format", "refs/heads/a..b", NULL };
	struct git_call call = { .directory = repo, .args = args };
	struct err e = ERR_INIT;
	int code = 0;
	assert_int_equal(git_run(&call, NULL, &code, &e), 0);
	assert_int_equal(code, 1);

	atomic_int stop = 1;
	call.cancel = &stop;
	code = 0;
	assert_int_equal(git_run(&call, NULL, &code, &e), -1);
	assert_string_equal(e.msg,
			    "git check-ref-format: cancelled because the server is stopping");
}

static void test_head_branch(void **state)
{
	(void)state;
	char repo[PATH_MAX];
	make_repo("branch", repo);
	const char *args[] = { "symbolic-ref", "HEAD", "refs/heads/trunk", NULL };
	struct git_call call = { .directory = repo, .args = args };
	struct err e = ERR_INIT;
	assert_int_equal(git_run(&call, NULL, NULL, &e), 0);
	char *branch = git_head_branch(repo);
	assert_string_equal(branch, "trunk");
	free(branch);
	assert_null(git_head_branch(temp_dir)); /* not a repository */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_mask_in_text),
		cmocka_unit_test(test_error_masks_credentials),
		cmocka_unit_test(test_server_git_environment_ignored),
		cmocka_unit_test(test_command_transport_refused),
		cmocka_unit_test(test_exit_code_and_cancel),
		cmocka_unit_test(test_head_branch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
