/*
 * expr: the GitHub Actions expression language, `${{ ... }}`.
 *
 * Workflows decide what runs (`if:`), what a step sees (`env:`, `with:`,
 * `run:`) and how a job fans out (`matrix: ${{ fromJSON(...) }}`) with these
 * expressions, so `ampel run` must evaluate them exactly as GitHub's runner
 * does: its loose comparisons, its number formatting, its functions.
 * Expressions come from repositories, so any text must fail cleanly.
 */
#ifndef AMPEL_PIPELINE_EXPR_H
#define AMPEL_PIPELINE_EXPR_H

#include <jansson.h>

#include <stdbool.h>

struct buf;
struct err;

/* Longest expression accepted, in bytes (the runner's limit). */
#define EXPR_MAX_LENGTH 21000
/* Deepest expression tree accepted (the runner's limit). */
#define EXPR_MAX_DEPTH 50
/* Largest string an expression may build (format, join, toJSON). */
#define EXPR_MAX_RESULT_SIZE ((size_t)10 * 1024 * 1024)

/*
 * What success(), failure() and cancelled() see. SKIPPED is a job's when a
 * job it needs was skipped (and none failed or was cancelled): then all
 * three are false, so only always() or a negation runs the job, as on
 * GitHub.
 */
enum expr_status {
	EXPR_STATUS_SUCCESS,
	EXPR_STATUS_FAILURE,
	EXPR_STATUS_CANCELLED,
	EXPR_STATUS_SKIPPED
};

struct expr_env {
	/* Object: github, env, vars, secrets, job, jobs, steps, runner,
	 * strategy, matrix, needs, inputs. Only names present are allowed. */
	const json_t *contexts;
	/* The job's (or, for a job-level if, the needs') current status, for
	 * success()/failure()/cancelled(). */
	enum expr_status status;
	/* Directory for hashFiles; NULL makes hashFiles an error. */
	const char *workspace;
	/* False where GitHub forbids them (env:, with:, ...): then success()
	 * and the other status functions are an error. */
	bool allow_status_functions;
};

/*
 * Evaluates a bare expression (the text inside ${{ }}). *out is a new
 * reference; arrays, objects and strings may be shared with the contexts,
 * so treat them as read-only. Numbers come back as integers when integral
 * (|n| <= 2^53), else reals; NaN and the infinities, which JSON cannot
 * hold, come back as the strings "NaN", "Infinity" and "-Infinity".
 * Errors read "expression '<text>' at column <n>: <problem>".
 */
int expr_evaluate(const char *source, const struct expr_env *env, json_t **out, struct err *e);

/*
 * Replaces every ${{ … }} in text with its string conversion
 * (expr_value_to_string) and appends the result to out. Text without ${{
 * is copied. A '}}' inside a quoted string does not end an expression.
 */
int expr_interpolate(const char *text, const struct expr_env *env, struct buf *out, struct err *e);

/*
 * Like expr_interpolate, but when text is exactly one ${{ … }} (surrounding
 * whitespace allowed) the typed value is returned (matrix: ${{ fromJSON() }},
 * continue-on-error, timeout-minutes, with:); otherwise a JSON string.
 */
int expr_interpolate_value(const char *text, const struct expr_env *env, json_t **out,
			   struct err *e);

/*
 * `if:` semantics: the text may or may not be wrapped in ${{ }}; when it
 * calls no status function (success, failure, cancelled, always) it is
 * evaluated as `success() && (text)`. The result's truthiness goes to *out.
 * Empty text means success(). Status functions are always allowed here.
 */
int expr_condition(const char *text, const struct expr_env *env, bool *out, struct err *e);

/*
 * Parses without evaluating, for load-time validation: syntax, function
 * names and arity, and named values against contexts_allowed (a
 * NULL-terminated list, or NULL to allow any name). Errors name the column.
 */
int expr_check(const char *source, const char *const *contexts_allowed, struct err *e);
/* True for a `${{ insert }}` mapping key, the runner's merge directive. */
bool expr_is_insert_directive(const char *key);
/* Checks every ${{ … }} in text; for a condition (if:), bare text is one expression. */
int expr_check_text(const char *text, bool condition, const char *const *contexts_allowed,
		    struct err *e);

/*
 * GitHub's conversion of a value to a string (caller frees): null is '',
 * booleans 'true'/'false', numbers as .NET's "G15" prints them (1, 1.5,
 * 1E+15), strings as they are, arrays 'Array' and objects 'Object' (what
 * the runner's format() and interpolation print; use toJSON() for JSON).
 */
char *expr_value_to_string(const json_t *value);

/* False for false, 0, -0, '', null and NaN; true for everything else. */
bool expr_value_truthy(const json_t *value);

#endif
