/*
 * commands: the install, build, test, lint and start commands of a project.
 *
 * Inferred the way a careful engineer would: the package manager that a
 * lock file proves installs (npm ci, pnpm install --frozen-lockfile), the
 * project's own scripts come first (package.json, Procfile), then what its
 * framework, test framework and linter conventionally run. The templates
 * are data in config/detection-rules.yaml; this module only chooses and
 * fills them. A command is left NULL where there is honestly nothing to run.
 */
#ifndef AMPEL_INTEL_COMMANDS_H
#define AMPEL_INTEL_COMMANDS_H

struct arena;
struct finding;
struct project;
struct rule_set;
struct scan;

/*
 * The package manager that runs p: of those found, one of the primary
 * language's family (a Django app with a package.json for its linters is
 * still a pip/poetry project), else the most confident.
 */
const struct finding *commands_package_manager(const struct project *p);
/* Sets p->package_manager and fills p->commands from p's findings and scripts. */
void commands_infer(struct project *p, const struct rule_set *rules, struct scan *scan,
		    struct arena *arena);

#endif
