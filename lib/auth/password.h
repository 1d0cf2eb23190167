/*
 * password.h — argon2id password hashing (libsodium crypto_pwhash_str).
 *
 * Limits are libsodium's INTERACTIVE (≈64 MiB, ≈70 ms here): the login
 * path is deliberately bounded by this cost. password_verify_unknown()
 * burns the same time for a login name that does not exist, so response
 * timing does not reveal which accounts exist.
 */
#ifndef RP_AUTH_PASSWORD_H
#define RP_AUTH_PASSWORD_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define PASSWORD_HASH_MAX crypto_pwhash_STRBYTES

enum rp_err password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX]) RP_MUSTCHECK;
bool password_verify(const char *hash, const char *pw, size_t len);
/* True when hash was made with other limits than the current ones. */
bool password_needs_rehash(const char *hash);
/* Spend one verification's worth of time against a fixed dummy hash. */
void password_verify_unknown(const char *pw, size_t len);

#endif
