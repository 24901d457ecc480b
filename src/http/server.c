#include "http/server.h"

#include "http/metrics.h"
#include "http/openapi.h"
#include "http/response.h"
#include "http/router.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	DEFAULT_THREADS = 4,
	DEFAULT_MAX_BODY = 1024 * 1024,
	DEFAULT_IDLE_TIMEOUT = 30,
	DEFAULT_REQUEST_TIMEOUT = 60,
	DEFAULT_MAX_CONNECTIONS = 1000,
	DEFAULT_FREE_GRACE_MS = 10000,
	REQUEST_ID_MAX = 64,
};

struct shutdown_hook {
	http_shutdown_fn *hook;
	void *user;
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_router *router;
	struct http_metrics *metrics;
	size_t max_body;
	unsigned request_timeout;
	char address[INET6_ADDRSTRLEN + 16];
	unsigned short port;
	atomic_bool draining;
	atomic_bool started; /* libmicrohttpd messages before this explain a failed start */
	bool stopped;
	/* in_flight and its condition: stop waits for the count to reach zero. */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned in_flight;
	int stop_pipe[2];
	struct vec hooks; /* struct shutdown_hook * */
	char start_error[256];
};

/* One request, from its headers to the last byte of its response. */
struct exchange {
	struct timespec start;
	struct arena *arena;
	struct buf body;
	char *method;
	char *path;
	const char *client;
	const char *route;
	char request_id[REQUEST_ID_MAX + 1];
	size_t received; /* body bytes, kept or not */
	int status;
	size_t bytes;
	bool responded;
	bool too_large; /* the body is being dropped; 413 when it ends */
	bool cut_off;	/* closed mid-body without an answer */
};

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A caller's id is kept (tracing through proxies) when it is short and tame. */
static bool request_id_acceptable(const char *id)
{
	size_t len = id ? strlen(id) : 0;
	return len > 0 && len <= REQUEST_ID_MAX &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
		       len;
}

static void request_id_generate(char out[REQUEST_ID_MAX + 1])
{
	static atomic_uint_fast64_t fallback_counter;
	unsigned char bytes[16];
	if (getrandom(bytes, sizeof(bytes), GRND_NONBLOCK) != (ssize_t)sizeof(bytes)) {
		/* Unique is what matters here, not unpredictable. */
		uint64_t n = atomic_fetch_add(&fallback_counter, 1) + 1;
		uint64_t t = (uint64_t)time(NULL);
		memcpy(bytes, &t, sizeof(t));
		memcpy(bytes + 8, &n, sizeof(n));
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static const char *client_address(struct MHD_Connection *conn, struct arena *arena)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char text[INET6_ADDRSTRLEN] = "";
	if (info && info->client_addr) {
		const struct sockaddr *sa = info->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
				  sizeof(text));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, text,
				  sizeof(text));
	}
	return arena_strdup(arena, text);
}

static struct exchange *exchange_new(struct MHD_Connection *conn, const char *url,
				     const char *method)
{
	struct exchange *x = xcalloc(1, sizeof(*x));
	clock_gettime(CLOCK_MONOTONIC, &x->start);
	x->arena = arena_new();
	buf_init(&x->body);
	x->method = arena_strdup(x->arena, method);
	x->path = arena_strdup(x->arena, url);
	x->client = client_address(conn, x->arena);
	const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	if (request_id_acceptable(given))
		snprintf(x->request_id, sizeof(x->request_id), "%s", given);
	else
		request_id_generate(x->request_id);
	return x;
}

static void exchange_free(struct exchange *x)
{
	buf_free(&x->body);
	arena_free(x->arena);
	free(x);
}

static bool path_is_api(const char *path)
{
	return strcmp(path, "/api") == 0 || str_starts_with(path, "/api/");
}

static bool content_type_is_html(const char *type)
{
	return type && str_eq_icase_n(type, strcspn(type, ";"), "text/html", 9);
}

static void set_default_header(struct http_response *res, const char *name, const char *value)
{
	if (!http_response_header(res, name))
		http_response_set_header(res, name, value);
}

/* Headers every response carries; a handler's own value wins where it set one. */
static void response_add_standard_headers(struct http_response *res, const struct exchange *x,
					  bool draining)
{
	set_default_header(res, "X-Content-Type-Options", "nosniff");
	set_default_header(res, "X-Frame-Options", "DENY");
	set_default_header(res, "Referrer-Policy", "no-referrer");
	if (content_type_is_html(res->content_type))
		set_default_header(res, "Content-Security-Policy",
				   "default-src 'self'; object-src 'none'; base-uri 'none'; "
				   "frame-ancestors 'none'; form-action 'self'");
	else
		set_default_header(res, "Content-Security-Policy",
				   "default-src 'none'; frame-ancestors 'none'; sandbox");
	if (path_is_api(x->path))
		set_default_header(res, "Cache-Control", "no-store");
	http_response_set_header(res, "X-Request-Id", x->request_id);
	if (draining)
		http_response_set_header(res, "Connection", "close");
}

static void free_body(void *data)
{
	free(data);
}

/* Sends res (consumed) for x; the access log line is written when it completes. */
static enum MHD_Result exchange_respond(struct http_server *s, struct MHD_Connection *conn,
					struct exchange *x, struct http_response res)
{
	if (res.status < 100 || res.status > 599) {
		log_error("http", "handler returned an invalid status", "route", x->route,
			  "request_id", x->request_id);
		http_response_free(&res);
		res = http_response_error(500, "internal error (request %s)", x->request_id);
	}
	response_add_standard_headers(&res, x, atomic_load(&s->draining));
	size_t len = res.body.len;
	char *data = buf_detach(&res.body);
	struct MHD_Response *r =
		MHD_create_response_from_buffer_with_free_callback(len, data, free_body);
	if (!r) {
		free(data);
		http_response_free(&res);
		return MHD_NO;
	}
	if (res.content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type);
	for (size_t i = 0; i < res.headers.len; i++) {
		const struct http_header *h = res.headers.items[i];
		if (MHD_add_response_header(r, h->name, h->value) != MHD_YES)
			log_warn("http", "header refused", "name", h->name, "request_id",
				 x->request_id);
	}
	x->status = res.status;
	x->bytes = len;
	x->responded = true;
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)res.status, r);
	MHD_destroy_response(r);
	http_response_free(&res);
	return ret;
}

struct pair_collector {
	struct vec pairs; /* struct http_pair * in the arena */
	struct arena *arena;
};

static enum MHD_Result collect_pair(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct pair_collector *c = cls;
	struct http_pair *p = arena_alloc(c->arena, sizeof(*p));
	p->name = key ? key : "";
	p->value = value ? value : "";
	vec_push(&c->pairs, p);
	return MHD_YES;
}

static const struct http_pair *collect_values(struct MHD_Connection *conn, enum MHD_ValueKind kind,
					      struct arena *arena, size_t *count)
{
	struct pair_collector c = { .pairs = VEC_INIT, .arena = arena };
	MHD_get_connection_values(conn, kind, collect_pair, &c);
	struct http_pair *out = arena_calloc(arena, c.pairs.len + 1, sizeof(*out));
	for (size_t i = 0; i < c.pairs.len; i++)
		out[i] = *(struct http_pair *)c.pairs.items[i];
	*count = c.pairs.len;
	vec_free(&c.pairs, NULL);
	return out;
}

static enum MHD_Result exchange_dispatch(struct http_server *s, struct MHD_Connection *conn,
					 struct exchange *x)
{
	struct http_request req = {
		.method = x->method,
		.path = x->path,
		.body = buf_cstr(&x->body),
		.body_len = x->body.len,
		.request_id = x->request_id,
		.arena = x->arena,
		.draining = atomic_load(&s->draining),
	};
	req.headers = collect_values(conn, MHD_HEADER_KIND, x->arena, &req.header_count);
	req.query = collect_values(conn, MHD_GET_ARGUMENT_KIND, x->arena, &req.query_count);
	req.client_address = x->client;
	struct http_response res = http_router_dispatch(s->router, &req);
	x->route = req.route;
	return exchange_respond(s, conn, x, res);
}

static struct http_response body_too_large(const struct http_server *s)
{
	return http_response_error(413, "request body is larger than the limit of %zu bytes",
				   s->max_body);
}

static void in_flight_add(struct http_server *s, int delta)
{
	pthread_mutex_lock(&s->lock);
	s->in_flight = (unsigned)((int)s->in_flight + delta);
	if (s->in_flight == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	if (s->metrics)
		http_metrics_add_in_flight(s->metrics, delta);
}

/*
 * How much of a too-large body is read and dropped so that the 413 can be
 * sent: libmicrohttpd only lets a response go out right after the headers
 * or after the whole body, and answering early then closing would reset
 * the connection, destroying the answer unread on the client's side. Past
 * this much the connection is simply closed.
 */
static size_t discard_limit(const struct http_server *s)
{
	size_t floor = 4u * 1024 * 1024;
	return s->max_body > floor / 4 ? s->max_body * 4 : floor;
}

/* Ends a request mid-body without an answer (none can be sent then). */
static enum MHD_Result exchange_cut_off(struct exchange *x, int status)
{
	x->status = status;
	x->cut_off = true;
	return MHD_NO;
}

/*
 * Percent-decoding as libmicrohttpd's own, except for %00: a decoded NUL
 * would cut the C string the router sees ("/users/admin%00x" read as
 * "/users/admin"), so it becomes 0xFF, which no UTF-8 text holds, and the
 * router refuses the request with 400.
 */
static size_t unescape_without_nul(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	size_t len = MHD_http_unescape(s);
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0')
			s[i] = (char)0xff;
	return len;
}

/*
 * libmicrohttpd calls this once with the headers, once per body chunk, and
 * once more when the body is complete (*upload_data_size == 0).
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct exchange *x = *con_cls;
	if (!x) {
		x = exchange_new(conn, url, method);
		*con_cls = x;
		in_flight_add(s, 1);
		const char *length =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		unsigned long long declared = length ? strtoull(length, NULL, 10) : 0;
		if (declared > s->max_body) {
			const char *expect =
				MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
			/* A client waiting for 100 Continue sends nothing when refused now. */
			x->too_large = true;
			if ((expect && str_eq_icase(expect, "100-continue")) ||
			    declared > discard_limit(s))
				return exchange_respond(s, conn, x, body_too_large(s));
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t chunk = *upload_data_size;
		*upload_data_size = 0;
		x->received += chunk;
		/* A body trickling in slower than this ties up a worker: slowloris. */
		if (seconds_since(&x->start) > (double)s->request_timeout)
			return exchange_cut_off(x, 408);
		if (x->received > s->max_body)
			x->too_large = true;
		if (x->too_large) {
			buf_free(&x->body);
			return x->received > discard_limit(s) ? exchange_cut_off(x, 413) : MHD_YES;
		}
		buf_add(&x->body, upload_data, chunk);
		return MHD_YES;
	}
	if (x->responded) /* refused right after the headers */
		return MHD_YES;
	if (x->too_large)
		return exchange_respond(s, conn, x, body_too_large(s));
	return exchange_dispatch(s, conn, x);
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return "ok";
	case MHD_REQUEST_TERMINATED_WITH_ERROR:
		return "closed";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "client_gone";
	default:
		return "error";
	}
}

/* The access log line and the metrics, once per request, when it is over. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct exchange *x = *con_cls;
	if (!x)
		return;
	*con_cls = NULL;
	double seconds = seconds_since(&x->start);
	if (s->metrics && x->status)
		http_metrics_observe_request(s->metrics, x->method, x->route, x->status, x->bytes,
					     seconds);
	char status[16], bytes[32], duration[32];
	snprintf(status, sizeof(status), "%d", x->status);
	snprintf(bytes, sizeof(bytes), "%zu", x->bytes);
	snprintf(duration, sizeof(duration), "%.3f", seconds * 1000.0);
	/* Never the body, the query string or any header: they carry tokens and secrets. */
	log_emit(x->status >= 500 || !x->status ? LOG_WARN : LOG_INFO, "http", "request", "method",
		 x->method, "path", x->path, "route", x->route ? x->route : "", "status", status,
		 "bytes", bytes, "duration_ms", duration, "request_id", x->request_id, "remote",
		 x->client, "outcome", termination_name(toe), (const char *)NULL);
	exchange_free(x);
	in_flight_add(s, -1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char message[256];
	vsnprintf(message, sizeof(message), fmt, ap);
	size_t len = strlen(message);
	while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == '\r'))
		message[--len] = '\0';
	if (!atomic_load(&s->started))
		snprintf(s->start_error, sizeof(s->start_error), "%s", message);
	log_debug("http", "libmicrohttpd", "message", message);
}

/* "127.0.0.1:8080", "[::1]:0", ":8080" (every interface), "localhost:8080". */
static int listen_address_parse(const char *listen, struct sockaddr_storage *out,
				socklen_t *out_len, struct err *e)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon[1] == '\0')
		return err_set(e, "listen address '%s': write it as ADDR:PORT", listen);
	struct buf host = BUF_INIT;
	buf_add(&host, listen, (size_t)(colon - listen));
	if (host.len >= 2 && host.data[0] == '[' && host.data[host.len - 1] == ']') {
		memmove(host.data, host.data + 1, host.len - 2);
		buf_truncate(&host, host.len - 2);
	}
	const char *port = colon + 1;
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    strtoul(port, NULL, 10) > 65535) {
		buf_free(&host);
		return err_set(e, "listen address '%s': the port must be a number up to 65535",
			       listen);
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *found = NULL;
	int rc = getaddrinfo(host.len ? host.data : NULL, port, &hints, &found);
	if (rc != 0 || !found) {
		err_set(e, "listen address '%s': %s", listen, gai_strerror(rc));
		buf_free(&host);
		return -1;
	}
	/* With no host, AI_PASSIVE lists IPv4 first on glibc; that is "every interface". */
	memcpy(out, found->ai_addr, found->ai_addrlen);
	*out_len = found->ai_addrlen;
	freeaddrinfo(found);
	buf_free(&host);
	return 0;
}

int http_server_start(struct http_server **out, const struct http_server_options *options,
		      struct err *e)
{
	*out = NULL;
	if (!options || !options->router)
		return err_set(e, "http server: no router");
	const char *listen = options->listen ? options->listen : HTTP_SERVER_DEFAULT_LISTEN;
	struct sockaddr_storage addr;
	socklen_t addr_len = 0;
	if (listen_address_parse(listen, &addr, &addr_len, e) != 0)
		return -1;
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->router = options->router;
	s->metrics = options->metrics;
	s->max_body = options->max_body_bytes ? options->max_body_bytes : DEFAULT_MAX_BODY;
	s->request_timeout = options->request_timeout_seconds ? options->request_timeout_seconds
							      : DEFAULT_REQUEST_TIMEOUT;
	atomic_init(&s->draining, false);
	atomic_init(&s->started, false);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	if (pipe2(s->stop_pipe, O_CLOEXEC) != 0) {
		err_errno(e, "http server: pipe");
		pthread_cond_destroy(&s->idle);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -1;
	}
	/*
	 * poll(), not epoll: with a thread pool, libmicrohttpd 0.9.75 (Debian 12)
	 * races MHD_quiesce_daemon against each worker to take the listening
	 * socket out of the worker's epoll set, and the loser aborts the
	 * process ("Failed to remove listen FD from epoll set"). With poll a
	 * quiesce only flags the workers and wakes them through their ITC.
	 */
	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	unsigned threads = options->threads ? options->threads : DEFAULT_THREADS;
	unsigned idle = options->idle_timeout_seconds ? options->idle_timeout_seconds
						      : DEFAULT_IDLE_TIMEOUT;
	unsigned max_connections =
		options->max_connections ? options->max_connections : DEFAULT_MAX_CONNECTIONS;
	s->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
		threads, MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_CONNECTION_LIMIT,
		max_connections, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape_without_nul, NULL, MHD_OPTION_END);
	if (!s->daemon) {
		err_set(e, "cannot listen on %s: %s", listen,
			s->start_error[0] ? s->start_error : "libmicrohttpd refused to start");
		http_server_free(s);
		return -1;
	}
	atomic_store(&s->started, true);
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	char host[INET6_ADDRSTRLEN] = "";
	if (addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof(host));
		snprintf(s->address, sizeof(s->address), "[%s]:%u", host, s->port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof(host));
		snprintf(s->address, sizeof(s->address), "%s:%u", host, s->port);
	}
	char thread_count[16];
	snprintf(thread_count, sizeof(thread_count), "%u", threads);
	log_info("http", "listening", "address", s->address, "threads", thread_count);
	*out = s;
	return 0;
}

unsigned short http_server_port(const struct http_server *server)
{
	return server->port;
}

const char *http_server_address(const struct http_server *server)
{
	return server->address;
}

void http_server_on_shutdown(struct http_server *server, http_shutdown_fn *hook, void *user)
{
	struct shutdown_hook *h = xmalloc(sizeof(*h));
	h->hook = hook;
	h->user = user;
	vec_push(&server->hooks, h);
}

void http_server_request_stop(struct http_server *server)
{
	int saved = errno;
	ssize_t n = write(server->stop_pipe[1], "x", 1);
	(void)n; /* a full pipe already holds a stop request */
	errno = saved;
}

void http_server_wait(struct http_server *server)
{
	char c;
	while (read(server->stop_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
}

unsigned http_server_in_flight(const struct http_server *server)
{
	struct http_server *s = (struct http_server *)server;
	pthread_mutex_lock(&s->lock);
	unsigned n = s->in_flight;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Waits until no request is in flight or the deadline; returns how many remain. */
static unsigned wait_for_idle(struct http_server *s, unsigned grace_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += grace_ms / 1000;
	deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->in_flight > 0) {
		if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == ETIMEDOUT)
			break;
	}
	unsigned remaining = s->in_flight;
	pthread_mutex_unlock(&s->lock);
	return remaining;
}

int http_server_stop(struct http_server *server, unsigned grace_ms, struct err *e)
{
	if (!server || server->stopped || !server->daemon)
		return 0;
	struct http_server *s = server;
	atomic_store(&s->draining, true);
	log_info("http", "stopping: no new connections, finishing requests", "address", s->address);
	MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
	/*
	 * libmicrohttpd wants the socket open until it has stopped; shutting it
	 * down makes the kernel refuse new connections meanwhile instead of
	 * queueing them where nobody will accept them.
	 */
	if (listen_fd != MHD_INVALID_SOCKET)
		shutdown(listen_fd, SHUT_RDWR);
	unsigned remaining = wait_for_idle(s, grace_ms);
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	for (size_t i = s->hooks.len; i > 0; i--) {
		const struct shutdown_hook *h = s->hooks.items[i - 1];
		h->hook(h->user);
	}
	s->stopped = true;
	log_info("http", "stopped", "address", s->address);
	if (remaining > 0)
		return err_set(e, "%u request%s still running after %u ms were cut off", remaining,
			       remaining == 1 ? " was" : "s were", grace_ms);
	return 0;
}

void http_server_free(struct http_server *server)
{
	if (!server)
		return;
	if (server->daemon && !server->stopped) {
		struct err e = ERR_INIT;
		if (http_server_stop(server, DEFAULT_FREE_GRACE_MS, &e) != 0)
			log_warn("http", e.msg);
	}
	vec_free(&server->hooks, free);
	close(server->stop_pipe[0]);
	close(server->stop_pipe[1]);
	pthread_cond_destroy(&server->idle);
	pthread_mutex_destroy(&server->lock);
	free(server);
}

/* The built-in routes. */

struct system_context {
	struct http_system_routes system;
	const struct http_router *router;
	/*
	 * The OpenAPI document, written once at its first request: every route
	 * is registered before the server starts, and the document is the same
	 * for each caller.
	 */
	pthread_mutex_t openapi_lock;
	struct buf openapi;
};

static void system_context_free(void *item)
{
	struct system_context *c = item;
	pthread_mutex_destroy(&c->openapi_lock);
	buf_free(&c->openapi);
	free(c);
}

static struct http_response handle_health(struct http_request *req)
{
	return http_response_json(200, json_pack("{s:s}", "status", "ok"));
}

static struct http_response handle_ready(struct http_request *req)
{
	const struct system_context *c = req->user_data;
	struct err e = ERR_INIT;
	if (req->draining)
		err_set(&e, "shutting down");
	else if (c->system.ready && c->system.ready(c->system.ready_user, &e) != 0 &&
		 !err_is_set(&e))
		err_set(&e, "not ready");
	if (!err_is_set(&e))
		return http_response_json(200, json_pack("{s:s}", "status", "ready"));
	json_t *reason = json_string(e.msg);
	if (!reason) /* a driver's message that is not UTF-8 */
		reason = json_string("not ready");
	return http_response_json(503, json_pack("{s:s,s:o,s:{s:s,s:O}}", "status", "unavailable",
						 "reason", reason, "error", "code", "unavailable",
						 "message", reason));
}

static struct http_response handle_metrics(struct http_request *req)
{
	const struct system_context *c = req->user_data;
	struct buf text = BUF_INIT;
	http_metrics_render(c->system.metrics, &text);
	struct http_response res =
		http_response_text(200, HTTP_METRICS_CONTENT_TYPE, text.data, text.len);
	buf_free(&text);
	return res;
}

static struct http_response handle_openapi(struct http_request *req)
{
	struct system_context *c = req->user_data;
	pthread_mutex_lock(&c->openapi_lock);
	if (!c->openapi.len) {
		json_t *document = http_openapi_build(c->router, &c->system.openapi);
		json_write_buf(&c->openapi, document, JSON_WRITE_NEWLINE, NULL);
		json_decref(document);
	}
	struct http_response res =
		http_response_text(200, "application/json", c->openapi.data, c->openapi.len);
	pthread_mutex_unlock(&c->openapi_lock);
	return res;
}

int http_register_system_routes(struct http_router *router, const struct http_system_routes *system,
				struct err *e)
{
	struct system_context *c = xcalloc(1, sizeof(*c));
	if (system)
		c->system = *system;
	c->router = router;
	pthread_mutex_init(&c->openapi_lock, NULL);
	http_router_keep(router, c, system_context_free);
	if (http_router_add(router, "GET /health", handle_health, c,
			    &(struct http_route_meta){ .summary = "Liveness: the process answers",
						       .tags = "system" },
			    e) != 0)
		return -1;
	if (http_router_add(router, "GET /ready", handle_ready, c,
			    &(struct http_route_meta){
				    .summary = "Readiness: the database is reachable and migrated",
				    .tags = "system" },
			    e) != 0)
		return -1;
	if (c->system.metrics &&
	    http_router_add(router, "GET /metrics", handle_metrics, c,
			    &(struct http_route_meta){ .summary = "Prometheus metrics",
						       .tags = "system",
						       .response_type = HTTP_METRICS_CONTENT_TYPE },
			    e) != 0)
		return -1;
	return http_router_add(router, "GET /api/v1/openapi.json", handle_openapi, c,
			       &(struct http_route_meta){ .summary = "This API's OpenAPI document",
							  .tags = "system" },
			       e);
}
