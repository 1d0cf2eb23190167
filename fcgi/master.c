/*
 * master.c — prefork supervision.
 *
 * Shape (as in nginx and PgBouncer-era servers): the master opens the
 * listening socket once, maps the shared metrics segment, then forks N
 * workers that all accept on the same socket. The master never handles a
 * request; it sleeps in sigtimedwait() and reacts to:
 *
 *   SIGCHLD  reap; an unexpected death is counted and the slot respawned
 *            after a back-off that grows while workers die young
 *            (100 ms doubling to 10 s) and resets once one lives 10 s.
 *   SIGHUP   re-read config (environment + --env-file) and, if valid,
 *            replace workers one at a time: start the new one, then ask the
 *            old one to finish its request and leave. The socket never
 *            closes, so no request is refused during a reload.
 *   SIGTERM  / SIGINT: ask every worker to stop, wait up to
 *            SHUTDOWN_GRACE_MS for in-flight requests, SIGKILL stragglers.
 *
 * Socket: a systemd-passed socket (LISTEN_FDS=1, fd 3) is used as is.
 * Otherwise the master binds FCGI_SOCKET itself with mode 0660 (never
 * TCP), refusing to steal a socket another live server is listening on.
 * A root master drops to RANKPULSE_USER (default "rankpulse") after binding.
 */
#define _GNU_SOURCE
#include "fcgi/master.h"

#include <errno.h>
#include <fcntl.h>
#include <fcgiapp.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "fcgi/worker.h"
#include "realtime/outbox.h"
#include "metrics/metrics.h"

#define MAX_WORKERS 256
#define SHUTDOWN_GRACE_MS 9500
#define RETIRE_GRACE_MS 10000
#define RESPAWN_MIN_US 100000LL
#define RESPAWN_MAX_US 10000000LL
#define HEALTHY_LIFETIME_US 10000000LL

struct slot {
	pid_t pid;             /* 0 = empty */
	unsigned generation;   /* config generation it was started with */
	long long started_us;
	long long respawn_at;  /* when pid == 0 and > 0: respawn due time */
	long long delay_us;    /* current respawn back-off */
};

struct master {
	struct rp_config *cfg;
	const char *env_file;
	char **orig_names;     /* variable names of the original environment */
	size_t norig;
	int listen_fd;
	bool own_socket;       /* we created the path, so we unlink it */
	struct metrics *metrics;
	struct slot slots[MAX_WORKERS];
	int nslots;            /* slots in use = configured workers */
	struct slot pubs[OUTBOX_PARTITIONS]; /* realtime publishers, one per outbox partition */
	unsigned generation;
	bool reloading;
	pid_t retiring;        /* old worker we asked to leave during reload */
	long long retire_deadline;
};

static int open_listen_socket(const char *path, bool *own)
{
	const char *lfds = getenv("LISTEN_FDS");
	const char *lpid = getenv("LISTEN_PID");
	if (lfds != NULL && atoi(lfds) >= 1 && (lpid == NULL || atoi(lpid) == (int)getpid())) {
		*own = false;
		log_info("using the socket passed by the service manager (fd 3)");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		return 3;
	}
	/* The directory must exist: never let anything create or clobber paths blindly. */
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL) {
		log_error("FCGI_SOCKET must be an absolute path");
		return -1;
	}
	*slash = '\0';
	struct stat st;
	if (stat(dir[0] ? dir : "/", &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("FCGI_SOCKET directory %s does not exist", dir);
		return -1;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("FCGI_SOCKET %s exists and is not a socket", path);
			return -1;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			log_error("FCGI_SOCKET %s is in use by a running server", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale socket of a dead server */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0) {
		log_error("socket: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0117); /* socket file 0660 */
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(fd, 1024) != 0) {
		log_error("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	*own = true;
	return fd;
}

static int drop_privileges(const char *path, bool own)
{
	if (geteuid() != 0)
		return 0;
	const char *user = getenv("RANKPULSE_USER");
	if (user == NULL || user[0] == '\0')
		user = "rankpulse";
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		log_error("running as root and user %s does not exist; create it or run as a "
			  "dedicated user", user);
		return -1;
	}
	if (own && chown(path, pw->pw_uid, pw->pw_gid) != 0)
		log_warn("cannot chown %s: %s", path, strerror(errno));
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_error("cannot drop privileges to %s: %s", user, strerror(errno));
		return -1;
	}
	log_info("dropped privileges to %s", user);
	return 0;
}

static void remember_environment(struct master *m)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	m->orig_names = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; m->orig_names && i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		m->orig_names[m->norig++] = strndup(environ[i], eq ? (size_t)(eq - environ[i]) : strlen(environ[i]));
	}
}

/* Forget variables that came from the env file, so a reload re-reads it. */
static void forget_env_file_values(struct master *m)
{
	extern char **environ;
	for (size_t i = 0; environ[i] != NULL;) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		bool orig = false;
		for (size_t k = 0; k < m->norig && !orig; k++)
			orig = strlen(m->orig_names[k]) == len && strncmp(m->orig_names[k], environ[i], len) == 0;
		if (orig) {
			i++;
			continue;
		}
		char *name = strndup(environ[i], len);
		if (name == NULL)
			return;
		unsetenv(name); /* environ shifts down; stay at i */
		free(name);
	}
}

static pid_t spawn(struct master *m, struct slot *s)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork failed: %s", strerror(errno));
		s->pid = 0;
		s->respawn_at = clock_us() + RESPAWN_MIN_US;
		return -1;
	}
	if (pid == 0) {
		int status;
		if (s >= m->pubs && s < m->pubs + OUTBOX_PARTITIONS) {
			close(m->listen_fd);
			status = publisher_main(m->cfg, m->metrics, (int)(s - m->pubs));
		} else {
			status = worker_run(m->listen_fd, m->cfg, m->metrics);
		}
		_exit(status);
	}
	s->pid = pid;
	s->generation = m->generation;
	s->started_us = clock_us();
	s->respawn_at = 0;
	return pid;
}

static void signal_all(struct master *m, int sig)
{
	for (int i = 0; i < MAX_WORKERS; i++)
		if (m->slots[i].pid > 0)
			kill(m->slots[i].pid, sig);
	for (int i = 0; i < OUTBOX_PARTITIONS; i++)
		if (m->pubs[i].pid > 0)
			kill(m->pubs[i].pid, sig);
	if (m->retiring > 0)
		kill(m->retiring, sig);
}

static int live_children(const struct master *m)
{
	int n = m->retiring > 0;
	for (int i = 0; i < MAX_WORKERS; i++)
		n += m->slots[i].pid > 0;
	for (int i = 0; i < OUTBOX_PARTITIONS; i++)
		n += m->pubs[i].pid > 0;
	return n;
}

/* The slot running pid (worker or publisher), or NULL; *active says whether it is still wanted. */
static struct slot *slot_of(struct master *m, pid_t pid, bool *active)
{
	for (int i = 0; i < MAX_WORKERS; i++)
		if (m->slots[i].pid == pid) {
			*active = i < m->nslots;
			return &m->slots[i];
		}
	for (int i = 0; i < OUTBOX_PARTITIONS; i++)
		if (m->pubs[i].pid == pid) {
			*active = true;
			return &m->pubs[i];
		}
	return NULL;
}

static void reap(struct master *m, bool stopping)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->retiring) {
			m->retiring = 0;
			continue;
		}
		bool active;
		struct slot *s = slot_of(m, pid, &active);
		if (s == NULL)
			continue;
		s->pid = 0;
		if (stopping || !active)
			continue;
		long long now = clock_us();
		if (now - s->started_us >= HEALTHY_LIFETIME_US)
			s->delay_us = RESPAWN_MIN_US;
		else
			s->delay_us = s->delay_us ? s->delay_us * 2 : RESPAWN_MIN_US;
		if (s->delay_us > RESPAWN_MAX_US)
			s->delay_us = RESPAWN_MAX_US;
		s->respawn_at = now + s->delay_us;
		metrics_count(m->metrics, MC_WORKER_RESTARTS);
		const char *what = s >= m->pubs && s < m->pubs + OUTBOX_PARTITIONS ? "publisher" : "worker";
		if (WIFSIGNALED(status))
			log_error("%s %ld killed by signal %d; respawning in %lld ms", what, (long)pid,
				  WTERMSIG(status), s->delay_us / 1000);
		else
			log_error("%s %ld exited with status %d; respawning in %lld ms", what, (long)pid,
				  WEXITSTATUS(status), s->delay_us / 1000);
	}
}

static void respawn_due(struct master *m)
{
	long long now = clock_us();
	for (int i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];
		if (s->pid == 0 && s->respawn_at > 0 && now >= s->respawn_at)
			spawn(m, s);
	}
	for (int i = 0; i < OUTBOX_PARTITIONS; i++) {
		struct slot *s = &m->pubs[i];
		if (s->pid == 0 && s->respawn_at > 0 && now >= s->respawn_at)
			spawn(m, s);
	}
}

static void reload_config(struct master *m)
{
	struct rp_config fresh;
	char err[512];
	if (m->env_file != NULL) {
		forget_env_file_values(m);
		if (config_reload_env_file(m->env_file, err, sizeof(err)) != RP_OK) {
			log_error("reload refused, keeping the running configuration: %s", err);
			return;
		}
	}
	if (config_load(&fresh, config_getenv, NULL, err, sizeof(err)) != RP_OK) {
		log_error("reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (strcmp(fresh.fcgi_socket, m->cfg->fcgi_socket) != 0)
		log_warn("FCGI_SOCKET changes need a restart; keeping %s", m->cfg->fcgi_socket);
	snprintf(fresh.fcgi_socket, sizeof(fresh.fcgi_socket), "%s", m->cfg->fcgi_socket);
	if (fresh.jwt_secret_len == 0) {
		memcpy(fresh.jwt_secret, m->cfg->jwt_secret, sizeof(fresh.jwt_secret));
		fresh.jwt_secret_len = m->cfg->jwt_secret_len;
	}
	if (fresh.workers > MAX_WORKERS)
		fresh.workers = MAX_WORKERS;
	*m->cfg = fresh;
	log_set_level((int)fresh.log_level);
	m->generation++;
	m->reloading = true;
	metrics_set_workers(m->metrics, fresh.workers);
	log_info("configuration reloaded; replacing workers one at a time (%d workers)",
		 fresh.workers);
}

/* One step of a rolling reload; called each loop iteration. */
static void reload_step(struct master *m)
{
	if (!m->reloading)
		return;
	if (m->retiring > 0) {
		if (clock_us() > m->retire_deadline) {
			log_warn("worker %ld did not finish in time; killing it", (long)m->retiring);
			kill(m->retiring, SIGKILL);
			m->retire_deadline = clock_us() + RETIRE_GRACE_MS * 1000LL;
		}
		return;
	}
	int target = m->cfg->workers;
	for (int i = 0; i < MAX_WORKERS; i++) {
		struct slot *s = &m->slots[i];
		if (i >= target) {
			if (s->pid > 0) { /* shrinking: retire the surplus */
				m->retiring = s->pid;
				s->pid = 0;
				s->respawn_at = 0;
				kill(m->retiring, SIGTERM);
				m->retire_deadline = clock_us() + RETIRE_GRACE_MS * 1000LL;
				return;
			}
			s->respawn_at = 0;
			continue;
		}
		if (s->pid > 0 && s->generation == m->generation)
			continue;
		pid_t old = s->pid;
		if (spawn(m, s) < 0)
			return;
		if (old > 0) {
			m->retiring = old;
			kill(old, SIGTERM);
			m->retire_deadline = clock_us() + RETIRE_GRACE_MS * 1000LL;
			return;
		}
	}
	m->nslots = target;
	/* publishers: stop the old one first, then start the new one, so two never
	 * drain the same partition at once (per-channel order) */
	for (int i = 0; i < OUTBOX_PARTITIONS; i++) {
		struct slot *s = &m->pubs[i];
		if (s->generation == m->generation && s->pid > 0)
			continue;
		if (s->pid > 0) {
			m->retiring = s->pid;
			s->pid = 0;
			s->respawn_at = 0;
			s->generation = m->generation - 1;
			kill(m->retiring, SIGTERM);
			m->retire_deadline = clock_us() + RETIRE_GRACE_MS * 1000LL;
			return;
		}
		if (spawn(m, s) < 0)
			return;
	}
	m->reloading = false;
	log_info("reload complete");
}

static void shutdown_workers(struct master *m, sigset_t *set)
{
	log_info("shutting down: waiting up to %d ms for in-flight requests", SHUTDOWN_GRACE_MS);
	signal_all(m, SIGTERM);
	long long deadline = clock_us() + SHUTDOWN_GRACE_MS * 1000LL;
	while (live_children(m) > 0 && clock_us() < deadline) {
		struct timespec ts = {0, 50 * 1000000L};
		sigtimedwait(set, NULL, &ts);
		reap(m, true);
	}
	if (live_children(m) > 0) {
		log_warn("workers still busy after the grace period; killing them");
		signal_all(m, SIGKILL);
		while (live_children(m) > 0 && waitpid(-1, NULL, 0) > 0)
			reap(m, true);
	}
}

int master_run(struct rp_config *cfg, const char *env_file)
{
	static struct master m; /* large; keep it off the stack */
	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.env_file = env_file;
	if (cfg->workers > MAX_WORKERS)
		cfg->workers = MAX_WORKERS;
	remember_environment(&m);

	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}
	m.listen_fd = open_listen_socket(cfg->fcgi_socket, &m.own_socket);
	if (m.listen_fd < 0)
		return 1;
	/* workers wait in ppoll and must not sleep in accept() (see worker.c) */
	int fl = fcntl(m.listen_fd, F_GETFL);
	if (fl < 0 || fcntl(m.listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_error("cannot make the listening socket non-blocking: %s", strerror(errno));
		return 1;
	}
	if (drop_privileges(cfg->fcgi_socket, m.own_socket) != 0)
		return 1;
	m.metrics = metrics_new();
	if (m.metrics == NULL) {
		log_error("cannot map the metrics segment");
		return 1;
	}
	metrics_set_workers(m.metrics, cfg->workers);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	m.nslots = cfg->workers;
	for (int i = 0; i < m.nslots; i++)
		spawn(&m, &m.slots[i]);
	for (int i = 0; i < OUTBOX_PARTITIONS; i++)
		spawn(&m, &m.pubs[i]);
	log_info("rankpulse serving on %s with %d workers (env=%s)", cfg->fcgi_socket, cfg->workers,
		 app_env_name(cfg->env));

	bool stopping = false;
	while (!stopping) {
		struct timespec ts = {0, 100 * 1000000L};
		int sig = sigtimedwait(&set, NULL, &ts);
		switch (sig) {
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			stopping = true;
			break;
		case SIGHUP:
			reload_config(&m);
			break;
		default:
			break;
		}
		reap(&m, stopping);
		if (!stopping) {
			respawn_due(&m);
			reload_step(&m);
		}
	}
	shutdown_workers(&m, &set);
	close(m.listen_fd);
	if (m.own_socket)
		unlink(cfg->fcgi_socket);
	metrics_free(m.metrics);
	for (size_t i = 0; i < m.norig; i++)
		free(m.orig_names[i]);
	free(m.orig_names);
	log_info("stopped");
	return 0;
}
