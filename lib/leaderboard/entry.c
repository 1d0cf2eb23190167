/*
 * entry.c — packing board entries for Redis (see entry.h).
 */
#include "leaderboard/entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

enum { F_COUNTRY, F_ELO, F_GAMES, F_WINS, F_LOSSES, F_DRAWS, F_CHANGE, F_REACHED, F_VERSION,
       F_PEAK, F_LOWEST, F_STREAK, F_BEST, F_USERNAME, F_DISPLAY, F_COUNT };

static bool has_sep(const char *s)
{
	return s != NULL && strchr(s, ENTRY_SEP) != NULL;
}

bool entry_pack(char *buf, size_t cap, const struct board_entry *e)
{
	if (e->username == NULL || has_sep(e->username) || has_sep(e->display_name) ||
	    has_sep(e->country_code))
		return false;
	int n = snprintf(buf, cap, "%s\x1f%d\x1f%d\x1f%d\x1f%d\x1f%d\x1f%d\x1f%lld\x1f%lld\x1f%d\x1f%d\x1f%d\x1f%d\x1f%s\x1f%s",
			 e->country_code ? e->country_code : "", e->elo, e->games, e->wins, e->losses,
			 e->draws, e->change, e->reached_ms, e->version, e->peak_elo, e->lowest_elo,
			 e->current_streak, e->best_win_streak, e->username,
			 e->display_name ? e->display_name : "");
	return n > 0 && (size_t)n < cap;
}

/* A decimal integer (optional '-') of exactly n bytes within [lo, hi]. Hand-rolled:
 * a page unpacks ~130 of them, and strtoll wants a NUL-terminated copy. */
static bool to_ll(const char *s, size_t n, long long lo, long long hi, long long *out)
{
	bool neg = n > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	if (n == i || n - i > 18) /* 18 digits cannot overflow */
		return false;
	long long v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

bool entry_unpack(struct arena *a, const char *text, size_t len, struct board_entry *e)
{
	const char *f[F_COUNT];
	size_t flen[F_COUNT];
	const char *p = text, *end = text + len;
	for (int i = 0; i < F_COUNT; i++) {
		const char *sep = i + 1 < F_COUNT ? memchr(p, ENTRY_SEP, (size_t)(end - p)) : NULL;
		if (i + 1 < F_COUNT && sep == NULL)
			return false;
		f[i] = p;
		flen[i] = (size_t)((sep ? sep : end) - p);
		p = sep ? sep + 1 : end;
	}
	if (memchr(f[F_DISPLAY], ENTRY_SEP, flen[F_DISPLAY]) != NULL || flen[F_USERNAME] == 0 ||
	    (flen[F_COUNTRY] != 0 && flen[F_COUNTRY] != 2))
		return false;
	long long v[F_COUNT];
	static const long long lim = 1000000000LL;
	for (int i = F_ELO; i <= F_BEST; i++) {
		bool wide = i == F_REACHED || i == F_VERSION;
		if (!to_ll(f[i], flen[i], wide ? 0 : -lim, wide ? (1LL << 53) : lim, &v[i]))
			return false;
	}
	const char *id = e->player_id;
	long rank = e->rank;
	memset(e, 0, sizeof(*e));
	e->player_id = id;
	e->rank = rank;
	e->country_code = flen[F_COUNTRY] ? arena_strndup(a, f[F_COUNTRY], flen[F_COUNTRY]) : NULL;
	e->username = arena_strndup(a, f[F_USERNAME], flen[F_USERNAME]);
	e->display_name = flen[F_DISPLAY] ? arena_strndup(a, f[F_DISPLAY], flen[F_DISPLAY]) : NULL;
	if (e->username == NULL || (flen[F_COUNTRY] && e->country_code == NULL) ||
	    (flen[F_DISPLAY] && e->display_name == NULL))
		return false;
	e->elo = (int)v[F_ELO];
	e->games = (int)v[F_GAMES];
	e->wins = (int)v[F_WINS];
	e->losses = (int)v[F_LOSSES];
	e->draws = (int)v[F_DRAWS];
	e->change = (int)v[F_CHANGE];
	e->reached_ms = v[F_REACHED];
	e->version = v[F_VERSION];
	e->peak_elo = (int)v[F_PEAK];
	e->lowest_elo = (int)v[F_LOWEST];
	e->current_streak = (int)v[F_STREAK];
	e->best_win_streak = (int)v[F_BEST];
	return true;
}
