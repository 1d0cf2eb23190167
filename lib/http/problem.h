/*
 * problem.h — enum rp_err → HTTP status + RFC 9457 problem document.
 * The one place where error codes become statuses.
 */
#ifndef RP_HTTP_PROBLEM_H
#define RP_HTTP_PROBLEM_H

#include "core/err.h"
#include "http/http.h"

#define PROBLEM_TYPE_BASE "https://rankpulse.dev/problems/"

struct problem_kind {
	int status;
	const char *slug;  /* appended to PROBLEM_TYPE_BASE */
	const char *title;
};

/* Never NULL: out-of-range codes map to the RP_EINTERNAL entry. */
const struct problem_kind *problem_kind_of(enum rp_err e);
int problem_status(enum rp_err e);
/*
 * Render req->problem for error e into res as application/problem+json,
 * adding Allow / Retry-After headers where the problem carries them.
 * Internal errors never expose req->problem.detail (it may hold internals).
 */
void problem_render(const struct request *req, struct response *res, enum rp_err e);

#endif
