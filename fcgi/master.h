/*
 * master.h — the prefork master behind `rankpulse serve`.
 */
#ifndef RP_FCGI_MASTER_H
#define RP_FCGI_MASTER_H

struct rp_config;

/*
 * Open (or inherit via LISTEN_FDS) the FastCGI socket, fork cfg->workers
 * workers and supervise them until SIGTERM/SIGINT. env_file (may be NULL)
 * is re-read on SIGHUP. Returns the process exit status.
 */
int master_run(struct rp_config *cfg, const char *env_file);

#endif
