/*
 * worker.c — the worker loop.
 *
 * Signal discipline (why requests survive SIGTERM and SIGHUP reloads): the
 * stop signals are blocked all the time except while the worker waits in
 * ppoll() for the listening socket to become readable. A SIGTERM therefore
 * only ever interrupts that wait — never the accept, never the reading of
 * a request's params (libfcgi drops the connection on EINTR there, which
 * nginx reports as 502), never a handler's database I/O. The listening
 * socket is non-blocking, so a worker that loses the race for a connection
 * gets EAGAIN and goes back to waiting instead of sleeping in accept()
 * with its signals blocked.
 *
 * The wait is epoll_pwait() on the listening socket registered with
 * EPOLLEXCLUSIVE, so a new connection wakes one idle worker instead of all
 * of them (ppoll woke every idle worker; all but one then failed accept()).
 * It falls back to ppoll() where epoll is unavailable.
 */
#define _GNU_SOURCE /* ppoll, EPOLLEXCLUSIVE */
#include "fcgi/worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
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
	sa.sa_handler = on_stop; /* delivered only inside ppoll() (see above) */
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
	/* The master forks us with everything blocked; open up all but the stop
	 * signals, which stay blocked outside the wait for a connection. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	sigprocmask(SIG_BLOCK, stopset, NULL);
}

int publisher_main(const struct rp_config *cfg, struct metrics *m, int partition)
{
	sigset_t stopset;
	log_reset_pid();
	prctl(PR_SET_NAME, "rankpulse-pub", 0, 0, 0); /* tell publishers from workers in ps */
	worker_signals(&stopset);
	/* a publisher checks the stop flag every BLPOP round (≤ 0.5 s): let the
	 * signal in at any time */
	sigprocmask(SIG_UNBLOCK, &stopset, NULL);
	int rc = outbox_publisher_run(cfg, m, partition, &stop_requested);
	log_debug("publisher exiting");
	return rc;
}

/* An epoll instance waking this worker alone for a new connection; -1: use ppoll. */
static int listen_wait_init(int listen_fd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listen_fd};
	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		log_warn("worker: epoll unavailable (%s), waiting with ppoll", strerror(errno));
		close(ep);
		ep = -1;
	}
	return ep;
}

/* Batched request log lines wait at most this long while the worker is idle. */
#define LOG_FLUSH_MS 20

/*
 * Wait until the listening socket is readable (> 0); stop signals are
 * deliverable only here. With request log lines pending the wait is short
 * and they are written out when it times out (0).
 */
static int listen_wait(int ep, int listen_fd, const sigset_t *waitmask)
{
	int timeout_ms = log_pending() ? LOG_FLUSH_MS : -1;
	int n;
	if (ep >= 0) {
		struct epoll_event ev;
		n = epoll_pwait(ep, &ev, 1, timeout_ms, waitmask);
	} else {
		struct pollfd p = {.fd = listen_fd, .events = POLLIN};
		struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
		n = ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, waitmask);
	}
	if (n == 0)
		log_flush();
	return n;
}

/*
 * End the request. libfcgi closes a connection with a lingering close:
 * shutdown(SHUT_WR), then it sleeps until nginx closes its end (up to 2 s),
 * reading whatever nginx still sends, so that a peer still writing a body
 * the handler did not read is drained instead of reset (our 413s). A
 * request without a body whose bytes have all been read has nothing left to
 * drain: FCGX_Detach makes libfcgi close at once, which saves the worker
 * three system calls and a sleep and wake-up per request (a GET is most of
 * the traffic). The answer is complete either way: nginx reads it before
 * it sees the end of the stream.
 */
static void request_finish(FCGX_Request *fr, const struct request *req)
{
	int unread = -1;
	if (req->content_length <= 0 && !req->body_too_large &&
	    ioctl(fr->ipcFd, FIONREAD, &unread) == 0 && unread == 0)
		FCGX_Detach(fr);
	FCGX_Finish_r(fr);
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

	sigset_t waitmask; /* the mask while waiting: stop signals deliverable */
	sigprocmask(SIG_BLOCK, NULL, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGQUIT);
	int failures = 0;
	int ep = listen_wait_init(listen_fd);
	log_batch_requests(1);
	while (!stop_requested) {
		int ready = listen_wait(ep, listen_fd, &waitmask);
		if (ready == 0)
			continue;
		if (ready < 0) {
			if (errno != EINTR) {
				log_error("worker: poll failed: %s", strerror(errno));
				break;
			}
			continue;
		}
		if (stop_requested)
			break;
		int rc = FCGX_Accept_r(&fr);
		if (rc < 0) {
			/* another worker took the connection, or it went away */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED)
				continue;
			log_error("worker: accept failed: %s", strerror(-rc));
			if (++failures > 100)
				break;
			continue;
		}
		failures = 0;
		struct request req;
		struct response res;
		arena_reset(arena);
		request_init(&req, arena);
		req.started_us = clock_us();
		response_init(&res, arena);
		adaptor_read(&fr, &req);
		app_handle(&app, &req, &res);
		adaptor_write(&fr, &req, &res);
		request_finish(&fr, &req);
		app_after_response(&app);
	}
	FCGX_Free(&fr, 0);
	log_batch_requests(0); /* writes what is pending */
	if (ep >= 0)
		close(ep);
	arena_free(arena);
	app_free(&app);
	log_debug("worker exiting");
	return 0;
}
