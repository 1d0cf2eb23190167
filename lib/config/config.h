/*
 * config.h — process configuration from the environment (SPEC §3).
 *
 * config_load() reads every variable once, through a getter so tests need no
 * real environment, validates it against hard limits and fills a plain
 * struct. Nothing else in lib/ calls getenv(). See config.c for the rules.
 */
#ifndef RP_CONFIG_CONFIG_H
#define RP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

enum app_env { APP_ENV_DEVELOPMENT, APP_ENV_PRODUCTION, APP_ENV_TEST, APP_ENV_MAX };
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_LEVEL_MAX };
enum result_verification { VERIFY_NONE, VERIFY_OPPONENT };

struct rate_limit {
	unsigned count;
	unsigned seconds;
};

#define CONFIG_JWT_SECRET_MAX      512 /* bytes */
#define CONFIG_JWT_SECRET_MIN_PROD 32
#define CONFIG_ENV_LINE_MAX        4096 /* bytes per line of an env file */
#define CONFIG_UNIX_PATH_MAX       108  /* sizeof(sun_path), including the NUL */

struct rp_config {
	char database_url[1024]; /* as given; may hold a password: never log it */
	char redis_url[512];     /* as given; may hold a password: never log it */
	/* Parsed Redis target: a unix socket path, or host+port; password and db. */
	int redis_is_unix;
	char redis_path[CONFIG_UNIX_PATH_MAX];
	char redis_host[256]; /* IPv6 literals without the brackets */
	int redis_port;
	char redis_username[256]; /* "" unless user:password@ (Redis 6 ACL) */
	char redis_password[256]; /* "" when none; percent-decoded */
	int redis_db;             /* 0..CONFIG_REDIS_DB_MAX */
	enum app_env env;
	int port;                                        /* 1..65535, default 8080 */
	unsigned char jwt_secret[CONFIG_JWT_SECRET_MAX]; /* not NUL terminated */
	size_t jwt_secret_len;                           /* 0: unset (development/test only) */
	char frontend_url[512];                          /* "" when unset */
	char frontend_origin[512];  /* scheme://host[:port] of frontend_url, lower case */
	char allowed_origins[2048]; /* normalised: lower case, "a,b,c", no spaces */
	bool allow_any_origin;      /* ALLOWED_ORIGINS contained '*' (never in production) */
	enum log_level log_level;   /* default info */
	int workers;                /* 1..256, default 2 x online CPUs */
	char fcgi_socket[CONFIG_UNIX_PATH_MAX]; /* absolute unix socket path */
	char nchan_publish_url[512];            /* "unix:/path" or "http://127.0.0.1:PORT" */
	/* Parsed NCHAN_PUBLISH_URL. */
	int nchan_is_unix;
	char nchan_path[CONFIG_UNIX_PATH_MAX];
	char nchan_host[256]; /* loopback only; IPv6 without brackets */
	int nchan_port;
	unsigned access_token_ttl;                    /* seconds, 60..86400, default 900 */
	struct rate_limit login_failure_limit;        /* default 5/900 */
	struct rate_limit register_rate_limit;        /* default 10/60 */
	enum result_verification result_verification; /* default none */
};

#define CONFIG_REDIS_DB_MAX 65535

/* Returns the value of name, or NULL when unset. An empty value counts as
 * unset everywhere in this module. */
typedef const char *(*config_get_fn)(const char *name, void *ctx);

/* The real environment; ctx is ignored. */
const char *config_getenv(const char *name, void *ctx);

/*
 * Fill *c from the getter. On success returns RP_OK. On failure returns
 * RP_EINVAL, leaves *c untouched and writes into err (if errlen > 0) a
 * one-line message that starts with the variable name. No message ever
 * quotes JWT_SECRET, DATABASE_URL or REDIS_URL (passwords live there).
 */
enum rp_err config_load(struct rp_config *c, config_get_fn get, void *ctx, char *err,
                        size_t errlen) RP_MUSTCHECK;

/*
 * Read KEY=VALUE lines ('#' comments, blank lines, optional "export ",
 * optional single or double quotes around the value, no escapes and no
 * interpolation) and setenv() each key that was not already set in the
 * environment before the call: the real environment wins; within the file
 * the last assignment wins. The whole file is validated before anything is
 * set. Errors (unreadable file, line without '=', invalid key name, line over
 * CONFIG_ENV_LINE_MAX bytes, unterminated quote) return RP_EINVAL with
 * "path:line: reason" in err; values are never quoted back.
 * Not thread-safe (setenv).
 */
enum rp_err config_load_env_file(const char *path, char *err, size_t errlen) RP_MUSTCHECK;
/* For a SIGHUP reload: the same, but the file's values replace the current
 * environment's (systemd's EnvironmentFile= put the old values there). */
enum rp_err config_reload_env_file(const char *path, char *err, size_t errlen) RP_MUSTCHECK;

/* One "NAME=value" line per variable, for check-config: secrets become
 * "(set, N bytes)" and passwords inside URLs become "***". */
void config_describe(const struct rp_config *c, FILE *out);

/* True when origin (an Origin header value) may make CORS requests: it
 * equals, case-insensitively, an ALLOWED_ORIGINS entry or the origin of
 * FRONTEND_URL, or ALLOWED_ORIGINS contained '*'. */
bool config_origin_allowed(const struct rp_config *c, const char *origin, size_t len);

const char *app_env_name(enum app_env e);
const char *log_level_name(enum log_level l);

#endif
