/* Being written (issue 6): see workers.h. */
#include "store/workers.h"

#include <stddef.h>

struct workers *workers_new(struct jobs *jobs, const struct workers_options *options)
{
	(void)jobs;
	(void)options;
	return NULL;
}

int workers_add_handler(struct workers *workers, const char *kind, workers_handler_fn *handler,
			void *user, struct err *e)
{
	(void)workers;
	(void)kind;
	(void)handler;
	(void)user;
	(void)e;
	return 0;
}

int workers_start(struct workers *workers, struct err *e)
{
	(void)workers;
	(void)e;
	return 0;
}

void workers_wake(struct workers *workers)
{
	(void)workers;
}

void workers_stop(struct workers *workers)
{
	(void)workers;
}

void workers_free(struct workers *workers)
{
	(void)workers;
}
