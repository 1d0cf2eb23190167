/*
 * worker.h — one prefork worker: accept, adapt, handle, write, repeat.
 */
#ifndef RP_FCGI_WORKER_H
#define RP_FCGI_WORKER_H

struct rp_config;
struct metrics;

/*
 * Serve requests on listen_fd until SIGTERM/SIGINT. A signal never
 * interrupts a request: it is blocked while one is being handled and the
 * worker exits after finishing it. Returns the process exit status.
 */
int worker_run(int listen_fd, const struct rp_config *cfg, struct metrics *m);

/* A realtime publisher process draining one outbox partition until SIGTERM. */
int publisher_main(const struct rp_config *cfg, struct metrics *m, int partition);

#endif
