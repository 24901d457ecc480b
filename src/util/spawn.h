/*
 * spawn: run a child process and collect what it says.
 *
 * The workflow executor (`run:` steps with timeouts and cancel) and every
 * call to git go through here, so a child never hangs Ampel, never inherits
 * stray fds, and a failure to start it is an error message, not a crash.
 */
#ifndef AMPEL_UTIL_SPAWN_H
#define AMPEL_UTIL_SPAWN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct err;

enum spawn_stream { SPAWN_STDOUT = 1, SPAWN_STDERR = 2 };

/* Where the child's stdout or stderr goes. */
enum spawn_redirect {
	SPAWN_CAPTURE = 0, /* a pipe to on_output and/or the capture buf (discarded if neither) */
	SPAWN_DEVNULL,	   /* /dev/null */
	SPAWN_INHERIT,	   /* the caller's own fd 1 or 2 */
	SPAWN_TO_STDOUT,   /* stderr only: 2>&1, so both arrive in order as SPAWN_STDOUT */
};

/*
 * Receives output as it arrives. In line mode (the default) data is one line
 * without its '\n'; a final line without '\n' is delivered when the stream
 * closes and a line longer than line_max arrives in line_max pieces. In raw
 * mode data is whatever one read() returned. Either way data[len] is '\0'
 * (the output itself may hold NULs). Called on the spawning thread.
 */
typedef void spawn_output_fn(void *ctx, enum spawn_stream stream, const char *data, size_t len);

struct spawn_options {
	/* The program and its arguments, NULL-terminated. A name without '/' is
	 * looked up in the child's PATH (the final environment's, default
	 * /usr/local/bin:/usr/bin:/bin); no shell is involved. */
	const char *const *argv;
	/* Instead of argv: run this string through `shell` (NULL-terminated
	 * prefix; NULL means {"/bin/sh", "-c"}), the command appended last. */
	const char *shell_command;
	const char *const *shell;

	/* Working directory; NULL keeps the caller's. */
	const char *cwd;

	/* Environment: the caller's (or empty when clear_env), minus the names in
	 * env_unset, then each "NAME=VALUE" of env set or replaced. */
	bool clear_env;
	const char *const *env_unset;
	const char *const *env;

	/* stdin: /dev/null unless stdin_data is set (may contain NULs). */
	const char *stdin_data;
	size_t stdin_len;

	enum spawn_redirect stdout_to;
	enum spawn_redirect stderr_to;
	spawn_output_fn *on_output;
	void *output_ctx;
	bool raw_output;
	size_t line_max; /* 0: 64 KiB */
	/* Raw bytes are also appended here when set (with SPAWN_CAPTURE). */
	struct buf *stdout_buf;
	struct buf *stderr_buf;

	/* Whole run, including draining output; 0: none. */
	long timeout_ms;
	/* Polled about every 50 ms; nonzero cancels the run (already nonzero:
	 * nothing is started). May be written from another thread or a signal
	 * handler. */
	const atomic_int *cancel;
	/* On timeout or cancel the process group gets SIGTERM, then SIGKILL after
	 * this grace; 0: 5000 ms. */
	long kill_grace_ms;
	/* After the child exits, how long to keep reading pipes that its
	 * background descendants still hold open; 0: until they close (the
	 * timeout still applies), like a shell's $(...). */
	long drain_ms;
};

struct spawn_result {
	int exit_code; /* exit status, or -1 when a signal ended the child */
	int signal;    /* the signal that ended it, or 0 */
	/* Killed because timeout_ms passed. Can come with exit_code 0 when the
	 * child had finished but background descendants kept its output open. */
	bool timed_out;
	bool cancelled;	  /* killed because *cancel became nonzero */
	long duration_ms; /* from start to reaping */
};

/*
 * Runs the child in its own process group and waits for it. Returns 0 when
 * the child ran, whatever its exit status (see result), and -1 with e set
 * when it could not be started: "git: command not found", a missing cwd, a
 * bad environment entry. After a timeout or cancel the whole group is
 * killed, so background grandchildren do not outlive the run.
 *
 * Safe to call from several threads at once; the caller's SIGPIPE
 * disposition is left alone.
 */
int spawn_run(const struct spawn_options *opt, struct spawn_result *result, struct err *e);

/*
 * Runs argv in cwd (NULL: current) and appends its stdout to out; stderr is
 * collected too. With exit_code set, any exit status is returned there and
 * only a failure to start is an error. With exit_code NULL, a nonzero exit
 * or a signal is an error whose message ends with the child's stderr
 * ("git: exited with status 128: fatal: not a git repository").
 */
int spawn_capture(const char *const argv[], const char *cwd, struct buf *out, int *exit_code,
		  struct err *e);

/* Whether name is a program spawn_run would find on this process's PATH. */
bool spawn_program_found(const char *name);

#endif
