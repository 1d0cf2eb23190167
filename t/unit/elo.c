/*
 * t/unit/elo.c — golden vectors for the rating rules of SPEC §5
 * (lib/rating/elo.c).
 *
 * Every expected integer below was computed independently of the C code,
 * with awk / `bc -l` straight from the SPEC formulas:
 *
 *   E_a = 1 / (1 + 10^((R_b − R_a)/400)),  K = 40 if games < 30 else 24,
 *   R'_a = round_half_away(R_a + K·(S_a − E_a)), S ∈ {1, ½, 0}.
 *
 * The arithmetic is shown next to each case; the scripts used (including
 * the replay of the 3-player series) are in the comment block at the end.
 */
#include <math.h>
#include <stdio.h>

#include "rating/elo.h"
#include "tap.h"

/* A record with the given rating and games played; the other counters are
 * set so that rating_compute cannot depend on them. */
static struct rating_record rec(int elo, int games)
{
	struct rating_record r = { elo, elo, elo, games, 0, 0, 0, 0, 0 };

	return r;
}

/* One match: a (rating ra, ga games) against b (rb, gb) with a's outcome;
 * checks both new ratings, deltas and the K each side used. 6 tests. */
static void match(int ra, int ga, int rb, int gb, enum rating_outcome oa,
		  int want_a, int want_b, const char *name)
{
	struct rating_record a = rec(ra, ga), b = rec(rb, gb);
	struct rating_change ca, cb;
	char buf[256];

	rating_compute(&a, &b, oa, &ca, &cb);
	snprintf(buf, sizeof buf, "%s: a after", name);
	is_int(ca.after, want_a, buf);
	snprintf(buf, sizeof buf, "%s: b after", name);
	is_int(cb.after, want_b, buf);
	snprintf(buf, sizeof buf, "%s: a before/delta", name);
	ok(ca.before == ra && ca.delta == want_a - ra, "%s", buf);
	snprintf(buf, sizeof buf, "%s: b before/delta", name);
	ok(cb.before == rb && cb.delta == want_b - rb, "%s", buf);
	snprintf(buf, sizeof buf, "%s: a K", name);
	is_int(ca.k, ga < 30 ? 40 : 24, buf);
	snprintf(buf, sizeof buf, "%s: b K", name);
	is_int(cb.k, gb < 30 ? 40 : 24, buf);
	/* records themselves are untouched by rating_compute */
	if (a.elo != ra || b.elo != rb)
		diag("%s: rating_compute modified its inputs", name);
}

static void test_k(void)
{
	is_int(rating_k(0), 40, "rating_k(0) == 40");
	is_int(rating_k(29), 40, "rating_k(29) == 40");
	is_int(rating_k(30), 24, "rating_k(30) == 24");
	is_int(rating_k(1000), 24, "rating_k(1000) == 24");
}

static void test_round(void)
{
	is_int(rating_round(2.5), 3, "rating_round(2.5) == 3");
	is_int(rating_round(-2.5), -3, "rating_round(-2.5) == -3");
	is_int(rating_round(0.49999), 0, "rating_round(0.49999) == 0");
	is_int(rating_round(-0.49999), 0, "rating_round(-0.49999) == 0");
	is_int(rating_round(-0.5), -1, "rating_round(-0.5) == -1");
	is_int(rating_round(0.5), 1, "rating_round(0.5) == 1");
	is_int(rating_round(1219.5), 1220, "rating_round(1219.5) == 1220");
	is_int(rating_round(1219.4999), 1219, "rating_round(1219.4999) == 1219");
	is_int(rating_round(0.0), 0, "rating_round(0) == 0");
}

static void test_expected(void)
{
	static const int pairs[][2] = {
		{ 1200, 1200 }, { 1600, 1200 }, { 1200, 1600 }, { 1500, 1350 },
		{ 1959, 1200 }, { 1, 3000 }, { 1234, 1235 }, { 2400, 800 },
	};
	int sym = 1;

	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		double ea = rating_expected(pairs[i][0], pairs[i][1]);
		double eb = rating_expected(pairs[i][1], pairs[i][0]);

		if (fabs(ea + eb - 1.0) > 1e-12 || ea <= 0.0 || ea >= 1.0) {
			diag("E(%d,%d)=%.17g E(%d,%d)=%.17g", pairs[i][0], pairs[i][1], ea,
			     pairs[i][1], pairs[i][0], eb);
			sym = 0;
		}
	}
	ok(sym, "rating_expected: E_a + E_b == 1 within 1e-12 for every pair");
	/* 1/(1+10^0) = 0.5 */
	ok(rating_expected(1200, 1200) == 0.5, "E(1200,1200) == 0.5");
	/* 1/(1+10^(-400/400)) = 1/1.1 = 10/11 = 0.909090.. */
	ok(fabs(rating_expected(1600, 1200) - 10.0 / 11.0) < 1e-12, "E(1600,1200) == 10/11");
	/* 1/(1+10^(400/400)) = 1/11 = 0.090909.. */
	ok(fabs(rating_expected(1200, 1600) - 1.0 / 11.0) < 1e-12, "E(1200,1600) == 1/11");
	/* bc -l: 1/(1+e(l(10)*(-150/400))) = 0.70338500346... */
	ok(fabs(rating_expected(1500, 1350) - 0.7033850035) < 1e-9, "E(1500,1350) ~ 0.7033850035");
}

static void test_opposite(void)
{
	ok(rating_opposite(RATING_WIN) == RATING_LOSS, "opposite(win) == loss");
	ok(rating_opposite(RATING_LOSS) == RATING_WIN, "opposite(loss) == win");
	ok(rating_opposite(RATING_DRAW) == RATING_DRAW, "opposite(draw) == draw");
}

static void test_matches(void)
{
	/* Equal ratings, both new (K 40): E = 1/(1+10^0) = 0.5.
	 * win:  1200+40*(1-0.5)=1220, 1200+40*(0-0.5)=1180 */
	match(1200, 0, 1200, 0, RATING_WIN, 1220, 1180, "1200 v 1200 new, win");
	/* loss mirrors: 1180 / 1220 */
	match(1200, 0, 1200, 0, RATING_LOSS, 1180, 1220, "1200 v 1200 new, loss");
	/* draw: 1200+40*(0.5-0.5)=1200 each */
	match(1200, 0, 1200, 0, RATING_DRAW, 1200, 1200, "1200 v 1200 new, draw");

	/* 400-point gap, both new (K 40): E_fav = 1/(1+10^(-1)) = 0.909090..,
	 * E_dog = 1/(1+10^1) = 0.090909..
	 * favourite wins: 1600+40*(1-0.90909)=1603.636 -> 1604;
	 *                 1200+40*(0-0.09091)=1196.364 -> 1196 */
	match(1600, 0, 1200, 0, RATING_WIN, 1604, 1196, "1600 v 1200 new, favourite wins");
	/* underdog wins: 1600+40*(0-0.90909)=1563.636 -> 1564;
	 *                1200+40*(1-0.09091)=1236.364 -> 1236 */
	match(1600, 0, 1200, 0, RATING_LOSS, 1564, 1236, "1600 v 1200 new, underdog wins");
	/* same, seen from the underdog's side */
	match(1200, 0, 1600, 0, RATING_WIN, 1236, 1564, "1200 v 1600 new, underdog wins (a=underdog)");
	/* draw: 1600+40*(0.5-0.90909)=1583.636 -> 1584;
	 *       1200+40*(0.5-0.09091)=1216.364 -> 1216 */
	match(1600, 0, 1200, 0, RATING_DRAW, 1584, 1216, "1600 v 1200 new, draw");

	/* Draws at unequal ratings. E(1500 v 1350) = 1/(1+10^(-150/400))
	 * = 0.7033850035, E(1350 v 1500) = 0.2966149965.
	 * K 40 both: 1500+40*(0.5-0.703385)=1491.8646 -> 1492;
	 *            1350+40*(0.5-0.296615)=1358.1354 -> 1358 */
	match(1500, 5, 1350, 5, RATING_DRAW, 1492, 1358, "1500 v 1350 new, draw");
	/* K 24 both: 1350+24*(0.5-0.296615)=1354.8812 -> 1355;
	 *            1500+24*(0.5-0.703385)=1495.1188 -> 1495 */
	match(1350, 30, 1500, 30, RATING_DRAW, 1355, 1495, "1350 v 1500 established, draw");

	/* K switches at the 30th game: the same match (1450 beats 1300 new,
	 * E_1450 = 0.7033850035, E_1300 = 0.2966149965) with the winner at 29
	 * and at 30 games played.
	 * 29 games, K 40: 1450+40*(1-0.703385)=1461.8646 -> 1462 (delta +12)
	 * 30 games, K 24: 1450+24*(1-0.703385)=1457.1188 -> 1457 (delta +7)
	 * loser K 40 both times: 1300+40*(0-0.296615)=1288.1354 -> 1288 */
	match(1450, 29, 1300, 0, RATING_WIN, 1462, 1288, "K switch: winner at 29 games (K 40)");
	match(1450, 30, 1300, 0, RATING_WIN, 1457, 1288, "K switch: winner at 30 games (K 24)");
	/* Equal ratings, loser at 29 vs 30 games:
	 * 1200+40*(0-0.5)=1180 vs 1200+24*(0-0.5)=1188 */
	match(1200, 0, 1200, 29, RATING_WIN, 1220, 1180, "K switch: loser at 29 games (K 40)");
	match(1200, 0, 1200, 30, RATING_WIN, 1220, 1188, "K switch: loser at 30 games (K 24)");

	/* Different K in the same match: 1450 established (K 24) v 1300 new (K 40).
	 * established wins: 1450+24*(1-0.703385)=1457.1188 -> 1457;
	 *                   1300+40*(0-0.296615)=1288.1354 -> 1288 */
	match(1450, 100, 1300, 3, RATING_WIN, 1457, 1288, "mixed K: established favourite wins");
	/* new underdog wins: 1450+24*(0-0.703385)=1433.1188 -> 1433;
	 *                    1300+40*(1-0.296615)=1328.1354 -> 1328 */
	match(1300, 3, 1450, 100, RATING_WIN, 1328, 1433, "mixed K: new underdog wins");
	/* draw: 1300+40*(0.5-0.296615)=1308.1354 -> 1308;
	 *       1450+24*(0.5-0.703385)=1445.1188 -> 1445 */
	match(1300, 3, 1450, 100, RATING_DRAW, 1308, 1445, "mixed K: draw");

	/* Unrounded results close to .5 on each side (found by an awk search
	 * over rating gaps d = 0..800, K 40/24; see the end of this file).
	 * Gap 759, K 40: E_fav = 1/(1+10^(-759/400)) = 0.987496387228005 (bc -l),
	 * E_dog = 0.012503612771994.
	 * favourite wins: 1959+40*(1-0.9874963872)=1959.500144510879 -> 1960
	 *                 1200+40*(0-0.0125036128)=1199.499855489120 -> 1199 */
	match(1959, 0, 1200, 0, RATING_WIN, 1960, 1199, "near .5 (gap 759, K 40): favourite wins");
	/* draw: 1959+40*(0.5-0.9874963872)=1939.500144510879 -> 1940
	 *       1200+40*(0.5-0.0125036128)=1219.499855489120 -> 1219 */
	match(1959, 0, 1200, 0, RATING_DRAW, 1940, 1219, "near .5 (gap 759, K 40): draw");
	/* underdog wins: 1959+40*(0-0.9874963872)=1919.500144510879 -> 1920
	 *                1200+40*(1-0.0125036128)=1239.499855489120 -> 1239 */
	match(1959, 0, 1200, 0, RATING_LOSS, 1920, 1239, "near .5 (gap 759, K 40): underdog wins");
	/* Gap 172, K 24: E_dog = 1/(1+10^(172/400)) = 0.2708900371 (bc -l).
	 * underdog wins: 1300+24*(1-0.2708900371)=1317.498639109546 -> 1317
	 * favourite:     1472+24*(0-0.7291099629)=1454.501360890454 -> 1455 */
	match(1300, 50, 1472, 50, RATING_WIN, 1317, 1455, "near .5 (gap 172, K 24): underdog wins");
	/* Gap 669, K 24: E_dog = 1/(1+10^(669/400)) = 0.0208144526 (bc -l).
	 * underdog loses: 1200+24*(0-0.0208144526)=1199.500453136593 -> 1200 (delta 0)
	 * favourite wins: 1869+24*(1-0.9791855474)=1869.499546863407 -> 1869 (delta 0) */
	match(1200, 40, 1869, 40, RATING_LOSS, 1200, 1869, "near .5 (gap 669, K 24): favourite wins, no change");
}

static struct rating_change change_to(int before, int after)
{
	struct rating_change c = { before, after, after - before, 40, 0.5 };

	return c;
}

/* elo/peak/lowest, counters and streaks over a hand-written sequence. */
static void test_apply(void)
{
	struct rating_record r = rec(1200, 0);
	struct rating_change c;

	c = change_to(1200, 1220);
	rating_record_apply(&r, &c, RATING_WIN);
	ok(r.elo == 1220 && r.peak_elo == 1220 && r.lowest_elo == 1200,
	   "apply win 1: elo 1220, peak 1220, lowest 1200");
	is_int(r.current_streak, 1, "apply win 1: streak +1");
	is_int(r.best_win_streak, 1, "apply win 1: best 1");

	c = change_to(1220, 1238);
	rating_record_apply(&r, &c, RATING_WIN);
	ok(r.elo == 1238 && r.peak_elo == 1238 && r.lowest_elo == 1200,
	   "apply win 2: elo 1238, peak 1238, lowest 1200");
	is_int(r.current_streak, 2, "apply win,win: streak +2");
	is_int(r.best_win_streak, 2, "apply win,win: best 2");

	c = change_to(1238, 1215);
	rating_record_apply(&r, &c, RATING_LOSS);
	ok(r.elo == 1215 && r.peak_elo == 1238 && r.lowest_elo == 1200,
	   "apply loss 1: elo 1215, peak stays 1238, lowest 1200");
	is_int(r.current_streak, -1, "apply win,win,loss: streak -1");
	is_int(r.best_win_streak, 2, "apply loss: best stays 2");

	c = change_to(1215, 1190);
	rating_record_apply(&r, &c, RATING_LOSS);
	ok(r.elo == 1190 && r.peak_elo == 1238 && r.lowest_elo == 1190,
	   "apply loss 2: elo 1190, lowest 1190");
	is_int(r.current_streak, -2, "apply loss,loss: streak -2");

	c = change_to(1190, 1195);
	rating_record_apply(&r, &c, RATING_DRAW);
	ok(r.elo == 1195 && r.peak_elo == 1238 && r.lowest_elo == 1190,
	   "apply draw: elo 1195, peak 1238, lowest 1190");
	is_int(r.current_streak, 0, "apply draw: streak 0");
	is_int(r.best_win_streak, 2, "apply draw: best stays 2");

	c = change_to(1195, 1180);
	rating_record_apply(&r, &c, RATING_DRAW);
	ok(r.elo == 1180 && r.lowest_elo == 1180 && r.current_streak == 0,
	   "apply draw after draw: lowest 1180, streak 0");

	c = change_to(1180, 1200);
	rating_record_apply(&r, &c, RATING_WIN);
	is_int(r.current_streak, 1, "apply draw,win: streak +1");
	is_int(r.best_win_streak, 2, "apply draw,win: best stays 2");

	c = change_to(1200, 1180);
	rating_record_apply(&r, &c, RATING_LOSS);
	is_int(r.current_streak, -1, "apply win,loss: streak -1");

	c = change_to(1180, 1200);
	rating_record_apply(&r, &c, RATING_WIN);
	is_int(r.current_streak, 1, "apply loss,win: streak +1");

	is_int(r.games_played, 9, "apply: games 9");
	is_int(r.wins, 4, "apply: wins 4");
	is_int(r.losses, 3, "apply: losses 3");
	is_int(r.draws, 2, "apply: draws 2");
	ok(r.peak_elo == 1238 && r.lowest_elo == 1180, "apply: peak 1238, lowest 1180 at the end");

	/* a longer win run than the previous best raises best_win_streak */
	for (int i = 0; i < 3; i++) {
		c = change_to(r.elo, r.elo + 10);
		rating_record_apply(&r, &c, RATING_WIN);
	}
	is_int(r.current_streak, 4, "apply: 4 wins in a row, streak +4");
	is_int(r.best_win_streak, 4, "apply: best raised to 4");
	is_int(r.peak_elo, 1238, "apply: peak stays 1238 (1230 < 1238)");
}

/* The 3-player series replayed by the awk script at the end of this file. */
struct series_match {
	int a, b;                     /* player indexes */
	enum rating_outcome oa;
	int want_a, want_b;
};

static void test_series(void)
{
	/*                          elo  peak lowest games  W   L  D streak best */
	struct rating_record p[3] = {
		{ 1200, 1200, 1200,  0,  0,  0, 0,  0, 0 },  /* A: new             */
		{ 1350, 1410, 1180, 27, 14, 11, 2, -2, 4 },  /* B: 29 -> 30 games  */
		{ 1500, 1530, 1190, 40, 24, 12, 4,  3, 5 },  /* C: established     */
	};
	enum { A, B, C };
	/* awk output (a after, b after):
	 *  1 A(1200,K40) v B(1350,K40) A loses: A 1188.135400 -> 1188, B 1361.864600 -> 1362
	 *  2 B(1362,K40) v C(1500,K24) draw:    B 1369.550943 -> 1370, C 1495.469434 -> 1495
	 *  3 C(1495,K24) v A(1188,K40) C wins:  C 1498.501279 -> 1499, A 1182.164534 -> 1182
	 *  4 A(1182,K40) v B(1370,K40) B wins:  A 1171.876517 -> 1172, B 1380.123483 -> 1380
	 *  5 B(1380,K24) v C(1499,K24) B wins:  B 1395.956591 -> 1396, C 1483.043409 -> 1483
	 *  6 A(1172,K40) v C(1483,K24) draw:    A 1186.278366 -> 1186, C 1474.432981 -> 1474
	 *  7 A(1186,K40) v B(1396,K24) A wins:  A 1216.803867 -> 1217, B 1377.517680 -> 1378
	 *  8 C(1474,K24) v B(1378,K24) C wins:  C 1482.766160 -> 1483, B 1369.233840 -> 1369
	 *  9 A(1217,K40) v C(1483,K24) A wins:  A 1249.887384 -> 1250, C 1463.267569 -> 1463
	 * 10 B(1369,K24) v A(1250,K40) draw:    B 1365.043409 -> 1365, A 1256.594319 -> 1257 */
	static const struct series_match m[] = {
		{ A, B, RATING_LOSS, 1188, 1362 },
		{ B, C, RATING_DRAW, 1370, 1495 },
		{ C, A, RATING_WIN,  1499, 1182 },
		{ A, B, RATING_LOSS, 1172, 1380 },
		{ B, C, RATING_WIN,  1396, 1483 },
		{ A, C, RATING_DRAW, 1186, 1474 },
		{ A, B, RATING_WIN,  1217, 1378 },
		{ C, B, RATING_WIN,  1483, 1369 },
		{ A, C, RATING_WIN,  1250, 1463 },
		{ B, A, RATING_DRAW, 1365, 1257 },
	};
	static const char *const name = "ABC";

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		struct rating_change ca, cb;

		rating_compute(&p[m[i].a], &p[m[i].b], m[i].oa, &ca, &cb);
		ok(ca.after == m[i].want_a && cb.after == m[i].want_b,
		   "series match %zu: %c %d, %c %d", i + 1, name[m[i].a], m[i].want_a,
		   name[m[i].b], m[i].want_b);
		if (ca.after != m[i].want_a || cb.after != m[i].want_b)
			diag("got %d, %d", ca.after, cb.after);
		rating_record_apply(&p[m[i].a], &ca, m[i].oa);
		rating_record_apply(&p[m[i].b], &cb, rating_opposite(m[i].oa));
	}
	/* awk final state:
	 * A elo=1257 peak=1257 lowest=1172 games=7  W=2  L=3  D=2 streak=0  best=2
	 * B elo=1365 peak=1410 lowest=1180 games=34 W=17 L=13 D=4 streak=0  best=4
	 * C elo=1463 peak=1530 lowest=1190 games=46 W=26 L=14 D=6 streak=-1 best=5 */
	static const struct rating_record want[3] = {
		{ 1257, 1257, 1172,  7,  2,  3, 2,  0, 2 },
		{ 1365, 1410, 1180, 34, 17, 13, 4,  0, 4 },
		{ 1463, 1530, 1190, 46, 26, 14, 6, -1, 5 },
	};
	for (int i = 0; i < 3; i++) {
		const struct rating_record *g = &p[i], *w = &want[i];
		int same = g->elo == w->elo && g->peak_elo == w->peak_elo &&
			   g->lowest_elo == w->lowest_elo && g->games_played == w->games_played &&
			   g->wins == w->wins && g->losses == w->losses && g->draws == w->draws &&
			   g->current_streak == w->current_streak &&
			   g->best_win_streak == w->best_win_streak;

		if (!ok(same, "series final record of %c", name[i]))
			diag("got elo=%d peak=%d lowest=%d games=%d W=%d L=%d D=%d streak=%d best=%d",
			     g->elo, g->peak_elo, g->lowest_elo, g->games_played, g->wins,
			     g->losses, g->draws, g->current_streak, g->best_win_streak);
	}
}

int main(void)
{
	test_k();
	test_round();
	test_expected();
	test_opposite();
	test_matches();
	test_apply();
	test_series();
	return done_testing();
}

/*
 * ---------------------------------------------------------------------------
 * Scripts used to compute the golden values (independent of lib/rating).
 *
 * 1. One match (prints E, the unrounded and the rounded new ratings):
 *
 *    cat > /tmp/elo.awk <<'EOF'
 *    # awk -v ra=1600 -v rb=1200 -v ka=40 -v kb=40 -v sa=1 -f /tmp/elo.awk
 *    function rnd(x) { return x < 0 ? -int(-x + 0.5) : int(x + 0.5) }
 *    BEGIN {
 *      ea = 1 / (1 + 10 ^ ((rb - ra) / 400)); eb = 1 / (1 + 10 ^ ((ra - rb) / 400));
 *      na = ra + ka * (sa - ea); nb = rb + kb * ((1 - sa) - eb);
 *      printf "Ea=%.10f Eb=%.10f A=%.6f->%d B=%.6f->%d\n", ea, eb, na, rnd(na), nb, rnd(nb)
 *    }
 *    EOF
 *
 *    cross-checked with bc, e.g. for the gap-759 case:
 *    echo 'scale=30; ra=1959; rb=1200; e=1/(1+e(l(10)*((rb-ra)/400)));
 *          e; ra+40*(1-e); ra+40*(0.5-e); ra+40*(0-e)' | bc -l
 *
 * 2. Search for deltas whose fractional part is within 1.5e-3 of .5
 *    (the delta depends only on the gap d = R_b - R_a, K and S):
 *
 *    awk 'BEGIN{ for(d=-800;d<=800;d++){ e=1/(1+10^(d/400));
 *      for(ki=0;ki<2;ki++){ k=ki?24:40; for(s=0;s<=1;s+=0.5){ x=k*(s-e);
 *      f=x-int(x); if(f<0)f=-f; dev=f-0.5; ad=dev<0?-dev:dev;
 *      if(ad<1.5e-3 && d>0) printf "d=%d K=%d S=%s delta=%.12f\n",d,k,s,x }}}}'
 *
 * 3. Replay of the 3-player series (awk -f series.awk):
 *
 *    function rnd(x) { return x < 0 ? -int(-x + 0.5) : int(x + 0.5) }
 *    function k(g) { return g < 30 ? 40 : 24 }
 *    function apply(p, after, s) {
 *      elo[p] = after; if (after > peak[p]) peak[p] = after; if (after < low[p]) low[p] = after
 *      games[p]++
 *      if (s == 1) { w[p]++; st[p] = st[p] > 0 ? st[p] + 1 : 1; if (st[p] > best[p]) best[p] = st[p] }
 *      else if (s == 0) { l[p]++; st[p] = st[p] < 0 ? st[p] - 1 : -1 }
 *      else { d[p]++; st[p] = 0 }
 *    }
 *    function init(p, e, pk, lo, g, ww, ll, dd, s, b) {
 *      elo[p] = e; peak[p] = pk; low[p] = lo; games[p] = g; w[p] = ww; l[p] = ll; d[p] = dd; st[p] = s; best[p] = b
 *    }
 *    BEGIN {
 *      init("A", 1200, 1200, 1200,  0,  0,  0, 0,  0, 0)
 *      init("B", 1350, 1410, 1180, 27, 14, 11, 2, -2, 4)
 *      init("C", 1500, 1530, 1190, 40, 24, 12, 4,  3, 5)
 *      n = split("A B 0|B C .5|C A 1|A B 0|B C 1|A C .5|A B 1|C B 1|A C 1|B A .5", m, "|")
 *      for (i = 1; i <= n; i++) {
 *        split(m[i], f, " "); a = f[1]; b = f[2]; sa = f[3] + 0; sb = 1 - sa
 *        ka = k(games[a]); kb = k(games[b])
 *        ea = 1 / (1 + 10 ^ ((elo[b] - elo[a]) / 400)); eb = 1 / (1 + 10 ^ ((elo[a] - elo[b]) / 400))
 *        xa = elo[a] + ka * (sa - ea); xb = elo[b] + kb * (sb - eb)
 *        printf "%2d %s(%d,K%d) vs %s(%d,K%d) Sa=%s: %s %.6f -> %d, %s %.6f -> %d\n",
 *               i, a, elo[a], ka, b, elo[b], kb, sa, a, xa, rnd(xa), b, xb, rnd(xb)
 *        ra = rnd(xa); rb = rnd(xb); apply(a, ra, sa); apply(b, rb, sb)
 *      }
 *      for (p in elo) printf "%s elo=%d peak=%d lowest=%d games=%d W=%d L=%d D=%d streak=%d best=%d\n",
 *                            p, elo[p], peak[p], low[p], games[p], w[p], l[p], d[p], st[p], best[p]
 *    }
 * ---------------------------------------------------------------------------
 */
