/*
 * expr_internal: what the parts of the expression language share.
 *
 * expr.c evaluates and holds the public API (expr.h), expr_parse.c turns
 * text into nodes, expr_value.c holds values and their conversions,
 * expr_functions.c and expr_hash.c the functions. They meet here; nothing
 * outside src/pipeline includes this header.
 */
#ifndef AMPEL_PIPELINE_EXPR_INTERNAL_H
#define AMPEL_PIPELINE_EXPR_INTERNAL_H

#include "pipeline/expr.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct err;

/* How much of an expression an error message quotes. */
#define MESSAGE_SOURCE_MAX 200
/* How much of an unexpected token an error message quotes. */
#define MESSAGE_TOKEN_MAX 40

/* ----------------------------------------------------------------- values */

enum value_kind {
	VALUE_NULL,
	VALUE_BOOLEAN,
	VALUE_NUMBER,
	VALUE_STRING,
	VALUE_ARRAY,
	VALUE_OBJECT,
};

/*
 * An evaluated value. Numbers are doubles (as in the runner) so NaN and
 * the infinities, which jansson cannot hold, still work in comparisons.
 * Strings, arrays and objects hold a jansson reference, so looking up a
 * context copies nothing and object identity is pointer identity.
 */
struct value {
	enum value_kind kind;
	bool boolean;
	/* An array made by a '*' filter: a further '.x' or '[i]' applies to
	 * each element instead of to the array. */
	bool filtered;
	double number;
	json_t *json;
};

/* A jansson string from valid UTF-8; never NULL. */
json_t *expr_string_new(const char *s, size_t len);

struct value expr_value_null(void);
struct value expr_value_boolean(bool b);
struct value expr_value_number(double d);
/* Takes ownership of json (a string). */
struct value expr_value_string_take(json_t *json);
struct value expr_value_string_buf(const struct buf *b);
/* An empty array made by a '*' filter. */
struct value expr_value_filtered_new(void);
/* Shares j's reference for strings, arrays and objects. */
struct value expr_value_from_json(const json_t *j);
void expr_value_release(struct value *v);
bool expr_value_is_primitive(const struct value *v);
/* The struct value form of expr_value_truthy(). */
bool expr_value_is_truthy(const struct value *v);
/* The runner's type name, for messages: "Null", "Number", ... */
const char *expr_value_kind_name(enum value_kind kind);

/* Appends d as .NET's G15 prints it (NaN, Infinity, -Infinity too). */
void expr_number_append(struct buf *b, double d);
/* The struct value form of expr_value_to_string(). */
void expr_value_append_string(struct buf *b, const struct value *v);
/* A new reference: integral numbers as integers, NaN and the infinities
 * as strings. */
json_t *expr_number_to_json(double d);
json_t *expr_value_to_json(const struct value *v);

bool expr_is_space(unsigned char c);
bool expr_is_digit(unsigned char c);
bool expr_ascii_equal_icase(const char *a, size_t alen, const char *b);
/* The runner's ParseNumber: JavaScript's Number() with its quirks. */
double expr_number_parse(const char *s, size_t len);
double expr_value_to_number(const struct value *v);

enum string_test { TEST_CONTAINS, TEST_STARTS, TEST_ENDS };

/* contains/startsWith/endsWith, ignoring case as the runner does. */
bool expr_string_test_icase(const char *hay, size_t hlen, const char *needle, size_t nlen,
			    enum string_test test);

enum compare_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

/* The runner's loose comparison (coercing as its CoerceTypes does). */
bool expr_values_compare(const struct value *l, const struct value *r, enum compare_op op);
/* Object member by name: exact first, then ignoring ASCII case. */
json_t *expr_object_get_icase(const json_t *obj, const char *key, size_t len);

/* ------------------------------------------------------------------ AST */

enum node_kind {
	NODE_LITERAL,
	NODE_CONTEXT, /* a named value: github, env, ... */
	NODE_INDEX,   /* a.b, a['b'], a[0], a.*, a[*] */
	NODE_NOT,
	NODE_AND,
	NODE_OR,
	NODE_COMPARE,
	NODE_CALL,
};

enum function_id {
	FN_CONTAINS,
	FN_STARTS_WITH,
	FN_ENDS_WITH,
	FN_FORMAT,
	FN_JOIN,
	FN_TO_JSON,
	FN_FROM_JSON,
	FN_HASH_FILES,
	FN_SUCCESS,
	FN_FAILURE,
	FN_CANCELLED,
	FN_ALWAYS,
};

struct function {
	const char *name;
	enum function_id id;
	size_t min_args;
	size_t max_args;
	bool status; /* a status function: only in if: */
};

struct node {
	enum node_kind kind;
	size_t pos;  /* byte offset in the source, for messages */
	int height;  /* 1 for a leaf */
	bool filter; /* NODE_INDEX: the index is '*' */
	enum compare_op op;
	struct value literal;
	char *name; /* NODE_CONTEXT, NODE_CALL */
	const struct function *function;
	struct node **args;
	size_t nargs;
	size_t cap;
};

/* ---------------------------------------------------------------- parsing */

/* Which named values a parse accepts, and whether status functions may
 * be called. */
struct expr_parse_options {
	const json_t *contexts;	    /* the keys of this object, */
	const char *const *allowed; /* or this NULL-terminated list, */
	bool any_name;		    /* or any name at all */
	bool allow_status;
};

/* The tree of src, or NULL with e filled ("expression '…' at column n: …"). */
struct node *expr_parse(const char *src, size_t len, const struct expr_parse_options *options,
			struct err *e);
void expr_node_free(struct node *n);
bool expr_tree_has_status_function(const struct node *n);
/* The function of that name (ignoring ASCII case), or NULL. */
const struct function *expr_function_find(const char *name, size_t len);

/* Length of at most max bytes of s, not splitting a UTF-8 sequence. */
size_t expr_clip_utf8(const char *s, size_t len, size_t max);
/* Fills e with "<label>'<src>' at column <n>: <problem>"; returns -1. */
__attribute__((format(printf, 6, 0))) int expr_fail_vat(struct err *e, const char *label,
							const char *src, size_t len, size_t pos,
							const char *fmt, va_list ap);

/* ------------------------------------------------------------- evaluation */

struct eval {
	const struct expr_env *env;
	const char *src;
	size_t len;
	struct err *e;
};

/* Fails the evaluation with a message pointing at byte pos; returns -1. */
__attribute__((format(printf, 3, 4))) int expr_eval_fail(struct eval *ev, size_t pos,
							 const char *fmt, ...);
int expr_eval_node(struct eval *ev, const struct node *n, struct value *out);
/* Evaluates arg and appends its string form to out. */
int expr_eval_string_arg(struct eval *ev, const struct node *arg, struct buf *out);
/* Fails when b, the result n builds, outgrows EXPR_MAX_RESULT_SIZE. */
int expr_eval_check_size(struct eval *ev, const struct node *n, const struct buf *b);
/* Calls the function n names. */
int expr_eval_call(struct eval *ev, const struct node *n, struct value *out);
/* hashFiles(patterns...). */
int expr_hash_files(struct eval *ev, const struct node *n, struct value *out);

#endif
