/*
 * worker.c — the worker loop.
 *
 * Signal discipline (the reason requests survive SIGTERM and SIGHUP
 * reloads): the stop handler is installed without SA_RESTART, so a
 * SIGTERM that arrives while the worker sits in accept() makes
 * FCGX_Accept_r fail with EINTR (FCGI_FAIL_ACCEPT_ON_INTR) and the loop
 * ends. While a request is being handled the stop signals are blocked, so
 * no I/O inside the handler sees EINTR; the pending signal is delivered
 * when they are unblocked before the next accept, and the flag it sets is
 * checked before accepting again.
 */
#define _POSIX_C_SOURCE 200809L
#include "fcgi/worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "api/app.h"
#include "config/config.h"
#include "core/arena.h"
#include "core/log.h"
#include "fcgi/adaptor.h"
#include "realtime/outbox.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void worker_signals(sigset_t *stopset)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: accept() must return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(stopset);
	sigaddset(stopset, SIGTERM);
	sigaddset(stopset, SIGINT);
	sigaddset(stopset, SIGQUIT);
	/* The master forks us with everything blocked; open up. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
}

int publisher_main(const struct rp_config *cfg, struct metrics *m, int partition)
{
	sigset_t stopset;
	log_reset_pid();
	prctl(PR_SET_NAME, "rankpulse-pub", 0, 0, 0); /* tell publishers from workers in ps */
	worker_signals(&stopset);
	int rc = outbox_publisher_run(cfg, m, partition, &stop_requested);
	log_debug("publisher exiting");
	return rc;
}

int worker_run(int listen_fd, const struct rp_config *cfg, struct metrics *m)
{
	sigset_t stopset;
	log_reset_pid();
	worker_signals(&stopset);
	if (sodium_init() < 0) {
		log_error("worker: libsodium init failed");
		return 1;
	}
	struct app app;
	if (app_init(&app, cfg, m) != RP_OK) {
		log_error("worker: cannot initialise (bad NCHAN_PUBLISH_URL or out of memory)");
		return 1;
	}
	struct arena *arena = arena_new(64 * 1024);
	FCGX_Request fr;
	if (arena == NULL || FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("worker: cannot allocate request state");
		return 1;
	}
	/* Connect eagerly so the first request does not pay for it; failure is fine. */
	app_warm(&app);
	log_debug("worker ready");

	while (!stop_requested) {
		if (FCGX_Accept_r(&fr) < 0) {
			if (stop_requested)
				break;
			if (errno == EINTR)
				continue;
			log_error("worker: accept failed: %s", strerror(errno));
			break;
		}
		sigprocmask(SIG_BLOCK, &stopset, NULL);
		struct request req;
		struct response res;
		arena_reset(arena);
		request_init(&req, arena);
		req.started_us = clock_us();
		response_init(&res, arena);
		adaptor_read(&fr, &req);
		app_handle(&app, &req, &res);
		adaptor_write(&fr, &req, &res);
		FCGX_Finish_r(&fr);
		app_after_response(&app);
		sigprocmask(SIG_UNBLOCK, &stopset, NULL);
	}
	FCGX_Free(&fr, 0);
	arena_free(arena);
	app_free(&app);
	log_debug("worker exiting");
	return 0;
}
