/*
 * tap.h — a tiny Test Anything Protocol emitter for the C unit tests.
 *
 * One test program per library module, run by `prove`. Usage:
 *
 *	plan(3);                 // or no plan: done_testing() prints it
 *	ok(x == 1, "x is %d", 1);
 *	is_int(got, 42, "answer");
 *	is_str(s, "hi", "greeting");
 *	return done_testing();   // 0 if every test passed and the plan held
 *
 * Results go to stdout, diagnostics ("# ...") to stderr. Header-only: the
 * state is static, so include it from exactly one file per test program.
 */
#ifndef RP_TAP_H
#define RP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_planned = -1;
static int tap_run;
static int tap_failed;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline void diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("# ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static inline void tap_vresult(int pass, const char *fmt, va_list ap)
{
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

/* Record one test; returns cond so callers can add diagnostics. */
static inline int ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(cond != 0, fmt, ap);
	va_end(ap);
	return cond != 0;
}

static inline int is_int(long long got, long long want, const char *name)
{
	int pass = ok(got == want, "%s", name);

	if (!pass)
		diag("     got: %lld\n#   expected: %lld", got, want);
	return pass;
}

/* NULL equals only NULL. */
static inline int is_str(const char *got, const char *want, const char *name)
{
	int same = (got == NULL || want == NULL) ? got == want
	                                         : strcmp(got, want) == 0;
	int pass = ok(same, "%s", name);

	if (!pass)
		diag("     got: %s%s%s\n#   expected: %s%s%s",
		     got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
		     want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
	return pass;
}

/* Print the plan if none was given; return the process exit code. */
static inline int done_testing(void)
{
	if (tap_planned < 0) {
		printf("1..%d\n", tap_run);
		tap_planned = tap_run;
	}
	fflush(stdout);
	if (tap_run != tap_planned) {
		diag("planned %d tests but ran %d", tap_planned, tap_run);
		return 1;
	}
	if (tap_failed) {
		diag("failed %d of %d tests", tap_failed, tap_run);
		return 1;
	}
	return 0;
}

#endif
