#include "store/tokens.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"

static void copy36(char *dst, PGresult *r, int col)
{
	snprintf(dst, 37, "%s", PQgetvalue(r, 0, col));
}

enum rp_err token_insert(struct db *db, const char *player_id, const char *family_id,
			 const char *hash_hex, unsigned ttl_s, const char *user_agent,
			 char *id_out, char *family_out)
{
	char ttl[16];
	snprintf(ttl, sizeof(ttl), "%u", ttl_s);
	const char *params[] = {player_id, family_id, hash_hex, ttl, user_agent};
	enum rp_err err;
	PGresult *r = db_query(db, STMT_TOKEN_INSERT, params, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return RP_EINTERNAL;
	}
	copy36(id_out, r, 0);
	copy36(family_out, r, 1);
	PQclear(r);
	return RP_OK;
}

enum rp_err token_lock(struct db *db, const char *hash_hex, struct token_row *out)
{
	const char *params[] = {hash_hex};
	enum rp_err err;
	PGresult *r = db_query(db, STMT_TOKEN_LOOKUP_FOR_UPDATE, params, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return RP_ENOTFOUND;
	}
	copy36(out->id, r, 0);
	copy36(out->player_id, r, 1);
	copy36(out->family_id, r, 2);
	out->rotated = PQgetvalue(r, 0, 3)[0] == 't';
	out->revoked = PQgetvalue(r, 0, 4)[0] == 't';
	out->expired = PQgetvalue(r, 0, 5)[0] == 't';
	out->player_active = PQgetvalue(r, 0, 6)[0] == 't';
	PQclear(r);
	return RP_OK;
}

enum rp_err token_mark_rotated(struct db *db, const char *id, const char *replaced_by)
{
	const char *params[] = {id, replaced_by};
	return db_command(db, STMT_TOKEN_ROTATE, params);
}

enum rp_err token_revoke_family(struct db *db, const char *family_id)
{
	const char *params[] = {family_id};
	return db_command(db, STMT_TOKEN_REVOKE_FAMILY, params);
}

enum rp_err token_revoke_by_hash(struct db *db, const char *hash_hex, const char *player_id)
{
	const char *params[] = {hash_hex, player_id};
	return db_command(db, STMT_TOKEN_REVOKE_BY_HASH, params);
}
