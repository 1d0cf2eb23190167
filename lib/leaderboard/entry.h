/*
 * entry.h — a board entry as one Redis hash value.
 *
 * Each board group keeps its entries in a hash (player id → packed entry)
 * next to its sorted sets, so a page, an around-me window or a player's
 * stats are answered by Redis alone. The text is the fields in a fixed
 * order separated by 0x1f (unit separator), which no stored field can
 * contain (usernames are [A-Za-z0-9_-], display names reject control
 * characters, the rest are numbers and country codes):
 *
 *   country, elo, games, wins, losses, draws, change, reached_ms, version,
 *   peak, lowest, streak, best, username, display
 *
 * The country comes first so Lua can read it with one pattern; an empty
 * country or display name means NULL.
 */
#ifndef RP_LEADERBOARD_ENTRY_H
#define RP_LEADERBOARD_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "leaderboard/board.h"

struct arena;

#define ENTRY_SEP '\x1f'
#define ENTRY_TEXT_MAX 512 /* usernames ≤ 32 bytes, display names ≤ 64 chars (≤ 256 bytes) */

/* Pack e into buf (cap ENTRY_TEXT_MAX); player_id and rank are not part of it. False on overflow. */
bool entry_pack(char *buf, size_t cap, const struct board_entry *e);
/* Unpack text (len bytes) into e with strings in the arena. False when malformed. */
bool entry_unpack(struct arena *a, const char *text, size_t len, struct board_entry *e);

#endif
