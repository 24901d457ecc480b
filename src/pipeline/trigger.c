/* trigger: event filters and inputs; see trigger.h. */
#include "pipeline/trigger.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/expr.h"
#include "pipeline/workflow.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

/*
 * GitHub's filter patterns are not git's wildmatch: `**` matches any run of
 * characters (so `**.js` matches js/index.js), `**` + `/` also matches
 * nothing (`**` + `/README.md` matches README.md), and `?` and `+` are
 * regex quantifiers on the preceding character (`*.jsx?` matches page.js,
 * `v[12].[0-9]+` matches v1.10). A pattern compiles to a small NFA that runs
 * in time proportional to pattern length times name length, so no filter
 * can make matching backtrack.
 */
enum pattern_op { PAT_CHAR, PAT_SPLIT, PAT_JMP, PAT_MATCH };

struct pattern_inst {
	enum pattern_op op;
	size_t x, y;	       /* PAT_SPLIT: both; PAT_JMP: x */
	unsigned char set[32]; /* PAT_CHAR: the bytes it accepts */
};

struct pattern {
	struct pattern_inst *code;
	size_t count, cap;
};

static size_t pattern_emit(struct pattern *p, enum pattern_op op, size_t x, size_t y)
{
	if (p->count == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->code = xrealloc(p->code, p->cap * sizeof(*p->code));
	}
	memset(&p->code[p->count], 0, sizeof(*p->code));
	p->code[p->count].op = op;
	p->code[p->count].x = x;
	p->code[p->count].y = y;
	return p->count++;
}

static void set_add(unsigned char *set, unsigned char c)
{
	set[c / 8] |= (unsigned char)(1u << (c % 8));
}

static bool set_has(const unsigned char *set, unsigned char c)
{
	return set[c / 8] & (1u << (c % 8));
}

/* `*` (no '/'), `**` (anything), `**` + '/' (nothing, or anything ending in '/'). */
static const char *compile_star(struct pattern *p, const char *s)
{
	size_t loop = pattern_emit(p, PAT_SPLIT, 0, 0);
	size_t any = pattern_emit(p, PAT_CHAR, 0, 0);
	memset(p->code[any].set, 0xff, sizeof(p->code[any].set));
	p->code[loop].x = any;
	if (s[1] != '*') {
		p->code[any].set['/' / 8] &= (unsigned char)~(1u << ('/' % 8));
		pattern_emit(p, PAT_JMP, loop, 0);
		p->code[loop].y = p->count;
		return s + 1;
	}
	if (s[2] != '/') {
		pattern_emit(p, PAT_JMP, loop, 0);
		p->code[loop].y = p->count;
		return s + 2;
	}
	pattern_emit(p, PAT_SPLIT, any, p->count + 1);
	size_t slash = pattern_emit(p, PAT_CHAR, 0, 0);
	set_add(p->code[slash].set, '/');
	p->code[loop].y = p->count;
	return s + 3;
}

/* False when the pattern cannot be parsed (unclosed `[`, trailing `\`). */
static bool pattern_compile(struct pattern *p, const char *s)
{
	while (*s) {
		if (*s == '*') {
			s = compile_star(p, s);
			while (*s == '?' || *s == '+')
				s++; /* `*?` is a lazy `*`: the same names match */
			continue;
		}
		unsigned char set[32] = { 0 };
		if (*s == '[') {
			const char *end = strchr(s + 1, ']');
			if (!end || end == s + 1)
				return false;
			for (const char *c = s + 1; c < end; c++) {
				if (c + 2 < end && c[1] == '-') {
					for (int b = (unsigned char)c[0]; b <= (unsigned char)c[2];
					     b++)
						set_add(set, (unsigned char)b);
					c += 2;
				} else {
					set_add(set, (unsigned char)*c);
				}
			}
			s = end + 1;
		} else if (*s == '\\') {
			if (!s[1])
				return false;
			set_add(set, (unsigned char)s[1]);
			s += 2;
		} else {
			set_add(set, (unsigned char)*s);
			s++;
		}
		size_t at = p->count;
		if (*s == '?') {
			pattern_emit(p, PAT_SPLIT, at + 1, at + 2);
		}
		size_t ch = pattern_emit(p, PAT_CHAR, 0, 0);
		memcpy(p->code[ch].set, set, sizeof(set));
		if (*s == '+')
			pattern_emit(p, PAT_SPLIT, ch, ch + 2);
		while (*s == '?' || *s == '+')
			s++; /* a second quantifier (`a+?`) changes nothing */
	}
	pattern_emit(p, PAT_MATCH, 0, 0);
	return true;
}

/*
 * Adds pc and what it reaches without reading a byte to list. Iterative,
 * with stack room for every instruction (each is pushed once per
 * generation), so a long run of `a?a?…` cannot exhaust the C stack.
 */
static void pattern_follow(const struct pattern *p, size_t pc, size_t *list, size_t *count,
			   size_t *stack, unsigned *mark, unsigned generation)
{
	size_t depth = 0;
	mark[pc] = generation;
	stack[depth++] = pc;
	while (depth) {
		const struct pattern_inst *in = &p->code[stack[--depth]];
		size_t targets[2] = { in->x, in->y };
		size_t target_count = in->op == PAT_SPLIT ? 2 : in->op == PAT_JMP ? 1 : 0;
		if (!target_count)
			list[(*count)++] = (size_t)(in - p->code);
		for (size_t t = target_count; t-- > 0;) {
			if (mark[targets[t]] != generation) {
				mark[targets[t]] = generation;
				stack[depth++] = targets[t];
			}
		}
	}
}

static bool pattern_match(const char *pattern, const char *value)
{
	struct pattern p = { 0 };
	if (!pattern_compile(&p, pattern)) {
		free(p.code);
		return false;
	}
	size_t *now = xcalloc(p.count, sizeof(*now));
	size_t *next = xcalloc(p.count, sizeof(*next));
	size_t *stack = xcalloc(p.count, sizeof(*stack));
	unsigned *mark = xcalloc(p.count, sizeof(*mark));
	unsigned generation = 1;
	size_t now_count = 0;
	pattern_follow(&p, 0, now, &now_count, stack, mark, generation);
	for (const unsigned char *c = (const unsigned char *)value; *c && now_count; c++) {
		size_t next_count = 0;
		generation++;
		for (size_t i = 0; i < now_count; i++) {
			const struct pattern_inst *in = &p.code[now[i]];
			if (in->op == PAT_CHAR && set_has(in->set, *c))
				pattern_follow(&p, now[i] + 1, next, &next_count, stack, mark,
					       generation);
		}
		size_t *swap = now;
		now = next;
		next = swap;
		now_count = next_count;
	}
	bool matched = false;
	for (size_t i = 0; i < now_count; i++)
		if (p.code[now[i]].op == PAT_MATCH)
			matched = true;
	free(now);
	free(next);
	free(stack);
	free(mark);
	free(p.code);
	return matched;
}

/*
 * GitHub evaluates filter patterns in order: a match includes, a later
 * `!pattern` match excludes again, and a later positive match re-includes.
 */
static bool patterns_match(const json_t *patterns, const char *value)
{
	bool included = false;
	size_t i;
	const json_t *pattern;
	if (json_is_string(patterns)) {
		return pattern_match(json_string_value(patterns), value);
	}
	json_array_foreach(patterns, i, pattern)
	{
		const char *text = json_string_value(pattern);
		if (!text)
			continue;
		if (text[0] == '!') {
			if (included && pattern_match(text + 1, value))
				included = false;
		} else if (!included && pattern_match(text, value)) {
			included = true;
		}
	}
	return included;
}

/* A filter and its -ignore twin: at most one of them may be set. */
static bool filter_allows(const json_t *filters, const char *name, const char *value, bool *defined)
{
	struct buf ignore_name = BUF_INIT;
	buf_addf(&ignore_name, "%s-ignore", name);
	const json_t *only = json_object_get(filters, name);
	const json_t *ignore = json_object_get(filters, ignore_name.data);
	buf_free(&ignore_name);
	*defined = only || ignore;
	if (only)
		return value && patterns_match(only, value);
	if (ignore)
		return !value || !patterns_match(ignore, value);
	return true;
}

static bool paths_allow(const json_t *filters, const struct trigger_event *ev)
{
	const json_t *only = json_object_get(filters, "paths");
	const json_t *ignore = json_object_get(filters, "paths-ignore");
	if ((!only && !ignore) || !ev->changed_known)
		return true;
	for (size_t i = 0; i < ev->changed_count; i++) {
		const char *file = ev->changed_files[i];
		if (only ? patterns_match(only, file) : !patterns_match(ignore, file))
			return true;
	}
	return false;
}

/* types: is a list of names, or one name. */
static bool patterns_listed(const json_t *types, const char *activity)
{
	if (json_is_string(types))
		return strcmp(json_string_value(types), activity) == 0;
	size_t i;
	const json_t *type;
	json_array_foreach(types, i, type)
	{
		if (json_is_string(type) && strcmp(json_string_value(type), activity) == 0)
			return true;
	}
	return false;
}

static void say(struct buf *why, const char *fmt, const char *a, const char *b)
{
	if (why) {
		buf_reset(why);
		buf_addf(why, fmt, a, b);
	}
}

bool trigger_matches(const struct workflow *wf, const struct trigger_event *ev, struct buf *why)
{
	const struct workflow_trigger *trigger = workflow_find_trigger(wf, ev->name);
	if (!trigger) {
		say(why, "not triggered by %s%s", ev->name, "");
		return false;
	}
	const json_t *filters = trigger->filters;
	bool pull = strcmp(ev->name, "pull_request") == 0 ||
		    strcmp(ev->name, "pull_request_target") == 0;
	/* A local run is a push to an open pull request unless told otherwise. */
	const char *activity = ev->activity ? ev->activity : pull ? "synchronize" : NULL;
	const json_t *types = json_object_get(filters, "types");
	/* Without types: (a bare `on: pull_request` too) GitHub runs on opened,
	 * synchronize and reopened. */
	if (pull && !types && strcmp(activity, "opened") != 0 &&
	    strcmp(activity, "synchronize") != 0 && strcmp(activity, "reopened") != 0) {
		say(why, "pull_request runs on opened, synchronize and reopened, not %s%s",
		    activity, "");
		return false;
	}
	if (!json_is_object(filters))
		return true;
	const char *ref = ev->ref ? ev->ref : "";
	bool check_paths = true;
	if (strcmp(ev->name, "push") == 0) {
		bool is_tag = str_starts_with(ref, "refs/tags/");
		const char *short_ref = is_tag ? ref + strlen("refs/tags/")
					: str_starts_with(ref, "refs/heads/")
						? ref + strlen("refs/heads/")
						: ref;
		bool branches_defined, tags_defined;
		bool branch_ok = filter_allows(filters, "branches", is_tag ? NULL : short_ref,
					       &branches_defined);
		bool tag_ok =
			filter_allows(filters, "tags", is_tag ? short_ref : NULL, &tags_defined);
		/* With only branch filters a tag push does not run, and vice versa. */
		if (is_tag ? (tags_defined ? !tag_ok : branches_defined)
			   : (branches_defined ? !branch_ok : tags_defined)) {
			say(why, "the %s filters exclude %s", is_tag ? "tag" : "branch", short_ref);
			return false;
		}
		/* GitHub: "Path filters are not evaluated for pushes of tags." */
		check_paths = !is_tag;
	} else if (pull) {
		bool defined;
		if (!filter_allows(filters, "branches", ev->base_ref ? ev->base_ref : "",
				   &defined)) {
			say(why, "the branch filters exclude base branch %s",
			    ev->base_ref ? ev->base_ref : "", "");
			return false;
		}
	}
	if (types && activity && !patterns_listed(types, activity)) {
		say(why, "its types filter does not list %s%s", activity, "");
		return false;
	}
	if (check_paths && !paths_allow(filters, ev)) {
		say(why, "no changed file matches the paths filters%s%s", "", "");
		return false;
	}
	return true;
}

static int typed_input(const char *name, const json_t *spec, const json_t *value, json_t **out,
		       struct err *e)
{
	const char *type = json_string_value(json_object_get(spec, "type"));
	if (!type)
		type = "string";
	const char *text = json_string_value(value);
	if (strcmp(type, "boolean") == 0) {
		if (json_is_boolean(value)) {
			*out = json_incref((json_t *)value);
		} else if (text && (str_eq_icase(text, "true") || str_eq_icase(text, "false"))) {
			*out = json_boolean(str_eq_icase(text, "true"));
		} else {
			return err_set(e, "input '%s' must be true or false", name);
		}
	} else if (strcmp(type, "number") == 0) {
		if (json_is_number(value)) {
			*out = json_incref((json_t *)value);
		} else {
			char *end = NULL;
			double number = text ? strtod(text, &end) : 0;
			if (!text || !*text || *end || !isfinite(number))
				return err_set(e, "input '%s' must be a number, not '%s'", name,
					       text ? text : "?");
			*out = json_real(number);
		}
	} else if (strcmp(type, "choice") == 0) {
		const json_t *options = json_object_get(spec, "options");
		size_t i;
		const json_t *option;
		json_array_foreach(options, i,
				   option) if (text && str_eq(json_string_value(option), text))
		{
			*out = json_string(text);
			return 0;
		}
		return err_set(e, "input '%s': '%s' is not one of its options", name,
			       text ? text : "?");
	} else if (strcmp(type, "string") == 0 || strcmp(type, "environment") == 0) {
		if (text) {
			*out = json_string(text);
		} else if (json_is_null(value)) {
			*out = json_string("");
		} else {
			/* a caller's `with:` may pass a number or boolean to a string input */
			char *dumped = json_dumps(value, JSON_ENCODE_ANY);
			*out = json_string(dumped ? dumped : "");
			free(dumped);
		}
	} else {
		return err_set(e, "input '%s' has an unknown type '%s'", name, type);
	}
	return 0;
}

/* A default's ${{ }} evaluated (a new reference), or the default itself. */
static int evaluate_default(const json_t *fallback, const json_t *contexts, json_t **out,
			    struct err *e)
{
	const char *text = json_string_value(fallback);
	if (!contexts || !text || !strstr(text, "${{")) {
		*out = json_incref((json_t *)fallback);
		return 0;
	}
	struct expr_env env = { .contexts = contexts };
	return expr_interpolate_value(text, &env, out, e);
}

int trigger_inputs(const struct workflow *wf, const char *event, const json_t *given,
		   const json_t *default_contexts, json_t **out, struct err *e)
{
	*out = json_object();
	const struct workflow_trigger *trigger = workflow_find_trigger(wf, event);
	const json_t *declared = trigger ? json_object_get(trigger->filters, "inputs") : NULL;
	const char *name;
	const json_t *value;
	json_object_foreach((json_t *)given, name, value) if (!json_object_get(declared, name))
	{
		json_decref(*out);
		*out = NULL;
		return err_set(e, "%s: input '%s' is not declared under on.%s.inputs", wf->file,
			       name, event);
	}
	const json_t *spec;
	json_object_foreach((json_t *)declared, name, spec)
	{
		const json_t *provided = json_object_get(given, name);
		const json_t *fallback = json_object_get(spec, "default");
		json_t *typed = NULL;
		if (!provided && !fallback) {
			if (json_is_true(json_object_get(spec, "required")) ||
			    (json_is_string(json_object_get(spec, "required")) &&
			     str_eq_icase(json_string_value(json_object_get(spec, "required")),
					  "true"))) {
				json_decref(*out);
				*out = NULL;
				return err_set(e, "%s: input '%s' is required", wf->file, name);
			}
			const char *type = json_string_value(json_object_get(spec, "type"));
			typed = type && strcmp(type, "boolean") == 0  ? json_false()
				: type && strcmp(type, "number") == 0 ? json_integer(0)
								      : json_string("");
		} else {
			json_t *chosen = NULL;
			int rc = 0;
			if (provided)
				chosen = json_incref((json_t *)provided);
			else if ((rc = evaluate_default(fallback, default_contexts, &chosen, e)) <
				 0)
				err_prefix(e, "default of input '%s'", name);
			if (rc == 0)
				rc = typed_input(name, spec, chosen, &typed, e);
			json_decref(chosen);
			if (rc < 0) {
				json_decref(*out);
				*out = NULL;
				return err_prefix(e, "%s", wf->file);
			}
		}
		json_object_set_new(*out, name, typed);
	}
	return 0;
}
