/*
 * t/unit/config.c — configuration rules of SPEC §3, without a real environment.
 *
 * config_load() reads through a getter; here the getter walks a NULL
 * terminated table of name/value pairs. Every rejected case checks that the
 * message starts with the variable name and that no marker planted in a
 * secret (JWT_SECRET, URL passwords) shows up in it. The env-file tests use
 * real temp files (mkstemp) and the real environment, with RPT_ keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "tap.h"

struct kv {
	const char *name;
	const char *value;
};

static const char *fake_get(const char *name, void *ctx)
{
	for (const struct kv *kv = ctx; kv->name; kv++)
		if (strcmp(kv->name, name) == 0)
			return kv->value;
	return NULL;
}

/* Secrets used below carry these markers; no message may contain them. */
static const char *const markers[] = {"PgPw", "RdPw", "JwtQ", NULL};

#define DB_DEV  "postgresql://rankpulse@localhost/rankpulse"
#define DB_PROD "postgresql://rankpulse:PgPw17@db.example.com/rankpulse?sslmode=require"
/* 49 bytes, plenty of distinct values, no placeholder word. */
#define GOOD_SECRET "JwtQ7f3a9c21b4e8d60a5f1e2c3b4a59687d0e1f2a3b4c5d6"
#define PROD        "APP_ENV", "production"

static const char *leaked(const char *s)
{
	for (int i = 0; markers[i]; i++)
		if (strstr(s, markers[i]))
			return markers[i];
	return NULL;
}

/* ---- rejected configurations ----------------------------------------- */

struct bad_case {
	struct kv env[6];
	const char *prefix;   /* the message must start with this */
	const char *contains; /* and contain this, when not NULL */
};

static const struct bad_case bad[] = {
    /* APP_ENV / NODE_ENV */
    {{{"APP_ENV", "staging"}, {"DATABASE_URL", DB_DEV}}, "APP_ENV: ", "staging"},
    {{{"NODE_ENV", "staging"}, {"DATABASE_URL", DB_DEV}}, "APP_ENV (from NODE_ENV): ", NULL},
    {{{"APP_ENV", "developmentdevelopmentdevelopment"}, {"DATABASE_URL", DB_DEV}},
     "APP_ENV: ",
     "too long"},
    {{{"APP_ENV", "dev\nelopment"}, {"DATABASE_URL", DB_DEV}}, "APP_ENV: ", "control"},

    /* DATABASE_URL syntax */
    {{{"APP_ENV", "test"}}, "DATABASE_URL: ", "required"},
    {{{"DATABASE_URL", ""}}, "DATABASE_URL: ", "required"},
    {{{"DATABASE_URL", "mysql://u:PgPw1@h/db"}}, "DATABASE_URL: ", "scheme"},
    {{{"DATABASE_URL", "localhost"}}, "DATABASE_URL: ", NULL},
    {{{"DATABASE_URL", "postgresql://u:PgPw%zz@h/db"}}, "DATABASE_URL: ", "percent"},
    {{{"DATABASE_URL", "postgresql://u:PgPw@x@h/db"}}, "DATABASE_URL: ", "%40"},
    {{{"DATABASE_URL", "postgresql://h:99999/db"}}, "DATABASE_URL: ", "port"},
    {{{"DATABASE_URL", "postgresql://h:54x2/db"}}, "DATABASE_URL: ", "port"},
    {{{"DATABASE_URL", "postgresql://[::1/db"}}, "DATABASE_URL: ", "IPv6"},
    {{{"DATABASE_URL", "postgresql://h/db?sslmode=bogus"}}, "DATABASE_URL: ", "sslmode"},
    {{{"DATABASE_URL", "postgresql://h/db?sslmode"}}, "DATABASE_URL: ", "query"},
    {{{"DATABASE_URL", "host=h password='PgPw"}}, "DATABASE_URL: ", "unterminated"},
    {{{"DATABASE_URL", "host=h dbname"}}, "DATABASE_URL: ", "missing '='"},
    {{{"DATABASE_URL", "Host=h"}}, "DATABASE_URL: ", "keyword"},
    {{{"DATABASE_URL", "postgresql://h/db\x01"}}, "DATABASE_URL: ", "control"},

    /* DATABASE_URL in production: sslmode weaker than require to a remote host */
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql://u:PgPw2@db.example.com/rp?sslmode=prefer"}},
     "DATABASE_URL: ",
     "sslmode=prefer"},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql://u:PgPw2@db.example.com/rp?sslmode=disable"}},
     "DATABASE_URL: ",
     "sslmode=disable"},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgres://u:PgPw2@10.1.2.3:5432/rp?sslmode=allow"}},
     "DATABASE_URL: ",
     "sslmode=allow"},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql://u:PgPw3@db.example.com/rp"}},
     "DATABASE_URL: ",
     "no sslmode"},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql://localhost,db.example.com/rp"}},
     "DATABASE_URL: ",
     "no sslmode"},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "host=localhost hostaddr=10.0.0.5 password=PgPw4"}},
     "DATABASE_URL: ",
     NULL},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql://localhost/rp?host=db.example.com"}},
     "DATABASE_URL: ",
     NULL},
    {{{PROD}, {"JWT_SECRET", GOOD_SECRET}, {"DATABASE_URL", "service=rankpulse"}},
     "DATABASE_URL: ",
     NULL},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql:///rp"},
      {"PGHOST", "db.example.com"}},
     "DATABASE_URL: ",
     NULL},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql://db.example.com/rp"},
      {"PGSSLMODE", "prefer"}},
     "DATABASE_URL: ",
     "PGSSLMODE"},
    {{{PROD},
      {"JWT_SECRET", GOOD_SECRET},
      {"DATABASE_URL", "postgresql://db.example.com/rp"},
      {"PGSSLMODE", "bogus"}},
     "PGSSLMODE: ",
     NULL},

    /* REDIS_URL */
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "rediss://:RdPw1@redis.example.com:6380"}},
     "REDIS_URL: ",
     "stunnel"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "REDISS://redis.example.com"}},
     "REDIS_URL: ",
     "conf/stunnel/redis-client.conf"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "http://127.0.0.1:6379"}}, "REDIS_URL: ", "scheme"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "127.0.0.1:6379"}}, "REDIS_URL: ", "scheme"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://"}}, "REDIS_URL: ", "host"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://:RdPw2@"}}, "REDIS_URL: ", "host"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://h:0"}}, "REDIS_URL: ", "port"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://h:65536"}}, "REDIS_URL: ", "port"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://h:+6379"}}, "REDIS_URL: ", "port"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://h:"}}, "REDIS_URL: ", "port"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://h/x"}}, "REDIS_URL: ", "database"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://h/70000"}}, "REDIS_URL: ", "database"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://h?db=1"}}, "REDIS_URL: ", "query"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://RdPw3@h"}}, "REDIS_URL: ", "password@"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://:RdPw%4@h"}}, "REDIS_URL: ", "percent"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://bad_host!:6379"}}, "REDIS_URL: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "redis://[::1:6379"}}, "REDIS_URL: ", "IPv6"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "unix://tmp/redis.sock"}}, "REDIS_URL: ", "absolute"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "unix:tmp/redis.sock"}}, "REDIS_URL: ", "absolute"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "unix:///tmp/r.sock?foo=1"}},
     "REDIS_URL: ",
     "parameter"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "unix:///tmp/r.sock?db=x"}}, "REDIS_URL: ", "db="},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "unix:///tmp/r.sock?db=1&db=2"}},
     "REDIS_URL: ",
     "repeated"},
    {{{"DATABASE_URL", DB_DEV}, {"REDIS_URL", "unix://:RdPw1@/tmp/r.sock?password=RdPw2"}},
     "REDIS_URL: ",
     "repeated"},

    /* JWT_SECRET in production */
    {{{PROD}, {"DATABASE_URL", DB_PROD}}, "JWT_SECRET: ", "required in production"},
    {{{PROD}, {"DATABASE_URL", DB_PROD}, {"JWT_SECRET", "JwtQ-short-1234"}},
     "JWT_SECRET: ",
     "too short for production (need at least 32 bytes"},
    {{{PROD}, {"DATABASE_URL", DB_PROD}, {"JWT_SECRET", "JwtQJwtQJwtQJwtQJwtQJwtQJwtQJwtQJwtQ"}},
     "JWT_SECRET: ",
     "entropy"},
    {{{PROD},
      {"DATABASE_URL", DB_PROD},
      {"JWT_SECRET", "JwtQ0000000000000000000000000000000000001234"}},
     "JWT_SECRET: ",
     "entropy"},
    {{{PROD},
      {"DATABASE_URL", DB_PROD},
      {"JWT_SECRET", "JwtQ-ChangeMe-0123456789abcdefghijklmnop"}},
     "JWT_SECRET: ",
     "placeholder"},
    {{{PROD},
      {"DATABASE_URL", DB_PROD},
      {"JWT_SECRET", "JwtQ-my-SECRET-0123456789abcdefghijklmnop"}},
     "JWT_SECRET: ",
     "placeholder"},
    {{{PROD}, {"DATABASE_URL", DB_PROD}, {"JWT_SECRET", "JwtQ-eXaMpLe-0123456789abcdefghijklmnop"}},
     "JWT_SECRET: ",
     "placeholder"},
    {{{PROD}, {"DATABASE_URL", DB_PROD}, {"JWT_SECRET", "changeme-run-openssl-rand-hex-32"}},
     "JWT_SECRET: ",
     NULL},

    /* PORT */
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "0"}}, "PORT: ", "1 to 65535"},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "65536"}}, "PORT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "+80"}}, "PORT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "-1"}}, "PORT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", " 80"}}, "PORT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "80 "}}, "PORT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "8o8o"}}, "PORT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "0x50"}}, "PORT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "808080"}}, "PORT: ", "1 to 65535"},
    {{{"DATABASE_URL", DB_DEV}, {"PORT", "00000000000000008080"}}, "PORT: ", "too long"},

    /* WORKERS */
    {{{"DATABASE_URL", DB_DEV}, {"WORKERS", "0"}}, "WORKERS: ", "1 to 256"},
    {{{"DATABASE_URL", DB_DEV}, {"WORKERS", "257"}}, "WORKERS: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"WORKERS", "two"}}, "WORKERS: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"WORKERS", "+2"}}, "WORKERS: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"WORKERS", "1.5"}}, "WORKERS: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"WORKERS", "1000"}}, "WORKERS: ", "1 to 256"},

    /* LOG_LEVEL */
    {{{"DATABASE_URL", DB_DEV}, {"LOG_LEVEL", "verbose"}}, "LOG_LEVEL: ", "verbose"},
    {{{"DATABASE_URL", DB_DEV}, {"LOG_LEVEL", "warning"}}, "LOG_LEVEL: ", NULL},

    /* FCGI_SOCKET */
    {{{"DATABASE_URL", DB_DEV}, {"FCGI_SOCKET", "rankpulse.sock"}}, "FCGI_SOCKET: ", "absolute"},
    {{{"DATABASE_URL", DB_DEV}, {"FCGI_SOCKET", "/run/rankpulse/"}}, "FCGI_SOCKET: ", NULL},

    /* NCHAN_PUBLISH_URL */
    {{{"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "unix:run/nchan.sock"}},
     "NCHAN_PUBLISH_URL: ",
     "absolute"},
    {{{"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "http://10.0.0.1:8081"}},
     "NCHAN_PUBLISH_URL: ",
     "loopback"},
    {{{"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "https://127.0.0.1:8081"}},
     "NCHAN_PUBLISH_URL: ",
     NULL},
    {{{"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "http://127.0.0.1:8081/pub"}},
     "NCHAN_PUBLISH_URL: ",
     "path"},
    {{{"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "http://127.0.0.1:0"}},
     "NCHAN_PUBLISH_URL: ",
     NULL},
    {{{"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "http://u:PgPw@127.0.0.1:8081"}},
     "NCHAN_PUBLISH_URL: ",
     "credentials"},
    {{{"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "tcp://127.0.0.1:8081"}},
     "NCHAN_PUBLISH_URL: ",
     NULL},

    /* FRONTEND_URL */
    {{{"DATABASE_URL", DB_DEV}, {"FRONTEND_URL", "ftp://app.example.com"}}, "FRONTEND_URL: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"FRONTEND_URL", "https://"}}, "FRONTEND_URL: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"FRONTEND_URL", "https://app .example.com"}},
     "FRONTEND_URL: ",
     NULL},
    {{{"DATABASE_URL", DB_DEV}, {"FRONTEND_URL", "https://u:PgPw@app.example.com"}},
     "FRONTEND_URL: ",
     "credentials"},
    {{{"DATABASE_URL", DB_DEV}, {"FRONTEND_URL", "https://app.example.com/a b"}},
     "FRONTEND_URL: ",
     "space"},
    {{{"DATABASE_URL", DB_DEV}, {"FRONTEND_URL", "app.example.com"}}, "FRONTEND_URL: ", NULL},

    /* ALLOWED_ORIGINS */
    {{{"DATABASE_URL", DB_DEV}, {"ALLOWED_ORIGINS", "https://a.example.com/"}},
     "ALLOWED_ORIGINS: ",
     "trailing slash"},
    {{{"DATABASE_URL", DB_DEV},
      {"ALLOWED_ORIGINS", "https://a.example.com,https://b.example.com/app"}},
     "ALLOWED_ORIGINS: ",
     "entry 2"},
    {{{"DATABASE_URL", DB_DEV}, {"ALLOWED_ORIGINS", "a.example.com"}},
     "ALLOWED_ORIGINS: ",
     "origin"},
    {{{"DATABASE_URL", DB_DEV},
      {"ALLOWED_ORIGINS", "https://a.example.com,,https://b.example.com"}},
     "ALLOWED_ORIGINS: ",
     "empty"},
    {{{"DATABASE_URL", DB_DEV}, {"ALLOWED_ORIGINS", "https://a.example.com,"}},
     "ALLOWED_ORIGINS: ",
     "empty"},
    {{{"DATABASE_URL", DB_DEV}, {"ALLOWED_ORIGINS", "null"}}, "ALLOWED_ORIGINS: ", NULL},
    {{{"DATABASE_URL", DB_DEV},
      {"ALLOWED_ORIGINS", "https://a.example.com,https://u:PgPw@b.example.com"}},
     "ALLOWED_ORIGINS: ",
     "entry 2 contains '@'"},
    {{{"DATABASE_URL", DB_DEV}, {"ALLOWED_ORIGINS", "https://a.example.com:99999"}},
     "ALLOWED_ORIGINS: ",
     NULL},
    {{{PROD}, {"DATABASE_URL", DB_PROD}, {"JWT_SECRET", GOOD_SECRET}, {"ALLOWED_ORIGINS", "*"}},
     "ALLOWED_ORIGINS: ",
     "production"},

    /* ACCESS_TOKEN_TTL */
    {{{"DATABASE_URL", DB_DEV}, {"ACCESS_TOKEN_TTL", "59"}}, "ACCESS_TOKEN_TTL: ", "60 to 86400"},
    {{{"DATABASE_URL", DB_DEV}, {"ACCESS_TOKEN_TTL", "86401"}}, "ACCESS_TOKEN_TTL: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"ACCESS_TOKEN_TTL", "15m"}}, "ACCESS_TOKEN_TTL: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"ACCESS_TOKEN_TTL", "+900"}}, "ACCESS_TOKEN_TTL: ", NULL},

    /* LOGIN_FAILURE_LIMIT / REGISTER_RATE_LIMIT */
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "5"}},
     "LOGIN_FAILURE_LIMIT: ",
     "N/SECONDS"},
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "0/900"}}, "LOGIN_FAILURE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "5/0"}}, "LOGIN_FAILURE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "5/86401"}}, "LOGIN_FAILURE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "100001/60"}},
     "LOGIN_FAILURE_LIMIT: ",
     NULL},
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "5/900/1"}}, "LOGIN_FAILURE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "5 /900"}}, "LOGIN_FAILURE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"LOGIN_FAILURE_LIMIT", "+5/900"}}, "LOGIN_FAILURE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"REGISTER_RATE_LIMIT", "10/"}}, "REGISTER_RATE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"REGISTER_RATE_LIMIT", "/60"}}, "REGISTER_RATE_LIMIT: ", NULL},
    {{{"DATABASE_URL", DB_DEV}, {"REGISTER_RATE_LIMIT", "ten/60"}}, "REGISTER_RATE_LIMIT: ", NULL},

    /* RESULT_VERIFICATION */
    {{{"DATABASE_URL", DB_DEV}, {"RESULT_VERIFICATION", "both"}}, "RESULT_VERIFICATION: ", "both"},
};
#define N_BAD (sizeof bad / sizeof bad[0])

static int check_rejected(struct kv *env, const char *prefix, const char *contains,
                          const char *name)
{
	struct rp_config c;
	char err[512];
	enum rp_err rc;
	const char *leak;
	int pass;

	memset(&c, 0x5a, sizeof c);
	rc = config_load(&c, fake_get, env, err, sizeof err);
	leak = leaked(err);
	pass = rc == RP_EINVAL && strncmp(err, prefix, strlen(prefix)) == 0 &&
	       (!contains || strstr(err, contains)) && !leak && ((unsigned char *)&c)[0] == 0x5a &&
	       ((unsigned char *)&c)[sizeof c - 1] == 0x5a;
	ok(pass, "rejects %s", name);
	if (!pass)
		diag("rc=%d err=\"%s\" want prefix \"%s\" containing \"%s\"%s%s", rc, err, prefix,
		     contains ? contains : "", leak ? " LEAKS " : "", leak ? leak : "");
	return pass;
}

static void test_bad_table(void)
{
	for (size_t i = 0; i < N_BAD; i++) {
		struct kv env[7];
		char name[160];
		size_t n = 0;

		while (n < 6 && bad[i].env[n].name) {
			env[n] = bad[i].env[n];
			n++;
		}
		env[n].name = env[n].value = NULL;
		/* name: the last variable of the row, which is the one under test */
		snprintf(name, sizeof name, "%s=\"%.60s\"", env[n - 1].name, env[n - 1].value);
		for (char *p = name; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = '?';
		check_rejected(env, bad[i].prefix, bad[i].contains, name);
	}
}

/* Values over the limits, built at run time. */
static void test_too_long(void)
{
	static char buf[2100];
	struct kv env[4] = {{"DATABASE_URL", DB_DEV}};

	memset(buf, 'a', sizeof buf - 1);
	buf[sizeof buf - 1] = '\0';

	memcpy(buf, "postgresql://h/", 15);
	buf[1024] = '\0'; /* 1024 bytes: one over */
	env[0].value = buf;
	check_rejected(env, "DATABASE_URL: ", "too long", "DATABASE_URL of 1024 bytes");

	env[0].value = DB_DEV;
	env[1].name = "REDIS_URL";
	memcpy(buf, "unix:///", 8);
	buf[8 + 107] = '\0'; /* path of 108 bytes */
	env[1].value = buf;
	check_rejected(env, "REDIS_URL: ", "too long", "unix socket path of 108 bytes");

	memset(buf, 'J', sizeof buf - 1);
	memcpy(buf, "JwtQ", 4);
	buf[513] = '\0';
	env[1].name = "JWT_SECRET";
	env[1].value = buf;
	check_rejected(env, "JWT_SECRET: ", "too long", "JWT_SECRET of 513 bytes");

	memset(buf, 'f', sizeof buf - 1);
	buf[0] = '/';
	buf[108] = '\0';
	env[1].name = "FCGI_SOCKET";
	check_rejected(env, "FCGI_SOCKET: ", "too long", "FCGI_SOCKET of 108 bytes");

	memcpy(buf, "https://a.example.com", 21);
	buf[21] = ',';
	for (size_t i = 22; i < 2048; i++)
		buf[i] = 'x';
	buf[2048] = '\0';
	env[1].name = "ALLOWED_ORIGINS";
	check_rejected(env, "ALLOWED_ORIGINS: ", "too long", "ALLOWED_ORIGINS of 2048 bytes");
}

/* ---- accepted configurations ----------------------------------------- */

static int load(struct kv *env, struct rp_config *c, const char *name)
{
	char err[512];
	enum rp_err rc = config_load(c, fake_get, env, err, sizeof err);

	if (!ok(rc == RP_OK, "accepts %s", name))
		diag("rc=%d err=\"%s\"", rc, err);
	return rc == RP_OK;
}

static void test_defaults(void)
{
	struct kv env[] = {{"DATABASE_URL", DB_DEV}, {"PORT", ""}, {NULL, NULL}};
	struct rp_config c;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want_workers = (int)(2 * (cpus < 1 ? 1 : cpus > 128 ? 128 : cpus));

	if (!load(env, &c, "only DATABASE_URL (PORT empty)"))
		memset(&c, 0, sizeof c);
	is_int(c.env, APP_ENV_DEVELOPMENT, "APP_ENV defaults to development");
	is_str(c.database_url, DB_DEV, "DATABASE_URL kept as given");
	is_str(c.redis_url, "redis://127.0.0.1:6379", "REDIS_URL default");
	ok(!c.redis_is_unix && strcmp(c.redis_host, "127.0.0.1") == 0 && c.redis_port == 6379 &&
	       c.redis_db == 0 && !c.redis_password[0] && !c.redis_username[0],
	   "default redis target is 127.0.0.1:6379 db 0, no password");
	is_int((long long)c.jwt_secret_len, 0, "JWT_SECRET unset in development: length 0");
	is_int(c.port, 8080, "PORT default 8080 (empty counts as unset)");
	is_int(c.workers, want_workers, "WORKERS default 2 x online CPUs");
	is_int(c.log_level, LOG_INFO, "LOG_LEVEL default info");
	is_str(c.fcgi_socket, "/run/rankpulse/rankpulse.sock", "FCGI_SOCKET default");
	is_str(c.nchan_publish_url, "unix:/run/rankpulse/nchan.sock", "NCHAN_PUBLISH_URL default");
	ok(c.nchan_is_unix && strcmp(c.nchan_path, "/run/rankpulse/nchan.sock") == 0,
	   "default nchan target parsed as unix socket");
	ok(!c.frontend_url[0] && !c.frontend_origin[0] && !c.allowed_origins[0] &&
	       !c.allow_any_origin,
	   "no CORS origins by default");
	is_int(c.access_token_ttl, 900, "ACCESS_TOKEN_TTL default 900");
	ok(c.login_failure_limit.count == 5 && c.login_failure_limit.seconds == 900,
	   "LOGIN_FAILURE_LIMIT default 5/900");
	ok(c.register_rate_limit.count == 10 && c.register_rate_limit.seconds == 60,
	   "REGISTER_RATE_LIMIT default 10/60");
	is_int(c.result_verification, VERIFY_NONE, "RESULT_VERIFICATION default none");
}

static void test_env_selection(void)
{
	struct rp_config c;
	struct kv node_prod[] = {{"NODE_ENV", "production"},
	                         {"DATABASE_URL", DB_PROD},
	                         {"JWT_SECRET", GOOD_SECRET},
	                         {NULL, NULL}};
	struct kv node_test[] = {{"NODE_ENV", "test"}, {"DATABASE_URL", DB_DEV}, {NULL, NULL}};
	struct kv both[] = {{"APP_ENV", "development"},
	                    {"NODE_ENV", "production"},
	                    {"DATABASE_URL", DB_DEV},
	                    {NULL, NULL}};
	struct kv upper[] = {{"APP_ENV", "Test"},
	                     {"LOG_LEVEL", "DEBUG"},
	                     {"RESULT_VERIFICATION", "Opponent"},
	                     {"DATABASE_URL", DB_DEV},
	                     {NULL, NULL}};

	if (load(node_prod, &c, "NODE_ENV=production with a good secret"))
		is_int(c.env, APP_ENV_PRODUCTION, "NODE_ENV used when APP_ENV is unset");
	else
		ok(0, "NODE_ENV used when APP_ENV is unset");
	if (load(node_test, &c, "NODE_ENV=test"))
		is_int(c.env, APP_ENV_TEST, "NODE_ENV=test selects test");
	else
		ok(0, "NODE_ENV=test selects test");
	if (load(both, &c, "APP_ENV and NODE_ENV both set"))
		is_int(c.env, APP_ENV_DEVELOPMENT, "APP_ENV wins over NODE_ENV");
	else
		ok(0, "APP_ENV wins over NODE_ENV");
	if (load(upper, &c, "enum words in any case"))
		ok(c.env == APP_ENV_TEST && c.log_level == LOG_DEBUG &&
		       c.result_verification == VERIFY_OPPONENT,
		   "Test / DEBUG / Opponent parsed");
	else
		ok(0, "Test / DEBUG / Opponent parsed");
}

static void test_secrets(void)
{
	struct rp_config c;
	struct kv dev_short[] = {{"DATABASE_URL", DB_DEV}, {"JWT_SECRET", "dev"}, {NULL, NULL}};
	struct kv prod[] = {
	    {PROD}, {"DATABASE_URL", DB_PROD}, {"JWT_SECRET", GOOD_SECRET}, {NULL, NULL}};
	struct kv hex32[] = {
	    {PROD},
	    {"DATABASE_URL", DB_PROD},
	    {"JWT_SECRET", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	    {NULL, NULL}};

	if (load(dev_short, &c, "a 3-byte JWT_SECRET in development"))
		ok(c.jwt_secret_len == 3 && memcmp(c.jwt_secret, "dev", 3) == 0,
		   "short dev secret kept");
	else
		ok(0, "short dev secret kept");
	if (load(prod, &c, "a strong JWT_SECRET in production"))
		ok(c.jwt_secret_len == strlen(GOOD_SECRET) &&
		       memcmp(c.jwt_secret, GOOD_SECRET, c.jwt_secret_len) == 0,
		   "production secret kept byte for byte");
	else
		ok(0, "production secret kept byte for byte");
	load(hex32, &c, "openssl rand -hex 32 output in production");
}

static void test_sslmode_ok(void)
{
	static const char *const urls[] = {
	    "postgresql://u:PgPw@db.example.com/rp?sslmode=require",
	    "postgresql://u:PgPw@db.example.com/rp?sslmode=verify-full&connect_timeout=5",
	    "postgres://db.example.com:5432/rp?sslmode=verify-ca",
	    "host=db.example.com dbname=rp sslmode=require",
	    "postgresql:///rp",
	    "postgresql:///rp?host=/var/run/postgresql&sslmode=prefer",
	    "postgresql://%2Fvar%2Frun%2Fpostgresql/rp?sslmode=disable",
	    "postgresql://db.example.com/rp?host=/tmp",
	    "postgresql://127.0.0.1/rp?sslmode=prefer",
	    "postgresql://127.9.8.7:5433/rp",
	    "postgresql://localhost/rp?sslmode=disable",
	    "postgresql://LOCALHOST/rp",
	    "postgresql://[::1]:5432/rp?sslmode=allow",
	    "postgresql://localhost,127.0.0.2:5433/rp",
	    "host=/tmp dbname=rp",
	    "host = localhost port=5432 dbname='rank pulse' sslmode=disable",
	    "host=db.example.com hostaddr=127.0.0.1 dbname=rp",
	    "host=@abstract dbname=rp",
	    "dbname=rp",
	};
	struct kv env[] = {
	    {PROD}, {"JWT_SECRET", GOOD_SECRET}, {"DATABASE_URL", NULL}, {NULL, NULL}};
	struct kv pgsslmode[] = {{PROD},
	                         {"JWT_SECRET", GOOD_SECRET},
	                         {"DATABASE_URL", "postgresql://db.example.com/rp"},
	                         {"PGSSLMODE", "require"},
	                         {NULL, NULL}};
	struct kv pghost[] = {{PROD},
	                      {"JWT_SECRET", GOOD_SECRET},
	                      {"DATABASE_URL", "postgresql:///rp"},
	                      {"PGHOST", "/var/run/postgresql"},
	                      {NULL, NULL}};
	struct rp_config c;
	char name[160];

	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		env[2].value = urls[i];
		snprintf(name, sizeof name, "production DATABASE_URL %s", urls[i]);
		load(env, &c, name);
	}
	load(pgsslmode, &c, "production remote host with PGSSLMODE=require");
	load(pghost, &c, "production empty host with PGHOST a socket directory");
}

static void test_redis_parsing(void)
{
	struct kv env[] = {{"DATABASE_URL", DB_DEV}, {"REDIS_URL", NULL}, {NULL, NULL}};
	struct rp_config c;

	env[1].value = "unix:///var/run/redis/redis.sock?db=3";
	if (load(env, &c, "REDIS_URL unix:///...?db=3"))
		ok(c.redis_is_unix && strcmp(c.redis_path, "/var/run/redis/redis.sock") == 0 &&
		       c.redis_db == 3 && !c.redis_password[0],
		   "unix socket path and db parsed");
	else
		ok(0, "unix socket path and db parsed");

	env[1].value = "unix:/tmp/redis.sock";
	if (load(env, &c, "REDIS_URL unix:/path"))
		ok(c.redis_is_unix && strcmp(c.redis_path, "/tmp/redis.sock") == 0 &&
		       c.redis_db == 0,
		   "unix:/path form parsed");
	else
		ok(0, "unix:/path form parsed");

	env[1].value = "unix:///tmp/redis.sock?password=RdPw%40x&db=2";
	if (load(env, &c, "REDIS_URL unix with ?password=&db="))
		ok(strcmp(c.redis_password, "RdPw@x") == 0 && c.redis_db == 2,
		   "unix password decoded, db 2");
	else
		ok(0, "unix password decoded, db 2");

	env[1].value = "unix://:RdPw5@/tmp/redis.sock";
	if (load(env, &c, "REDIS_URL unix://:password@/path"))
		ok(strcmp(c.redis_password, "RdPw5") == 0 &&
		       strcmp(c.redis_path, "/tmp/redis.sock") == 0,
		   "unix userinfo password parsed");
	else
		ok(0, "unix userinfo password parsed");

	env[1].value = "redis://:RdPw6@redis.local:6380/5";
	if (load(env, &c, "REDIS_URL redis://:password@host:port/db"))
		ok(!c.redis_is_unix && strcmp(c.redis_host, "redis.local") == 0 &&
		       c.redis_port == 6380 && c.redis_db == 5 &&
		       strcmp(c.redis_password, "RdPw6") == 0 && !c.redis_username[0],
		   "host, port, db and password parsed");
	else
		ok(0, "host, port, db and password parsed");

	env[1].value = "redis://alice:RdPw%3A7@[::1]:6379";
	if (load(env, &c, "REDIS_URL redis://user:password@[::1]"))
		ok(strcmp(c.redis_username, "alice") == 0 &&
		       strcmp(c.redis_password, "RdPw:7") == 0 &&
		       strcmp(c.redis_host, "::1") == 0 && c.redis_port == 6379,
		   "user, decoded password, IPv6 host");
	else
		ok(0, "user, decoded password, IPv6 host");

	env[1].value = "redis://:RdPw@8@cache_1/";
	if (load(env, &c, "REDIS_URL with '@' in the password and '_' in the host"))
		ok(strcmp(c.redis_password, "RdPw@8") == 0 &&
		       strcmp(c.redis_host, "cache_1") == 0 && c.redis_db == 0,
		   "last '@' ends the credentials");
	else
		ok(0, "last '@' ends the credentials");
}

static void test_other_values(void)
{
	struct kv env[] = {
	    {"DATABASE_URL", DB_DEV},
	    {"PORT", "65535"},
	    {"WORKERS", "256"},
	    {"FCGI_SOCKET", "/tmp/rp/fcgi.sock"},
	    {"NCHAN_PUBLISH_URL", "http://127.0.0.1:8081"},
	    {"FRONTEND_URL", "https://App.Example.com/app/"},
	    {"ALLOWED_ORIGINS", " https://A.example.com , http://localhost:5173,http://[::1]:3000"},
	    {"ACCESS_TOKEN_TTL", "86400"},
	    {"LOGIN_FAILURE_LIMIT", "3/60"},
	    {"REGISTER_RATE_LIMIT", "100000/86400"},
	    {"RESULT_VERIFICATION", "opponent"},
	    {NULL, NULL},
	};
	struct kv any[] = {{"DATABASE_URL", DB_DEV},
	                   {"ALLOWED_ORIGINS", "*"},
	                   {"NCHAN_PUBLISH_URL", "unix:///run/x/nchan.sock"},
	                   {"PORT", "1"},
	                   {"WORKERS", "1"},
	                   {"ACCESS_TOKEN_TTL", "60"},
	                   {NULL, NULL}};
	struct kv v6[] = {
	    {"DATABASE_URL", DB_DEV}, {"NCHAN_PUBLISH_URL", "http://[::1]"}, {NULL, NULL}};
	struct rp_config c;

	if (load(env, &c, "every variable at a limit")) {
		ok(c.port == 65535 && c.workers == 256 && c.access_token_ttl == 86400,
		   "upper limits kept");
		is_str(c.fcgi_socket, "/tmp/rp/fcgi.sock", "FCGI_SOCKET kept");
		ok(!c.nchan_is_unix && strcmp(c.nchan_host, "127.0.0.1") == 0 &&
		       c.nchan_port == 8081,
		   "NCHAN_PUBLISH_URL http target parsed");
		is_str(c.frontend_origin, "https://app.example.com",
		       "FRONTEND_URL origin, lower case");
		is_str(c.allowed_origins,
		       "https://a.example.com,http://localhost:5173,http://[::1]:3000",
		       "ALLOWED_ORIGINS normalised");
		ok(c.login_failure_limit.count == 3 && c.login_failure_limit.seconds == 60 &&
		       c.register_rate_limit.count == 100000 &&
		       c.register_rate_limit.seconds == 86400,
		   "rate limits parsed");
		is_int(c.result_verification, VERIFY_OPPONENT, "RESULT_VERIFICATION opponent");
		ok(config_origin_allowed(&c, "https://app.example.com", 23),
		   "FRONTEND_URL origin allowed");
		ok(config_origin_allowed(&c, "HTTP://LOCALHOST:5173", 21),
		   "listed origin allowed, any case");
		ok(config_origin_allowed(&c, "http://[::1]:3000", 17),
		   "last listed origin allowed");
		ok(!config_origin_allowed(&c, "https://a.example.co", 20),
		   "prefix of an origin refused");
		ok(!config_origin_allowed(&c, "https://a.example.com.evil.net", 30),
		   "extension of an origin refused");
		ok(!config_origin_allowed(&c, "http://localhost:5174", 21), "other port refused");
		ok(!config_origin_allowed(&c, "", 0), "empty origin refused");
	} else {
		for (int i = 0; i < 14; i++)
			ok(0, "every variable at a limit: skipped");
	}
	if (load(any, &c, "ALLOWED_ORIGINS=* in development and lower limits"))
		ok(c.allow_any_origin && config_origin_allowed(&c, "https://anything.test", 21) &&
		       c.nchan_is_unix && strcmp(c.nchan_path, "/run/x/nchan.sock") == 0 &&
		       c.port == 1 && c.workers == 1 && c.access_token_ttl == 60,
		   "'*' allows any origin; unix:/// nchan path; lower limits kept");
	else
		ok(0, "'*' allows any origin; unix:/// nchan path; lower limits kept");
	if (load(v6, &c, "NCHAN_PUBLISH_URL http://[::1]"))
		ok(strcmp(c.nchan_host, "::1") == 0 && c.nchan_port == 80,
		   "nchan IPv6 loopback, port 80");
	else
		ok(0, "nchan IPv6 loopback, port 80");
}

/* ---- config_describe -------------------------------------------------- */

static char *describe(const struct rp_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	config_describe(c, f);
	fclose(f);
	return buf;
}

static void test_describe(void)
{
	struct kv env[] = {
	    {PROD},
	    {"DATABASE_URL",
	     "postgresql://rp:PgPwA%40b@db.example.com:5432/rp?sslmode=require&password=PgPwB"},
	    {"REDIS_URL", "redis://alice:RdPwC@redis.local:6380/2"},
	    {"JWT_SECRET", GOOD_SECRET},
	    {"ALLOWED_ORIGINS", "https://a.example.com"},
	    {NULL, NULL},
	};
	struct kv env2[] = {
	    {"DATABASE_URL", "host=/tmp password='PgPw D \\' x' dbname=rp"},
	    {"REDIS_URL", "unix://:RdPwE@/tmp/r.sock?db=4"},
	    {NULL, NULL},
	};
	struct kv env3[] = {
	    {"DATABASE_URL", "postgresql://u:PgPw?G@localhost/rp"},
	    {"REDIS_URL", "unix:///tmp/r.sock?db=1&password=RdPwH"},
	    {NULL, NULL},
	};
	struct rp_config c;
	char *out, want[64];

	if (!load(env, &c, "production config for describe") || !(out = describe(&c))) {
		for (int i = 0; i < 4; i++)
			ok(0, "describe: skipped");
	} else {
		ok(!leaked(out), "describe shows no password or secret");
		ok(strstr(out, "DATABASE_URL=postgresql://rp:***@db.example.com:5432/"
		               "rp?sslmode=require&password=***\n") != NULL,
		   "describe redacts both database passwords");
		ok(strstr(out, "REDIS_URL=redis://alice:***@redis.local:6380/2  # tcp redis.local "
		               "port 6380, db 2, password set\n") != NULL,
		   "describe redacts the redis password");
		snprintf(want, sizeof want, "JWT_SECRET=(set, %zu bytes)\n", strlen(GOOD_SECRET));
		ok(strstr(out, want) && strstr(out, "APP_ENV=production\n") &&
		       strstr(out, "ALLOWED_ORIGINS=https://a.example.com\n") &&
		       strstr(out, "LOGIN_FAILURE_LIMIT=5/900\n"),
		   "describe: secret length, env, origins, limits");
		if (leaked(out) || !strstr(out, "***"))
			diag("%s", out);
		free(out);
	}
	if (!load(env2, &c, "conninfo with a quoted password, unix redis with userinfo") ||
	    !(out = describe(&c))) {
		ok(0, "describe: skipped");
		ok(0, "describe: skipped");
	} else {
		ok(!leaked(out) && strstr(out, "DATABASE_URL=host=/tmp password=*** dbname=rp\n") &&
		       strstr(out, "REDIS_URL=unix://:***@/tmp/r.sock?db=4  # unix socket "
		                   "/tmp/r.sock, db 4, password set\n"),
		   "describe redacts quoted conninfo and unix redis passwords");
		ok(strstr(out, "JWT_SECRET=(unset") != NULL, "describe notes an unset JWT_SECRET");
		if (leaked(out))
			diag("%s", out);
		free(out);
	}
	if (!load(env3, &c, "'?' in a database password") || !(out = describe(&c))) {
		ok(0, "describe: skipped");
	} else {
		ok(!leaked(out) && strstr(out, "DATABASE_URL=postgresql://u:***@localhost/rp\n") &&
		       strstr(out, "REDIS_URL=unix:///tmp/r.sock?db=1&password=***"),
		   "describe redacts a password holding '?' and a query password");
		if (leaked(out))
			diag("%s", out);
		free(out);
	}
}

/* ---- env files -------------------------------------------------------- */

static char *write_temp(const char *content, size_t len)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/rp-config-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, content, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

static int getenv_is(const char *name, const char *want)
{
	const char *got = getenv(name);

	if (!got || strcmp(got, want) != 0) {
		diag("%s: got %s%s%s, want \"%s\"", name, got ? "\"" : "", got ? got : "NULL",
		     got ? "\"" : "", want);
		return 0;
	}
	return 1;
}

static void test_env_file(void)
{
	static const char good[] = "# Love Rank Pulse\n"
	                           "\n"
	                           "   \t\n"
	                           "RPT_PLAIN=hello\n"
	                           "export RPT_EXPORTED=yes\n"
	                           "RPT_DQ=\"a b # not a comment\"\n"
	                           "RPT_SQ='single $HOME \"x\"'   # comment after quotes\n"
	                           "RPT_SPACES =  padded value   # trailing comment\n"
	                           "RPT_HASH=abc#def\n"
	                           "RPT_EMPTY=\n"
	                           "RPT_EXISTING=from-file\n"
	                           "RPT_DUP=first\n"
	                           "RPT_DUP=second\n"
	                           "RPT_CRLF=crlf\r\n"
	                           "RPT_NOINTERP=$RPT_PLAIN${RPT_PLAIN}\n"
	                           "\tRPT_INDENT=1\n"
	                           "RPT_EQ=a=b=c\n"
	                           "RPT_LAST=no newline";
	struct {
		const char *content;
		const char *want; /* error must contain this */
	} bad_files[] = {
	    {"RPT_A=1\nthis line has no equals sign sup3rs3cret\n", ":2: missing '='"},
	    {"1BAD=x\n", ":1: invalid key name"},
	    {"BAD-KEY=x\n", ":1: invalid key name"},
	    {"=x\n", ":1: invalid key name"},
	    {"export =x\n", ":1: invalid key name"},
	    {"# ok\nRPT_Q=\"unterminated\n", ":2: unterminated quote"},
	    {"RPT_Q='a' sup3rs3cret\n", ":1: unexpected text"},
	    {"RPT_ATOMIC=1\nRPT_NUL=a\0b\n", ":2: NUL"},
	};
	char err[512];
	char *path;
	enum rp_err rc;
	static char big[CONFIG_ENV_LINE_MAX + 64];

	setenv("RPT_EXISTING", "from-env", 1);
	unsetenv("RPT_DUP");
	path = write_temp(good, sizeof good - 1);
	rc = path ? config_load_env_file(path, err, sizeof err) : RP_EINTERNAL;
	if (!ok(rc == RP_OK, "env file: good file loads"))
		diag("%s", err);
	ok(getenv_is("RPT_PLAIN", "hello") && getenv_is("RPT_EXPORTED", "yes") &&
	       getenv_is("RPT_INDENT", "1"),
	   "env file: plain, export and indented lines");
	ok(getenv_is("RPT_DQ", "a b # not a comment") && getenv_is("RPT_SQ", "single $HOME \"x\""),
	   "env file: double and single quotes kept literally");
	ok(getenv_is("RPT_SPACES", "padded value") && getenv_is("RPT_HASH", "abc#def") &&
	       getenv_is("RPT_EQ", "a=b=c"),
	   "env file: blanks trimmed, ' #' comments, '#' inside a value");
	ok(getenv_is("RPT_EMPTY", "") && getenv_is("RPT_CRLF", "crlf") &&
	       getenv_is("RPT_LAST", "no newline"),
	   "env file: empty value, CRLF, last line without newline");
	ok(getenv_is("RPT_NOINTERP", "$RPT_PLAIN${RPT_PLAIN}"), "env file: no interpolation");
	ok(getenv_is("RPT_EXISTING", "from-env"), "env file: the real environment wins");
	ok(getenv_is("RPT_DUP", "second"), "env file: the last assignment in the file wins");
	if (path)
		unlink(path);

	for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
		size_t len = strlen(bad_files[i].content);
		int pass;

		if (strstr(bad_files[i].want, "NUL"))
			len = sizeof "RPT_ATOMIC=1\nRPT_NUL=a\0b\n" - 1;
		unsetenv("RPT_A");
		unsetenv("RPT_ATOMIC");
		path = write_temp(bad_files[i].content, len);
		rc = path ? config_load_env_file(path, err, sizeof err) : RP_EINTERNAL;
		pass = rc == RP_EINVAL && path && strncmp(err, path, strlen(path)) == 0 &&
		       strstr(err, bad_files[i].want) && !strstr(err, "sup3rs3cret") &&
		       !getenv("RPT_A") && !getenv("RPT_ATOMIC");
		if (!ok(pass, "env file: rejects (%s), sets nothing", bad_files[i].want + 4))
			diag("rc=%d err=\"%s\"", rc, err);
		if (path)
			unlink(path);
	}

	/* A line of exactly CONFIG_ENV_LINE_MAX bytes is fine; one more is not. */
	memcpy(big, "RPT_BIG=", 8);
	memset(big + 8, 'v', CONFIG_ENV_LINE_MAX - 8);
	big[CONFIG_ENV_LINE_MAX] = '\n';
	path = write_temp(big, CONFIG_ENV_LINE_MAX + 1);
	rc = path ? config_load_env_file(path, err, sizeof err) : RP_EINTERNAL;
	ok(rc == RP_OK && getenv("RPT_BIG") && strlen(getenv("RPT_BIG")) == CONFIG_ENV_LINE_MAX - 8,
	   "env file: a line of exactly 4096 bytes loads");
	if (path)
		unlink(path);
	unsetenv("RPT_BIG");
	memcpy(big, "RPT_BIG=", 8);
	memset(big + 8, 'v', CONFIG_ENV_LINE_MAX - 7);
	big[CONFIG_ENV_LINE_MAX + 1] = '\n';
	path = write_temp(big, CONFIG_ENV_LINE_MAX + 2);
	rc = path ? config_load_env_file(path, err, sizeof err) : RP_EINTERNAL;
	ok(rc == RP_EINVAL && strstr(err, ":1: line too long") && !getenv("RPT_BIG"),
	   "env file: a line of 4097 bytes is refused");
	if (path)
		unlink(path);

	rc = config_load_env_file("/nonexistent/rp-config-test.env", err, sizeof err);
	ok(rc == RP_EINVAL && strncmp(err, "/nonexistent/rp-config-test.env: cannot open", 44) == 0,
	   "env file: a missing file is an error naming it");
	/* A reload (SIGHUP) lets the file win over the environment it finds. */
	setenv("RPT_RELOAD", "from-environment", 1);
	static const char reload_file[] = "RPT_RELOAD=from-file\n";
	path = write_temp(reload_file, sizeof(reload_file) - 1);
	rc = path ? config_load_env_file(path, err, sizeof err) : RP_EINTERNAL;
	ok(rc == RP_OK && strcmp(getenv("RPT_RELOAD"), "from-environment") == 0,
	   "env file at start: the environment wins");
	rc = path ? config_reload_env_file(path, err, sizeof err) : RP_EINTERNAL;
	ok(rc == RP_OK && strcmp(getenv("RPT_RELOAD"), "from-file") == 0,
	   "env file on reload: the file wins");
	if (path)
		unlink(path);
	unsetenv("RPT_RELOAD");
}

static void test_names(void)
{
	ok(strcmp(app_env_name(APP_ENV_PRODUCTION), "production") == 0 &&
	       strcmp(app_env_name(APP_ENV_MAX), "unknown") == 0 &&
	       strcmp(log_level_name(LOG_WARN), "warn") == 0 &&
	       strcmp(log_level_name(LOG_LEVEL_MAX), "unknown") == 0,
	   "app_env_name / log_level_name");
}

#define N_TOO_LONG 5
#define N_FIXED    116

int main(void)
{
	plan((int)(N_BAD + N_TOO_LONG + N_FIXED));
	test_bad_table();
	test_too_long();
	test_defaults();
	test_env_selection();
	test_secrets();
	test_sslmode_ok();
	test_redis_parsing();
	test_other_values();
	test_describe();
	test_env_file();
	test_names();
	return done_testing();
}
