/*
 * Fuzzes the Makefile and Taskfile readers that analyze uses to find a
 * project's own build and run targets (the first byte picks the reader):
 * any bytes must parse to something queryable or NULL, never crash or loop.
 */
#include "intel/makefile.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	struct makefile *mk = data[0] & 1 ? makefile_from_taskfile(text, size - 1)
					  : makefile_parse(text, size - 1);
	if (!mk)
		return 0;
	static const char *const targets[] = { "build", "run", "start", "all", "test" };
	for (size_t i = 0; i < sizeof(targets) / sizeof(*targets); i++) {
		(void)makefile_target_does(mk, targets[i], COMMAND_BUILD);
		(void)makefile_target_does(mk, targets[i], COMMAND_START);
	}
	const char *goal = makefile_default_goal(mk);
	if (goal)
		(void)makefile_target_does(mk, goal, COMMAND_BUILD);
	makefile_free(mk);
	return 0;
}
