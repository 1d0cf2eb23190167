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
	STMT_MAX
};

struct statement {
	const char *name;
	const char *sql;
	int nparams;
};

const struct statement *statement_get(enum stmt_id id);

#endif
