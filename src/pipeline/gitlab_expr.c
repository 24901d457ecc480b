/*
 * gitlab_expr: GitLab's CI/CD variable expressions (rules:if,
 * only/except:variables), evaluated at load time since every variable is
 * known then; /regex/ literals run on PCRE2, bounded as GitLab's RE2 is.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "pipeline/gitlab_internal.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <pcre2.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Runs pattern (a /regex/'s body and flags) against subject. */
int gitlab_regex_match(struct loader *l, const struct yaml_node *where, const char *pattern,
		       size_t len, const char *flags, size_t flags_len, const char *subject,
		       bool *out)
{
	uint32_t options = 0;
	for (size_t i = 0; i < flags_len; i++) {
		switch (flags[i]) {
		case 'i':
			options |= PCRE2_CASELESS;
			break;
		case 'm':
			options |= PCRE2_MULTILINE;
			break;
		case 's':
			options |= PCRE2_DOTALL;
			break;
		case 'x':
			options |= PCRE2_EXTENDED;
			break;
		default:
			return gitlab_node_err(
				l, where, "unknown regex flag '%c' (use i, m, s or x)", flags[i]);
		}
	}
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &offset, NULL);
	if (!re) {
		PCRE2_UCHAR message[256];
		pcre2_get_error_message(code, message, sizeof(message));
		return gitlab_node_err(l, where, "bad regex /%.*s/: %s at offset %zu", (int)len,
				       pattern, (const char *)message, (size_t)offset);
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	/* GitLab uses RE2, which cannot backtrack; PCRE2 must not either. */
	pcre2_set_match_limit(mc, 100000);
	pcre2_set_depth_limit(mc, 10000);
	int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, mc);
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) {
		*out = rc >= 0;
		return 0;
	}
	return gitlab_node_err(l, where, "regex /%.*s/ is too costly to match", (int)len, pattern);
}

/* Finds the '/' that closes a regex literal starting at text[0] == '/'. */
bool gitlab_regex_end(const char *text, size_t *end)
{
	for (size_t i = 1; text[i]; i++) {
		if (text[i] == '\\' && text[i + 1]) {
			i++;
		} else if (text[i] == '/') {
			*end = i;
			return true;
		}
	}
	return false;
}

enum expr_kind { EXPR_NULL, EXPR_STRING, EXPR_REGEX, EXPR_BOOL };

struct expr_value {
	enum expr_kind kind;
	const char *text; /* string, or a regex's body */
	size_t len;
	const char *flags; /* regex */
	size_t flags_len;
	bool truth;	    /* bool */
	bool from_variable; /* a string that came from $VAR */
};

struct expr {
	struct loader *l;
	const struct yaml_node *node;
	const char *what;
	const char *src;
	const char *p;
	const struct vars *vars;
	int depth;
};

static int expr_fail(struct expr *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int expr_fail(struct expr *x, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	gitlab_node_err(x->l, x->node, "%s: %s at character %zu of '%s'", x->what, buf_cstr(&msg),
			(size_t)(x->p - x->src) + 1, x->src);
	buf_free(&msg);
	return -1;
}

static void expr_skip(struct expr *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')
		x->p++;
}

static bool expr_truthy(const struct expr_value *v)
{
	switch (v->kind) {
	case EXPR_NULL:
		return false;
	case EXPR_STRING:
		return v->len > 0;
	case EXPR_BOOL:
		return v->truth;
	case EXPR_REGEX:
		return true;
	}
	return false;
}

static void expr_bool(struct expr_value *v, bool truth)
{
	memset(v, 0, sizeof(*v));
	v->kind = EXPR_BOOL;
	v->truth = truth;
}

static int expr_or(struct expr *x, struct expr_value *out);

static int expr_primary(struct expr *x, struct expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (++x->depth > MAX_EXPR_DEPTH)
		return expr_fail(x, "parentheses nest too deeply");
	expr_skip(x);
	const char *p = x->p;
	if (*p == '(') {
		x->p++;
		if (expr_or(x, out))
			return -1;
		expr_skip(x);
		if (*x->p != ')')
			return expr_fail(x, "expected ')'");
		x->p++;
	} else if (*p == '$') {
		bool brace = p[1] == '{';
		const char *start = p + 1 + brace;
		const char *q = start;
		while (gitlab_is_name_char(*q))
			q++;
		if (q == start || (brace && *q != '}'))
			return expr_fail(x, "'$' must start a variable name");
		const struct var *v = gitlab_vars_find(x->vars, start, (size_t)(q - start));
		if (v) {
			out->kind = EXPR_STRING;
			out->text = v->value;
			out->len = strlen(v->value);
			out->from_variable = true;
		}
		x->p = q + brace;
	} else if (*p == '"' || *p == '\'') {
		const char *close = strchr(p + 1, *p);
		if (!close)
			return expr_fail(x, "unterminated string");
		out->kind = EXPR_STRING;
		out->text = p + 1;
		out->len = (size_t)(close - p - 1);
		x->p = close + 1;
	} else if (*p == '/') {
		size_t end;
		if (!gitlab_regex_end(p, &end))
			return expr_fail(x, "unterminated regex");
		out->kind = EXPR_REGEX;
		out->text = p + 1;
		out->len = end - 1;
		out->flags = p + end + 1;
		while (isalpha((unsigned char)out->flags[out->flags_len]))
			out->flags_len++;
		x->p = out->flags + out->flags_len;
	} else if (strncmp(p, "null", 4) == 0 && !gitlab_is_name_char(p[4])) {
		x->p += 4;
	} else if (!*p) {
		return expr_fail(x, "expected a variable, a string, a regex or null");
	} else {
		return expr_fail(x, "unexpected '%c'", *p);
	}
	x->depth--;
	return 0;
}

/* A variable used as a pattern holds "/body/flags"; other text is the body. */
static void expr_as_regex(struct expr_value *v)
{
	size_t end;
	if (v->len > 1 && v->text[0] == '/' && gitlab_regex_end(v->text, &end)) {
		v->flags = v->text + end + 1;
		v->flags_len = v->len - end - 1;
		v->text++;
		v->len = end - 1;
	} else {
		v->flags = "";
		v->flags_len = 0;
	}
	v->kind = EXPR_REGEX;
}

static int expr_compare(struct expr *x, struct expr_value *out)
{
	if (expr_primary(x, out))
		return -1;
	expr_skip(x);
	const char *p = x->p;
	bool equal = p[0] == '=' && p[1] == '=';
	bool unequal = p[0] == '!' && p[1] == '=';
	bool match = p[0] == '=' && p[1] == '~';
	bool nomatch = p[0] == '!' && p[1] == '~';
	if (!equal && !unequal && !match && !nomatch)
		return 0;
	const char *op = p;
	x->p += 2;
	struct expr_value right;
	if (expr_primary(x, &right))
		return -1;
	struct expr_value left = *out;
	if (equal || unequal) {
		if (left.kind == EXPR_REGEX || left.kind == EXPR_BOOL || right.kind == EXPR_REGEX ||
		    right.kind == EXPR_BOOL) {
			x->p = op;
			return expr_fail(x, "%.2s compares variables, strings and null", op);
		}
		bool same =
			left.kind == right.kind &&
			(left.kind == EXPR_NULL ||
			 (left.len == right.len && memcmp(left.text, right.text, left.len) == 0));
		expr_bool(out, equal ? same : !same);
		return 0;
	}
	struct expr_value subject = left, pattern = right;
	if (left.kind == EXPR_REGEX && right.kind != EXPR_REGEX) {
		subject = right;
		pattern = left;
	}
	if (pattern.kind == EXPR_STRING && pattern.from_variable)
		expr_as_regex(&pattern);
	if (pattern.kind == EXPR_NULL && right.kind == EXPR_NULL && subject.kind != EXPR_REGEX) {
		/* An unset variable as the pattern matches nothing. */
		expr_bool(out, nomatch);
		return 0;
	}
	if (pattern.kind != EXPR_REGEX || subject.kind == EXPR_REGEX || subject.kind == EXPR_BOOL) {
		x->p = op;
		return expr_fail(x, "%.2s needs a /regex/ or a variable holding one on one side",
				 op);
	}
	/* The pattern is compiled even when the subject is unset, so a bad
	 * regex is an error whatever the variables hold. */
	char *subject_text =
		subject.kind == EXPR_STRING ? xstrndup(subject.text, subject.len) : NULL;
	bool found = false;
	char *body = xstrndup(pattern.text, pattern.len);
	int rc = gitlab_regex_match(x->l, x->node, body, pattern.len, pattern.flags,
				    pattern.flags_len, subject_text ? subject_text : "", &found);
	free(body);
	free(subject_text);
	if (rc)
		return -1;
	if (subject.kind == EXPR_NULL)
		found = false;
	expr_bool(out, match ? found : !found);
	return 0;
}

static int expr_and(struct expr *x, struct expr_value *out)
{
	if (expr_compare(x, out))
		return -1;
	for (;;) {
		expr_skip(x);
		if (x->p[0] != '&' || x->p[1] != '&')
			return 0;
		x->p += 2;
		struct expr_value right;
		if (expr_compare(x, &right))
			return -1;
		expr_bool(out, expr_truthy(out) && expr_truthy(&right));
	}
}

static int expr_or(struct expr *x, struct expr_value *out)
{
	if (expr_and(x, out))
		return -1;
	for (;;) {
		expr_skip(x);
		if (x->p[0] != '|' || x->p[1] != '|')
			return 0;
		x->p += 2;
		struct expr_value right;
		if (expr_and(x, &right))
			return -1;
		expr_bool(out, expr_truthy(out) || expr_truthy(&right));
	}
}

/*
 * Evaluates a GitLab CI/CD variable expression now, at load time: every
 * variable it can see is known before any job runs. An unset variable is
 * null; a bare variable is true when set and not empty.
 */
int gitlab_expr_eval(struct loader *l, const struct yaml_node *node, const char *what,
		     const struct vars *vars, bool *out)
{
	const char *text = gitlab_scalar_text(node);
	if (!text)
		return gitlab_node_err(l, node, "%s: expected an expression string", what);
	struct expr x = {
		.l = l, .node = node, .what = what, .src = text, .p = text, .vars = vars
	};
	struct expr_value v;
	if (expr_or(&x, &v))
		return -1;
	expr_skip(&x);
	if (*x.p)
		return expr_fail(&x, "unexpected '%c'", *x.p);
	*out = expr_truthy(&v);
	return 0;
}
