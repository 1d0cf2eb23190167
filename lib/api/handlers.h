/*
 * handlers.h — every route handler, grouped by resource.
 * Contract: return RP_OK with res filled, or an rp_err with req->problem
 * describing it; never write a status for an error by hand.
 */
#ifndef RP_API_HANDLERS_H
#define RP_API_HANDLERS_H

#include <stdbool.h>

#include "core/err.h"
#include "http/http.h"

/* health.c */
enum rp_err handle_health(struct request *req, struct response *res);
enum rp_err handle_health_live(struct request *req, struct response *res);
enum rp_err handle_health_ready(struct request *req, struct response *res);
enum rp_err handle_metrics(struct request *req, struct response *res);

/* auth.c */
enum rp_err handle_register(struct request *req, struct response *res);
enum rp_err handle_login(struct request *req, struct response *res);
enum rp_err handle_refresh(struct request *req, struct response *res);
enum rp_err handle_logout(struct request *req, struct response *res);
enum rp_err handle_me(struct request *req, struct response *res);
/* field validator shared by auth.c and players.c */
bool check_country(const char *s, const char **why);

/* players.c */
enum rp_err handle_player_list(struct request *req, struct response *res);
enum rp_err handle_player_get(struct request *req, struct response *res);
enum rp_err handle_player_patch(struct request *req, struct response *res);
enum rp_err handle_player_delete(struct request *req, struct response *res);
enum rp_err handle_player_stats(struct request *req, struct response *res);

#endif
