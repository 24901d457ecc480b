/*
 * expr_hash: hashFiles(), the SHA-256 of the files a workspace's glob
 * patterns match, computed as the runner's script does so that cache keys
 * built with it behave the same. SHA-256 is written out here, small and
 * self-contained, because the library links no crypto library.
 */
#include "pipeline/expr_internal.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/walk.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --------------------------------------------------------------- SHA-256 */

struct sha256 {
	uint32_t state[8];
	uint64_t length;
	unsigned char block[64];
	size_t used;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_init(struct sha256 *h)
{
	static const uint32_t initial[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(h->state, initial, sizeof(initial));
	h->length = 0;
	h->used = 0;
}

static void sha256_block(struct sha256 *h, const unsigned char *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h->state[0], b = h->state[1], c = h->state[2], d = h->state[3];
	uint32_t e = h->state[4], f = h->state[5], g = h->state[6], k = h->state[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha256_k[i] + w[i];
		uint32_t t2 =
			(rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h->state[0] += a;
	h->state[1] += b;
	h->state[2] += c;
	h->state[3] += d;
	h->state[4] += e;
	h->state[5] += f;
	h->state[6] += g;
	h->state[7] += k;
}

static void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	h->length += len;
	while (len > 0) {
		size_t n = 64 - h->used < len ? 64 - h->used : len;
		memcpy(h->block + h->used, p, n);
		h->used += n;
		p += n;
		len -= n;
		if (h->used == 64) {
			sha256_block(h, h->block);
			h->used = 0;
		}
	}
}

static void sha256_final(struct sha256 *h, unsigned char digest[32])
{
	uint64_t bits = h->length * 8;
	unsigned char pad = 0x80;
	sha256_update(h, &pad, 1);
	pad = 0;
	while (h->used != 56)
		sha256_update(h, &pad, 1);
	unsigned char length[8];
	for (int i = 0; i < 8; i++)
		length[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(h, length, 8);
	for (int i = 0; i < 8; i++) {
		digest[4 * i] = (unsigned char)(h->state[i] >> 24);
		digest[4 * i + 1] = (unsigned char)(h->state[i] >> 16);
		digest[4 * i + 2] = (unsigned char)(h->state[i] >> 8);
		digest[4 * i + 3] = (unsigned char)h->state[i];
	}
}

/* ------------------------------------------------------------- hashFiles */

/*
 * hashFiles follows the runner's script (@actions/glob): patterns are
 * lines relative to the workspace, '!' excludes, a pattern naming a
 * directory takes in everything below it, the last pattern that matches a
 * path decides. Files are visited search path by search path (the literal
 * prefix of each including pattern, in pattern order) and, within one,
 * depth-first in strcmp order, which makes the hash reproducible where
 * the runner's order follows the file system. The result is the SHA-256
 * of the concatenated SHA-256 digests of the files, or '' when none match.
 */
struct hash_pattern {
	struct glob *glob;
	struct glob *below; /* the pattern with "/" and a globstar appended */
	bool negate;
	bool outside; /* names something outside the workspace: matches nothing */
	char *search; /* literal prefix: where the walk starts ("" = workspace) */
};

struct hash_job {
	struct hash_pattern *patterns;
	size_t count;
	const char *search; /* the search path being walked */
	char **files;
	size_t nfiles, cap;
	struct buf rel;
};

static void hash_patterns_free(struct hash_pattern *patterns, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		glob_free(patterns[i].glob);
		glob_free(patterns[i].below);
		free(patterns[i].search);
	}
	free(patterns);
}

/* Resolves a pattern to a clean path relative to the workspace ("" for
 * the workspace itself); false when it points outside. */
static bool hash_pattern_normalize(const char *workspace, const char *pattern, struct buf *out)
{
	size_t wlen = strlen(workspace);
	while (wlen > 1 && workspace[wlen - 1] == '/')
		wlen--;
	const char *p = pattern;
	if (*p == '/') {
		if (strncmp(p, workspace, wlen) != 0 || (p[wlen] != '/' && p[wlen] != '\0'))
			return false;
		p += wlen;
	}
	buf_reset(out);
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (out->len == 0)
				return false;
			char *slash = memrchr(out->data, '/', out->len);
			buf_truncate(out, slash ? (size_t)(slash - out->data) : 0);
		} else {
			if (out->len > 0)
				buf_addch(out, '/');
			buf_add(out, p, n);
		}
		p += n;
	}
	buf_cstr(out);
	return true;
}

static bool hash_path_matches(const struct hash_job *job, const char *rel)
{
	bool matched = false;
	for (size_t i = 0; i < job->count; i++) {
		const struct hash_pattern *hp = &job->patterns[i];
		if (hp->outside)
			continue;
		if (glob_matches(hp->glob, rel) || (hp->below && glob_matches(hp->below, rel)))
			matched = !hp->negate;
	}
	return matched;
}

static void hash_job_add(struct hash_job *job, const char *rel)
{
	if (job->nfiles == job->cap) {
		job->cap = xalloc_grow_capacity(job->cap, job->nfiles + 1);
		job->files = xrealloc(job->files, job->cap * sizeof(*job->files));
	}
	job->files[job->nfiles++] = xstrdup(rel);
}

static enum walk_action hash_visit(struct walk_entry *entry, void *ctx)
{
	struct hash_job *job = ctx;
	if (entry->is_dir)
		return WALK_CONTINUE;
	buf_reset(&job->rel);
	if (job->search[0])
		buf_addf(&job->rel, "%s/", job->search);
	buf_add(&job->rel, entry->path, entry->path_len);
	if (hash_path_matches(job, buf_cstr(&job->rel)))
		hash_job_add(job, job->rel.data);
	return WALK_CONTINUE;
}

/* True when path (resolved) lies inside the resolved workspace. */
static bool path_inside(const char *real_workspace, const char *path)
{
	char *real = realpath(path, NULL);
	if (!real)
		return false;
	size_t n = strlen(real_workspace);
	bool inside = strncmp(real, real_workspace, n) == 0 && real[n] == '/';
	free(real);
	return inside;
}

static int hash_file(struct eval *ev, const struct node *n, const char *path,
		     const char *real_workspace, struct sha256 *outer)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return expr_eval_fail(ev, n->pos, "hashFiles: cannot read '%s': %s", path,
				      strerror(errno));
	/* A repository must not make hashFiles read outside the workspace, so a
	 * symbolic link counts only when it resolves inside it. */
	if (S_ISLNK(st.st_mode) && !path_inside(real_workspace, path))
		return 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return expr_eval_fail(ev, n->pos, "hashFiles: cannot read '%s': %s", path,
				      strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	struct sha256 h;
	sha256_init(&h);
	unsigned char chunk[65536];
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int saved = errno;
			close(fd);
			return expr_eval_fail(ev, n->pos, "hashFiles: cannot read '%s': %s", path,
					      strerror(saved));
		}
		if (got == 0)
			break;
		sha256_update(&h, chunk, (size_t)got);
	}
	close(fd);
	unsigned char digest[32];
	sha256_final(&h, digest);
	sha256_update(outer, digest, sizeof(digest));
	return 0;
}

/* Whether search path a lies strictly under b ("" is above everything). */
static bool search_below(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (n == 0)
		return a[0] != '\0';
	return strncmp(a, b, n) == 0 && a[n] == '/';
}

static int hash_collect(struct eval *ev, const struct node *n, struct hash_job *job, bool follow)
{
	const char *workspace = ev->env->workspace;
	struct buf path = BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < job->count && rc == 0; i++) {
		const struct hash_pattern *hp = &job->patterns[i];
		if (hp->negate || hp->outside)
			continue;
		/* The runner walks each search path once, skipping one that lies
		 * below (or repeats) another. */
		bool skip = false;
		for (size_t k = 0; k < job->count && !skip; k++) {
			const struct hash_pattern *other = &job->patterns[k];
			if (other->negate || other->outside || k == i)
				continue;
			if (search_below(hp->search, other->search) ||
			    (k < i && strcmp(hp->search, other->search) == 0))
				skip = true;
		}
		if (skip)
			continue;
		buf_reset(&path);
		buf_adds(&path, workspace);
		if (hp->search[0])
			buf_addf(&path, "/%s", hp->search);
		struct stat st;
		if ((follow ? stat(path.data, &st) : lstat(path.data, &st)) != 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			if (hash_path_matches(job, hp->search))
				hash_job_add(job, hp->search);
			continue;
		}
		struct walk_options opts = { 0 };
		opts.no_gitignore = true;
		opts.no_default_skips = true;
		opts.follow_symlinks = follow;
		struct err werr = ERR_INIT;
		job->search = hp->search;
		if (walk_tree(path.data, &opts, hash_visit, job, &werr) != 0)
			rc = expr_eval_fail(ev, n->pos, "hashFiles: %s", werr.msg);
	}
	buf_free(&path);
	return rc;
}

int expr_hash_files(struct eval *ev, const struct node *n, struct value *out)
{
	const char *workspace = ev->env ? ev->env->workspace : NULL;
	if (!workspace)
		return expr_eval_fail(ev, n->pos, "hashFiles is not available here (no workspace)");
	struct hash_job job = { 0 };
	buf_init(&job.rel);
	struct buf arg = BUF_INIT, clean = BUF_INIT;
	bool follow = false;
	char *real_workspace = NULL;
	int rc = -1;
	size_t cap = 0;
	for (size_t i = 0; i < n->nargs; i++) {
		buf_reset(&arg);
		if (expr_eval_string_arg(ev, n->args[i], &arg) != 0)
			goto done;
		if (i == 0 && strncmp(buf_cstr(&arg), "--", 2) == 0) {
			if (!expr_ascii_equal_icase(arg.data, arg.len, "--follow-symbolic-links")) {
				expr_eval_fail(ev, n->pos,
					       "hashFiles: invalid option '%s' (the only option is "
					       "'--follow-symbolic-links')",
					       arg.data);
				goto done;
			}
			follow = true;
			continue;
		}
		/* The runner hands the patterns to @actions/glob one per line. */
		const char *line = buf_cstr(&arg);
		while (line) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			while (len > 0 && expr_is_space((unsigned char)*line))
				line++, len--;
			while (len > 0 && expr_is_space((unsigned char)line[len - 1]))
				len--;
			char *pattern = xstrndup(line, len);
			line = nl ? nl + 1 : NULL;
			if (!pattern[0] || pattern[0] == '#') {
				free(pattern);
				continue;
			}
			bool negate = false;
			char *p = pattern;
			while (*p == '!') {
				negate = !negate;
				p++;
				while (expr_is_space((unsigned char)*p))
					p++;
			}
			if (job.count == cap) {
				cap = xalloc_grow_capacity(cap, job.count + 1);
				job.patterns = xrealloc(job.patterns, cap * sizeof(*job.patterns));
			}
			struct hash_pattern *hp = &job.patterns[job.count++];
			memset(hp, 0, sizeof(*hp));
			hp->negate = negate;
			if (!hash_pattern_normalize(workspace, p, &clean)) {
				hp->outside = true;
				hp->search = xstrdup("");
				free(pattern);
				continue;
			}
			/* The search path is the run of components without wildcards. */
			size_t search_len = 0, at = 0;
			while (at < clean.len) {
				size_t seg = strcspn(clean.data + at, "/");
				if (strcspn(clean.data + at, "*?[\\") < seg)
					break;
				search_len = at + seg;
				at += seg + 1;
			}
			hp->search = xstrndup(clean.data, search_len);
			if (clean.len == 0) {
				hp->glob = glob_compile("**", 0);
			} else {
				hp->glob = glob_compile(clean.data, 0);
				size_t tail = clean.len >= 2 ? clean.len - 2 : 0;
				bool ends_deep = strcmp(clean.data + tail, "**") == 0 &&
						 (tail == 0 || clean.data[tail - 1] == '/');
				if (!ends_deep) {
					buf_adds(&clean, "/**");
					hp->below = glob_compile(clean.data, 0);
				}
			}
			free(pattern);
		}
	}
	real_workspace = realpath(workspace, NULL);
	if (!real_workspace) {
		expr_eval_fail(ev, n->pos, "hashFiles: cannot open the workspace '%s': %s",
			       workspace, strerror(errno));
		goto done;
	}
	if (hash_collect(ev, n, &job, follow) != 0)
		goto done;
	struct sha256 outer;
	sha256_init(&outer);
	size_t hashed = 0;
	struct buf path = BUF_INIT;
	for (size_t i = 0; i < job.nfiles; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", workspace, job.files[i]);
		int r = hash_file(ev, n, path.data, real_workspace, &outer);
		if (r < 0) {
			buf_free(&path);
			goto done;
		}
		if (r == 0)
			hashed++;
	}
	buf_free(&path);
	struct buf hex = BUF_INIT;
	if (hashed > 0) {
		unsigned char digest[32];
		sha256_final(&outer, digest);
		for (int i = 0; i < 32; i++)
			buf_addf(&hex, "%02x", digest[i]);
	}
	*out = expr_value_string_buf(&hex);
	buf_free(&hex);
	rc = 0;
done:
	for (size_t i = 0; i < job.nfiles; i++)
		free(job.files[i]);
	free(job.files);
	hash_patterns_free(job.patterns, job.count);
	buf_free(&job.rel);
	buf_free(&arg);
	buf_free(&clean);
	free(real_workspace);
	return rc;
}
