#include "support/pg_server.h"

#include "util/buf.h"
#include "util/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_USER "ampel"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static bool is_executable(const char *dir, const char *name)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", dir, name);
	bool ok = access(buf_cstr(&path), X_OK) == 0;
	buf_free(&path);
	return ok;
}

static int find_bindir(struct pg_server *server, struct err *e)
{
	const char *env = getenv("AMPEL_PG_BINDIR");
	if (env && *env) {
		snprintf(server->bindir, sizeof(server->bindir), "%s", env);
		if (is_executable(server->bindir, "initdb"))
			return 0;
		return err_set(e, "AMPEL_PG_BINDIR=%s has no initdb", env);
	}
	FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
	if (p) {
		char line[PATH_MAX] = "";
		if (fgets(line, sizeof(line), p))
			line[strcspn(line, "\n")] = '\0';
		pclose(p);
		if (*line && is_executable(line, "initdb") && is_executable(line, "postgres")) {
			snprintf(server->bindir, sizeof(server->bindir), "%s", line);
			return 0;
		}
	}
	glob_t g;
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0 && g.gl_pathc) {
		/* Several versions: the last in name order. */
		snprintf(server->bindir, sizeof(server->bindir), "%s", g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
		*strrchr(server->bindir, '/') = '\0';
		return 0;
	}
	return err_set(e, "no PostgreSQL server binaries: install postgresql (initdb, postgres) "
			  "or set AMPEL_PG_BINDIR");
}

/* The account to run as: ourselves, or `nobody` when we are root. */
static int pick_account(uid_t *uid, gid_t *gid, bool *drop, struct err *e)
{
	*drop = geteuid() == 0;
	*uid = geteuid();
	*gid = getegid();
	if (!*drop)
		return 0;
	const struct passwd *pw = getpwnam("nobody");
	if (!pw)
		return err_set(e, "running as root and there is no user 'nobody' to run "
				  "PostgreSQL as (it refuses to run as root)");
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* fork + (drop to nobody) + exec, output to log_path; returns the pid or -1. */
static pid_t spawn_as(const struct pg_server *server, char *const argv[], const char *log_path,
		      struct err *e)
{
	uid_t uid;
	gid_t gid;
	bool drop;
	if (pick_account(&uid, &gid, &drop, e) != 0)
		return -1;
	int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0) {
		err_errno(e, "cannot create %s", log_path);
		return -1;
	}
	if (drop && fchown(log, uid, gid) != 0) {
		err_errno(e, "cannot hand %s to uid %d", log_path, (int)uid);
		close(log);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		err_errno(e, "fork");
		close(log);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		dup2(log, 1);
		dup2(log, 2);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		if (drop && (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
			_exit(126);
		/* After setuid (which clears it): die with the test, never outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGQUIT);
		if (chdir(server->dir) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(log);
	return pid;
}

static void add_log_tail(struct err *e, const char *log_path)
{
	struct buf text = BUF_INIT;
	struct err ignored = ERR_INIT;
	if (buf_read_file(&text, log_path, 0, &ignored) == 0 && text.len) {
		const char *tail =
			text.len > 600 ? buf_cstr(&text) + text.len - 600 : buf_cstr(&text);
		struct buf message = BUF_INIT;
		buf_addf(&message, "%s; %s ends: %s", e->msg, log_path, tail);
		err_set(e, "%s", buf_cstr(&message));
		buf_free(&message);
	}
	buf_free(&text);
}

static int free_port(struct err *e)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return err_errno(e, "socket");
	struct sockaddr_in addr = { .sin_family = AF_INET };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(addr);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		err_errno(e, "cannot find a free port on 127.0.0.1");
		close(fd);
		return -1;
	}
	close(fd);
	return ntohs(addr.sin_port);
}

static int run_initdb(struct pg_server *server, struct err *e)
{
	struct buf initdb = BUF_INIT, data = BUF_INIT, log = BUF_INIT;
	buf_addf(&initdb, "%s/initdb", server->bindir);
	buf_addf(&data, "%s/data", server->dir);
	buf_addf(&log, "%s/initdb.log", server->dir);
	char *argv[] = { initdb.data,
			 "-D",
			 data.data,
			 "-U",
			 PG_USER,
			 "--auth=trust",
			 "--encoding=UTF8",
			 "--no-locale",
			 "--no-sync",
			 "--no-instructions",
			 NULL };
	int rc = -1;
	pid_t pid = spawn_as(server, argv, buf_cstr(&log), e);
	if (pid > 0) {
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			rc = 0;
		} else {
			err_set(e, "initdb failed (status %d)", status);
			add_log_tail(e, buf_cstr(&log));
		}
	}
	buf_free(&initdb);
	buf_free(&data);
	buf_free(&log);
	return rc;
}

static void connection_string(const struct pg_server *server, const char *db, struct buf *out)
{
	buf_addf(out, "host=127.0.0.1 port=%d user=" PG_USER " dbname=%s connect_timeout=5",
		 server->port, db);
}

/* One attempt on one port; -1 with e set, or 1 when the port was taken. */
static int run_postgres(struct pg_server *server, struct err *e)
{
	int port = free_port(e);
	if (port < 0)
		return -1;
	server->port = port;
	struct buf postgres = BUF_INIT, data = BUF_INIT, log = BUF_INIT, port_text = BUF_INIT;
	buf_addf(&postgres, "%s/postgres", server->bindir);
	buf_addf(&data, "%s/data", server->dir);
	buf_addf(&log, "%s/postgres.log", server->dir);
	buf_addf(&port_text, "%d", port);
	/* Durability off: the data dies with the test anyway. */
	char *argv[] = { postgres.data,
			 "-D",
			 data.data,
			 "-k",
			 server->dir,
			 "-h",
			 "127.0.0.1",
			 "-p",
			 port_text.data,
			 "-c",
			 "fsync=off",
			 "-c",
			 "synchronous_commit=off",
			 "-c",
			 "full_page_writes=off",
			 "-c",
			 "max_connections=60",
			 NULL };
	int rc = -1;
	server->pid = spawn_as(server, argv, buf_cstr(&log), e);
	if (server->pid > 0) {
		struct buf conninfo = BUF_INIT;
		connection_string(server, "postgres", &conninfo);
		for (int i = 0; i < 300; i++) { /* 15 s */
			if (PQping(buf_cstr(&conninfo)) == PQPING_OK) {
				rc = 0;
				break;
			}
			int status;
			if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
				server->pid = 0;
				err_set(e, "postgres exited at start (status %d)", status);
				add_log_tail(e, buf_cstr(&log));
				rc = 1; /* perhaps the port was taken meanwhile: retry */
				break;
			}
			sleep_ms(50);
		}
		if (rc < 0) {
			err_set(e,
				"postgres did not accept connections on 127.0.0.1:%d within 15 s",
				port);
			add_log_tail(e, buf_cstr(&log));
		}
		buf_free(&conninfo);
	}
	buf_free(&postgres);
	buf_free(&data);
	buf_free(&log);
	buf_free(&port_text);
	return rc;
}

int pg_server_start(struct pg_server *server, struct err *e)
{
	memset(server, 0, sizeof(*server));
	if (find_bindir(server, e) != 0)
		return -1;
	uid_t uid;
	gid_t gid;
	bool drop;
	if (pick_account(&uid, &gid, &drop, e) != 0)
		return -1;
	/* As root, /tmp: nobody must be able to reach the directory (TMPDIR may not). */
	const char *tmp = drop ? NULL : getenv("TMPDIR");
	snprintf(server->dir, sizeof(server->dir), "%s/ampel-pg-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(server->dir)) {
		err_errno(e, "cannot create a temp dir %s", server->dir);
		server->dir[0] = '\0';
		return -1;
	}
	if (drop && chown(server->dir, uid, gid) != 0) {
		err_errno(e, "cannot hand %s to nobody", server->dir);
		pg_server_stop(server);
		return -1;
	}
	if (run_initdb(server, e) != 0) {
		err_prefix(e, "PostgreSQL test server (%s)", server->bindir);
		pg_server_stop(server);
		return -1;
	}
	int rc = 1;
	for (int attempt = 0; attempt < 3 && rc == 1; attempt++)
		rc = run_postgres(server, e);
	if (rc != 0) {
		err_prefix(e, "PostgreSQL test server (%s)", server->bindir);
		pg_server_stop(server);
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void pg_server_stop(struct pg_server *server)
{
	if (server->pid > 0) {
		/* SIGINT is PostgreSQL's fast shutdown: clients are cut off, no waiting. */
		kill(server->pid, SIGINT);
		int status;
		bool gone = false;
		for (int i = 0; i < 200 && !gone; i++) { /* 10 s */
			if (waitpid(server->pid, &status, WNOHANG) == server->pid)
				gone = true;
			else
				sleep_ms(50);
		}
		if (!gone) {
			kill(server->pid, SIGKILL);
			waitpid(server->pid, &status, 0);
		}
		server->pid = 0;
	}
	if (server->dir[0]) {
		nftw(server->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		server->dir[0] = '\0';
	}
}

int pg_server_create_database(struct pg_server *server, struct buf *url, struct err *e)
{
	struct buf conninfo = BUF_INIT, sql = BUF_INIT;
	connection_string(server, "postgres", &conninfo);
	PGconn *conn = PQconnectdb(buf_cstr(&conninfo));
	int rc = 0;
	int number = ++server->databases;
	buf_addf(&sql, "CREATE DATABASE test_%d", number);
	if (PQstatus(conn) != CONNECTION_OK) {
		rc = err_set(e, "cannot connect to the test server: %s", PQerrorMessage(conn));
	} else {
		PGresult *res = PQexec(conn, buf_cstr(&sql));
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = err_set(e, "%s: %s", buf_cstr(&sql), PQerrorMessage(conn));
		PQclear(res);
	}
	PQfinish(conn);
	if (rc == 0)
		buf_addf(url, "postgresql://" PG_USER "@127.0.0.1:%d/test_%d", server->port,
			 number);
	buf_free(&conninfo);
	buf_free(&sql);
	return rc;
}
