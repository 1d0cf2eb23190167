/*
 * handlers.h — every route handler, grouped by resource.
 * Contract: return RP_OK with res filled, or an rp_err with req->problem
 * describing it; never write a status for an error by hand.
 */
#ifndef RP_API_HANDLERS_H
#define RP_API_HANDLERS_H

#include "core/err.h"
#include "http/http.h"

/* health.c */
enum rp_err handle_health(struct request *req, struct response *res);
enum rp_err handle_health_live(struct request *req, struct response *res);
enum rp_err handle_health_ready(struct request *req, struct response *res);
enum rp_err handle_metrics(struct request *req, struct response *res);

#endif
