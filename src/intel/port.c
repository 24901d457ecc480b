#include "intel/port.h"

#include "intel/sources.h"
#include "intel/project.h"
#include "intel/rules.h"
#include "intel/scan.h"
#include "util/arena.h"
#include "util/err.h"

#include <string.h>

struct port_candidate {
	const struct project *p;
	const struct scan_file *file; /* NULL until a valid port is seen */
	int depth;
	int line;
	int port;
};

static int port_depth(const char *rel)
{
	int depth = 0;
	for (; *rel; rel++)
		depth += *rel == '/';
	return depth;
}

/* The captured digits as a port, or 0 when out of 1..65535. */
static int port_parse(const char *digits, size_t len)
{
	if (len == 0 || len > 5)
		return 0;
	long value = 0;
	for (size_t i = 0; i < len; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return 0;
		value = value * 10 + (digits[i] - '0');
	}
	return value >= 1 && value <= 65535 ? (int)value : 0;
}

static void port_on_match(const struct source_pattern *pattern, const struct scan_file *file,
			  const char *capture, size_t len, int line, void *ctx)
{
	struct port_candidate *best = ctx;
	int port = port_parse(capture, len);
	if (!port)
		return;
	int depth = port_depth(source_project_path(best->p, file));
	/* Files come in path order, so an earlier file at the same depth keeps its place. */
	if (best->file && (depth > best->depth || (depth == best->depth && file != best->file) ||
			   (file == best->file && line >= best->line)))
		return;
	best->file = file;
	best->depth = depth;
	best->line = line;
	best->port = port;
}

int port_detect(struct project *p, struct scan *scan, struct arena *arena)
{
	struct err e = ERR_INIT;
	const struct source_patterns *set = NULL;
	if (source_patterns_shared(&set, &e) < 0) {
		scan_warn(scan, "%s", e.msg);
		return -1;
	}
	for (int tier = 0; tier < PORT_TIERS; tier++) {
		struct port_candidate best = { .p = p };
		source_patterns_run(set, SOURCE_PATTERN_PORT, tier, p, scan, port_on_match, &best);
		if (best.file) {
			p->port = best.port;
			p->port_source = arena_printf(arena, "%s:%d", best.file->path, best.line);
			return 0;
		}
	}
	port_from_findings(p, arena, rule_port);
	return 0;
}

void port_from_findings(struct project *p, struct arena *arena,
			int (*port_of)(const struct rule *rule))
{
	if (p->port || !port_of)
		return;
	const struct finding *best = NULL;
	int best_port = 0;
	for (size_t i = 0; i < p->findings.len; i++) {
		const struct finding *f = p->findings.items[i];
		if (f->kind != FINDING_FRAMEWORK || !f->rule || finding_is_implied(p, f))
			continue;
		int port = port_of(f->rule);
		if (port < 1 || port > 65535)
			continue;
		/* Ties go to the id first in byte order, so the answer never depends on rule order.
		 */
		if (!best || f->confidence > best->confidence ||
		    (f->confidence == best->confidence && strcmp(f->id, best->id) < 0)) {
			best = f;
			best_port = port;
		}
	}
	if (best) {
		p->port = best_port;
		p->port_source = arena_printf(arena, "framework default (%s)", best->id);
	}
}
