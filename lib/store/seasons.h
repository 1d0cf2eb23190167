/*
 * seasons.h — the seasons table (rows are read by leaderboards.c's handlers).
 */
#ifndef RP_STORE_SEASONS_H
#define RP_STORE_SEASONS_H

#include "core/err.h"

struct db;

/* RP_OK when a season with this id exists (open or closed), RP_ENOTFOUND
 * when not, or the database error. */
enum rp_err season_find(struct db *db, const char *id) RP_MUSTCHECK;

#endif
