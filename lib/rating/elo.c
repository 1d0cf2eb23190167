/*
 * elo.c — rating arithmetic (see elo.h).
 *
 * Computed in double: the inputs are small integers, so the only inexact
 * step is 10^x, and the result is rounded to an integer at once. Exact .5
 * ties can only arise when K·(S−E) is representable, and then rating_round
 * rounds them away from zero as the rules require.
 */
#include "rating/elo.h"

#include <math.h>

int rating_k(int games_played)
{
	return games_played < RATING_ESTABLISHED_GAMES ? RATING_K_NEW : RATING_K_ESTABLISHED;
}

double rating_expected(int r_self, int r_other)
{
	return 1.0 / (1.0 + pow(10.0, (double)(r_other - r_self) / 400.0));
}

long rating_round(double x)
{
	return lround(x); /* C: halfway cases away from zero */
}

static double score_of(enum rating_outcome o)
{
	return o == RATING_WIN ? 1.0 : o == RATING_DRAW ? 0.5 : 0.0;
}

enum rating_outcome rating_opposite(enum rating_outcome o)
{
	return o == RATING_WIN ? RATING_LOSS : o == RATING_LOSS ? RATING_WIN : RATING_DRAW;
}

static void one(const struct rating_record *self, const struct rating_record *other,
		enum rating_outcome o, struct rating_change *c)
{
	c->before = self->elo;
	c->k = rating_k(self->games_played);
	c->expected = rating_expected(self->elo, other->elo);
	c->after = (int)rating_round((double)self->elo + c->k * (score_of(o) - c->expected));
	c->delta = c->after - c->before;
}

void rating_compute(const struct rating_record *a, const struct rating_record *b,
		    enum rating_outcome outcome_a, struct rating_change *ca, struct rating_change *cb)
{
	one(a, b, outcome_a, ca);
	one(b, a, rating_opposite(outcome_a), cb);
}

void rating_record_apply(struct rating_record *r, const struct rating_change *c,
			 enum rating_outcome outcome)
{
	r->elo = c->after;
	if (r->elo > r->peak_elo)
		r->peak_elo = r->elo;
	if (r->elo < r->lowest_elo)
		r->lowest_elo = r->elo;
	r->games_played++;
	switch (outcome) {
	case RATING_WIN:
		r->wins++;
		r->current_streak = r->current_streak > 0 ? r->current_streak + 1 : 1;
		if (r->current_streak > r->best_win_streak)
			r->best_win_streak = r->current_streak;
		break;
	case RATING_LOSS:
		r->losses++;
		r->current_streak = r->current_streak < 0 ? r->current_streak - 1 : -1;
		break;
	case RATING_DRAW:
		r->draws++;
		r->current_streak = 0;
		break;
	}
}
