#include "store/seasons.h"

#include <libpq-fe.h>

#include "store/db.h"

enum rp_err season_find(struct db *db, const char *id)
{
	const char *params[] = {id};
	enum rp_err e;
	PGresult *r = db_query(db, STMT_SEASON_EXISTS, params, &e);
	if (r == NULL)
		return e;
	e = PQntuples(r) == 1 ? RP_OK : RP_ENOTFOUND;
	PQclear(r);
	return e;
}
