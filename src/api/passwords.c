#include "api/passwords.h"

#include "util/err.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fast_for_tests;

/* randombytes works without it; what needs it (pwhash) checks on its own. */
static void sodium_ready(void)
{
	if (sodium_init() < 0)
		abort();
}

void passwords_set_fast_for_tests(bool fast)
{
	fast_for_tests = fast;
}

static unsigned long long ops_limit(void)
{
	return fast_for_tests ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
}

static size_t mem_limit(void)
{
	return fast_for_tests ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

int passwords_hash(const char *password, char out[PASSWORDS_HASH_SIZE], struct err *e)
{
	_Static_assert(crypto_pwhash_STRBYTES <= PASSWORDS_HASH_SIZE, "hash buffer too small");
	if (sodium_init() < 0)
		return err_set(e, "libsodium could not be initialised");
	if (crypto_pwhash_str(out, password, strlen(password), ops_limit(), mem_limit()) != 0)
		return err_set(e, "not enough memory to hash the password");
	return 0;
}

bool passwords_verify(const char *hash, const char *password)
{
	if (!hash || !password || sodium_init() < 0)
		return false;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void passwords_verify_dummy(const char *password)
{
	/* Made once, with the current cost, so it costs what a real hash does. */
	static char dummy[PASSWORDS_HASH_SIZE];
	static bool dummy_fast;
	if (!dummy[0] || dummy_fast != fast_for_tests) {
		if (passwords_hash("ampel-dummy-password", dummy, NULL) != 0)
			return;
		dummy_fast = fast_for_tests;
	}
	(void)passwords_verify(dummy, password ? password : "");
}

void passwords_generate(char out[32])
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	sodium_ready();
	for (int i = 0; i < 24; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[24] = '\0';
}

void passwords_token_new(const char *prefix, char out[PASSWORDS_TOKEN_SIZE])
{
	unsigned char raw[32];
	sodium_ready();
	randombytes_buf(raw, sizeof(raw));
	size_t used = strlen(prefix);
	memcpy(out, prefix, used + 1);
	sodium_bin2base64(out + used, PASSWORDS_TOKEN_SIZE - used, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void passwords_token_hash(const char *token, char out[PASSWORDS_TOKEN_HASH_SIZE])
{
	unsigned char digest[32];
	sodium_ready();
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)token, strlen(token),
			   NULL, 0);
	sodium_bin2hex(out, PASSWORDS_TOKEN_HASH_SIZE, digest, sizeof(digest));
}

bool passwords_equal(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	size_t len = strlen(a);
	if (len != strlen(b))
		return false;
	return sodium_memcmp(a, b, len) == 0;
}
