/*
 * statements.h — every SQL statement a worker runs, by id.
 * Statements are prepared lazily on first use per connection and
 * re-prepared after a reconnect (db.c tracks which are prepared).
 */
#ifndef RP_STORE_STATEMENTS_H
#define RP_STORE_STATEMENTS_H

enum stmt_id {
	STMT_PING,
	STMT_MIGRATION_VERSION,
	/* players */
	STMT_PLAYER_INSERT,
	STMT_PLAYER_BY_ID,
	STMT_PLAYER_BY_USERNAME,
	STMT_PLAYER_BY_EMAIL,
	STMT_PLAYER_SET_PASSWORD,
	STMT_PLAYER_TOUCH,
	STMT_PLAYER_UPDATE,
	STMT_PLAYER_DEACTIVATE,
	STMT_PLAYER_SEARCH,
	/* refresh tokens */
	STMT_TOKEN_INSERT,
	STMT_TOKEN_LOOKUP_FOR_UPDATE,
	STMT_TOKEN_ROTATE,
	STMT_TOKEN_REVOKE_FAMILY,
	STMT_TOKEN_REVOKE_BY_HASH,
	STMT_MAX
};

struct statement {
	const char *name;
	const char *sql;
	int nparams;
};

const struct statement *statement_get(enum stmt_id id);

#endif
