/*
 * ampel serve: the platform server.
 *
 * Opens the store (SQLite under the data directory unless a PostgreSQL URL
 * is given), applies the migrations, and serves HTTP until SIGTERM or
 * SIGINT, then stops accepting, lets in-flight requests finish and hands
 * back the job leases this server holds. Library modules do the work
 * (src/store, src/http); this file wires them and owns the process.
 */
#include "cmd/cmd.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "http/metrics.h"
#include "http/router.h"
#include "api/api.h"
#include "api/audit.h"
#include "api/auth.h"
#include "api/secrets.h"
#include "http/server.h"
#include "store/jobs.h"
#include "store/store.h"
#include "store/workers.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/err.h"
#include "util/log.h"

const char cmd_serve_usage[] =
	"usage: ampel serve [--listen ADDR:PORT] [--data DIR] [--database URL]\n"
	"                   [--workers N] [--job-lease-seconds N]\n"
	"\n"
	"Runs the platform server: the HTTP API under /api/v1 (its OpenAPI document\n"
	"at /api/v1/openapi.json), /health, /ready and /metrics. With no settings it\n"
	"listens on 127.0.0.1:8080 and keeps a SQLite database under ./data.\n"
	"SIGTERM or SIGINT stops it gracefully.\n"
	"\n"
	"Options (also settings: listen, data_dir, database_url, workers,\n"
	"job_lease_seconds, or AMPEL_LISTEN, AMPEL_DATA_DIR, AMPEL_DATABASE_URL,\n"
	"AMPEL_WORKERS, AMPEL_JOB_LEASE_SECONDS):\n"
	"  --listen ADDR:PORT       where to listen (port 0: any free port, printed)\n"
	"  --data DIR               data directory (database, repositories, logs)\n"
	"  --database URL           postgres://… to use PostgreSQL instead of SQLite\n"
	"  --workers N              threads running background jobs such as clones\n"
	"                           (default 2; 0: this server runs no jobs)\n"
	"  --job-lease-seconds N    how long a job stays taken without a heartbeat\n"
	"                           (default 60): after a crash, the job runs again\n"
	"                           on any server once its lease has run out\n"
	"  -h, --help               show this help\n";

/* The server a signal stops; set once it runs. */
static struct http_server *running_server;

static void on_stop_signal(int signal_number)
{
	(void)signal_number;
	if (running_server)
		http_server_request_stop(running_server);
}

struct serve_state {
	struct store *store;
	struct jobs *jobs;
	struct workers *workers;
	char worker[64];
};

/* Ready: the database answers and every migration this binary knows is applied. */
static int serve_ready(void *user, struct err *e)
{
	struct serve_state *state = user;
	int applied = 0, known = 0;
	if (store_ping(state->store, e) < 0 ||
	    store_schema_version(state->store, &applied, &known, e) < 0)
		return -1;
	if (applied < known)
		return err_set(e, "database schema at version %d, this binary needs %d", applied,
			       known);
	return 0;
}

static void collect_store_metrics(struct buf *out, void *user)
{
	struct serve_state *state = user;
	size_t size = 0, in_use = 0;
	store_pool_stats(state->store, &size, &in_use);
	http_metrics_write_family(out, "ampel_db_pool_connections", "gauge",
				  "Database connections in the pool, by state.");
	const char *idle_labels[] = { "state", "idle", NULL };
	const char *used_labels[] = { "state", "in_use", NULL };
	http_metrics_write_sample(out, "ampel_db_pool_connections", idle_labels,
				  (double)(size - in_use));
	http_metrics_write_sample(out, "ampel_db_pool_connections", used_labels, (double)in_use);

	struct jobs_counts counts = { 0 };
	struct err e = ERR_INIT;
	if (jobs_count_by_state(state->jobs, &counts, &e) < 0) {
		err_clear(&e);
		return;
	}
	http_metrics_write_family(out, "ampel_jobs", "gauge", "Durable jobs, by state.");
	const struct {
		const char *state;
		int64_t count;
	} by_state[] = { { "queued", counts.queued },
			 { "running", counts.running },
			 { "done", counts.done },
			 { "dead", counts.dead } };
	for (size_t i = 0; i < sizeof(by_state) / sizeof(*by_state); i++) {
		const char *labels[] = { "state", by_state[i].state, NULL };
		http_metrics_write_sample(out, "ampel_jobs", labels, (double)by_state[i].count);
	}
}

/*
 * Once requests are finished, running jobs finish too; the workers hand
 * back the leases they still hold, so the jobs go back to the queue, not
 * to a timeout.
 */
static void stop_workers(void *user)
{
	struct serve_state *state = user;
	workers_stop(state->workers);
}

int cmd_open_store(struct cmd_context *ctx, struct store **out, struct err *e)
{
	const char *database_url = config_get(ctx->config, "database_url");
	struct buf url = BUF_INIT;
	if (database_url && *database_url)
		buf_adds(&url, database_url);
	else /* the store makes the directory */
		buf_addf(&url, "sqlite:%s/ampel.db", config_get(ctx->config, "data_dir"));
	int rc = store_open(out, url.data, e);
	buf_free(&url);
	if (rc == 0 && store_migrate(*out, e) < 0) {
		store_close(*out);
		*out = NULL;
		rc = -1;
	}
	return rc;
}

static void wipe_password(char *password)
{
	if (password) {
		sodium_memzero(password, strlen(password));
		free(password);
	}
}

static int serve(struct cmd_context *ctx)
{
	struct err e = ERR_INIT;
	struct serve_state state = { 0 };
	snprintf(state.worker, sizeof(state.worker), "serve-%ld", (long)getpid());
	if (cmd_open_store(ctx, &state.store, &e) < 0)
		return cmd_fail("%s", e.msg);
	state.jobs = jobs_new(state.store, NULL);
	long threads = config_get_int(ctx->config, "workers");
	struct workers_options worker_options = {
		.worker = state.worker,
		.threads = threads > 0 ? (int)threads : 1,
		.lease_seconds = (int)config_get_int(ctx->config, "job_lease_seconds"),
	};
	state.workers = workers_new(state.jobs, &worker_options);
	struct api_context api = { .store = state.store,
				   .jobs = state.jobs,
				   .workers = state.workers,
				   .data_dir = config_get(ctx->config, "data_dir") };
	/* The master key and the first admin exist before the first request. */
	char *admin_password = NULL;
	if (secrets_check_master_key(&api, &e) < 0 ||
	    api_bootstrap_admin(&api, &admin_password, &e) < 0) {
		workers_free(state.workers);
		jobs_free(state.jobs);
		store_close(state.store);
		return cmd_fail("%s", e.msg);
	}

	struct http_router *router = http_router_new();
	struct http_metrics *metrics = http_metrics_new();
	http_metrics_add_collector(metrics, collect_store_metrics, &state);
	struct http_system_routes system = {
		.ready = serve_ready,
		.ready_user = &state,
		.metrics = metrics,
		.openapi = { .title = "Ampel", .version = AMPEL_VERSION },
	};
	struct http_server_options options = { .listen = config_get(ctx->config, "listen"),
					       .router = router,
					       .metrics = metrics };
	struct http_server *server = NULL;
	int status = EXIT_OK;
	if (http_register_system_routes(router, &system, &e) < 0 ||
	    api_register_all(router, &api, &e) < 0 ||
	    api_register_workers(state.workers, &api, &e) < 0 ||
	    (threads > 0 && workers_start(state.workers, &e) < 0) ||
	    http_server_start(&server, &options, &e) < 0) {
		status = cmd_fail("%s", e.msg);
	} else {
		http_server_on_shutdown(server, stop_workers, &state);
		running_server = server;
		struct sigaction action = { .sa_handler = on_stop_signal };
		sigemptyset(&action.sa_mask);
		sigaction(SIGTERM, &action, NULL);
		sigaction(SIGINT, &action, NULL);
		printf("ampel: serving on http://%s (database: %s)\n", http_server_address(server),
		       store_describe(state.store));
		if (admin_password)
			printf("ampel: first start: log in as 'admin' with password %s (shown "
			       "once;\n"
			       "       POST /api/v1/auth/login; more users: ampel admin "
			       "create-user)\n",
			       admin_password);
		else
			printf("ampel: log in with POST /api/v1/auth/login (a new user or a "
			       "forgotten\n"
			       "       password: ampel admin create-user NAME --email E "
			       "--admin)\n");
		fflush(stdout);
		wipe_password(admin_password);
		admin_password = NULL;
		http_server_wait(server);
		if (http_server_stop(server, 10000, &e) < 0) {
			log_warn("serve", "stopped with requests still running", "error", e.msg);
			err_clear(&e);
		}
		running_server = NULL;
		http_server_free(server);
		printf("ampel: stopped\n");
	}
	wipe_password(admin_password);
	workers_free(state.workers);
	http_router_free(router);
	http_metrics_free(metrics);
	jobs_free(state.jobs);
	store_close(state.store);
	return status;
}

int cmd_serve(int argc, char **argv, struct cmd_context *ctx)
{
	enum { OPT_LISTEN = 256, OPT_DATA, OPT_DATABASE, OPT_WORKERS, OPT_LEASE };
	static const struct option long_options[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "database", required_argument, NULL, OPT_DATABASE },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "job-lease-seconds", required_argument, NULL, OPT_LEASE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const keys[] = { [OPT_LISTEN - OPT_LISTEN] = "listen",
					    [OPT_DATA - OPT_LISTEN] = "data_dir",
					    [OPT_DATABASE - OPT_LISTEN] = "database_url",
					    [OPT_WORKERS - OPT_LISTEN] = "workers",
					    [OPT_LEASE - OPT_LISTEN] = "job_lease_seconds" };
	static const char *const flags[] = { "--listen", "--data", "--database", "--workers",
					     "--job-lease-seconds" };
	int opt;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		struct err e = ERR_INIT;
		switch (opt) {
		case OPT_LISTEN:
		case OPT_DATA:
		case OPT_DATABASE:
		case OPT_WORKERS:
		case OPT_LEASE:
			if (config_set(ctx->config, keys[opt - OPT_LISTEN], optarg,
				       flags[opt - OPT_LISTEN], &e) < 0) {
				int status = cmd_usage_error("serve", "%s", e.msg);
				err_clear(&e);
				return status;
			}
			break;
		case 'h':
			fputs(cmd_serve_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error("serve", "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	return serve(ctx);
}
