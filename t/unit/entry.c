/*
 * t/unit/entry.c — packing board entries for Redis (lib/leaderboard/entry.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "leaderboard/entry.h"
#include "tap.h"

static struct board_entry sample(void)
{
	struct board_entry e = {
		.player_id = "0b1e8f8e-2a4c-4d53-9a55-6c1f2d3e4f50", .rank = 7,
		.username = "ann_42", .display_name = "Ann \"the\" Löwe; DROP TABLE x;--|",
		.country_code = "DE", .elo = 1734, .games = 31, .wins = 20, .losses = 9, .draws = 2,
		.change = -17, .reached_ms = 1767225600123LL, .version = 1234567890123LL,
		.peak_elo = 1801, .lowest_elo = 1160, .current_streak = -3, .best_win_streak = 9,
	};
	return e;
}

static int same(const struct board_entry *a, const struct board_entry *b)
{
	return a->elo == b->elo && a->games == b->games && a->wins == b->wins &&
	       a->losses == b->losses && a->draws == b->draws && a->change == b->change &&
	       a->reached_ms == b->reached_ms && a->version == b->version &&
	       a->peak_elo == b->peak_elo && a->lowest_elo == b->lowest_elo &&
	       a->current_streak == b->current_streak && a->best_win_streak == b->best_win_streak;
}

static int unpack_str(struct arena *a, const char *text, struct board_entry *out)
{
	memset(out, 0, sizeof(*out));
	return entry_unpack(a, text, strlen(text), out);
}

int main(void)
{
	struct arena *a = arena_new(4096);
	char buf[ENTRY_TEXT_MAX];
	struct board_entry in = sample(), out;

	ok(entry_pack(buf, sizeof(buf), &in), "pack a full entry");
	ok(strncmp(buf, "DE\x1f", 3) == 0, "the country comes first (read by Lua)");
	out.player_id = in.player_id;
	out.rank = in.rank;
	ok(entry_unpack(a, buf, strlen(buf), &out), "unpack it");
	ok(same(&in, &out), "every number survives the round trip");
	is_str(out.username, in.username, "username");
	is_str(out.display_name, in.display_name, "display name with quotes, UTF-8, SQL and |");
	is_str(out.country_code, "DE", "country");
	is_str(out.player_id, in.player_id, "player id and rank are kept, not packed");
	is_int(out.rank, 7, "rank kept");

	in.display_name = NULL;
	in.country_code = NULL;
	ok(entry_pack(buf, sizeof(buf), &in), "pack without display name and country");
	ok(unpack_str(a, buf, &out), "unpack it");
	ok(out.display_name == NULL && out.country_code == NULL, "both come back NULL");

	in = sample();
	in.display_name = "bad\x1fname";
	ok(!entry_pack(buf, sizeof(buf), &in), "a separator inside a field is refused");
	in = sample();
	in.username = NULL;
	ok(!entry_pack(buf, sizeof(buf), &in), "an entry without a username is refused");
	in = sample();
	ok(!entry_pack(buf, 20, &in), "a buffer too small is refused");

	ok(!unpack_str(a, "", &out), "empty text: malformed");
	ok(!unpack_str(a, "DE\x1f" "1200", &out), "too few fields: malformed");
	ok(!unpack_str(a, "DE\x1fx\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f", &out),
	   "a non-number elo: malformed");
	ok(!unpack_str(a, "DEU\x1f" "1200\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f", &out),
	   "a 3-letter country: malformed");
	ok(!unpack_str(a, "DE\x1f" "1200\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "\x1f", &out),
	   "an empty username: malformed");
	ok(!unpack_str(a, "DE\x1f" "1200\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f" "d\x1f" "extra", &out),
	   "an extra field: malformed");
	ok(!unpack_str(a, "DE\x1f" "99999999999999\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f", &out),
	   "an elo out of range: malformed");
	/* numbers: what snprintf("%d") wrote, nothing else (no sign but '-', no spaces) */
	ok(unpack_str(a, "\x1f" "-1200\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "-2147\x1f" "9007199254740992\x1f" "1\x1f" "0\x1f" "0\x1f" "-3\x1f" "0\x1f" "u\x1f", &out) &&
		   out.elo == -1200 && out.change == -2147 && out.reached_ms == 9007199254740992LL &&
		   out.current_streak == -3,
	   "negative numbers and a reached_ms of 2^53");
	ok(!unpack_str(a, "\x1f" "1200\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "9007199254740993\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f", &out),
	   "a reached_ms above 2^53: malformed");
	ok(!unpack_str(a, "\x1f" "1200\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "-1\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f", &out),
	   "a negative reached_ms: malformed");
	static const char *const bad_elo[] = {"-", "+5", " 5", "5 ", "1e3", "0x10", "12345678901234567890"};
	int accepted = 0;
	for (size_t i = 0; i < sizeof(bad_elo) / sizeof(bad_elo[0]); i++) {
		char text[160];
		snprintf(text, sizeof(text), "\x1f%s\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f", bad_elo[i]);
		if (unpack_str(a, text, &out)) {
			accepted++;
			diag("elo '%s' accepted", bad_elo[i]);
		}
	}
	is_int(accepted, 0, "signs, spaces, exponents, hex and overlong numbers: malformed");
	ok(unpack_str(a, "\x1f" "1200\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "1\x1f" "0\x1f" "0\x1f" "0\x1f" "0\x1f" "u\x1f", &out) &&
		   out.elo == 1200 && strcmp(out.username, "u") == 0,
	   "the smallest valid entry");

	/* winRate text: what "%.4g" printed for the rounded fraction before */
	int mismatches = 0;
	char want[16], got[16];
	for (int games = 0; games <= 600; games++)
		for (int wins = 0; wins <= games; wins++) {
			double rate = games > 0 ? round((double)wins / games * 10000.0) / 10000.0 : 0.0;
			snprintf(want, sizeof(want), "%.4g", rate);
			board_win_rate(got, sizeof(got), wins, games);
			if (strcmp(want, got) != 0 && mismatches++ < 3)
				diag("%d/%d: want %s, got %s", wins, games, want, got);
		}
	is_int(mismatches, 0, "winRate text equals printf %.4g of the rounded fraction (every W/G up to 600 games)");
	board_win_rate(got, sizeof(got), 1, 3);
	is_str(got, "0.3333", "1 of 3");
	board_win_rate(got, sizeof(got), 1, 2);
	is_str(got, "0.5", "1 of 2: trailing zeros dropped");
	board_win_rate(got, sizeof(got), 0, 0);
	is_str(got, "0", "no games: 0");
	board_win_rate(got, sizeof(got), 7, 7);
	is_str(got, "1", "all won: 1");
	board_win_rate(got, sizeof(got), 1, 20001);
	is_str(got, "0", "rounds to 0");
	arena_free(a);
	return done_testing();
}
