/*
 * db.c — bounded libpq access for workers.
 *
 * Queries are sent with PQsendQueryPrepared and awaited with poll(2) until
 * a deadline; on timeout the query is cancelled and the connection is
 * dropped (its state is unknown). Statements are prepared lazily — a
 * worker that starts before migrations ran still serves /health — and the
 * prepared set is forgotten whenever the connection is replaced.
 *
 * Retry rule: when a statement fails because the connection turned out to
 * be dead and we were not inside a transaction, the statement is retried
 * once on a fresh connection. A server that closed our socket did not run
 * the statement, so this cannot apply a write twice; inside a transaction
 * the caller must restart the whole transaction instead.
 */
#include "store/db.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/backoff.h"
#include "core/log.h"
#include "metrics/metrics.h"

struct db {
	char *conninfo;
	PGconn *conn;
	bool prepared[STMT_MAX];
	struct backoff backoff;
	struct metrics *metrics;
	char sqlstate[6];
	char constraint[64];
};

struct db *db_new(const char *conninfo, struct metrics *m)
{
	struct db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return NULL;
	db->conninfo = strdup(conninfo);
	if (db->conninfo == NULL) {
		free(db);
		return NULL;
	}
	db->metrics = m;
	backoff_init(&db->backoff, 100000, 2000000);
	return db;
}

static void db_drop(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	memset(db->prepared, 0, sizeof(db->prepared));
}

void db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_drop(db);
	free(db->conninfo);
	free(db);
}

static void set_state(struct db *db, const char *s)
{
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", s ? s : "");
}

enum rp_err db_ensure(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return RP_OK;
	db_drop(db);
	long long now = clock_us();
	if (!backoff_ready(&db->backoff, now))
		return RP_EUNAVAIL;
	static const char *const keys[] = {"dbname", "connect_timeout", "options",
					   "application_name", NULL};
	static const char *const opts =
		"-c statement_timeout=2000 -c lock_timeout=1500 "
		"-c idle_in_transaction_session_timeout=10000 "
		/* JIT compiles big scans (board counts at 1M rows) for ~100 ms: never worth it here */
		"-c jit=off";
	const char *vals[] = {db->conninfo, "2", opts, "rankpulse", NULL};
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		/* The message may contain host names but never the password. */
		log_warn("database connect failed: %s",
			 db->conn ? PQerrorMessage(db->conn) : "out of memory");
		db_drop(db);
		backoff_failed(&db->backoff, clock_us());
		metrics_count(db->metrics, MC_DB_ERRORS);
		set_state(db, "08001");
		return RP_EUNAVAIL;
	}
	backoff_succeeded(&db->backoff);
	metrics_count(db->metrics, MC_DB_RECONNECTS);
	return RP_OK;
}

bool db_in_transaction(const struct db *db)
{
	if (db->conn == NULL)
		return false;
	PGTransactionStatusType t = PQtransactionStatus(db->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

const char *db_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

const char *db_constraint(const struct db *db)
{
	return db->constraint;
}

/*
 * Wait until the next result can be read without blocking. false on
 * timeout (the query is cancelled) or connection loss (*dead set).
 */
static bool await_ready(struct db *db, long long deadline_us, bool *dead)
{
	*dead = false;
	int fd = PQsocket(db->conn);
	while (PQisBusy(db->conn)) {
		long long left = deadline_us - clock_us();
		if (left <= 0) {
			char errbuf[128];
			PGcancel *c = PQgetCancel(db->conn);
			if (c != NULL) {
				PQcancel(c, errbuf, sizeof(errbuf));
				PQfreeCancel(c);
			}
			log_warn("database statement timed out after %d ms", DB_TIMEOUT_MS);
			*dead = true;
			return false;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r < 0 && errno != EINTR) {
			*dead = true;
			return false;
		}
		if (r > 0 && !PQconsumeInput(db->conn)) {
			*dead = true;
			return false;
		}
	}
	return true;
}

/*
 * Wait for the result of the query in flight, draining all results.
 * Returns the last result (caller clears) or NULL on timeout/connection loss
 * (*dead set).
 */
static PGresult *await_result(struct db *db, long long deadline_us, bool *dead)
{
	if (!await_ready(db, deadline_us, dead))
		return NULL;
	PGresult *last = NULL, *r;
	while ((r = PQgetResult(db->conn)) != NULL) {
		if (last != NULL)
			PQclear(last);
		last = r;
	}
	if (PQstatus(db->conn) != CONNECTION_OK)
		*dead = true;
	return last;
}

static enum rp_err classify(struct db *db, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *cons = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	snprintf(db->constraint, sizeof(db->constraint), "%s", cons ? cons : "");
	set_state(db, state ? state : "XX000");
	if (state != NULL) {
		if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0 ||
		    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
			return RP_ECONFLICT;
		/* data exceptions (bad dates, out-of-range numbers): the input's fault */
		if (strncmp(state, "22", 2) == 0) {
			log_warn("database refused a value: sqlstate=%s", state);
			return RP_EINVAL;
		}
		if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0 ||
		    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
			return RP_EUNAVAIL;
	}
	log_error("database statement failed: sqlstate=%s %s", db->sqlstate,
		  r ? PQresultErrorMessage(r) : "");
	return RP_EINTERNAL;
}

/* One attempt. *dead tells whether the connection must be replaced. */
static PGresult *attempt(struct db *db, enum stmt_id id, const char *const *params,
			 enum rp_err *err, bool *dead)
{
	const struct statement *st = statement_get(id);
	long long deadline = clock_us() + (long long)DB_TIMEOUT_MS * 1000;
	*dead = false;
	if (!db->prepared[id]) {
		if (!PQsendPrepare(db->conn, st->name, st->sql, st->nparams, NULL)) {
			*dead = true;
			*err = RP_EUNAVAIL;
			return NULL;
		}
		PGresult *r = await_result(db, deadline, dead);
		if (*dead || r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			*err = *dead ? RP_EUNAVAIL : classify(db, r);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		db->prepared[id] = true;
	}
	if (!PQsendQueryPrepared(db->conn, st->name, st->nparams, params, NULL, NULL, 0)) {
		*dead = true;
		*err = RP_EUNAVAIL;
		return NULL;
	}
	PGresult *r = await_result(db, deadline, dead);
	if (*dead) {
		PQclear(r);
		*err = RP_EUNAVAIL;
		return NULL;
	}
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		*err = classify(db, r);
		PQclear(r);
		return NULL;
	}
	*err = RP_OK;
	return r;
}

PGresult *db_query(struct db *db, enum stmt_id id, const char *const *params, enum rp_err *err)
{
	if (statement_get(id) == NULL) {
		*err = RP_EINTERNAL;
		return NULL;
	}
	for (int tries = 0; tries < 2; tries++) {
		if ((*err = db_ensure(db)) != RP_OK)
			return NULL;
		bool in_tx = db_in_transaction(db);
		bool dead;
		PGresult *r = attempt(db, id, params, err, &dead);
		if (!dead)
			return r;
		metrics_count(db->metrics, MC_DB_ERRORS);
		set_state(db, "08006");
		log_warn("database connection lost, dropping it");
		db_drop(db);
		if (in_tx)
			break;
	}
	*err = RP_EUNAVAIL;
	return NULL;
}

enum rp_err db_exec(struct db *db, const char *sql)
{
	enum rp_err err = db_ensure(db);
	if (err != RP_OK)
		return err;
	if (!PQsendQuery(db->conn, sql)) {
		db_drop(db);
		return RP_EUNAVAIL;
	}
	bool dead;
	PGresult *r = await_result(db, clock_us() + (long long)DB_TIMEOUT_MS * 1000, &dead);
	if (dead) {
		PQclear(r);
		metrics_count(db->metrics, MC_DB_ERRORS);
		db_drop(db);
		return RP_EUNAVAIL;
	}
	err = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK ? RP_OK : classify(db, r);
	PQclear(r);
	return err;
}

enum rp_err db_command(struct db *db, enum stmt_id id, const char *const *params)
{
	enum rp_err err;
	PGresult *r = db_query(db, id, params, &err);
	PQclear(r);
	return err;
}

const char *db_text(struct arena *a, PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

enum rp_err db_rows(struct db *db, struct arena *a, enum stmt_id id, const char *const *params,
		    size_t elem_size, db_row_fn fn, void **out, int *count)
{
	enum rp_err err;
	PGresult *r = db_query(db, id, params, &err);
	if (r == NULL)
		return err;
	int rows = PQntuples(r);
	char *elems = arena_calloc(a, (size_t)(rows ? rows : 1), elem_size);
	*out = elems;
	*count = 0;
	err = elems ? RP_OK : RP_ENOMEM;
	for (int i = 0; err == RP_OK && i < rows; i++)
		if ((err = fn(a, r, i, elems + (size_t)i * elem_size)) == RP_OK)
			(*count)++;
	PQclear(r);
	return err;
}

/* ------------------------------------------------------------------ batches */

void db_batch_init(struct db_batch *b)
{
	b->n = 0;
	b->overflow = false;
}

static void batch_push(struct db_batch *b, enum stmt_id id, const char *sql,
		       const char *const *params, PGresult **out)
{
	if (out != NULL)
		*out = NULL;
	if (b->n == DB_BATCH_MAX || (id != STMT_MAX && statement_get(id) == NULL)) {
		b->overflow = true;
		return;
	}
	b->step[b->n++] = (struct db_step){id, sql, params, out};
}

void db_batch_add(struct db_batch *b, enum stmt_id id, const char *const *params, PGresult **out)
{
	batch_push(b, id, NULL, params, out);
}

void db_batch_sql(struct db_batch *b, const char *sql)
{
	batch_push(b, STMT_MAX, sql, NULL, NULL);
}

/* Queue every step (preparing what is not prepared yet) and the sync. */
static bool batch_send(struct db *db, const struct db_batch *b, bool prepares[])
{
	bool queued[STMT_MAX] = {false};
	for (int i = 0; i < b->n; i++) {
		const struct db_step *st = &b->step[i];
		prepares[i] = false;
		if (st->id == STMT_MAX) {
			if (!PQsendQueryParams(db->conn, st->sql, 0, NULL, NULL, NULL, NULL, 0))
				return false;
			continue;
		}
		const struct statement *s = statement_get(st->id);
		if (!db->prepared[st->id] && !queued[st->id]) {
			if (!PQsendPrepare(db->conn, s->name, s->sql, s->nparams, NULL))
				return false;
			queued[st->id] = prepares[i] = true;
		}
		if (!PQsendQueryPrepared(db->conn, s->name, s->nparams, st->params, NULL, NULL, 0))
			return false;
	}
	return PQpipelineSync(db->conn) == 1;
}

/* The next result of the pipeline (NULL on timeout/connection loss, *dead set). */
static PGresult *batch_next(struct db *db, long long deadline, bool *dead)
{
	if (!await_ready(db, deadline, dead))
		return NULL;
	PGresult *r = PQgetResult(db->conn);
	if (r == NULL)
		*dead = true;
	return r;
}

/* The result of one command and the NULL that ends it. */
static PGresult *batch_command(struct db *db, long long deadline, bool *dead)
{
	PGresult *r = batch_next(db, deadline, dead);
	if (r == NULL)
		return NULL;
	if (!await_ready(db, deadline, dead) || PQgetResult(db->conn) != NULL) {
		*dead = true; /* out of step with the protocol: give the connection up */
		PQclear(r);
		return NULL;
	}
	return r;
}

static bool step_ok(PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);
	return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK;
}

/*
 * One attempt: send, then read one result per command and the sync.
 * *received counts the statements that succeeded: a retry is only safe with
 * none (a dropped connection answers the first command with its FATAL error).
 */
static enum rp_err batch_attempt(struct db *db, struct db_batch *b, bool *dead, int *received)
{
	bool prepares[DB_BATCH_MAX];
	long long deadline = clock_us() + (long long)DB_TIMEOUT_MS * 1000;
	enum rp_err err = RP_OK;
	*dead = false;
	*received = 0;
	if (!PQenterPipelineMode(db->conn) || !batch_send(db, b, prepares)) {
		*dead = true;
		return RP_EUNAVAIL;
	}
	for (int i = 0; i < b->n && !*dead; i++) {
		const struct db_step *st = &b->step[i];
		if (prepares[i]) {
			PGresult *p = batch_command(db, deadline, dead);
			if (p == NULL)
				break;
			if (PQresultStatus(p) == PGRES_COMMAND_OK)
				db->prepared[st->id] = true;
			else if (err == RP_OK && PQresultStatus(p) != PGRES_PIPELINE_ABORTED)
				err = classify(db, p);
			PQclear(p);
		}
		PGresult *r = batch_command(db, deadline, dead);
		if (r == NULL)
			break;
		*received += step_ok(r);
		if (err == RP_OK && !step_ok(r))
			err = PQresultStatus(r) == PGRES_PIPELINE_ABORTED ? RP_EINTERNAL : classify(db, r);
		if (err == RP_OK && st->out != NULL)
			*st->out = r;
		else
			PQclear(r);
	}
	if (!*dead) {
		PGresult *sync = batch_next(db, deadline, dead);
		if (sync != NULL && PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
			*dead = true;
		PQclear(sync);
	}
	if (!*dead && !PQexitPipelineMode(db->conn))
		*dead = true;
	return *dead ? RP_EUNAVAIL : err;
}

static void batch_forget(struct db_batch *b)
{
	for (int i = 0; i < b->n; i++)
		if (b->step[i].out != NULL) {
			PQclear(*b->step[i].out);
			*b->step[i].out = NULL;
		}
}

enum rp_err db_batch_run(struct db *db, struct db_batch *b)
{
	if (b->overflow)
		return RP_EINTERNAL;
	enum rp_err err = RP_EUNAVAIL;
	for (int tries = 0; tries < 2; tries++) {
		if ((err = db_ensure(db)) != RP_OK)
			break;
		bool in_tx = db_in_transaction(db), dead;
		int received;
		err = batch_attempt(db, b, &dead, &received);
		if (!dead)
			break;
		batch_forget(b);
		metrics_count(db->metrics, MC_DB_ERRORS);
		set_state(db, "08006");
		log_warn("database connection lost, dropping it");
		db_drop(db);
		err = RP_EUNAVAIL;
		if (in_tx || received > 0)
			break;
	}
	if (err != RP_OK)
		batch_forget(b);
	return err;
}
