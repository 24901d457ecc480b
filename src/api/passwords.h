/*
 * passwords: password hashing and the random credentials the server hands out.
 *
 * Passwords are Argon2id hashes (libsodium's crypto_pwhash_str); tokens
 * (API tokens, sessions, refresh tokens) are 32 random bytes shown once and
 * kept only as a BLAKE2b hash, so a stolen database holds nothing usable.
 */
#ifndef AMPEL_API_PASSWORDS_H
#define AMPEL_API_PASSWORDS_H

#include <stdbool.h>
#include <stddef.h>

struct err;

/* An Argon2id hash string ($argon2id$…) fits in this many bytes. */
#define PASSWORDS_HASH_SIZE 128
/* A token: prefix + 43 base64url characters + NUL. */
#define PASSWORDS_TOKEN_SIZE 64
/* Hex of a 32-byte BLAKE2b hash + NUL. */
#define PASSWORDS_TOKEN_HASH_SIZE 65
#define PASSWORDS_MIN_LENGTH	  8

int passwords_hash(const char *password, char out[PASSWORDS_HASH_SIZE], struct err *e);
/* True when password matches hash; false on any mismatch or malformed hash. */
bool passwords_verify(const char *hash, const char *password);
/*
 * Spends the time of one verification against a fixed hash, so a login for
 * an unknown user costs what a wrong password does.
 */
void passwords_verify_dummy(const char *password);
/* A readable random password (24 characters, ~140 bits). */
void passwords_generate(char out[32]);
/* A fresh token "PREFIXxxxx…" (prefix: "amp_", "ampa_", "ampr_", "amps_"). */
void passwords_token_new(const char *prefix, char out[PASSWORDS_TOKEN_SIZE]);
/* The hash a token is stored and looked up by. */
void passwords_token_hash(const char *token, char out[PASSWORDS_TOKEN_HASH_SIZE]);
/* Constant-time equality of two strings. */
bool passwords_equal(const char *a, const char *b);
/*
 * Lowers the Argon2id cost to libsodium's minimum: for tests only, where
 * hundreds of hashes would otherwise take minutes under a sanitizer.
 */
void passwords_set_fast_for_tests(bool fast);

#endif
