/*
 * ampel admin: bootstrap and maintenance of a server's data, run on the
 * server's machine against the same settings (data_dir, database_url) as
 * `ampel serve`: create users, verify the audit chain, rotate the key the
 * secrets are encrypted under, apply migrations.
 */
#include "cmd/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "api/api.h"
#include "api/audit.h"
#include "api/auth.h"
#include "api/passwords.h"
#include "api/secrets.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/err.h"

const char cmd_admin_usage[] =
	"usage: ampel admin create-user NAME --email EMAIL [--admin] [--password-stdin]\n"
	"       ampel admin audit verify\n"
	"       ampel admin rotate-key\n"
	"       ampel admin migrate\n"
	"\n"
	"Maintenance of the server's data, with the same settings as `ampel serve`\n"
	"(--data/--database here, data_dir/database_url in ampel.yaml, AMPEL_DATA_DIR,\n"
	"AMPEL_DATABASE_URL):\n"
	"  create-user   a human user; the password is read from stdin with\n"
	"                --password-stdin, else generated and printed once; --admin\n"
	"                binds the admin role\n"
	"  audit verify  recomputes the audit log's hash chain; exit 1 and the first\n"
	"                bad entry when it was tampered with\n"
	"  rotate-key    a new data key for the secrets, every secret re-encrypted\n"
	"  migrate       applies the database migrations and prints the version\n"
	"\n"
	"Options:\n"
	"  --data DIR       data directory\n"
	"  --database URL   postgres://… instead of SQLite under the data directory\n"
	"  -h, --help       show this help\n";

static int read_password(struct buf *password)
{
	char chunk[256];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(password, chunk, n);
	while (password->len && (password->data[password->len - 1] == '\n' ||
				 password->data[password->len - 1] == '\r'))
		buf_truncate(password, password->len - 1);
	return password->len ? EXIT_OK
			     : cmd_usage_error("admin", "--password-stdin: stdin held no password");
}

static int create_user(struct api_context *api, const char *name, const char *email, bool admin,
		       bool password_stdin)
{
	struct buf password = BUF_INIT;
	int status = EXIT_OK;
	bool generated = !password_stdin;
	if (password_stdin) {
		status = read_password(&password);
	} else {
		char text[32];
		passwords_generate(text);
		buf_adds(&password, text);
		sodium_memzero(text, sizeof(text));
	}
	struct err e = ERR_INIT;
	if (status == EXIT_OK && api_create_user(api, name, email, password.data, admin, &e) < 0)
		status = cmd_fail("%s", e.msg);
	if (status == EXIT_OK) {
		printf("created user '%s'%s\n", name, admin ? " (admin)" : "");
		if (generated)
			printf("password (shown once): %s\n", password.data);
	}
	if (password.data)
		sodium_memzero(password.data, password.len);
	buf_free(&password);
	return status;
}

int cmd_admin(int argc, char **argv, struct cmd_context *ctx)
{
	enum { OPT_DATA = 256, OPT_DATABASE, OPT_EMAIL, OPT_ADMIN, OPT_PASSWORD_STDIN };
	static const struct option long_options[] = {
		{ "data", required_argument, NULL, OPT_DATA },
		{ "database", required_argument, NULL, OPT_DATABASE },
		{ "email", required_argument, NULL, OPT_EMAIL },
		{ "admin", no_argument, NULL, OPT_ADMIN },
		{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *email = NULL;
	bool admin = false, password_stdin = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		struct err e = ERR_INIT;
		const char *key = opt == OPT_DATA ? "data_dir" : "database_url";
		switch (opt) {
		case OPT_DATA:
		case OPT_DATABASE:
			if (config_set(ctx->config, key, optarg,
				       opt == OPT_DATA ? "--data" : "--database", &e) < 0) {
				int status = cmd_usage_error("admin", "%s", e.msg);
				err_clear(&e);
				return status;
			}
			break;
		case OPT_EMAIL:
			email = optarg;
			break;
		case OPT_ADMIN:
			admin = true;
			break;
		case OPT_PASSWORD_STDIN:
			password_stdin = true;
			break;
		case 'h':
			fputs(cmd_admin_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error("admin", "unknown option or missing value '%s'",
					       argv[optind - 1]);
		}
	}
	const char *action = optind < argc ? argv[optind] : NULL;
	const char *argument = optind + 1 < argc ? argv[optind + 1] : NULL;
	int extra = argc - optind - (argument ? 2 : 1);
	bool known =
		action &&
		((strcmp(action, "create-user") == 0 && argument && email) ||
		 (strcmp(action, "audit") == 0 && argument && strcmp(argument, "verify") == 0) ||
		 ((strcmp(action, "rotate-key") == 0 || strcmp(action, "migrate") == 0) &&
		  !argument));
	if (!action)
		return cmd_usage_error("admin", "which action? create-user, audit verify, "
						"rotate-key or migrate");
	if (!known || extra > 0)
		return cmd_usage_error(
			"admin", "usage: %s",
			strcmp(action, "create-user") == 0
				? "ampel admin create-user NAME --email EMAIL"
				: "ampel admin create-user|audit verify|rotate-key|migrate");

	struct err e = ERR_INIT;
	struct store *store = NULL;
	if (cmd_open_store(ctx, &store, &e) < 0)
		return cmd_fail("%s", e.msg);
	struct api_context api = { .store = store,
				   .data_dir = config_get(ctx->config, "data_dir") };
	int status = EXIT_OK;
	if (strcmp(action, "create-user") == 0) {
		status = create_user(&api, argument, email, admin, password_stdin);
	} else if (strcmp(action, "audit") == 0) {
		int64_t checked = 0, first_bad = 0;
		if (audit_verify(store, &checked, &first_bad, &e) < 0)
			status = cmd_fail("audit log: %s", e.msg);
		else
			printf("audit log intact: %lld entries verified\n", (long long)checked);
	} else if (strcmp(action, "rotate-key") == 0) {
		struct secrets_rotation rotation;
		if (secrets_rotate_key(&api, &rotation, &e) < 0)
			status = cmd_fail("%s", e.msg);
		else
			printf("secrets key version %lld in use: %lld secrets and %lld deployment "
			       "credentials re-encrypted\n",
			       (long long)rotation.key_version, (long long)rotation.secrets,
			       (long long)rotation.credentials);
	} else {
		int applied = 0, known_version = 0;
		if (store_schema_version(store, &applied, &known_version, &e) < 0)
			status = cmd_fail("%s", e.msg);
		else
			printf("database at schema version %d of %d (%s)\n", applied, known_version,
			       store_describe(store));
	}
	store_close(store);
	return status;
}
