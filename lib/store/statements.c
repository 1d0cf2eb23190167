#include "store/statements.h"

#include <stddef.h>

static const struct statement statements[STMT_MAX] = {
	[STMT_PING] = {"ping", "SELECT 1", 0},
	[STMT_MIGRATION_VERSION] = {"migration_version",
				    "SELECT coalesce(max(version), 0) FROM schema_migrations", 0},
};

const struct statement *statement_get(enum stmt_id id)
{
	return (unsigned)id < STMT_MAX ? &statements[id] : NULL;
}
