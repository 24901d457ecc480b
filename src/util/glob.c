#include "util/glob.h"

#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum glob_token_kind {
	TOKEN_LITERAL,
	TOKEN_ANY,	 /* ? */
	TOKEN_CLASS,	 /* [...] */
	TOKEN_STAR,	 /* * : any run without '/' */
	TOKEN_STAR_STAR, /* ** as a whole component: any run */
};

struct glob_token {
	unsigned char kind;
	unsigned char ch;
	/* A leading or inner ** followed by '/' may also match nothing at all,
	 * slash included ("a/<star><star>/b" matches "a/b"), so it has an
	 * epsilon edge over that slash. */
	bool may_skip_slash;
	uint32_t class_index;
};

struct glob_class {
	uint8_t bits[32];
};

struct glob {
	struct glob_token *tokens;
	size_t count;
	size_t cap;
	struct glob_class *classes;
	size_t class_count;
	unsigned flags;
	bool valid;
	bool literal;	   /* only literal tokens: a plain string compare */
	size_t min_len;	   /* no shorter text can match */
	size_t prefix_len; /* leading literal tokens */
	size_t suffix_at;  /* first token of the trailing literal run */
	/* The longest run of literals every match must contain, checked with
	 * memmem before the automaton: most paths fail a pattern like
	 * <star><star>/vendor/<star><star> right there. */
	char *infix;
	size_t infix_len;
};

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool ascii_in(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

/* ASCII-only on purpose: matching must not change with the process locale. */
static bool class_name_has(const char *name, size_t len, unsigned char c)
{
	bool upper = ascii_in(c, 'A', 'Z'), lower = ascii_in(c, 'a', 'z');
	bool digit = ascii_in(c, '0', '9');
	bool graph = ascii_in(c, 0x21, 0x7e);
#define IS(word) (len == sizeof(word) - 1 && memcmp(name, word, len) == 0)
	if (IS("alnum"))
		return upper || lower || digit;
	if (IS("alpha"))
		return upper || lower;
	if (IS("blank"))
		return c == ' ' || c == '\t';
	if (IS("cntrl"))
		return c < 0x20 || c == 0x7f;
	if (IS("digit"))
		return digit;
	if (IS("graph"))
		return graph;
	if (IS("lower"))
		return lower;
	if (IS("print"))
		return graph || c == ' ';
	if (IS("punct"))
		return graph && !upper && !lower && !digit;
	if (IS("space"))
		return c == ' ' || ascii_in(c, '\t', '\r');
	if (IS("upper"))
		return upper;
	if (IS("xdigit"))
		return digit || ascii_in(c, 'a', 'f') || ascii_in(c, 'A', 'F');
#undef IS
	return false;
}

static bool class_name_known(const char *name, size_t len)
{
	static const char *const names[] = {
		"alnum", "alpha", "blank", "cntrl", "digit", "graph",
		"lower", "print", "punct", "space", "upper", "xdigit"
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return true;
	return false;
}

static void class_set(struct glob_class *cls, unsigned c)
{
	cls->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool class_has(const struct glob_class *cls, unsigned char c)
{
	return (cls->bits[c >> 3] >> (c & 7)) & 1u;
}

/*
 * Parses a bracket expression the way git's wildmatch reads it: a `]` right
 * after `[` or `[!` is literal, `-` makes a range only between two members,
 * and `[:name:]` names a class. p points just past the `[`; returns the
 * position after the closing `]`, or NULL when the expression is malformed.
 */
static const char *parse_class(const char *p, struct glob_class *cls, unsigned flags)
{
	bool negated = false;
	unsigned char c = (unsigned char)*p;
	int prev = -1; /* last single member, the possible start of a range */

	if (c == '!' || c == '^') {
		negated = true;
		c = (unsigned char)*++p;
	}
	do {
		if (!c)
			return NULL;
		if (c == '\\') {
			c = (unsigned char)*++p;
			if (!c)
				return NULL;
			class_set(cls, c);
			prev = c;
		} else if (c == '-' && prev >= 0 && p[1] && p[1] != ']') {
			c = (unsigned char)*++p;
			if (c == '\\') {
				c = (unsigned char)*++p;
				if (!c)
					return NULL;
			}
			for (int x = prev; x <= c; x++)
				class_set(cls, (unsigned)x);
			prev = -1;
		} else if (c == '[' && p[1] == ':') {
			const char *start = p + 2, *end = start;
			while (*end && *end != ']')
				end++;
			if (!*end)
				return NULL;
			if (end - start < 1 || end[-1] != ':') {
				/* No ":]": the '[' is an ordinary member. */
				class_set(cls, '[');
				prev = '[';
			} else {
				size_t len = (size_t)(end - start) - 1;
				if (!class_name_known(start, len))
					return NULL;
				for (unsigned x = 0; x < 256; x++)
					if (class_name_has(start, len, (unsigned char)x))
						class_set(cls, x);
				p = end;
				prev = -1;
			}
		} else {
			class_set(cls, c);
			prev = c;
		}
		c = (unsigned char)*++p;
	} while (c != ']');

	if (flags & GLOB_CASEFOLD) {
		for (unsigned x = 'a'; x <= 'z'; x++) {
			unsigned up = x - 'a' + 'A';
			if (class_has(cls, (unsigned char)x) || class_has(cls, (unsigned char)up)) {
				class_set(cls, x);
				class_set(cls, up);
			}
		}
	}
	if (negated)
		for (size_t i = 0; i < sizeof(cls->bits); i++)
			cls->bits[i] = (uint8_t)~cls->bits[i];
	/* With pathname semantics no class ever matches a directory separator. */
	cls->bits['/' >> 3] &= (uint8_t) ~(1u << ('/' & 7));
	return p + 1;
}

static struct glob_token *push_token(struct glob *g, enum glob_token_kind kind, unsigned char ch)
{
	if (g->count == g->cap) {
		g->cap = xalloc_grow_capacity(g->cap, g->count + 1);
		g->tokens = xrealloc(g->tokens, g->cap * sizeof(*g->tokens));
	}
	struct glob_token *t = &g->tokens[g->count++];
	t->kind = (unsigned char)kind;
	t->ch = (g->flags & GLOB_CASEFOLD) ? ascii_lower(ch) : ch;
	t->may_skip_slash = false;
	t->class_index = 0;
	return t;
}

static bool parse_pattern(struct glob *g, const char *pattern)
{
	const char *p = pattern;
	while (*p) {
		unsigned char c = (unsigned char)*p;
		if (c == '\\') {
			if (!p[1])
				return false;
			push_token(g, TOKEN_LITERAL, (unsigned char)p[1]);
			p += 2;
		} else if (c == '?') {
			push_token(g, TOKEN_ANY, 0);
			p++;
		} else if (c == '[') {
			struct glob_class cls;
			memset(&cls, 0, sizeof(cls));
			const char *next = parse_class(p + 1, &cls, g->flags);
			if (!next)
				return false;
			g->classes = xrealloc(g->classes, (g->class_count + 1) * sizeof(cls));
			g->classes[g->class_count] = cls;
			push_token(g, TOKEN_CLASS, 0)->class_index = (uint32_t)g->class_count++;
			p = next;
		} else if (c == '*') {
			const char *first = p;
			while (*p == '*')
				p++;
			bool whole_component =
				p - first >= 2 && (first == pattern || first[-1] == '/') &&
				(*p == '\0' || *p == '/' || (p[0] == '\\' && p[1] == '/'));
			if (whole_component)
				push_token(g, TOKEN_STAR_STAR, 0)->may_skip_slash = *p == '/';
			else
				push_token(g, TOKEN_STAR, 0);
		} else {
			push_token(g, TOKEN_LITERAL, c);
			p++;
		}
	}
	return true;
}

/* Precomputes the cheap necessary conditions checked before the automaton. */
static void compute_filters(struct glob *g)
{
	size_t last_wild = g->count;
	g->literal = true;
	g->min_len = 0;
	for (size_t i = 0; i < g->count; i++) {
		const struct glob_token *t = &g->tokens[i];
		if (t->kind != TOKEN_LITERAL) {
			g->literal = false;
			last_wild = i;
		}
		if (t->kind == TOKEN_STAR || t->kind == TOKEN_STAR_STAR)
			continue;
		if (i > 0 && g->tokens[i - 1].may_skip_slash)
			continue; /* the optional slash after a leading or inner ** */
		g->min_len++;
	}
	size_t run_start = 0, best_start = 0, best_len = 0;
	for (size_t i = 0; i <= g->count; i++) {
		bool required = i < g->count && g->tokens[i].kind == TOKEN_LITERAL &&
				!(i > 0 && g->tokens[i - 1].may_skip_slash);
		if (required)
			continue;
		if (i - run_start > best_len) {
			best_start = run_start;
			best_len = i - run_start;
		}
		run_start = i + 1;
	}
	if (best_len >= 2 && !(g->flags & GLOB_CASEFOLD)) {
		g->infix = xmalloc(best_len);
		for (size_t i = 0; i < best_len; i++)
			g->infix[i] = (char)g->tokens[best_start + i].ch;
		g->infix_len = best_len;
	}
	g->prefix_len = 0;
	while (g->prefix_len < g->count && g->tokens[g->prefix_len].kind == TOKEN_LITERAL)
		g->prefix_len++;
	if (last_wild == g->count) {
		g->suffix_at = g->count;
	} else {
		g->suffix_at = last_wild + 1;
		if (g->tokens[last_wild].may_skip_slash)
			g->suffix_at++;
	}
}

struct glob *glob_compile(const char *pattern, unsigned flags)
{
	struct glob *g = xcalloc(1, sizeof(*g));
	g->flags = flags;
	g->valid = parse_pattern(g, pattern);
	if (g->valid)
		compute_filters(g);
	return g;
}

void glob_free(struct glob *g)
{
	if (!g)
		return;
	free(g->tokens);
	free(g->infix);
	free(g->classes);
	free(g);
}

bool glob_is_valid(const struct glob *g)
{
	return g->valid;
}

static bool char_eq(const struct glob *g, unsigned char token_ch, unsigned char c)
{
	if (g->flags & GLOB_CASEFOLD)
		c = ascii_lower(c);
	return token_ch == c;
}

/*
 * Adds state i and everything reachable from it without consuming input.
 * `fresh` is false for the self-loop of a ** that has already consumed
 * text: only a ** entered afresh may skip its slash, or "<star><star>/x"
 * would match "a/bx".
 */
static void add_state(const struct glob *g, uint64_t *set, size_t i, bool fresh)
{
	for (;;) {
		uint64_t bit = UINT64_C(1) << (i & 63);
		if (i < g->count && fresh && g->tokens[i].may_skip_slash)
			add_state(g, set, i + 2, true);
		if (set[i >> 6] & bit)
			return;
		set[i >> 6] |= bit;
		if (i == g->count)
			return;
		const struct glob_token *t = &g->tokens[i];
		if (t->kind != TOKEN_STAR && t->kind != TOKEN_STAR_STAR)
			return;
		i++;
		fresh = true;
	}
}

/*
 * Simulates all positions in the pattern at once (Thompson's construction
 * without building the automaton): each text byte costs at most one pass
 * over the live states, so the time is O(pattern x text) whatever the input.
 */
static bool run_automaton(const struct glob *g, size_t start, const unsigned char *text, size_t len)
{
	enum { STACK_WORDS = 4 };
	uint64_t stack_sets[2][STACK_WORDS];
	size_t words = (g->count + 1 + 63) / 64;
	uint64_t *cur, *next, *heap = NULL;
	bool matched = false;

	if (words <= STACK_WORDS) {
		cur = stack_sets[0];
		next = stack_sets[1];
	} else {
		heap = xcalloc(2 * words, sizeof(*heap));
		cur = heap;
		next = heap + words;
	}
	memset(cur, 0, words * sizeof(*cur));
	add_state(g, cur, start, true);

	for (size_t pos = 0; pos < len; pos++) {
		unsigned char c = text[pos];
		bool any_live = false;
		memset(next, 0, words * sizeof(*next));
		for (size_t w = 0; w < words; w++) {
			uint64_t bits = cur[w];
			while (bits) {
				size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				if (i == g->count)
					continue;
				const struct glob_token *t = &g->tokens[i];
				switch (t->kind) {
				case TOKEN_LITERAL:
					if (char_eq(g, t->ch, c)) {
						add_state(g, next, i + 1, true);
						any_live = true;
					}
					break;
				case TOKEN_ANY:
					if (c != '/') {
						add_state(g, next, i + 1, true);
						any_live = true;
					}
					break;
				case TOKEN_CLASS:
					if (class_has(&g->classes[t->class_index], c)) {
						add_state(g, next, i + 1, true);
						any_live = true;
					}
					break;
				case TOKEN_STAR:
					if (c != '/') {
						add_state(g, next, i, false);
						any_live = true;
					}
					break;
				case TOKEN_STAR_STAR:
					if (i + 1 == g->count) {
						/* A trailing ** swallows whatever is left. */
						matched = true;
						goto done;
					}
					add_state(g, next, i, false);
					any_live = true;
					break;
				default:
					break;
				}
			}
		}
		if (!any_live)
			goto done;
		uint64_t *swap = cur;
		cur = next;
		next = swap;
	}
	matched = (cur[g->count >> 6] >> (g->count & 63)) & 1u;
done:
	free(heap);
	return matched;
}

bool glob_matches_n(const struct glob *g, const char *path, size_t len)
{
	const unsigned char *text = (const unsigned char *)path;
	if (!g->valid || len < g->min_len)
		return false;
	if (g->literal && len != g->count)
		return false;
	for (size_t i = 0; i < g->prefix_len; i++)
		if (!char_eq(g, g->tokens[i].ch, text[i]))
			return false;
	if (g->literal)
		return true;
	size_t suffix = g->count - g->suffix_at;
	if (suffix > len)
		return false;
	for (size_t i = 0; i < suffix; i++)
		if (!char_eq(g, g->tokens[g->suffix_at + i].ch, text[len - suffix + i]))
			return false;
	if (g->infix_len && !memmem(text, len, g->infix, g->infix_len))
		return false;
	return run_automaton(g, g->prefix_len, text + g->prefix_len, len - g->prefix_len);
}

bool glob_matches(const struct glob *g, const char *path)
{
	return glob_matches_n(g, path, strlen(path));
}

bool glob_match_flags(const char *pattern, const char *path, unsigned flags)
{
	struct glob *g = glob_compile(pattern, flags);
	bool matched = glob_matches(g, path);
	glob_free(g);
	return matched;
}

bool glob_match(const char *pattern, const char *path)
{
	return glob_match_flags(pattern, path, 0);
}

bool glob_has_wildcards(const char *pattern)
{
	return strpbrk(pattern, "*?[\\") != NULL;
}
