#include "util/progress.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Faster redraws cost more than they tell a reader. */
#define PROGRESS_REDRAW_MS     100
#define PROGRESS_DEFAULT_WIDTH 80
/* "\r" returns to the line start, "\033[K" erases to its end. */
#define PROGRESS_CLEAR "\r\033[K"

static atomic_bool progress_quiet;
static pthread_mutex_t progress_config_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *progress_out;
static bool progress_force_tty;

static const char *const frames_utf8[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };
static const char *const frames_ascii[] = { "|", "/", "-", "\\" };

struct progress {
	bool on;
	FILE *out;
	pthread_mutex_t lock;
	char *label;
	char *unit;
	struct buf detail;
	size_t count;
	size_t total;
	bool counted;
	bool drawn;
	bool utf8;
	unsigned frame;
	int64_t last_draw_ms;
};

void progress_set_quiet(bool quiet)
{
	atomic_store(&progress_quiet, quiet);
}

void progress_set_output(FILE *out, bool force_tty)
{
	pthread_mutex_lock(&progress_config_lock);
	progress_out = out;
	progress_force_tty = force_tty;
	pthread_mutex_unlock(&progress_config_lock);
}

static int64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool locale_is_utf8(void)
{
	const char *names[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return false;
}

static bool terminal_wanted(FILE *out)
{
	int fd = fileno(out);
	if (fd < 0 || !isatty(fd))
		return false;
	const char *term = getenv("TERM");
	return !(term && strcmp(term, "dumb") == 0);
}

static int terminal_width(FILE *out)
{
	struct winsize ws;
	int fd = fileno(out);
	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return PROGRESS_DEFAULT_WIDTH;
}

/* Columns as the terminal counts them, near enough: one per code point. */
static size_t text_columns(const char *s, size_t len)
{
	size_t cols = 0;
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			cols++;
	}
	return cols;
}

/* File names come from repositories: an escape sequence in one must not
 * reach the terminal. */
static void add_sanitized(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		buf_addch(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

static char *dup_sanitized(const char *s)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	if (s)
		add_sanitized(&b, s);
	return buf_detach(&b);
}

/* Keeps the end of the detail, where a path's file name is. */
static void add_detail_tail(struct buf *line, const struct buf *detail, size_t room, bool utf8)
{
	size_t cols = text_columns(detail->data, detail->len);
	if (cols <= room) {
		buf_add(line, detail->data, detail->len);
		return;
	}
	const char *ellipsis = utf8 ? "…" : "...";
	size_t ellipsis_cols = utf8 ? 1 : 3;
	if (room <= ellipsis_cols)
		return;
	size_t skip_cols = cols - (room - ellipsis_cols);
	size_t i = 0;
	for (size_t seen = 0; i < detail->len; i++) {
		if (((unsigned char)detail->data[i] & 0xC0) != 0x80) {
			if (seen == skip_cols)
				break;
			seen++;
		}
	}
	buf_adds(line, ellipsis);
	buf_add(line, detail->data + i, detail->len - i);
}

static void progress_draw(struct progress *p, int64_t now)
{
	struct buf line = BUF_INIT;
	const char *frame = p->utf8 ? frames_utf8[p->frame % 10] : frames_ascii[p->frame % 4];

	buf_init(&line);
	buf_adds(&line, PROGRESS_CLEAR);
	size_t start = line.len;
	buf_addf(&line, "%s %s", p->label, frame);
	if (p->counted) {
		buf_addf(&line, " %zu", p->count);
		if (p->total)
			buf_addf(&line, "/%zu", p->total);
		if (p->unit && *p->unit)
			buf_addf(&line, " %s", p->unit);
	}
	size_t width = (size_t)terminal_width(p->out);
	/* One column spare: writing the last one makes some terminals wrap. */
	size_t used = text_columns(line.data + start, line.len - start) + 1;
	if (p->detail.len > 0 && used + 2 < width) {
		buf_adds(&line, "  ");
		add_detail_tail(&line, &p->detail, width - used - 2, p->utf8);
	}
	fwrite(line.data, 1, line.len, p->out);
	fflush(p->out);
	buf_free(&line);
	p->frame++;
	p->drawn = true;
	p->last_draw_ms = now;
}

struct progress *progress_start(const char *label)
{
	struct progress *p = xcalloc(1, sizeof(*p));

	pthread_mutex_lock(&progress_config_lock);
	p->out = progress_out ? progress_out : stderr;
	bool force = progress_force_tty;
	pthread_mutex_unlock(&progress_config_lock);

	p->on = !atomic_load(&progress_quiet) && (force || terminal_wanted(p->out));
	if (!p->on)
		return p;
	pthread_mutex_init(&p->lock, NULL);
	p->label = dup_sanitized(label);
	buf_init(&p->detail);
	p->utf8 = locale_is_utf8();
	progress_draw(p, clock_now_ms());
	return p;
}

void progress_set_unit(struct progress *p, const char *unit)
{
	if (!p || !p->on)
		return;
	pthread_mutex_lock(&p->lock);
	free(p->unit);
	p->unit = unit ? dup_sanitized(unit) : NULL;
	pthread_mutex_unlock(&p->lock);
}

void progress_set_total(struct progress *p, size_t total)
{
	if (!p || !p->on)
		return;
	pthread_mutex_lock(&p->lock);
	p->total = total;
	pthread_mutex_unlock(&p->lock);
}

static void progress_maybe_draw(struct progress *p)
{
	int64_t now = clock_now_ms();
	if (now - p->last_draw_ms >= PROGRESS_REDRAW_MS)
		progress_draw(p, now);
}

void progress_update(struct progress *p, size_t count, const char *detail)
{
	if (!p || !p->on)
		return;
	pthread_mutex_lock(&p->lock);
	p->count = count;
	p->counted = true;
	buf_reset(&p->detail);
	if (detail)
		add_sanitized(&p->detail, detail);
	progress_maybe_draw(p);
	pthread_mutex_unlock(&p->lock);
}

void progress_tick(struct progress *p)
{
	if (!p || !p->on)
		return;
	pthread_mutex_lock(&p->lock);
	progress_maybe_draw(p);
	pthread_mutex_unlock(&p->lock);
}

void progress_done(struct progress *p, const char *final_message)
{
	if (!p)
		return;
	if (p->on) {
		if (p->drawn)
			fputs(PROGRESS_CLEAR, p->out);
		if (final_message) {
			struct buf msg = BUF_INIT;
			buf_init(&msg);
			add_sanitized(&msg, final_message);
			buf_addch(&msg, '\n');
			fwrite(msg.data, 1, msg.len, p->out);
			buf_free(&msg);
		}
		fflush(p->out);
		pthread_mutex_destroy(&p->lock);
		free(p->label);
		free(p->unit);
		buf_free(&p->detail);
	}
	free(p);
}
