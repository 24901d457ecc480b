/* trigger: event filters and inputs; see trigger.h. */
#include "pipeline/trigger.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline/workflow.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/glob.h"
#include "util/str.h"

/*
 * GitHub evaluates filter patterns in order: a match includes, a later
 * `!pattern` match excludes again. `**` crosses '/', `*` does not — git's
 * wildmatch dialect, which glob implements.
 */
static bool patterns_match(const json_t *patterns, const char *value)
{
	bool included = false;
	size_t i;
	const json_t *pattern;
	if (json_is_string(patterns)) {
		return glob_match(json_string_value(patterns), value);
	}
	json_array_foreach(patterns, i, pattern)
	{
		const char *text = json_string_value(pattern);
		if (!text)
			continue;
		if (text[0] == '!') {
			if (included && glob_match(text + 1, value))
				included = false;
		} else if (!included && glob_match(text, value)) {
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
	if (!json_is_object(filters))
		return true;
	const char *ref = ev->ref ? ev->ref : "";
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
	} else if (strcmp(ev->name, "pull_request") == 0 ||
		   strcmp(ev->name, "pull_request_target") == 0) {
		bool defined;
		if (!filter_allows(filters, "branches", ev->base_ref ? ev->base_ref : "",
				   &defined)) {
			say(why, "the branch filters exclude base branch %s",
			    ev->base_ref ? ev->base_ref : "", "");
			return false;
		}
	}
	if (!paths_allow(filters, ev)) {
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
			if (!text || !*text || *end)
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

int trigger_inputs(const struct workflow *wf, const char *event, const json_t *given, json_t **out,
		   struct err *e)
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
		} else if (typed_input(name, spec, provided ? provided : fallback, &typed, e) < 0) {
			json_decref(*out);
			*out = NULL;
			return err_prefix(e, "%s: ", wf->file);
		}
		json_object_set_new(*out, name, typed);
	}
	return 0;
}
