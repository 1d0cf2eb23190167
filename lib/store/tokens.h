/*
 * tokens.h — refresh tokens (table refresh_tokens).
 *
 * Only SHA-256 hashes of refresh tokens are stored. Tokens are grouped in
 * families (one per login); rotating a token marks it rotated and inserts
 * its successor in the same family. Presenting a rotated token again is
 * reuse — a sign it was stolen — and revokes the whole family.
 */
#ifndef RP_STORE_TOKENS_H
#define RP_STORE_TOKENS_H

#include <stdbool.h>

#include "core/err.h"

struct db;

struct token_row {
	char id[37];
	char player_id[37];
	char family_id[37];
	bool rotated, revoked, expired, player_active;
};

/* Insert a token (hash_hex = 64 hex chars). family_id NULL starts a new family.
 * Fills id_out / family_out (37 bytes each). */
enum rp_err token_insert(struct db *db, const char *player_id, const char *family_id,
			 const char *hash_hex, unsigned ttl_s, const char *user_agent,
			 char *id_out, char *family_out) RP_MUSTCHECK;
/* Inside a transaction: lock and read the token with this hash. RP_ENOTFOUND if none. */
enum rp_err token_lock(struct db *db, const char *hash_hex, struct token_row *out) RP_MUSTCHECK;
enum rp_err token_mark_rotated(struct db *db, const char *id, const char *replaced_by) RP_MUSTCHECK;
enum rp_err token_revoke_family(struct db *db, const char *family_id) RP_MUSTCHECK;
/* Revoke the family of the player's token with this hash (logout). */
enum rp_err token_revoke_by_hash(struct db *db, const char *hash_hex, const char *player_id) RP_MUSTCHECK;

#endif
