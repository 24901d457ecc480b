#include "intel/scan.h"

#include "intel/languages.h"
#include "intel/project.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/map.h"
#include "util/progress.h"
#include "util/walk.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/*
 * Sizes come from one lstat() per file, which on a warm 100k-file tree costs
 * more than the walk itself. So only the sizes that count are taken (see
 * scan.h), and the walk only needs names, so the stats run beside it on
 * worker threads: the walking thread hands over the sized files of a
 * directory in batches, each with its own dup() of the directory's fd, so a
 * stat resolves one path component like the walk's own openat() does.
 */

/* Small enough to spread a big directory over the threads, big enough that
 * the dup() of its directory is noise. */
#define SCAN_BATCH_FILES 128
/* Past this many queued batches the walking thread stats one itself, which
 * also bounds the directory fds held open. */
#define SCAN_QUEUE_MAX 16
/* File descriptors a batch's dup() must leave free under RLIMIT_NOFILE, for
 * the walk's own descent and the rest of the process: short of them, the
 * walking thread stats the file itself with its own fd. */
#define SCAN_FD_RESERVE	 32
#define SCAN_MAX_THREADS 8

/* What the stat of a file found; read by the walking thread after the join. */
enum { SCAN_STAT_OK = 0, SCAN_STAT_NOT_REGULAR = -1 /* else an errno */ };

struct scan_batch {
	int dir_fd;
	bool owns_fd; /* a dup to close once done; else the walker's own */
	size_t count;
	struct scan_file **files; /* both arrays live in the batch's allocation */
	int *status;		  /* per file: SCAN_STAT_OK, _NOT_REGULAR or an errno */
};

struct scan_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct scan_batch *queue[SCAN_QUEUE_MAX]; /* a ring */
	size_t head, len;
	bool closing;
	pthread_t threads[SCAN_MAX_THREADS];
	size_t thread_count;
	const struct language_table *languages;
};

struct scan_walk {
	struct scan *scan;
	const struct language_table *languages;
	struct progress *progress;
	struct vec *current_dir_files; /* the vec of the directory last seen */
	const char *current_dir;       /* its path, shared by its files */
	size_t current_dir_len;
	bool current_dir_foreign; /* vendored by a directory rule */
	struct scan_pool pool;
	struct vec batches; /* struct scan_batch *, in walk order */
	/* The batch being gathered: files of one directory, with a dup() of its
	 * fd taken while the walker still has it open. */
	struct vec pending; /* struct scan_file * */
	const char *pending_dir;
	int pending_fd;
	long fd_limit; /* dups at or past this fd number are given back */
};

static size_t scan_threads = 1;
static pthread_once_t scan_threads_once = PTHREAD_ONCE_INIT;

/* The CPUs this process may run on (a container's cpuset), not the machine's. */
static void scan_count_threads(void)
{
	cpu_set_t set;
	long cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
								 : sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	scan_threads = cpus > SCAN_MAX_THREADS ? SCAN_MAX_THREADS : (size_t)cpus;
}

size_t scan_thread_count(void)
{
	pthread_once(&scan_threads_once, scan_count_threads);
	return scan_threads;
}

struct scan_parallel {
	atomic_size_t next;
	size_t count, chunk;
	void (*fn)(size_t begin, size_t end, void *ctx);
	void *ctx;
	pthread_t threads[SCAN_MAX_THREADS];
	size_t started;
};

static void *scan_parallel_run(void *arg)
{
	struct scan_parallel *job = arg;
	for (;;) {
		size_t begin = atomic_fetch_add(&job->next, job->chunk);
		if (begin >= job->count)
			return NULL;
		size_t end = job->count - begin < job->chunk ? job->count : begin + job->chunk;
		job->fn(begin, end, job->ctx);
	}
}

struct scan_parallel *scan_parallel_start(size_t count, size_t chunk,
					  void (*fn)(size_t begin, size_t end, void *ctx),
					  void *ctx)
{
	struct scan_parallel *job = xcalloc(1, sizeof(*job));
	job->count = count;
	job->chunk = chunk ? chunk : 1;
	job->fn = fn;
	job->ctx = ctx;
	atomic_init(&job->next, 0);
	size_t chunks = (count + job->chunk - 1) / job->chunk, wanted = scan_thread_count();
	/* The caller's thread is one of them, in scan_parallel_wait; a thread
	 * costs tens of microseconds to start, so none for a lone chunk. */
	for (size_t i = 1; i < wanted && i < chunks; i++) {
		if (pthread_create(&job->threads[job->started], NULL, scan_parallel_run, job) != 0)
			break; /* fewer threads only means slower */
		job->started++;
	}
	return job;
}

void scan_parallel_wait(struct scan_parallel *job)
{
	if (!job)
		return;
	scan_parallel_run(job);
	for (size_t i = 0; i < job->started; i++)
		pthread_join(job->threads[i], NULL);
	free(job);
}

void scan_parallel_for(size_t count, size_t chunk, void (*fn)(size_t begin, size_t end, void *ctx),
		       void *ctx)
{
	scan_parallel_wait(scan_parallel_start(count, chunk, fn, ctx));
}

/* The first line of an extensionless file, to read its "#!" interpreter. */
static const struct language *scan_shebang_language(const struct language_table *languages,
						    int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	char line[128];
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3)
		return NULL;
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	return language_for_shebang(languages, line);
}

/* Runs on any thread: each batch's files are touched by one thread only. */
static void scan_batch_stat(const struct language_table *languages, struct scan_batch *batch)
{
	for (size_t i = 0; i < batch->count; i++) {
		struct scan_file *file = batch->files[i];
		struct stat st;
		if (fstatat(batch->dir_fd, file->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			batch->status[i] = errno ? errno : EIO;
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			batch->status[i] = SCAN_STAT_NOT_REGULAR;
			continue;
		}
		batch->status[i] = SCAN_STAT_OK;
		file->size = (uint64_t)st.st_size;
		file->sized = true;
		if (!file->language && !strchr(file->name, '.') && file->size > 2)
			file->language =
				scan_shebang_language(languages, batch->dir_fd, file->name);
	}
	if (batch->owns_fd)
		close(batch->dir_fd);
	batch->dir_fd = -1;
}

static struct scan_batch *scan_pool_take(struct scan_pool *pool)
{
	if (!pool->len)
		return NULL;
	struct scan_batch *batch = pool->queue[pool->head];
	pool->head = (pool->head + 1) % SCAN_QUEUE_MAX;
	pool->len--;
	return batch;
}

static void *scan_pool_worker(void *arg)
{
	struct scan_pool *pool = arg;
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		while (!pool->len && !pool->closing)
			pthread_cond_wait(&pool->wake, &pool->lock);
		struct scan_batch *batch = scan_pool_take(pool);
		pthread_mutex_unlock(&pool->lock);
		if (!batch)
			return NULL;
		scan_batch_stat(pool->languages, batch);
	}
}

/* Workers for all but one CPU: the walking thread is the last one. */
static void scan_pool_start(struct scan_pool *pool, const struct language_table *languages)
{
	memset(pool, 0, sizeof(*pool));
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pool->languages = languages;
	size_t wanted = scan_thread_count() - 1;
	for (size_t i = 0; i < wanted; i++) {
		if (pthread_create(&pool->threads[pool->thread_count], NULL, scan_pool_worker,
				   pool) != 0)
			break; /* fewer threads only means slower */
		pool->thread_count++;
	}
}

static void scan_pool_push(struct scan_pool *pool, struct scan_batch *batch)
{
	if (pool->thread_count) {
		pthread_mutex_lock(&pool->lock);
		bool queued = pool->len < SCAN_QUEUE_MAX;
		if (queued) {
			pool->queue[(pool->head + pool->len) % SCAN_QUEUE_MAX] = batch;
			pool->len++;
			pthread_cond_signal(&pool->wake);
		}
		pthread_mutex_unlock(&pool->lock);
		if (queued)
			return;
	}
	scan_batch_stat(pool->languages, batch);
}

/* Helps with what is still queued, then waits for the workers to end. */
static void scan_pool_finish(struct scan_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->closing = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		struct scan_batch *batch = scan_pool_take(pool);
		pthread_mutex_unlock(&pool->lock);
		if (!batch)
			break;
		scan_batch_stat(pool->languages, batch);
	}
	for (size_t i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
}

/* A batch of count files, kept in walk order for scan_collect_batches. */
static struct scan_batch *scan_batch_new(struct scan_walk *w, struct scan_file *const *files,
					 size_t count, int dir_fd, bool owns_fd)
{
	struct scan_batch *batch =
		xmalloc(sizeof(*batch) + count * (sizeof(struct scan_file *) + sizeof(int)));
	batch->files = (struct scan_file **)(batch + 1);
	batch->status = (int *)(batch->files + count);
	batch->count = count;
	batch->dir_fd = dir_fd;
	batch->owns_fd = owns_fd;
	memcpy(batch->files, files, count * sizeof(*files));
	vec_push(&w->batches, batch);
	return batch;
}

/* Hands the gathered files of one directory to the pool. */
static void scan_flush_batch(struct scan_walk *w)
{
	if (!w->pending.len)
		return;
	struct scan_batch *batch = scan_batch_new(w, (struct scan_file **)w->pending.items,
						  w->pending.len, w->pending_fd, true);
	w->pending.len = 0;
	scan_pool_push(&w->pool, batch);
}

static struct vec *scan_dir_vec(struct scan_walk *w, const char *path, size_t dir_len)
{
	if (w->current_dir && w->current_dir_len == dir_len &&
	    memcmp(w->current_dir, path, dir_len) == 0)
		return w->current_dir_files;
	const char *dir = dir_len ? arena_strndup(w->scan->arena, path, dir_len) : "";
	struct vec *files = map_get(w->scan->dir_entries, dir);
	if (!files) {
		files = xcalloc(1, sizeof(*files));
		map_put(w->scan->dir_entries, dir, files);
	}
	w->current_dir = dir;
	w->current_dir_len = dir_len;
	w->current_dir_files = files;
	w->current_dir_foreign = language_dir_is_foreign(w->languages, dir);
	return files;
}

/* Hands file to the stat batches of its directory (or stats it at once). */
static void scan_queue_stat(struct scan_walk *w, struct walk_entry *entry, struct scan_file *file)
{
	if (w->pending.len &&
	    (w->pending_dir != w->current_dir || w->pending.len >= SCAN_BATCH_FILES))
		scan_flush_batch(w);
	if (!w->pending.len) {
		w->pending_dir = w->current_dir;
		w->pending_fd = fcntl(walk_entry_dir_fd(entry), F_DUPFD_CLOEXEC, 0);
		/* The lowest free fd comes back, so its number tells how many are in use. */
		if (w->pending_fd >= w->fd_limit) {
			close(w->pending_fd);
			w->pending_fd = -1;
		}
	}
	if (w->pending_fd >= 0) {
		vec_push(&w->pending, file);
	} else {
		/* No fd to spare (a tight RLIMIT_NOFILE): stat it now, with the walker's. */
		scan_batch_stat(w->languages,
				scan_batch_new(w, &file, 1, walk_entry_dir_fd(entry), false));
	}
}

static enum walk_action scan_visit(struct walk_entry *entry, void *ctx)
{
	struct scan_walk *w = ctx;
	struct scan *scan = w->scan;
	struct arena *arena = scan->arena;

	if (entry->is_dir) {
		vec_push(&scan->dirs, arena_strndup(arena, entry->path, entry->path_len));
		return WALK_CONTINUE;
	}
	/* A link to a file is not the repository's own bytes; a FIFO or a
	 * socket has none, and opening one to read could block. */
	if (entry->is_symlink || !entry->is_regular)
		return WALK_CONTINUE;

	size_t dir_len = (size_t)(entry->name - entry->path);
	dir_len = dir_len ? dir_len - 1 : 0;
	/* A new current_dir string means another directory (or a return to one). */
	struct vec *dir_files = scan_dir_vec(w, entry->path, dir_len);

	struct scan_file *file = arena_calloc(arena, 1, sizeof(*file));
	char *path = arena_strndup(arena, entry->path, entry->path_len);
	file->path = path;
	file->name = path + (size_t)(entry->name - entry->path);
	file->dir = w->current_dir;
	file->language = language_for_name(w->languages, file->name);
	file->foreign = w->current_dir_foreign || language_file_is_foreign(w->languages, path);
	/* Size (and shebang) come later, in scan_batch_stat, where they count. */
	if (file->language ? language_counts(file->language) : !strchr(file->name, '.'))
		scan_queue_stat(w, entry, file);

	vec_push(&scan->files, file);
	vec_push(dir_files, file);
	if (w->progress && scan->files.len % 256 == 0)
		progress_update(w->progress, scan->files.len, path);
	return WALK_CONTINUE;
}

static void scan_vec_remove_item(struct vec *v, const void *item)
{
	for (size_t i = 0; i < v->len; i++)
		if (v->items[i] == item) {
			vec_remove(v, i);
			return;
		}
}

/*
 * Takes in what the stats found, in walk order so that warnings come in
 * the same order whatever thread did which batch: sizes are added up, and
 * files that vanished, could not be stat'ed or are not regular files
 * (FIFOs, sockets) leave the scan.
 */
static void scan_collect_batches(struct scan_walk *w)
{
	struct scan *scan = w->scan;
	size_t dropped = 0;
	for (size_t b = 0; b < w->batches.len; b++) {
		struct scan_batch *batch = w->batches.items[b];
		for (size_t i = 0; i < batch->count; i++) {
			struct scan_file *file = batch->files[i];
			int status = batch->status[i];
			if (status == SCAN_STAT_OK) {
				scan->bytes += file->size;
				continue;
			}
			if (status != SCAN_STAT_NOT_REGULAR)
				scan_warn(scan, "cannot stat '%s': %s", file->path,
					  strerror(status));
			scan_vec_remove_item(map_get(scan->dir_entries, file->dir), file);
			file->path = NULL; /* marks it for the compaction below */
			dropped++;
		}
		free(batch);
	}
	vec_free(&w->batches, NULL);
	if (!dropped)
		return;
	size_t kept = 0;
	for (size_t i = 0; i < scan->files.len; i++)
		if (((struct scan_file *)scan->files.items[i])->path)
			scan->files.items[kept++] = scan->files.items[i];
	scan->files.len = kept;
}

static int scan_compare_files(const void *a, const void *b)
{
	const struct scan_file *fa = *(const struct scan_file *const *)a;
	const struct scan_file *fb = *(const struct scan_file *const *)b;
	return strcmp(fa->path, fb->path);
}

static void scan_free_file_vec(void *item)
{
	struct vec *files = item;
	vec_free(files, NULL);
	free(files);
}

void scan_free(struct scan *scan)
{
	if (!scan)
		return;
	vec_free(&scan->files, NULL);
	vec_free(&scan->dirs, NULL);
	vec_free(&scan->warnings, NULL);
	map_free(scan->dir_entries, scan_free_file_vec);
	map_free(scan->project_files, scan_free_file_vec);
	arena_free(scan->arena);
	free(scan->root);
	free(scan);
}

/* The walk mostly yields paths in order already; a check is cheaper than a sort. */
static bool scan_files_sorted(const struct vec *files)
{
	for (size_t i = 1; i < files->len; i++)
		if (scan_compare_files(&files->items[i - 1], &files->items[i]) > 0)
			return false;
	return true;
}

int scan_tree(struct scan **out, const char *root, const struct language_table *languages,
	      struct progress *progress, struct err *e)
{
	struct scan *scan = xcalloc(1, sizeof(*scan));
	scan->root = xstrdup(root);
	scan->arena = arena_new();
	scan->dir_entries = map_new();
	vec_push(&scan->dirs, "");

	struct scan_walk w = { .scan = scan, .languages = languages, .progress = progress };
	/*
	 * Besides the walker's always-generated directories, analysis skips the
	 * usual build output and vendored dependencies: their files are not
	 * the repository's own (.gitignore usually says so too).
	 */
	static const char *const skip_names[] = { "vendor",   "target", "dist", "build",
						  "coverage", "out",	NULL };
	struct walk_options options = { .skip_names = skip_names };
	struct rlimit files_limit;
	w.fd_limit = LONG_MAX;
	if (getrlimit(RLIMIT_NOFILE, &files_limit) == 0 && files_limit.rlim_cur != RLIM_INFINITY &&
	    files_limit.rlim_cur < (rlim_t)LONG_MAX)
		w.fd_limit = (long)files_limit.rlim_cur - SCAN_FD_RESERVE;
	scan_pool_start(&w.pool, languages);
	int rc = walk_tree(root, &options, scan_visit, &w, e);
	scan_flush_batch(&w);
	scan_pool_finish(&w.pool);
	vec_free(&w.pending, NULL);
	if (rc < 0) {
		for (size_t i = 0; i < w.batches.len; i++)
			free(w.batches.items[i]);
		vec_free(&w.batches, NULL);
		scan_free(scan);
		return -1;
	}
	scan_collect_batches(&w);
	if (!scan_files_sorted(&scan->files))
		vec_sort(&scan->files, scan_compare_files);
	*out = scan;
	return 0;
}

/* Files are sorted by path: a binary search, rather than a map of 100k paths
 * built for the few lookups detectors make. */
const struct scan_file *scan_find(const struct scan *scan, const char *path)
{
	size_t lo = 0, hi = scan->files.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct scan_file *f = scan->files.items[mid];
		int cmp = strcmp(f->path, path);
		if (cmp == 0)
			return f;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct scan_file *scan_find_in_project(const struct scan *scan, const struct project *p,
					     const char *name)
{
	if (!*p->dir)
		return scan_find(scan, name);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", p->dir, name);
	const struct scan_file *f = scan_find(scan, path.data);
	buf_free(&path);
	return f;
}

static void scan_project_key(const struct project *p, char key[32])
{
	snprintf(key, 32, "%p", (const void *)p);
}

const struct vec *scan_project_files(struct scan *scan, const struct project *p)
{
	static const struct vec empty = VEC_INIT;
	char key[32];
	if (!scan->project_files) {
		scan->project_files = map_new();
		const struct project *last = NULL;
		struct vec *files = NULL;
		for (size_t i = 0; i < scan->files.len; i++) {
			struct scan_file *f = scan->files.items[i];
			if (!f->project)
				continue;
			/* Files of one project mostly follow each other in path order. */
			if (f->project != last) {
				last = f->project;
				scan_project_key(last, key);
				files = map_get(scan->project_files, key);
				if (!files) {
					files = xcalloc(1, sizeof(*files));
					map_put(scan->project_files, key, files);
				}
			}
			vec_push(files, f);
		}
	}
	scan_project_key(p, key);
	const struct vec *files = map_get(scan->project_files, key);
	return files ? files : &empty;
}

const struct vec *scan_dir_files(const struct scan *scan, const char *dir)
{
	static const struct vec empty = VEC_INIT;
	const struct vec *files = map_get(scan->dir_entries, dir);
	return files ? files : &empty;
}

/*
 * Like buf_read_file, but where the walk sized the file there is no fstat,
 * and the read that brings the last byte ends it (a file that grew since
 * is read on until its end or the limit).
 * Detectors read thousands of files.
 */
static int scan_read_file(struct buf *out, const char *path, const struct scan_file *file,
			  struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, "%s: cannot open", path);
	uint64_t size = file->size;
	struct stat st;
	if (!file->sized && fstat(fd, &st) == 0)
		size = (uint64_t)st.st_size;
	if (size > SCAN_CONTENT_LIMIT) {
		close(fd);
		return err_set(e, "%s: not read, %llu bytes is over the %d byte limit", file->path,
			       (unsigned long long)size, SCAN_CONTENT_LIMIT);
	}
	for (;;) {
		buf_grow(out, size > out->len ? (size_t)size - out->len + 1 : 8192);
		size_t wanted = out->cap - out->len - 1;
		ssize_t n = read(fd, out->data + out->len, wanted);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, "%s: cannot read", path);
			close(fd);
			buf_reset(out);
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > SCAN_CONTENT_LIMIT) {
			close(fd);
			buf_reset(out);
			return err_set(e, "%s: file is larger than the limit of %zu bytes", path,
				       (size_t)SCAN_CONTENT_LIMIT);
		}
		if ((size_t)n < wanted && out->len >= size)
			break;
	}
	close(fd);
	return 0;
}

size_t scan_first_under(const struct scan *scan, const char *prefix)
{
	size_t lo = 0, hi = scan->files.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct scan_file *f = scan->files.items[mid];
		if (strcmp(f->path, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t scan_file_size(const struct scan *scan, const struct scan_file *file)
{
	if (file->sized)
		return file->size;
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", scan->root, file->path);
	struct stat st;
	uint64_t size = lstat(path.data, &st) == 0 ? (uint64_t)st.st_size : 0;
	buf_free(&path);
	return size;
}

int scan_read(const struct scan *scan, const struct scan_file *file, struct buf *out, struct err *e)
{
	buf_reset(out);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s", scan->root, file->path);
	int rc = scan_read_file(out, path.data, file, e);
	buf_free(&path);
	if (rc < 0)
		return -1;
	size_t head = out->len < 8192 ? out->len : 8192;
	if (memchr(out->data ? out->data : "", '\0', head)) {
		buf_reset(out);
		return err_set(e, "%s: binary file", file->path);
	}
	return 0;
}

void scan_warn(struct scan *scan, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < scan->warnings.len; i++)
		if (strcmp(scan->warnings.items[i], msg.data) == 0) {
			buf_free(&msg);
			return;
		}
	vec_push(&scan->warnings, arena_strdup(scan->arena, msg.data));
	buf_free(&msg);
}
