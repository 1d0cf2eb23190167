/*
 * seed.h — deterministic demo data (`rankpulse seed`).
 */
#ifndef RP_STORE_SEED_H
#define RP_STORE_SEED_H

#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"

#define SEED_MAX_PLAYERS 10000000L
#define SEED_DEMO_PASSWORD "rankpulse-demo"

/*
 * Insert players demo000001..demoNNNNNN (ids, ratings, records and
 * countries derived from the ordinal, so every run produces the same data)
 * plus an "admin" account, all with password SEED_DEMO_PASSWORD, and their
 * all-time leaderboard entries, in one transaction. With if_empty, does
 * nothing when any player exists. Set-based SQL: 100k players take a few
 * seconds (one argon2id hash is computed, not one per player).
 */
enum rp_err seed_players(const char *conninfo, long n, bool if_empty, FILE *out) RP_MUSTCHECK;

#endif
