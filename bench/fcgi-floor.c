/*
 * fcgi-floor.c — the most trivial FastCGI responder libfcgi allows.
 *
 *   fcgi-floor SOCKET_PATH NWORKERS BODY_FILE
 *
 * bench/health.sh puts this program behind the same nginx as rankpulse and
 * measures it next to /api/health.  It does nothing but answer every request
 * with the same fixed bytes, so its throughput is the ceiling of any FastCGI
 * handler on this machine: the cost of nginx + the FastCGI protocol + one
 * unix-socket connection per request (nginx runs with fastcgi_keep_conn off)
 * + libfcgi's parsing of the params.  The gap between it and /api/health is
 * what the application itself costs.
 *
 * Shape (kept deliberately identical to rankpulse's front so the comparison
 * is fair): the parent binds the unix socket itself (mode 0660; the socket's
 * directory must exist and must not be writable by others), forks NWORKERS
 * prefork children, each with its own FCGX_Request blocking in FCGX_Accept_r
 * on the shared listening socket.  The response is built once, before the
 * fork: `Status: 200 OK`, `Content-Type: application/json`, `Content-Length`
 * and BODY_FILE's bytes, written with a single FCGX_PutStr.
 *
 * SIGTERM or SIGINT to the parent stops the children and unlinks the socket.
 * A child that dies on its own stops the whole responder (exit 1): a floor
 * with fewer workers than announced would make the comparison meaningless.
 * Children also die with the parent (PR_SET_PDEATHSIG), so a SIGKILLed parent
 * leaves nothing behind.
 *
 * FLOOR_NO_LINGER=1 in the environment: end a request whose bytes have all
 * been read with a plain close, as rankpulse's workers do for requests
 * without a body (FCGX_Detach before FCGX_Finish_r), instead of libfcgi's
 * lingering close. The default is stock libfcgi, the floor every target is
 * stated against; the variant shows how much of a ratio that close is.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -Werror -o fcgi-floor fcgi-floor.c -lfcgi
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

enum { FLOOR_MAX_WORKERS = 256, FLOOR_MAX_BODY = 1 << 20, FLOOR_BACKLOG = 1024 };

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t child_died;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_child(int sig)
{
	(void)sig;
	child_died = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "fcgi-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fputs("usage: fcgi-floor SOCKET_PATH NWORKERS BODY_FILE\n", stderr);
	exit(2);
}

/* read_body: the whole of PATH (at most FLOOR_MAX_BODY bytes) into a new
 * buffer; *len receives its size.  Exits on error. */
static char *read_body(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path);
	char *buf = malloc(FLOOR_MAX_BODY + 1);
	if (!buf)
		die("malloc");
	size_t n = fread(buf, 1, FLOOR_MAX_BODY + 1, f);
	if (ferror(f))
		die(path);
	fclose(f);
	if (n > FLOOR_MAX_BODY) {
		fprintf(stderr, "fcgi-floor: %s: larger than %d bytes\n", path, FLOOR_MAX_BODY);
		exit(1);
	}
	*len = n;
	return buf;
}

/* build_response: the complete FastCGI stdout (headers + body). */
static char *build_response(const char *body, size_t body_len, int *len)
{
	char head[128];
	int hn = snprintf(head, sizeof head,
	                  "Status: 200 OK\r\nContent-Type: application/json\r\n"
	                  "Content-Length: %zu\r\n\r\n",
	                  body_len);
	if (hn < 0 || (size_t)hn >= sizeof head)
		die("snprintf");
	char *out = malloc((size_t)hn + body_len);
	if (!out)
		die("malloc");
	memcpy(out, head, (size_t)hn);
	memcpy(out + hn, body, body_len);
	*len = hn + (int)body_len;
	return out;
}

/* check_socket_dir: the directory that will hold PATH exists, is a
 * directory and is not writable by others (a private run directory). */
static void check_socket_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	struct stat st;
	if (stat(dir, &st) != 0)
		die(dir);
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "fcgi-floor: %s: not a directory\n", dir);
		exit(1);
	}
	if (st.st_mode & S_IWOTH) {
		fprintf(stderr, "fcgi-floor: %s: writable by others; use a private directory\n",
		        dir);
		exit(1);
	}
}

/* listen_unix: bind and listen on PATH with mode 0660.  A stale socket at
 * PATH is replaced; anything else there is an error. */
static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "fcgi-floor: %s: path too long for a unix socket\n", path);
		exit(1);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	check_socket_dir(path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "fcgi-floor: %s exists and is not a socket\n", path);
			exit(1);
		}
		if (unlink(path) != 0)
			die(path);
	}

	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0)
		die(path);
	if (chmod(path, 0660) != 0)
		die(path);
	if (listen(fd, FLOOR_BACKLOG) != 0)
		die("listen");
	return fd;
}

/* child_loop: one prefork worker; never returns.  Called with the stop
 * signals blocked; restores their default action, then unblocks them. */
static void child_loop(int listen_fd, pid_t parent, const sigset_t *mask, const char *resp,
                       int resp_len)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(0);

	FCGX_Request req;
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		_exit(1);
	const char *nl = getenv("FLOOR_NO_LINGER");
	int no_linger = nl != NULL && strcmp(nl, "1") == 0;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(resp, resp_len, req.out);
		int unread = -1;
		if (no_linger && ioctl(req.ipcFd, FIONREAD, &unread) == 0 && unread == 0)
			FCGX_Detach(&req);
		FCGX_Finish_r(&req);
	}
	_exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		usage();
	const char *sock_path = argv[1];
	char *end;
	errno = 0;
	long nworkers = strtol(argv[2], &end, 10);
	if (errno || *end || end == argv[2] || nworkers < 1 || nworkers > FLOOR_MAX_WORKERS) {
		fprintf(stderr, "fcgi-floor: NWORKERS must be 1..%d\n", FLOOR_MAX_WORKERS);
		exit(2);
	}

	size_t body_len;
	char *body = read_body(argv[3], &body_len);
	int resp_len;
	char *resp = build_response(body, body_len, &resp_len);
	free(body);

	if (FCGX_Init() != 0) {
		fputs("fcgi-floor: FCGX_Init failed\n", stderr);
		exit(1);
	}

	/* Block the stop signals until the handlers are in place and every
	 * child is forked: a SIGTERM in between is handled, not lost. */
	sigset_t stopset, oldset;
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGCHLD);
	sigprocmask(SIG_BLOCK, &stopset, &oldset);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child; /* SIGCHLD is ignored by default: sigsuspend needs a handler */
	sigaction(SIGCHLD, &sa, NULL);

	int listen_fd = listen_unix(sock_path);

	pid_t parent = getpid();
	pid_t children[FLOOR_MAX_WORKERS];
	int nchildren = 0;
	for (long i = 0; i < nworkers; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fcgi-floor: fork");
			stop_requested = 1;
			break;
		}
		if (pid == 0)
			child_loop(listen_fd, parent, &oldset, resp, resp_len);
		children[nchildren++] = pid;
	}
	close(listen_fd);
	fprintf(stderr, "fcgi-floor: %d workers on %s (%d-byte response)\n", nchildren, sock_path,
	        resp_len);

	/* Wait for a stop signal or a dead child. */
	int rc = 0;
	sigset_t waitset = oldset;
	sigdelset(&waitset, SIGTERM);
	sigdelset(&waitset, SIGINT);
	sigdelset(&waitset, SIGCHLD);
	while (!stop_requested && !child_died)
		sigsuspend(&waitset);
	if (child_died && !stop_requested) {
		fputs("fcgi-floor: a worker died; stopping\n", stderr);
		rc = 1;
	}

	for (int i = 0; i < nchildren; i++)
		kill(children[i], SIGTERM); /* not reaped yet: the pids are still ours */
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	unlink(sock_path);
	free(resp);
	return rc;
}
