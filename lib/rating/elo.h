/*
 * elo.h — the rating rules of SPEC §5, as pure functions.
 *
 *   start 1200; E_a = 1 / (1 + 10^((R_b − R_a) / 400));
 *   K = 40 while the player has fewer than 30 rated games, else 24 (each
 *   player uses their own K); R'_a = R_a + K·(S_a − E_a), S ∈ {1, ½, 0},
 *   rounded half away from zero, per player.
 *
 * Streaks: current_streak counts consecutive wins (+) or losses (−); a
 * draw resets it to 0. best_win_streak is the longest run of wins.
 */
#ifndef RP_RATING_ELO_H
#define RP_RATING_ELO_H

#define RATING_START 1200
#define RATING_K_NEW 40
#define RATING_K_ESTABLISHED 24
#define RATING_ESTABLISHED_GAMES 30

/* Score of a player: a win, a draw or a loss. */
enum rating_outcome { RATING_LOSS = 0, RATING_DRAW = 1, RATING_WIN = 2 };

struct rating_record {
	int elo, peak_elo, lowest_elo;
	int games_played, wins, losses, draws;
	int current_streak, best_win_streak;
};

struct rating_change {
	int before, after, delta;
	int k;
	double expected;
};

int rating_k(int games_played);
double rating_expected(int r_self, int r_other);
/* Round half away from zero (2.5 → 3, −2.5 → −3). */
long rating_round(double x);
/* The new ratings of a and b for a's outcome (b gets the opposite). */
void rating_compute(const struct rating_record *a, const struct rating_record *b,
		    enum rating_outcome outcome_a, struct rating_change *ca, struct rating_change *cb);
/* Apply a rated result to a record: elo, peak/lowest, games, W/L/D, streaks. */
void rating_record_apply(struct rating_record *r, const struct rating_change *c,
			 enum rating_outcome outcome);
enum rating_outcome rating_opposite(enum rating_outcome o);

#endif
