/*
 * publish.h — realtime events for nchan (SPEC §7).
 *
 * Every message is {"type","channel","seq","ts","data"}; seq is per channel
 * (Redis INCR on seq:<channel>, shared with the HTTP snapshots of boards),
 * so a subscriber that sees a gap knows to refetch. Publishing happens after
 * the commit; a failure is logged and counted
 * (rankpulse_realtime_publish_failures_total) and never fails the request.
 *
 * Channels: leaderboard, leaderboard/<CC>, leaderboard/season/<id>,
 * matches/<id>, players/<id>, me/<id> (private, authorised by the app).
 */
#ifndef RP_REALTIME_PUBLISH_H
#define RP_REALTIME_PUBLISH_H

#include "http/http.h"

struct match;
struct applied_ratings;
struct rank_seqs;

/* A rated result was committed: match_completed, rating_changed, leaderboard_update. */
void publish_result(struct request *req, const struct match *m, int s1, int s2,
		    const struct applied_ratings *ar, const struct rank_seqs *seqs);

#endif
