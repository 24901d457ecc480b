#include "util/spawn.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/vec.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SPAWN_LINE_MAX_DEFAULT ((size_t)64 * 1024)
#define SPAWN_READ_CHUNK       ((size_t)64 * 1024)
#define SPAWN_GRACE_DEFAULT_MS 5000
#define SPAWN_CANCEL_POLL_MS   50
/* Without pidfd there is nothing to poll for the child's exit. */
#define SPAWN_EXIT_POLL_MS 20
/* After SIGKILL the group is dead within milliseconds; a pipe still open
 * after this belongs to a process that left the group, and we stop waiting. */
#define SPAWN_KILL_DRAIN_MS 2000
#define SPAWN_DEFAULT_PATH  "/usr/local/bin:/usr/bin:/bin"
/* How much of a failed child's stderr spawn_capture quotes. */
#define SPAWN_STDERR_QUOTE 400

static int64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool env_entry_is(const char *entry, const char *name, size_t name_len)
{
	return strncmp(entry, name, name_len) == 0 && entry[name_len] == '=';
}

static void env_remove(struct vec *env, const char *name, size_t name_len)
{
	for (size_t i = 0; i < env->len;) {
		if (env_entry_is(env->items[i], name, name_len))
			vec_remove(env, i);
		else
			i++;
	}
}

/* The vector borrows its strings from environ and opt->env. */
static int env_build(const struct spawn_options *opt, struct vec *env, struct err *e)
{
	if (!opt->clear_env && environ) {
		for (char **p = environ; *p; p++)
			vec_push(env, *p);
	}
	for (const char *const *u = opt->env_unset; u && *u; u++) {
		if (!**u || strchr(*u, '='))
			return err_set(e, "cannot unset environment variable '%s': not a name", *u);
		env_remove(env, *u, strlen(*u));
	}
	for (const char *const *s = opt->env; s && *s; s++) {
		const char *eq = strchr(*s, '=');
		if (!eq || eq == *s)
			return err_set(e, "environment entry '%s' is not NAME=VALUE", *s);
		env_remove(env, *s, (size_t)(eq - *s));
		vec_push(env, (void *)*s);
	}
	return 0;
}

static const char *env_find(const struct vec *env, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < env->len; i++) {
		if (env_entry_is(env->items[i], name, len))
			return (const char *)env->items[i] + len + 1;
	}
	return NULL;
}

/* Where the parent can see `path` that the child, after its chdir, will
 * see as `path`. */
static void path_as_seen_by_child(struct buf *out, const char *cwd, const char *path)
{
	buf_reset(out);
	if (cwd && path[0] != '/') {
		buf_adds(out, cwd);
		buf_addch(out, '/');
	}
	buf_adds(out, path);
}

/*
 * The PATH search happens here rather than in the child so that "command
 * not found" is a clear error before anything is started, and so the
 * child's own PATH (a step's env) is the one searched.
 */
static int resolve_program(const char *name, const char *path_var, const char *cwd,
			   struct buf *exec_path, struct err *e)
{
	struct buf check = BUF_INIT;
	struct stat st;
	int rc = -1;

	if (!name || !*name)
		return err_set(e, "cannot run a program with an empty name");
	if (strchr(name, '/')) {
		path_as_seen_by_child(&check, cwd, name);
		if (stat(check.data, &st) != 0) {
			err_errno(e, "%s: cannot run", name);
		} else if (S_ISDIR(st.st_mode)) {
			err_set(e, "%s: cannot run: is a directory", name);
		} else if (access(check.data, X_OK) != 0) {
			err_errno(e, "%s: cannot run", name);
		} else {
			buf_reset(exec_path);
			buf_adds(exec_path, name);
			rc = 0;
		}
		buf_free(&check);
		return rc;
	}

	bool denied = false;
	const char *p = path_var ? path_var : SPAWN_DEFAULT_PATH;
	for (;;) {
		const char *colon = strchrnul(p, ':');
		buf_reset(exec_path);
		if (colon == p)
			buf_addch(exec_path, '.'); /* an empty entry means the cwd */
		else
			buf_add(exec_path, p, (size_t)(colon - p));
		buf_addch(exec_path, '/');
		buf_adds(exec_path, name);
		path_as_seen_by_child(&check, cwd, exec_path->data);
		if (stat(check.data, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(check.data, X_OK) == 0) {
				rc = 0;
				break;
			}
			denied = true;
		}
		if (!*colon)
			break;
		p = colon + 1;
	}
	buf_free(&check);
	if (rc == 0)
		return 0;
	buf_reset(exec_path);
	if (denied)
		return err_set(e, "%s: permission denied", name);
	return err_set(e, "%s: command not found", name);
}

bool spawn_program_found(const char *name)
{
	struct buf exec_path = BUF_INIT;
	bool found = resolve_program(name, getenv("PATH"), NULL, &exec_path, NULL) == 0;
	buf_free(&exec_path);
	return found;
}

static int check_cwd(const char *prog, const char *cwd, struct err *e)
{
	struct stat st;
	if (!cwd)
		return 0;
	if (stat(cwd, &st) != 0) {
		if (errno == ENOENT)
			return err_set(e, "%s: working directory '%s' does not exist", prog, cwd);
		return err_errno(e, "%s: working directory '%s'", prog, cwd);
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(e, "%s: working directory '%s' is not a directory", prog, cwd);
	return 0;
}

/*
 * fds 0-2 may be closed in the parent; a pipe landing there would be
 * clobbered by the child's own dup2 onto 0-2, so keep ours above.
 */
static int fd_move_high(int fd)
{
	if (fd > 2)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int saved = errno;
	close(fd);
	errno = saved;
	return high;
}

static int pipe_open(int fds[2], int parent_end, struct err *e)
{
	if (pipe2(fds, O_CLOEXEC) != 0)
		return err_errno(e, "cannot create a pipe");
	fds[0] = fd_move_high(fds[0]);
	fds[1] = fd_move_high(fds[1]);
	if (fds[0] < 0 || fds[1] < 0)
		return err_errno(e, "cannot create a pipe");
	/* Only our end: a non-blocking stdin would surprise the child. */
	int flags = fcntl(fds[parent_end], F_GETFL);
	if (flags < 0 || fcntl(fds[parent_end], F_SETFL, flags | O_NONBLOCK) < 0)
		return err_errno(e, "cannot set up a pipe");
	return 0;
}

static void fd_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static int pidfd_open_child(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -1 : (int)fd;
#else
	(void)pid;
	return -1;
#endif
}

struct stream {
	int fd;
	enum spawn_stream id;
	struct buf pending; /* the line so far (line mode) */
	struct buf *capture;
};

static void stream_emit_pending(const struct spawn_options *opt, struct stream *s)
{
	opt->on_output(opt->output_ctx, s->id, buf_cstr(&s->pending), s->pending.len);
	buf_reset(&s->pending);
}

/* data[len] must be readable and NUL so raw callbacks get a C string too. */
static void stream_deliver(const struct spawn_options *opt, struct stream *s, const char *data,
			   size_t len)
{
	size_t line_max = opt->line_max ? opt->line_max : SPAWN_LINE_MAX_DEFAULT;

	if (s->capture)
		buf_add(s->capture, data, len);
	if (!opt->on_output)
		return;
	if (opt->raw_output) {
		opt->on_output(opt->output_ctx, s->id, data, len);
		return;
	}
	while (len > 0) {
		size_t room = line_max - s->pending.len;
		/* A '\n' right after a full line_max still ends that line, so a
		 * line of exactly line_max does not grow an empty twin. */
		size_t scan = len < room + 1 ? len : room + 1;
		const char *nl = memchr(data, '\n', scan);
		if (nl) {
			buf_add(&s->pending, data, (size_t)(nl - data));
			stream_emit_pending(opt, s);
			len -= (size_t)(nl - data) + 1;
			data = nl + 1;
		} else if (len > room) {
			buf_add(&s->pending, data, room);
			stream_emit_pending(opt, s);
			data += room;
			len -= room;
		} else {
			buf_add(&s->pending, data, len);
			len = 0;
		}
	}
}

static void stream_finish(const struct spawn_options *opt, struct stream *s)
{
	fd_close(&s->fd);
	if (opt->on_output && !opt->raw_output && s->pending.len > 0)
		stream_emit_pending(opt, s);
}

static void stream_read(const struct spawn_options *opt, struct stream *s, char *chunk)
{
	ssize_t n = read(s->fd, chunk, SPAWN_READ_CHUNK);
	if (n > 0) {
		chunk[n] = '\0';
		stream_deliver(opt, s, chunk, (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		stream_finish(opt, s);
	}
}

/* True once the child has exited; leaves it a zombie so its pid, which
 * is also the group id we signal, cannot be reused under us. */
static bool child_has_exited(pid_t pid)
{
	siginfo_t info = { 0 };
	if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD; /* someone reaped it (SIGCHLD ignored) */
	return info.si_pid != 0;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

struct run {
	const struct spawn_options *opt;
	struct spawn_result *res;
	const char *prog;
	pid_t pid;
	int pidfd;
	int stdin_fd;
	size_t stdin_off;
	bool stdin_broken; /* EPIPE seen: a SIGPIPE may be pending on this thread */
	struct stream out, err;
};

static void run_write_stdin(struct run *r)
{
	const struct spawn_options *opt = r->opt;
	while (r->stdin_off < opt->stdin_len) {
		ssize_t n = write(r->stdin_fd, opt->stdin_data + r->stdin_off,
				  opt->stdin_len - r->stdin_off);
		if (n > 0) {
			r->stdin_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0 && errno == EPIPE)
			r->stdin_broken = true;
		break; /* the child stopped reading: not our error */
	}
	fd_close(&r->stdin_fd);
}

/* Waits for the child, reading its output, enforcing timeout and cancel. */
static int run_loop(struct run *r, int64_t start, struct err *e)
{
	const struct spawn_options *opt = r->opt;
	long grace = opt->kill_grace_ms > 0 ? opt->kill_grace_ms : SPAWN_GRACE_DEFAULT_MS;
	int64_t deadline = opt->timeout_ms > 0 ? start + opt->timeout_ms : 0;
	int64_t kill_at = 0, give_up_at = 0, exited_at = 0;
	bool killing = false, kill_sent = false, exited = false;
	char *chunk = xmalloc(SPAWN_READ_CHUNK + 1);
	int rc = 0;

	for (;;) {
		int64_t now = clock_now_ms();
		if (!killing) {
			if (opt->cancel && atomic_load(opt->cancel))
				r->res->cancelled = true;
			else if (deadline && now >= deadline)
				r->res->timed_out = true;
			if (r->res->cancelled || r->res->timed_out) {
				kill(-r->pid, SIGTERM);
				killing = true;
				kill_at = now + grace;
			}
		}
		if (killing && !kill_sent && now >= kill_at) {
			kill(-r->pid, SIGKILL);
			kill_sent = true;
			give_up_at = now + SPAWN_KILL_DRAIN_MS;
		}
		if (!exited && child_has_exited(r->pid)) {
			exited = true;
			exited_at = now;
			/* Nobody is left who was meant to read it. */
			fd_close(&r->stdin_fd);
		}
		bool reading = r->out.fd >= 0 || r->err.fd >= 0;
		if (exited && !reading)
			break;
		if (exited && opt->drain_ms > 0 && now >= exited_at + opt->drain_ms)
			break;
		if (exited && kill_sent && now >= give_up_at)
			break;

		int64_t next = INT64_MAX;
		if (!killing && deadline)
			next = min64(next, deadline);
		if (!killing && opt->cancel)
			next = min64(next, now + SPAWN_CANCEL_POLL_MS);
		if (killing && !kill_sent)
			next = min64(next, kill_at);
		if (kill_sent && now < give_up_at)
			next = min64(next, give_up_at);
		if (exited && opt->drain_ms > 0)
			next = min64(next, exited_at + opt->drain_ms);
		if (!exited && r->pidfd < 0)
			next = min64(next, now + SPAWN_EXIT_POLL_MS);

		struct pollfd pfd[4];
		int idx_in = -1, idx_out = -1, idx_err = -1;
		nfds_t nfds = 0;
		if (r->stdin_fd >= 0) {
			idx_in = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = r->stdin_fd, .events = POLLOUT };
		}
		if (r->out.fd >= 0) {
			idx_out = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = r->out.fd, .events = POLLIN };
		}
		if (r->err.fd >= 0) {
			idx_err = (int)nfds;
			pfd[nfds++] = (struct pollfd){ .fd = r->err.fd, .events = POLLIN };
		}
		if (!exited && r->pidfd >= 0)
			pfd[nfds++] = (struct pollfd){ .fd = r->pidfd, .events = POLLIN };

		int wait_ms = -1;
		if (next != INT64_MAX)
			wait_ms = (int)(next <= now ? 0 : min64(next - now, INT_MAX));
		int n = poll(pfd, nfds, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = err_errno(e, "%s: waiting for the child failed", r->prog);
			kill(-r->pid, SIGKILL);
			break;
		}
		if (idx_in >= 0 && pfd[idx_in].revents)
			run_write_stdin(r);
		if (idx_out >= 0 && pfd[idx_out].revents)
			stream_read(opt, &r->out, chunk);
		if (idx_err >= 0 && pfd[idx_err].revents)
			stream_read(opt, &r->err, chunk);
	}

	/* Stragglers of a killed run that ignored SIGTERM and closed their
	 * pipes; the unreaped leader still pins the group id. */
	if (killing)
		kill(-r->pid, SIGKILL);
	free(chunk);
	return rc;
}

static void run_reap(struct run *r)
{
	int status;
	pid_t got;
	do {
		got = waitpid(r->pid, &status, 0);
	} while (got < 0 && errno == EINTR);
	if (got != r->pid)
		return; /* reaped elsewhere: status unknown, exit_code stays -1 */
	if (WIFEXITED(status)) {
		r->res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r->res->signal = WTERMSIG(status);
	}
}

static void args_build(const struct spawn_options *opt, struct vec *args)
{
	static const char *const default_shell[] = { "/bin/sh", "-c", NULL };
	if (opt->shell_command) {
		const char *const *sh = opt->shell && opt->shell[0] ? opt->shell : default_shell;
		for (; *sh; sh++)
			vec_push(args, (void *)*sh);
		vec_push(args, (void *)opt->shell_command);
	} else {
		for (const char *const *a = opt->argv; a && *a; a++)
			vec_push(args, (void *)*a);
	}
	vec_push(args, NULL);
}

static int actions_for_output(posix_spawn_file_actions_t *fa, int target, enum spawn_redirect to,
			      int pipe_write_end)
{
	switch (to) {
	case SPAWN_CAPTURE:
		return posix_spawn_file_actions_adddup2(fa, pipe_write_end, target);
	case SPAWN_DEVNULL:
		return posix_spawn_file_actions_addopen(fa, target, "/dev/null", O_WRONLY, 0);
	case SPAWN_INHERIT:
		return 0;
	case SPAWN_TO_STDOUT:
		return posix_spawn_file_actions_adddup2(fa, STDOUT_FILENO, target);
	}
	return EINVAL;
}

static int spawn_start(struct run *r, const char *exec_path, struct vec *args, struct vec *env,
		       int child_fds[3], struct err *e)
{
	const struct spawn_options *opt = r->opt;
	const char *prog = args->items[0];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);

	if (child_fds[0] >= 0)
		rc = posix_spawn_file_actions_adddup2(&fa, child_fds[0], STDIN_FILENO);
	else
		rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = actions_for_output(&fa, STDOUT_FILENO, opt->stdout_to, child_fds[1]);
	if (!rc)
		rc = actions_for_output(&fa, STDERR_FILENO, opt->stderr_to, child_fds[2]);
	if (!rc && opt->cwd)
		rc = posix_spawn_file_actions_addchdir_np(&fa, opt->cwd);
	/* CLOEXEC covers our fds; this covers fds other code opened without
	 * it, so nothing but 0-2 ever leaks into a child. */
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* Own group so timeout and cancel reach grandchildren; default
	 * signals and an empty mask so our SIGPIPE handling is not inherited. */
	if (!rc)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
							     POSIX_SPAWN_SETSIGMASK |
							     POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (rc) {
		errno = rc;
		err_errno(e, "%s: cannot prepare to run", prog);
	} else {
		rc = posix_spawn(&r->pid, exec_path, &fa, &attr, (char *const *)args->items,
				 (char *const *)env->items);
		if (rc) {
			errno = rc;
			err_errno(e, "%s: cannot run", prog);
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc ? -1 : 0;
}

int spawn_run(const struct spawn_options *opt, struct spawn_result *res, struct err *e)
{
	struct vec args = VEC_INIT, env = VEC_INIT;
	struct buf exec_path = BUF_INIT;
	int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	struct run r = { .opt = opt, .res = res, .pid = -1, .pidfd = -1, .stdin_fd = -1 };
	sigset_t sigpipe_set, saved_mask;
	bool mask_changed = false, sigpipe_was_pending = false;
	int rc = -1;

	*res = (struct spawn_result){ .exit_code = -1 };
	r.out = (struct stream){ .fd = -1, .id = SPAWN_STDOUT, .capture = opt->stdout_buf };
	r.err = (struct stream){ .fd = -1, .id = SPAWN_STDERR, .capture = opt->stderr_buf };
	buf_init(&r.out.pending);
	buf_init(&r.err.pending);

	args_build(opt, &args);
	if (!args.items[0]) {
		err_set(e, "nothing to run: no program given");
		goto out;
	}
	const char *prog = args.items[0];
	r.prog = prog;
	if (opt->stdout_to == SPAWN_TO_STDOUT) {
		err_set(e, "%s: stdout cannot be redirected to itself", prog);
		goto out;
	}
	if (env_build(opt, &env, e) != 0 || check_cwd(prog, opt->cwd, e) != 0 ||
	    resolve_program(prog, env_find(&env, "PATH"), opt->cwd, &exec_path, e) != 0)
		goto out;
	vec_push(&env, NULL);

	if (opt->cancel && atomic_load(opt->cancel)) {
		res->cancelled = true;
		rc = 0;
		goto out;
	}

	if (opt->stdin_data && pipe_open(in_pipe, 1, e) != 0)
		goto out;
	if (opt->stdout_to == SPAWN_CAPTURE && pipe_open(out_pipe, 0, e) != 0)
		goto out;
	if (opt->stderr_to == SPAWN_CAPTURE && pipe_open(err_pipe, 0, e) != 0)
		goto out;

	if (opt->stdin_data) {
		/* A child that exits without reading its stdin must not kill us
		 * with SIGPIPE; blocking it on this thread only leaves the
		 * process-wide disposition, which is the caller's, alone. */
		sigemptyset(&sigpipe_set);
		sigaddset(&sigpipe_set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &sigpipe_set, &saved_mask);
		mask_changed = true;
		sigset_t pending;
		sigpending(&pending);
		sigpipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
	}

	int64_t start = clock_now_ms();
	int child_fds[3] = { in_pipe[0], out_pipe[1], err_pipe[1] };
	if (spawn_start(&r, exec_path.data, &args, &env, child_fds, e) != 0)
		goto out;
	fd_close(&in_pipe[0]);
	fd_close(&out_pipe[1]);
	fd_close(&err_pipe[1]);
	r.stdin_fd = in_pipe[1];
	in_pipe[1] = -1;
	r.out.fd = out_pipe[0];
	out_pipe[0] = -1;
	r.err.fd = err_pipe[0];
	err_pipe[0] = -1;
	if (r.stdin_fd >= 0 && opt->stdin_len == 0)
		fd_close(&r.stdin_fd);
	r.pidfd = pidfd_open_child(r.pid);

	rc = run_loop(&r, start, e);
	stream_finish(opt, &r.out);
	stream_finish(opt, &r.err);
	fd_close(&r.stdin_fd);
	run_reap(&r);
	fd_close(&r.pidfd);
	res->duration_ms = (long)(clock_now_ms() - start);

out:
	if (mask_changed) {
		if (r.stdin_broken && !sigpipe_was_pending) {
			struct timespec zero = { 0, 0 };
			while (sigtimedwait(&sigpipe_set, NULL, &zero) < 0 && errno == EINTR)
				;
		}
		pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
	}
	for (int i = 0; i < 2; i++) {
		fd_close(&in_pipe[i]);
		fd_close(&out_pipe[i]);
		fd_close(&err_pipe[i]);
	}
	buf_free(&r.out.pending);
	buf_free(&r.err.pending);
	buf_free(&exec_path);
	vec_free(&args, NULL);
	vec_free(&env, NULL);
	return rc;
}

/* The last few hundred bytes, cut at a line start, as one line. */
static void quote_stderr_tail(struct buf *quote, const struct buf *stderr_text)
{
	const char *s = buf_cstr(stderr_text);
	size_t len = stderr_text->len;
	if (len > SPAWN_STDERR_QUOTE) {
		const char *tail = s + len - SPAWN_STDERR_QUOTE;
		const char *nl = memchr(tail, '\n', SPAWN_STDERR_QUOTE);
		s = nl && nl[1] ? nl + 1 : tail;
		len = (size_t)(stderr_text->data + stderr_text->len - s);
	}
	for (size_t i = 0; i < len; i++)
		buf_addch(quote, s[i] == '\n' || s[i] == '\r' ? ' ' : s[i]);
	buf_rtrim(quote);
}

int spawn_capture(const char *const argv[], const char *cwd, struct buf *out, int *exit_code,
		  struct err *e)
{
	struct buf stderr_text = BUF_INIT, quote = BUF_INIT;
	struct spawn_options opt = { .argv = argv, .cwd = cwd };
	struct spawn_result res;
	int rc;

	opt.stdout_buf = out;
	opt.stderr_buf = &stderr_text;
	rc = spawn_run(&opt, &res, e);
	if (rc == 0 && exit_code) {
		*exit_code = res.exit_code;
	} else if (rc == 0 && (res.exit_code != 0 || res.signal)) {
		buf_rtrim(&stderr_text);
		quote_stderr_tail(&quote, &stderr_text);
		if (res.signal)
			err_set(e, "%s: killed by signal %d%s%s", argv[0], res.signal,
				quote.len ? ": " : "", buf_cstr(&quote));
		else
			err_set(e, "%s: exited with status %d%s%s", argv[0], res.exit_code,
				quote.len ? ": " : "", buf_cstr(&quote));
		rc = -1;
	}
	buf_free(&stderr_text);
	buf_free(&quote);
	return rc;
}
