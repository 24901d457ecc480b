#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "intel/makefile.h"

#include <string.h>

static struct makefile *parse(const char *text)
{
	return makefile_parse(text, strlen(text));
}

static void test_default_goal(void **state)
{
	(void)state;
	struct makefile *mk = parse("CC ?= gcc\n.PHONY: all\n%.o: %.c\n\t$(CC) -c $<\n"
				    "all: app\napp: main.o\n\t$(CC) -o $@ $^\n");
	assert_string_equal(makefile_default_goal(mk), "all");
	assert_true(makefile_target_does(mk, ".DEFAULT_GOAL", COMMAND_BUILD));
	assert_false(makefile_target_does(mk, "build", COMMAND_BUILD));
	makefile_free(mk);
	/* A default goal of phases only does not build. */
	mk = parse("all: clean test\nclean:\n\trm -rf out\ntest:\n\tgo test ./...\n");
	assert_false(makefile_target_does(mk, ".DEFAULT_GOAL", COMMAND_BUILD));
	makefile_free(mk);
	/* Only the conventional names (or an explicit .DEFAULT_GOAL) count. */
	mk = parse("subtrees:\n\tgit subtree split -P x\n");
	assert_false(makefile_target_does(mk, ".DEFAULT_GOAL", COMMAND_BUILD));
	makefile_free(mk);
	mk = parse(".DEFAULT_GOAL := app\nhelp:\n\t@echo help\napp:\n\tcc -o app app.c\n");
	assert_string_equal(makefile_default_goal(mk), "app");
	assert_true(makefile_target_does(mk, ".DEFAULT_GOAL", COMMAND_BUILD));
	makefile_free(mk);
}

static void test_targets(void **state)
{
	(void)state;
	struct makefile *mk = parse("build: ## the binary\n"
				    "build: bin/app\n"
				    "bin/app: $(SOURCES)\n"
				    "\tgo build -o $@ \\\n\t  ./cmd/app\n"
				    "run: build\n\t./bin/app\n"
				    "image:\n\tdocker build -t app .\n"
				    "serve:\n\tdocker-compose up -d\n"
				    "ci: ; go build ./... && $(GO) test ./...\n");
	assert_string_equal(makefile_default_goal(mk), "build");
	assert_true(makefile_target_does(mk, "build", COMMAND_BUILD));
	assert_true(makefile_target_does(mk, "run", COMMAND_START));
	assert_false(makefile_target_does(mk, "image", COMMAND_BUILD));
	assert_false(makefile_target_does(mk, "serve", COMMAND_START));
	/* A build that runs the tests is a check, not a build. */
	assert_false(makefile_target_does(mk, "ci", COMMAND_BUILD));
	assert_false(makefile_target_does(mk, "missing", COMMAND_BUILD));
	assert_false(makefile_target_does(NULL, "build", COMMAND_BUILD));
	makefile_free(mk);
	/* Assignments, directives and define blocks are not rules. */
	mk = parse("X := a:b\nifeq ($(X),y)\nendif\ndefine RULE\nfake: x\nendef\n"
		   "target: VAR = 1\n");
	assert_false(makefile_target_does(mk, "fake", COMMAND_BUILD));
	assert_false(makefile_target_does(mk, "X", COMMAND_BUILD));
	assert_false(makefile_target_does(mk, "target", COMMAND_BUILD));
	makefile_free(mk);
	makefile_free(parse(""));
	makefile_free(parse("\\"));
}

static void test_taskfile(void **state)
{
	(void)state;
	static const char text[] = "version: '3'\n"
				   "tasks:\n"
				   "  default:\n"
				   "    cmds:\n"
				   "      - task: install\n"
				   "      - task: build\n"
				   "  install: go mod download\n"
				   "  build:\n"
				   "    desc: Build binary\n"
				   "    cmd: go build -o ./bin/app ./cmd/http/main.go\n"
				   "  dev:\n"
				   "    cmds: [air]\n"
				   "  image:\n"
				   "    cmds:\n"
				   "      - cmd: docker build -t app .\n"
				   "  check:\n"
				   "    deps: [lint]\n"
				   "    cmds: [go test ./...]\n";
	struct makefile *mk = makefile_from_taskfile(text, strlen(text));
	assert_non_null(mk);
	/* `task` alone runs default, which builds through the tasks it calls. */
	assert_string_equal(makefile_default_goal(mk), "default");
	assert_true(makefile_target_does(mk, ".DEFAULT_GOAL", COMMAND_BUILD));
	assert_true(makefile_target_does(mk, "build", COMMAND_BUILD));
	assert_true(makefile_target_does(mk, "dev", COMMAND_START));
	assert_true(makefile_target_does(mk, "install", COMMAND_INSTALL));
	assert_false(makefile_target_does(mk, "image", COMMAND_BUILD));
	assert_false(makefile_target_does(mk, "check", COMMAND_BUILD));
	assert_false(makefile_target_does(mk, "run", COMMAND_START));
	makefile_free(mk);
	/* Not a Taskfile: nothing to weigh. */
	assert_null(makefile_from_taskfile("tasks: [a, b]\n", 14));
	assert_null(makefile_from_taskfile("{", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_goal),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_taskfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
