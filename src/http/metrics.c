#include "http/metrics.h"

#include "util/buf.h"
#include "util/map.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds; the usual web-latency buckets (Prometheus client defaults). */
static const double latency_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
enum { LATENCY_BUCKET_COUNT = sizeof(latency_buckets) / sizeof(latency_buckets[0]) };

/* Requests of one method, route and status. */
struct request_series {
	char *method;
	char *route;
	int status;
	uint64_t count;
};

/* Latency and bytes of one method and route. */
struct latency_series {
	char *method;
	char *route;
	uint64_t buckets[LATENCY_BUCKET_COUNT]; /* not cumulative; summed at render */
	uint64_t count;
	double sum;
	uint64_t bytes;
};

struct collector {
	http_metrics_collect_fn *collect;
	void *user;
};

struct http_metrics {
	pthread_mutex_t lock;
	struct map *requests;  /* "method route status" -> struct request_series */
	struct map *latencies; /* "method route" -> struct latency_series */
	struct vec collectors;
	atomic_long in_flight;
};

struct http_metrics *http_metrics_new(void)
{
	struct http_metrics *m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->requests = map_new();
	m->latencies = map_new();
	atomic_init(&m->in_flight, 0);
	return m;
}

static void request_series_free(void *item)
{
	struct request_series *s = item;
	free(s->method);
	free(s->route);
	free(s);
}

static void latency_series_free(void *item)
{
	struct latency_series *s = item;
	free(s->method);
	free(s->route);
	free(s);
}

void http_metrics_free(struct http_metrics *metrics)
{
	if (!metrics)
		return;
	map_free(metrics->requests, request_series_free);
	map_free(metrics->latencies, latency_series_free);
	vec_free(&metrics->collectors, free);
	pthread_mutex_destroy(&metrics->lock);
	free(metrics);
}

/* Unmatched paths are one series, or every scanner's probe would be a new one. */
static const char *route_label(const char *route)
{
	return route ? route : "unmatched";
}

/* Clients choose the method string; only the known ones become label values. */
static const char *method_label(const char *method)
{
	static const char *const known[] = { "GET",   "HEAD",	"POST",	  "PUT",
					     "PATCH", "DELETE", "OPTIONS" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(method, known[i]) == 0)
			return known[i];
	}
	return "OTHER";
}

void http_metrics_observe_request(struct http_metrics *metrics, const char *method,
				  const char *route, int status, size_t bytes, double seconds)
{
	route = route_label(route);
	method = method_label(method);
	struct buf key = BUF_INIT;
	buf_addf(&key, "%s %s %d", method, route, status);
	pthread_mutex_lock(&metrics->lock);
	struct request_series *r = map_get(metrics->requests, key.data);
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->method = xstrdup(method);
		r->route = xstrdup(route);
		r->status = status;
		map_put(metrics->requests, key.data, r);
	}
	r->count++;
	buf_reset(&key);
	buf_addf(&key, "%s %s", method, route);
	struct latency_series *l = map_get(metrics->latencies, key.data);
	if (!l) {
		l = xcalloc(1, sizeof(*l));
		l->method = xstrdup(method);
		l->route = xstrdup(route);
		map_put(metrics->latencies, key.data, l);
	}
	for (int i = 0; i < LATENCY_BUCKET_COUNT; i++) {
		if (seconds <= latency_buckets[i]) {
			l->buckets[i]++;
			break;
		}
	}
	l->count++;
	l->sum += seconds;
	l->bytes += bytes;
	pthread_mutex_unlock(&metrics->lock);
	buf_free(&key);
}

void http_metrics_add_in_flight(struct http_metrics *metrics, int delta)
{
	atomic_fetch_add(&metrics->in_flight, delta);
}

void http_metrics_add_collector(struct http_metrics *metrics, http_metrics_collect_fn *collect,
				void *user)
{
	struct collector *c = xmalloc(sizeof(*c));
	c->collect = collect;
	c->user = user;
	pthread_mutex_lock(&metrics->lock);
	vec_push(&metrics->collectors, c);
	pthread_mutex_unlock(&metrics->lock);
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void add_escaped(struct buf *out, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_adds(out, "\\\\");
		else if (*s == '\n')
			buf_adds(out, "\\n");
		else if (*s == '"' && quote)
			buf_adds(out, "\\\"");
		else
			buf_addch(out, *s);
	}
}

void http_metrics_write_family(struct buf *out, const char *name, const char *type,
			       const char *help)
{
	buf_addf(out, "# HELP %s ", name);
	add_escaped(out, help ? help : "", 0);
	buf_addf(out, "\n# TYPE %s %s\n", name, type);
}

static void add_value(struct buf *out, double value)
{
	if (isnan(value))
		buf_adds(out, "NaN");
	else if (isinf(value))
		buf_adds(out, value > 0 ? "+Inf" : "-Inf");
	else if (value == floor(value) && fabs(value) < 1e15)
		buf_addf(out, "%.0f", value);
	else
		buf_addf(out, "%.17g", value);
}

void http_metrics_write_sample(struct buf *out, const char *name, const char *const *labels,
			       double value)
{
	buf_adds(out, name);
	if (labels && labels[0]) {
		buf_addch(out, '{');
		for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
			if (i)
				buf_addch(out, ',');
			buf_addf(out, "%s=\"", labels[i]);
			add_escaped(out, labels[i + 1], 1);
			buf_addch(out, '"');
		}
		buf_addch(out, '}');
	}
	buf_addch(out, ' ');
	add_value(out, value);
	buf_addch(out, '\n');
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Map keys sorted, so that a scrape reads the same whatever order requests came in. */
static void sorted_keys(const struct map *m, struct vec *out)
{
	const char *key;
	void *value;
	for (size_t i = 0; map_next(m, &i, &key, &value);)
		vec_push(out, (void *)key);
	vec_sort(out, compare_keys);
}

static void render_requests(struct http_metrics *m, struct buf *out)
{
	struct vec keys = VEC_INIT;
	sorted_keys(m->requests, &keys);
	http_metrics_write_family(out, "ampel_http_requests_total", "counter",
				  "HTTP requests by method, route pattern and status.");
	for (size_t i = 0; i < keys.len; i++) {
		const struct request_series *s = map_get(m->requests, keys.items[i]);
		char status[16];
		snprintf(status, sizeof(status), "%d", s->status);
		const char *labels[] = { "method", s->method, "route", s->route,
					 "status", status,    NULL };
		http_metrics_write_sample(out, "ampel_http_requests_total", labels,
					  (double)s->count);
	}
	vec_free(&keys, NULL);
}

static void render_latencies(struct http_metrics *m, struct buf *out)
{
	struct vec keys = VEC_INIT;
	sorted_keys(m->latencies, &keys);
	http_metrics_write_family(out, "ampel_http_request_duration_seconds", "histogram",
				  "Time from the first byte of a request to the last byte of its "
				  "response, by method and route pattern.");
	for (size_t i = 0; i < keys.len; i++) {
		const struct latency_series *s = map_get(m->latencies, keys.items[i]);
		uint64_t cumulative = 0;
		char le[32];
		for (int b = 0; b < LATENCY_BUCKET_COUNT; b++) {
			cumulative += s->buckets[b];
			snprintf(le, sizeof(le), "%g", latency_buckets[b]);
			const char *labels[] = { "method", s->method, "route", s->route,
						 "le",	   le,	      NULL };
			http_metrics_write_sample(out, "ampel_http_request_duration_seconds_bucket",
						  labels, (double)cumulative);
		}
		const char *inf[] = { "method", s->method, "route", s->route, "le", "+Inf", NULL };
		http_metrics_write_sample(out, "ampel_http_request_duration_seconds_bucket", inf,
					  (double)s->count);
		const char *labels[] = { "method", s->method, "route", s->route, NULL };
		http_metrics_write_sample(out, "ampel_http_request_duration_seconds_sum", labels,
					  s->sum);
		http_metrics_write_sample(out, "ampel_http_request_duration_seconds_count", labels,
					  (double)s->count);
	}
	http_metrics_write_family(out, "ampel_http_response_bytes_total", "counter",
				  "Response body bytes sent, by method and route pattern.");
	for (size_t i = 0; i < keys.len; i++) {
		const struct latency_series *s = map_get(m->latencies, keys.items[i]);
		const char *labels[] = { "method", s->method, "route", s->route, NULL };
		http_metrics_write_sample(out, "ampel_http_response_bytes_total", labels,
					  (double)s->bytes);
	}
	vec_free(&keys, NULL);
}

void http_metrics_render(struct http_metrics *metrics, struct buf *out)
{
	pthread_mutex_lock(&metrics->lock);
	render_requests(metrics, out);
	render_latencies(metrics, out);
	/* Copied so that collectors run unlocked: they may be slow (a database query). */
	struct collector *collectors = NULL;
	size_t count = metrics->collectors.len;
	if (count) {
		collectors = xcalloc(count, sizeof(*collectors));
		for (size_t i = 0; i < count; i++)
			collectors[i] = *(struct collector *)metrics->collectors.items[i];
	}
	pthread_mutex_unlock(&metrics->lock);
	http_metrics_write_family(out, "ampel_http_requests_in_flight", "gauge",
				  "HTTP requests being handled now.");
	http_metrics_write_sample(out, "ampel_http_requests_in_flight", NULL,
				  (double)atomic_load(&metrics->in_flight));
	for (size_t i = 0; i < count; i++)
		collectors[i].collect(out, collectors[i].user);
	free(collectors);
}
