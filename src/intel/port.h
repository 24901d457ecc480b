/*
 * port: the TCP port an app listens on, so a Dockerfile can EXPOSE it and a
 * deploy config can route to it. Told by the strongest evidence first: the
 * project's Dockerfile, deploy configs, app config files, listen calls in
 * code (patterns in config/source-patterns.yaml), then framework defaults.
 */
#ifndef AMPEL_INTEL_PORT_H
#define AMPEL_INTEL_PORT_H

struct arena;
struct project;
struct rule;
struct scan;

/*
 * Sets p->port and p->port_source ("Dockerfile:12", "src/server.js:14")
 * from the first tier of source-patterns.yaml (dockerfile, deploy, config,
 * code) that holds a port in 1..65535; within a tier the file nearest the
 * project's directory wins, then path order, then the earliest line. Reads
 * only p's own files, not vendored/generated ones nor tests. When nothing
 * tells, falls back to port_from_findings(p, arena, rule_port), so call it
 * after rules_apply_project (findings carry their rule) and before the
 * commands that expand {port}. Leaves p->port at 0 when nothing at all
 * tells. Returns -1 only when the pattern file cannot be loaded (the error
 * goes to scan's warnings).
 */
int port_detect(struct project *p, struct scan *scan, struct arena *arena);

/*
 * The fallback when port_detect found nothing: the default port of the most
 * confident framework finding whose rule names one, as "framework default
 * (<id>)". port_of gives a rule's default port (0 = none): rules.h's
 * rule_port, or a stand-in in tests. Ties go to the smaller id. Does
 * nothing when p->port is already set.
 */
void port_from_findings(struct project *p, struct arena *arena,
			int (*port_of)(const struct rule *rule));

#endif
