/*
 * expr_parse: reads the text of a GitHub Actions expression into a tree of
 * nodes, as the runner's lexer and parser do, with its limits (length,
 * depth) and its messages; and checks function names, arity and named
 * values while it reads, so that load-time validation needs no evaluation.
 */
#include "pipeline/expr_internal.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ AST */

void expr_node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nargs; i++)
		expr_node_free(n->args[i]);
	free(n->args);
	free(n->name);
	expr_value_release(&n->literal);
	free(n);
}

static struct node *node_new(enum node_kind kind, size_t pos)
{
	struct node *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	n->height = 1;
	n->literal = expr_value_null();
	return n;
}

static void node_add(struct node *n, struct node *child)
{
	if (n->nargs == n->cap) {
		n->cap = xalloc_grow_capacity(n->cap, n->nargs + 1);
		n->args = xrealloc(n->args, n->cap * sizeof(*n->args));
	}
	n->args[n->nargs++] = child;
	if (child->height + 1 > n->height)
		n->height = child->height + 1;
}

/* ---------------------------------------------------------------- errors */

/* Column of byte offset pos, counting characters from 1. */
static size_t column_of(const char *src, size_t pos)
{
	size_t col = 1;
	for (size_t i = 0; i < pos; i++)
		if (((unsigned char)src[i] & 0xC0) != 0x80)
			col++;
	return col;
}

/* Length of at most max bytes of s, not splitting a UTF-8 sequence. */
size_t expr_clip_utf8(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

int expr_fail_vat(struct err *e, const char *label, const char *src, size_t len, size_t pos,
		  const char *fmt, va_list ap)
{
	struct buf problem = BUF_INIT, shown = BUF_INIT;
	buf_vaddf(&problem, fmt, ap);
	/* Messages end up in logs and JSON: bytes that are not UTF-8 show as
	 * '?' rather than travel on. */
	size_t n = expr_clip_utf8(src, len, MESSAGE_SOURCE_MAX);
	for (size_t i = 0; i < n;) {
		size_t bad = str_utf8_invalid_at(src + i, n - i);
		buf_add(&shown, src + i, bad);
		i += bad;
		if (i < n) {
			buf_addch(&shown, '?');
			i++;
		}
	}
	err_set(e, "%s'%s%s' at column %zu: %s", label, buf_cstr(&shown), n < len ? "..." : "",
		column_of(src, pos), problem.data);
	buf_free(&problem);
	buf_free(&shown);
	return -1;
}

/* ---------------------------------------------------------------- lexer */

enum token_kind {
	TOKEN_END,
	TOKEN_LPAREN,
	TOKEN_RPAREN,
	TOKEN_LBRACKET,
	TOKEN_RBRACKET,
	TOKEN_COMMA,
	TOKEN_DOT,
	TOKEN_STAR,
	TOKEN_NOT,
	TOKEN_NE,
	TOKEN_LT,
	TOKEN_LE,
	TOKEN_GT,
	TOKEN_GE,
	TOKEN_EQ,
	TOKEN_AND,
	TOKEN_OR,
	TOKEN_STRING,
	TOKEN_NUMBER,
	TOKEN_WORD,
	TOKEN_UNEXPECTED,
};

struct token {
	enum token_kind kind;
	size_t pos;
	size_t len;
	double number;
};

/* Characters that end a word or number (as in the runner's lexer). */
static bool is_boundary(unsigned char c)
{
	return strchr("([)],.!><=&|", c) != NULL || expr_is_space(c);
}

/* The runner's IsLegalKeyword: [A-Za-z_][A-Za-z0-9_-]*. */
static bool is_legal_keyword(const char *s, size_t len)
{
	if (len == 0)
		return false;
	unsigned char c = (unsigned char)s[0];
	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || expr_is_digit(c) ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

struct parser {
	const char *src;
	size_t len;
	size_t pos;
	int nesting;
	struct err *e;
	/* Which named values exist: the keys of contexts, or a list, or any. */
	const json_t *contexts;
	const char *const *allowed;
	bool any_name;
	bool allow_status;
	/* The first unknown name, reported only when the syntax is right so
	 * that "foo(" says what is missing rather than that foo is unknown. */
	bool name_failed;
	size_t name_pos;
	char name_problem[256];
};

__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *p, size_t pos,
							 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	expr_fail_vat(p->e, "expression ", p->src, p->len, pos, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Reads the token at p->pos without consuming it. `operand` says whether
 * an operand may start here: then '.' begins a number (".5"), else it is
 * the dereference operator.
 */
static void token_peek(const struct parser *p, bool operand, struct token *t)
{
	const char *s = p->src;
	size_t i = p->pos;
	while (i < p->len && expr_is_space((unsigned char)s[i]))
		i++;
	t->pos = i;
	t->len = 1;
	t->number = 0;
	if (i >= p->len) {
		t->kind = TOKEN_END;
		t->len = 0;
		return;
	}
	char c = s[i];
	char next = i + 1 < p->len ? s[i + 1] : '\0';
	switch (c) {
	case '(':
		t->kind = TOKEN_LPAREN;
		return;
	case ')':
		t->kind = TOKEN_RPAREN;
		return;
	case '[':
		t->kind = TOKEN_LBRACKET;
		return;
	case ']':
		t->kind = TOKEN_RBRACKET;
		return;
	case ',':
		t->kind = TOKEN_COMMA;
		return;
	case '*':
		t->kind = TOKEN_STAR;
		return;
	case '!':
		t->kind = next == '=' ? TOKEN_NE : TOKEN_NOT;
		t->len = next == '=' ? 2 : 1;
		return;
	case '<':
		t->kind = next == '=' ? TOKEN_LE : TOKEN_LT;
		t->len = next == '=' ? 2 : 1;
		return;
	case '>':
		t->kind = next == '=' ? TOKEN_GE : TOKEN_GT;
		t->len = next == '=' ? 2 : 1;
		return;
	case '=':
	case '&':
	case '|':
		if (next == c) {
			t->kind = c == '=' ? TOKEN_EQ : c == '&' ? TOKEN_AND : TOKEN_OR;
			t->len = 2;
		} else {
			t->kind = TOKEN_UNEXPECTED;
		}
		return;
	case '\'': {
		size_t j = i + 1;
		for (;;) {
			if (j >= p->len) {
				t->kind = TOKEN_UNEXPECTED;
				t->len = j - i;
				return;
			}
			if (s[j] == '\'') {
				if (j + 1 < p->len && s[j + 1] == '\'') {
					j += 2;
					continue;
				}
				t->kind = TOKEN_STRING;
				t->len = j + 1 - i;
				return;
			}
			j++;
		}
	}
	default:
		break;
	}
	if ((c == '.' && operand) || c == '-' || c == '+' || expr_is_digit((unsigned char)c)) {
		size_t j = i + 1;
		while (j < p->len && (!is_boundary((unsigned char)s[j]) || s[j] == '.'))
			j++;
		t->len = j - i;
		t->number = expr_number_parse(s + i, t->len);
		t->kind = isnan(t->number) ? TOKEN_UNEXPECTED : TOKEN_NUMBER;
		return;
	}
	if (c == '.') {
		t->kind = TOKEN_DOT;
		return;
	}
	size_t j = i + 1;
	while (j < p->len && !is_boundary((unsigned char)s[j]))
		j++;
	t->len = j - i;
	t->kind = is_legal_keyword(s + i, t->len) ? TOKEN_WORD : TOKEN_UNEXPECTED;
}

static void token_take(struct parser *p, const struct token *t)
{
	p->pos = t->pos + t->len;
}

static int fail_token(struct parser *p, const struct token *t)
{
	if (t->kind == TOKEN_END)
		return fail_at(p, t->pos, "unexpected end of expression");
	if (t->kind == TOKEN_UNEXPECTED && p->src[t->pos] == '\'')
		return fail_at(p, t->pos, "unterminated string");
	size_t shown = expr_clip_utf8(p->src + t->pos, t->len, MESSAGE_TOKEN_MAX);
	return fail_at(p, t->pos, "unexpected symbol '%.*s%s'", (int)shown, p->src + t->pos,
		       shown < t->len ? "..." : "");
}

static int expect(struct parser *p, enum token_kind kind, const char *what)
{
	struct token t;
	token_peek(p, false, &t);
	if (t.kind != kind) {
		if (t.kind == TOKEN_END)
			return fail_at(p, t.pos, "expected '%s'", what);
		size_t shown = expr_clip_utf8(p->src + t.pos, t.len, MESSAGE_TOKEN_MAX);
		return fail_at(p, t.pos, "expected '%s' instead of '%.*s%s'", what, (int)shown,
			       p->src + t.pos, shown < t.len ? "..." : "");
	}
	token_take(p, &t);
	return 0;
}

/* ---------------------------------------------------------------- parser */

static struct node *parse_or(struct parser *p);

static bool check_height(struct parser *p, struct node *n)
{
	if (n->height <= EXPR_MAX_DEPTH)
		return true;
	fail_at(p, n->pos, "exceeds the maximum nesting depth of %d", EXPR_MAX_DEPTH);
	return false;
}

static bool nest(struct parser *p, size_t pos)
{
	/* Every level of recursion adds a level to the tree, except plain
	 * parentheses, which are bounded the same way here so that no input
	 * can run the parser's stack out. */
	if (++p->nesting <= EXPR_MAX_DEPTH)
		return true;
	fail_at(p, pos, "exceeds the maximum nesting depth of %d", EXPR_MAX_DEPTH);
	return false;
}

static void name_fail(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void name_fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	if (p->name_failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->name_problem, sizeof(p->name_problem), fmt, ap);
	va_end(ap);
	p->name_failed = true;
	p->name_pos = pos;
}

static bool name_known(const struct parser *p, const char *name, size_t len)
{
	if (p->any_name)
		return true;
	if (p->allowed) {
		for (size_t i = 0; p->allowed[i]; i++)
			if (expr_ascii_equal_icase(name, len, p->allowed[i]))
				return true;
		return false;
	}
	return json_is_object(p->contexts) && expr_object_get_icase(p->contexts, name, len) != NULL;
}

static struct node *parse_call(struct parser *p, const struct token *word)
{
	struct node *n = node_new(NODE_CALL, word->pos);
	n->name = xstrndup(p->src + word->pos, word->len);
	n->function = expr_function_find(n->name, word->len);
	if (!n->function)
		name_fail(p, word->pos, "unrecognized function '%s'", n->name);
	else if (n->function->status && !p->allow_status)
		name_fail(p, word->pos,
			  "the status function '%s' is only allowed in 'if' conditions", n->name);
	token_take(p, word);
	struct token t;
	token_peek(p, false, &t); /* the '(' the caller saw */
	size_t open = t.pos;
	token_take(p, &t);
	token_peek(p, true, &t);
	if (t.kind == TOKEN_RPAREN) {
		token_take(p, &t);
	} else if (t.kind == TOKEN_END) {
		fail_at(p, t.pos, "expected ')'");
		goto fail;
	} else {
		for (;;) {
			struct node *arg = parse_or(p);
			if (!arg)
				goto fail;
			node_add(n, arg);
			if (!check_height(p, n))
				goto fail;
			token_peek(p, false, &t);
			if (t.kind == TOKEN_COMMA) {
				token_take(p, &t);
				continue;
			}
			if (t.kind == TOKEN_RPAREN) {
				token_take(p, &t);
				break;
			}
			if (t.kind == TOKEN_END)
				fail_at(p, t.pos, "expected ')'");
			else
				fail_token(p, &t);
			goto fail;
		}
	}
	if (n->function && n->nargs < n->function->min_args) {
		fail_at(p, open, "too few arguments for '%s' (expects %s%zu)", n->name,
			n->function->min_args == n->function->max_args ? "" : "at least ",
			n->function->min_args);
		goto fail;
	}
	if (n->function && n->nargs > n->function->max_args) {
		fail_at(p, open, "too many arguments for '%s' (expects %s%zu)", n->name,
			n->function->min_args == n->function->max_args ? "" : "at most ",
			n->function->max_args);
		goto fail;
	}
	return n;
fail:
	expr_node_free(n);
	return NULL;
}

static struct node *string_literal(struct parser *p, const struct token *t)
{
	struct buf b = BUF_INIT;
	const char *s = p->src + t->pos + 1;
	size_t len = t->len - 2;
	for (size_t i = 0; i < len; i++) {
		buf_addch(&b, s[i]);
		if (s[i] == '\'')
			i++; /* '' is one quote */
	}
	struct node *n = node_new(NODE_LITERAL, t->pos);
	n->literal = expr_value_string_buf(&b);
	buf_free(&b);
	return n;
}

/* An operand. *postfix says whether '.' and '[' may follow it (not after
 * a literal, as in the runner: 'abc'[0] is a syntax error). */
static struct node *parse_primary(struct parser *p, bool *postfix)
{
	struct token t;
	token_peek(p, true, &t);
	*postfix = false;
	switch (t.kind) {
	case TOKEN_LPAREN: {
		token_take(p, &t);
		if (!nest(p, t.pos))
			return NULL;
		struct node *inner = parse_or(p);
		p->nesting--;
		if (!inner)
			return NULL;
		if (expect(p, TOKEN_RPAREN, ")") != 0) {
			expr_node_free(inner);
			return NULL;
		}
		*postfix = true;
		return inner;
	}
	case TOKEN_STRING:
		token_take(p, &t);
		return string_literal(p, &t);
	case TOKEN_NUMBER: {
		token_take(p, &t);
		struct node *n = node_new(NODE_LITERAL, t.pos);
		n->literal = expr_value_number(t.number);
		return n;
	}
	case TOKEN_WORD:
		break;
	default:
		fail_token(p, &t);
		return NULL;
	}

	const char *w = p->src + t.pos;
	struct node *n;
	if (t.len == 4 && memcmp(w, "null", 4) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
	} else if (t.len == 4 && memcmp(w, "true", 4) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = expr_value_boolean(true);
	} else if (t.len == 5 && memcmp(w, "false", 5) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = expr_value_boolean(false);
	} else if (t.len == 3 && memcmp(w, "NaN", 3) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = expr_value_number(NAN);
	} else if (t.len == 8 && memcmp(w, "Infinity", 8) == 0) {
		n = node_new(NODE_LITERAL, t.pos);
		n->literal = expr_value_number(INFINITY);
	} else {
		size_t after = t.pos + t.len;
		while (after < p->len && expr_is_space((unsigned char)p->src[after]))
			after++;
		*postfix = true;
		if (after < p->len && p->src[after] == '(') {
			if (!nest(p, t.pos))
				return NULL;
			n = parse_call(p, &t);
			p->nesting--;
			return n;
		}
		n = node_new(NODE_CONTEXT, t.pos);
		n->name = xstrndup(w, t.len);
		if (!name_known(p, w, t.len))
			name_fail(p, t.pos, "unrecognized named-value '%s'", n->name);
	}
	token_take(p, &t);
	return n;
}

static struct node *index_node(struct parser *p, struct node *target, size_t pos)
{
	struct node *n = node_new(NODE_INDEX, pos);
	node_add(n, target);
	return n;
}

static struct node *parse_postfix(struct parser *p)
{
	bool postfix;
	struct node *n = parse_primary(p, &postfix);
	if (!n || !postfix)
		return n;
	for (;;) {
		struct token t;
		token_peek(p, false, &t);
		if (t.kind == TOKEN_DOT) {
			token_take(p, &t);
			struct token name;
			token_peek(p, true, &name);
			n = index_node(p, n, t.pos);
			if (name.kind == TOKEN_STAR) {
				n->filter = true;
			} else if (name.kind == TOKEN_WORD) {
				/* After '.', true, null and friends are names too. */
				struct node *key = node_new(NODE_LITERAL, name.pos);
				key->literal = expr_value_string_take(
					expr_string_new(p->src + name.pos, name.len));
				node_add(n, key);
			} else {
				if (name.kind == TOKEN_END)
					fail_at(p, name.pos, "expected a property name after '.'");
				else
					fail_token(p, &name);
				goto fail;
			}
			token_take(p, &name);
		} else if (t.kind == TOKEN_LBRACKET) {
			token_take(p, &t);
			n = index_node(p, n, t.pos);
			struct token star;
			token_peek(p, true, &star);
			if (star.kind == TOKEN_STAR) {
				token_take(p, &star);
				n->filter = true;
			} else {
				if (!nest(p, t.pos))
					goto fail;
				struct node *key = parse_or(p);
				p->nesting--;
				if (!key)
					goto fail;
				node_add(n, key);
			}
			if (expect(p, TOKEN_RBRACKET, "]") != 0)
				goto fail;
		} else {
			return n;
		}
		if (!check_height(p, n))
			goto fail;
	}
fail:
	expr_node_free(n);
	return NULL;
}

static struct node *parse_unary(struct parser *p)
{
	struct token t;
	token_peek(p, true, &t);
	if (t.kind != TOKEN_NOT)
		return parse_postfix(p);
	token_take(p, &t);
	if (!nest(p, t.pos))
		return NULL;
	struct node *operand = parse_unary(p);
	p->nesting--;
	if (!operand)
		return NULL;
	struct node *n = node_new(NODE_NOT, t.pos);
	node_add(n, operand);
	if (!check_height(p, n)) {
		expr_node_free(n);
		return NULL;
	}
	return n;
}

static struct node *parse_comparison(struct parser *p, bool equality)
{
	struct node *left = equality ? parse_comparison(p, false) : parse_unary(p);
	if (!left)
		return NULL;
	for (;;) {
		struct token t;
		token_peek(p, false, &t);
		enum compare_op op;
		if (equality && (t.kind == TOKEN_EQ || t.kind == TOKEN_NE))
			op = t.kind == TOKEN_EQ ? CMP_EQ : CMP_NE;
		else if (!equality && t.kind >= TOKEN_LT && t.kind <= TOKEN_GE)
			op = t.kind == TOKEN_LT	  ? CMP_LT
			     : t.kind == TOKEN_LE ? CMP_LE
			     : t.kind == TOKEN_GT ? CMP_GT
						  : CMP_GE;
		else
			return left;
		token_take(p, &t);
		struct node *right = equality ? parse_comparison(p, false) : parse_unary(p);
		if (!right) {
			expr_node_free(left);
			return NULL;
		}
		struct node *n = node_new(NODE_COMPARE, t.pos);
		n->op = op;
		node_add(n, left);
		node_add(n, right);
		if (!check_height(p, n)) {
			expr_node_free(n);
			return NULL;
		}
		left = n;
	}
}

/* Adds operand to an n-ary && or ||, flattening a nested one of the same
 * kind as the runner does (so long chains do not count as depth). */
static void logical_add(struct node *n, struct node *operand)
{
	if (operand->kind != n->kind) {
		node_add(n, operand);
		return;
	}
	for (size_t i = 0; i < operand->nargs; i++)
		node_add(n, operand->args[i]);
	operand->nargs = 0;
	expr_node_free(operand);
}

static struct node *parse_logical(struct parser *p, bool is_or)
{
	struct node *left = is_or ? parse_logical(p, false) : parse_comparison(p, true);
	if (!left)
		return NULL;
	for (;;) {
		struct token t;
		token_peek(p, false, &t);
		if (t.kind != (is_or ? TOKEN_OR : TOKEN_AND))
			return left;
		token_take(p, &t);
		struct node *right = is_or ? parse_logical(p, false) : parse_comparison(p, true);
		if (!right) {
			expr_node_free(left);
			return NULL;
		}
		enum node_kind kind = is_or ? NODE_OR : NODE_AND;
		if (left->kind != kind) {
			struct node *n = node_new(kind, t.pos);
			node_add(n, left);
			left = n;
		}
		logical_add(left, right);
		if (!check_height(p, left)) {
			expr_node_free(left);
			return NULL;
		}
	}
}

static struct node *parse_or(struct parser *p)
{
	return parse_logical(p, true);
}

static struct node *parse(struct parser *p)
{
	if (p->len > EXPR_MAX_LENGTH) {
		fail_at(p, EXPR_MAX_LENGTH, "longer than the limit of %d bytes", EXPR_MAX_LENGTH);
		return NULL;
	}
	size_t bad = str_utf8_invalid_at(p->src, p->len);
	if (bad < p->len) {
		fail_at(p, bad, "not valid UTF-8");
		return NULL;
	}
	struct token t;
	token_peek(p, true, &t);
	if (t.kind == TOKEN_END) {
		fail_at(p, t.pos, "expected an expression");
		return NULL;
	}
	struct node *root = parse_or(p);
	if (!root)
		return NULL;
	token_peek(p, false, &t);
	if (t.kind != TOKEN_END) {
		fail_token(p, &t);
		expr_node_free(root);
		return NULL;
	}
	if (p->name_failed) {
		fail_at(p, p->name_pos, "%s", p->name_problem);
		expr_node_free(root);
		return NULL;
	}
	return root;
}

bool expr_tree_has_status_function(const struct node *n)
{
	if (n->kind == NODE_CALL && n->function && n->function->status)
		return true;
	for (size_t i = 0; i < n->nargs; i++)
		if (expr_tree_has_status_function(n->args[i]))
			return true;
	return false;
}

struct node *expr_parse(const char *src, size_t len, const struct expr_parse_options *options,
			struct err *e)
{
	struct parser p = { 0 };
	p.src = src;
	p.len = len;
	p.e = e;
	p.contexts = options->contexts;
	p.allowed = options->allowed;
	p.any_name = options->any_name;
	p.allow_status = options->allow_status;
	return parse(&p);
}
