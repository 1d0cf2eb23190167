/*
 * db.h — a worker's one PostgreSQL connection.
 *
 * Every call is bounded: connecting by connect_timeout, statements by a
 * client-side deadline (DB_TIMEOUT_MS) on top of the server's
 * statement_timeout, so a dead or stalled database yields RP_EUNAVAIL
 * instead of a hung request. After a failure the connection is dropped and
 * re-established with back-off; prepared statements are re-prepared on the
 * new connection.
 */
#ifndef RP_STORE_DB_H
#define RP_STORE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "core/err.h"
#include "store/statements.h"

#define DB_TIMEOUT_MS 2000

struct arena;
struct db;
struct metrics;

/* conninfo: a libpq URI or key=value string. Does not connect yet. */
struct db *db_new(const char *conninfo, struct metrics *m);
void db_free(struct db *db);
/* Connect if needed (respecting back-off). RP_OK or RP_EUNAVAIL. */
enum rp_err db_ensure(struct db *db) RP_MUSTCHECK;
bool db_in_transaction(const struct db *db);
/*
 * Run a prepared statement. On success returns the PGresult (caller
 * PQclear()s it) and *err = RP_OK. On failure returns NULL and *err is
 * RP_EUNAVAIL (connection/timeout), RP_ECONFLICT (unique/exclusion
 * violation, serialization failure) or RP_EINTERNAL; db_sqlstate() tells
 * the SQLSTATE of the last failure.
 */
PGresult *db_query(struct db *db, enum stmt_id id, const char *const *params, enum rp_err *err);
/* Run a parameterless utility statement (BEGIN, COMMIT, ROLLBACK). */
enum rp_err db_exec(struct db *db, const char *sql) RP_MUSTCHECK;
const char *db_sqlstate(const struct db *db);
/* Run a statement whose result is not needed. */
enum rp_err db_command(struct db *db, enum stmt_id id, const char *const *params) RP_MUSTCHECK;
/* Copy a column into the arena; NULL for SQL NULL. */
const char *db_text(struct arena *a, PGresult *r, int row, int col);
/*
 * Run a statement and decode every row with fn into a new arena array of
 * elem_size elements (*out, *count). fn(a, r, row, element) decodes one row.
 */
typedef enum rp_err (*db_row_fn)(struct arena *a, PGresult *r, int row, void *element);
enum rp_err db_rows(struct db *db, struct arena *a, enum stmt_id id, const char *const *params,
		    size_t elem_size, db_row_fn fn, void **out, int *count) RP_MUSTCHECK;
/*
 * A batch: several statements sent in one round trip (libpq pipeline mode)
 * and executed by the server in order. Statements after a failing one are
 * skipped by the server. Parameter strings must stay valid until
 * db_batch_run() returns (use the request arena).
 */
#define DB_BATCH_MAX 24
struct db_batch {
	int n;
	bool overflow;
	struct db_step {
		enum stmt_id id;  /* STMT_MAX: run sql instead (BEGIN, COMMIT) */
		const char *sql;
		const char *const *params;
		PGresult **out; /* receives the result (caller PQclear()s), or NULL */
	} step[DB_BATCH_MAX];
};
void db_batch_init(struct db_batch *b);
/* Queue a prepared statement; *out (when not NULL) gets its result, or NULL. */
void db_batch_add(struct db_batch *b, enum stmt_id id, const char *const *params, PGresult **out);
/* Queue a parameterless utility statement (BEGIN, COMMIT). */
void db_batch_sql(struct db_batch *b, const char *sql);
/*
 * Run the batch and wait for every result (one deadline for the whole
 * batch). RP_OK when every statement succeeded; otherwise the error of the
 * first failure (classified as for db_query) and every *out is NULL. Retried once on a fresh connection under db_query's
 * rule (the connection was dead and no transaction was open).
 */
enum rp_err db_batch_run(struct db *db, struct db_batch *b) RP_MUSTCHECK;
/* Constraint named by the last failure (unique violations), or "". */
const char *db_constraint(const struct db *db);

#endif
