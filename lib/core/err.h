/*
 * err.h — the one error vocabulary of Love Rank Pulse.
 *
 * Every fallible function in lib/ returns an enum rp_err. Handlers return
 * it too; lib/http/problem.c maps it, once, to an HTTP status and an RFC 9457
 * problem type. Nobody writes a status code by hand.
 */
#ifndef RP_CORE_ERR_H
#define RP_CORE_ERR_H

#define RP_MUSTCHECK __attribute__((warn_unused_result))

enum rp_err {
	RP_OK = 0,
	RP_EBADJSON,     /* 400 malformed body: syntax, trailing garbage, dup keys, depth */
	RP_EBADREQ,      /* 400 malformed request (query string, headers) */
	RP_EUNAUTH,      /* 401 missing or invalid credentials */
	RP_EFORBIDDEN,   /* 403 authenticated but not allowed */
	RP_ENOTFOUND,    /* 404 no such resource or route */
	RP_EMETHOD,      /* 405 route exists, method does not (+Allow) */
	RP_ECONFLICT,    /* 409 state conflict, duplicate */
	RP_ETOOLARGE,    /* 413 body over the limit */
	RP_EMEDIATYPE,   /* 415 wrong Content-Type */
	RP_EINVAL,       /* 422 field validation errors */
	RP_ERATELIMIT,   /* 429 too many requests (+Retry-After) */
	RP_EINTERNAL,    /* 500 bug or unexpected state; details only in the log */
	RP_EUNAVAIL,     /* 503 a dependency (database, redis) is down */
	RP_ENOMEM,       /* 500 allocation failure / arena exhausted */
	RP_ERR_MAX
};

#endif
