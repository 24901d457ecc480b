/*
 * pg_server: a throw-away PostgreSQL server for tests, on loopback.
 *
 * initdb into a temp dir, postgres on 127.0.0.1 and a free port (its socket
 * in the temp dir too), stopped and deleted at the end. PostgreSQL refuses
 * to run as root, so as root both run as the user `nobody` (fork, setgid,
 * setuid, exec) with the temp dir handed to it. The binaries are found via
 * AMPEL_PG_BINDIR, `pg_config --bindir` or /usr/lib/postgresql/<v>/bin.
 */
#ifndef AMPEL_TESTS_PG_SERVER_H
#define AMPEL_TESTS_PG_SERVER_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct err;

struct pg_server {
	char dir[PATH_MAX]; /* the temp dir: data/, the socket, logs */
	char bindir[PATH_MAX];
	int port;
	pid_t pid;
	int databases; /* created so far, for fresh names */
};

/* Starts the server (about a second and a half); fails with what went wrong. */
int pg_server_start(struct pg_server *server, struct err *e);
/* Stops the server and deletes its directory; safe on a server that never started. */
void pg_server_stop(struct pg_server *server);
/* Creates a new empty database and appends its postgresql:// URL to url. */
int pg_server_create_database(struct pg_server *server, struct buf *url, struct err *e);

#endif
