/*
 * metrics: the server's numbers in Prometheus text exposition format.
 *
 * The server records every request (by method, route pattern and status)
 * here; other parts of the program add their gauges (jobs by state, the
 * database pool) through collectors that are called at scrape time, so
 * /metrics always shows current values without a background thread.
 */
#ifndef AMPEL_HTTP_METRICS_H
#define AMPEL_HTTP_METRICS_H

#include <stddef.h>

struct buf;
struct http_metrics;

struct http_metrics *http_metrics_new(void);
void http_metrics_free(struct http_metrics *metrics);

/* Thread-safe. route is the matched pattern (bounded cardinality) or NULL. */
void http_metrics_observe_request(struct http_metrics *metrics, const char *method,
				  const char *route, int status, size_t bytes, double seconds);
/* delta +1 when a request starts, -1 when it ends. */
void http_metrics_add_in_flight(struct http_metrics *metrics, int delta);

/*
 * A collector appends whole metric families to out with the two writers
 * below; it runs on the scraping request's thread, under no lock of ours.
 */
typedef void http_metrics_collect_fn(struct buf *out, void *user);
void http_metrics_add_collector(struct http_metrics *metrics, http_metrics_collect_fn *collect,
				void *user);

/* The whole exposition: the HTTP families, then every collector's. */
void http_metrics_render(struct http_metrics *metrics, struct buf *out);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram …). */
void http_metrics_write_family(struct buf *out, const char *name, const char *type,
			       const char *help);
/*
 * One sample: name{k="v",…} value. labels alternates names and values and
 * ends with NULL (or is NULL); values are escaped as the format requires.
 */
void http_metrics_write_sample(struct buf *out, const char *name, const char *const *labels,
			       double value);

/* The Content-Type of the exposition. */
#define HTTP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
