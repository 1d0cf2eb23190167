/*
 * migrate.h — schema migrations embedded in the binary.
 *
 * migrations/NNNN_name.sql are compiled into the program (build/gen), so
 * an installed binary always carries exactly the schema it expects.
 */
#ifndef RP_STORE_MIGRATE_H
#define RP_STORE_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations_embedded[];
extern const size_t migrations_embedded_count;

/* Highest embedded version (0 when there are none). */
int migrations_latest(void);
/*
 * Apply pending migrations to the database at conninfo, each in its own
 * transaction under pg_advisory_xact_lock, recording version, name and
 * SHA-256 checksum in schema_migrations. Fails (RP_ECONFLICT) when an
 * applied migration's checksum differs from the embedded one; a database
 * ahead of this binary (a rollback) only gets a warning. Progress goes to out.
 */
enum rp_err migrate_run(const char *conninfo, FILE *out) RP_MUSTCHECK;

#endif
