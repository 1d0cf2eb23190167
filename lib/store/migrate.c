/*
 * migrate.c — the migration runner (see migrate.h).
 *
 * Concurrency: every step takes the same transaction-scoped advisory lock,
 * so two `rankpulse migrate` runs (two hosts deploying at once) serialise
 * and the second finds nothing to do. The applied set is re-read under the
 * lock before each migration.
 */
#include "store/migrate.h"

#include "store/statements.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK_KEY "7418880227071943761" /* arbitrary, stable */

int migrations_latest(void)
{
	int v = 0;
	for (size_t i = 0; i < migrations_embedded_count; i++)
		if (migrations_embedded[i].version > v)
			v = migrations_embedded[i].version;
	return v;
}

static void checksum_hex(const char *sql, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)sql, strlen(sql));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static bool exec_ok(PGconn *c, const char *sql, FILE *out)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);
	bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(out, "migrate: %s", PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

static void rollback(PGconn *c)
{
	PQclear(PQexec(c, "ROLLBACK"));
}

/*
 * Under the lock: is version applied? Checks the checksum when it is.
 * Returns 1 applied, 0 not applied, -1 error (message printed).
 */
static int applied_state(PGconn *c, const struct migration *m, const char *sum, FILE *out)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", m->version);
	const char *params[] = {v};
	PGresult *r = PQexecParams(c, "SELECT checksum FROM schema_migrations WHERE version = $1",
				   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(out, "migrate: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	int state = 0;
	if (PQntuples(r) == 1) {
		state = 1;
		if (strcmp(PQgetvalue(r, 0, 0), sum) != 0) {
			fprintf(out, "migrate: migration %04d_%s was edited after it was applied "
				     "(checksum mismatch); write a new migration instead\n",
				m->version, m->name);
			state = -1;
		}
	}
	PQclear(r);
	return state;
}

static bool unknown_versions(PGconn *c, FILE *out)
{
	char latest[16];
	snprintf(latest, sizeof(latest), "%d", migrations_latest());
	const char *params[] = {latest};
	PGresult *r = PQexecParams(c, "SELECT max(version) FROM schema_migrations WHERE version > $1",
				   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(out, "migrate: %s", PQresultErrorMessage(r));
		PQclear(r);
		return true;
	}
	/* A newer schema is expected after a rollback to an older binary:
	 * migrations are additive, so say so and carry on (nothing to apply). */
	if (!PQgetisnull(r, 0, 0))
		fprintf(out, "migrate: warning: the database is at migration %s, newer than this "
			     "binary (%s); nothing to apply\n", PQgetvalue(r, 0, 0), latest);
	PQclear(r);
	return false;
}

static enum rp_err apply_one(PGconn *c, const struct migration *m, FILE *out)
{
	char sum[65];
	checksum_hex(m->sql, sum);
	if (!exec_ok(c, "BEGIN", out) ||
	    !exec_ok(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", out)) {
		rollback(c);
		return RP_EUNAVAIL;
	}
	int state = applied_state(c, m, sum, out);
	if (state != 0) {
		rollback(c);
		return state == 1 ? RP_OK : RP_ECONFLICT;
	}
	if (!exec_ok(c, m->sql, out)) {
		fprintf(out, "migrate: migration %04d_%s failed; nothing of it was applied\n",
			m->version, m->name);
		rollback(c);
		return RP_EINTERNAL;
	}
	char v[16];
	snprintf(v, sizeof(v), "%d", m->version);
	const char *params[] = {v, m->name, sum};
	PGresult *r = PQexecParams(
		c, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3,
		NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok || !exec_ok(c, "COMMIT", out)) {
		rollback(c);
		return RP_EINTERNAL;
	}
	fprintf(out, "migrate: applied %04d_%s\n", m->version, m->name);
	return RP_OK;
}

/*
 * Prepare every statement the workers use against the migrated schema, so a
 * query that does not match the schema fails the deploy, not a request.
 */
static enum rp_err check_statements(PGconn *c, FILE *out)
{
	enum rp_err err = RP_OK;
	for (int id = 0; id < STMT_MAX; id++) {
		const struct statement *st = statement_get((enum stmt_id)id);
		if (st == NULL || st->sql == NULL) {
			fprintf(out, "migrate: statement %d is not defined\n", id);
			err = RP_EINTERNAL;
			continue;
		}
		PGresult *r = PQprepare(c, st->name, st->sql, st->nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(out, "migrate: statement %s does not prepare: %s", st->name,
				PQresultErrorMessage(r));
			err = RP_EINTERNAL;
		}
		PQclear(r);
	}
	PQclear(PQexec(c, "DEALLOCATE ALL"));
	if (err == RP_OK)
		fprintf(out, "migrate: all %d statements prepare against the schema\n", STMT_MAX);
	return err;
}

enum rp_err migrate_run(const char *conninfo, FILE *out)
{
	static const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {conninfo, "10", "rankpulse-migrate", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(out, "migrate: cannot connect to DATABASE_URL: %s", PQerrorMessage(c));
		PQfinish(c);
		return RP_EUNAVAIL;
	}
	enum rp_err err = RP_OK;
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	if (!exec_ok(c, "BEGIN", out) ||
	    !exec_ok(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", out) ||
	    !exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			"version integer PRIMARY KEY, name text NOT NULL, "
			"checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		     out) ||
	    !exec_ok(c, "COMMIT", out)) {
		rollback(c);
		err = RP_EUNAVAIL;
	}
	if (err == RP_OK && unknown_versions(c, out))
		err = RP_ECONFLICT;
	for (size_t i = 0; err == RP_OK && i < migrations_embedded_count; i++) {
		err = apply_one(c, &migrations_embedded[i], out);
	}
	if (err == RP_OK)
		fprintf(out, "migrate: schema is at version %d\n", migrations_latest());
	if (err == RP_OK)
		err = check_statements(c, out);
	PQfinish(c);
	return err;
}
