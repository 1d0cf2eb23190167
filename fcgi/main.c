/*
 * main.c — the rankpulse command line: one program, several subcommands.
 *
 *   serve         prefork FastCGI server (fcgi/master.c)
 *   migrate       apply embedded schema migrations
 *   seed          deterministic demo data
 *   rebuild-cache rebuild the Redis leaderboard ranks from PostgreSQL
 *   check-config  validate the environment, print it redacted
 *   version       version and git revision
 *
 * Every command reads configuration from the environment, optionally
 * completed by --env-file (the real environment wins).
 */
#define _POSIX_C_SOURCE 200809L
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "core/version.h"
#include "git_rev.h"
#include "fcgi/master.h"
#include "api/app.h"
#include "leaderboard/ranks.h"
#include "store/migrate.h"
#include "store/seed.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

static int cmd_serve(int argc, char **argv);
static int cmd_migrate(int argc, char **argv);
static int cmd_seed(int argc, char **argv);
static int cmd_rebuild_cache(int argc, char **argv);
static int cmd_check_config(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
	{"serve", cmd_serve, "run the FastCGI server (master + workers)",
	 "rankpulse serve [--env-file FILE]\n"
	 "  Listens on FCGI_SOCKET (or a socket passed by systemd), forks WORKERS workers.\n"
	 "  SIGTERM: drain and exit within 10 s.  SIGHUP: reload config, replace workers.\n"},
	{"migrate", cmd_migrate, "apply pending database migrations",
	 "rankpulse migrate [--env-file FILE]\n"
	 "  Applies the migrations built into this binary to DATABASE_URL.\n"},
	{"seed", cmd_seed, "create deterministic demo players",
	 "rankpulse seed --players N [--if-empty] [--env-file FILE]\n"
	 "  Creates players demo000001..N and an admin account (password " SEED_DEMO_PASSWORD ").\n"},
	{"rebuild-cache", cmd_rebuild_cache, "rebuild the Redis leaderboard ranks from PostgreSQL",
	 "rankpulse rebuild-cache [--env-file FILE]\n"
	 "  Starts a new cache epoch, builds the all-time and current-season boards and\n"
	 "  drops the keys of older epochs. Readers use PostgreSQL until a board is ready.\n"},
	{"check-config", cmd_check_config, "validate configuration and print it (secrets redacted)",
	 "rankpulse check-config [--env-file FILE]\n"
	 "  Exits non-zero and names the bad variable when the configuration is invalid.\n"},
	{"version", cmd_version, "print version and git revision", "rankpulse version\n"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: rankpulse COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nrankpulse COMMAND --help shows a command's options.\n"
		     "Configuration comes from the environment; see .env.example.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Common option: --env-file FILE. Returns the index of the first unparsed arg. */
static int parse_env_file(int argc, char **argv, const char **env_file)
{
	*env_file = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
			*env_file = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(char *));
			return argc - 2;
		}
		if (strncmp(argv[i], "--env-file=", 11) == 0) {
			*env_file = argv[i] + 11;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(char *));
			return argc - 1;
		}
	}
	return argc;
}

static struct rp_config config;

/* Load env file + environment into config; prints the error and returns 2. */
static int load_config(int *argc, char **argv, const char **env_file)
{
	char err[512];
	*argc = parse_env_file(*argc, argv, env_file);
	if (*env_file != NULL && config_load_env_file(*env_file, err, sizeof(err)) != RP_OK) {
		fprintf(stderr, "rankpulse: %s\n", err);
		return 2;
	}
	if (config_load(&config, config_getenv, NULL, err, sizeof(err)) != RP_OK) {
		fprintf(stderr, "rankpulse: invalid configuration: %s\n", err);
		return 2;
	}
	log_set_level((int)config.log_level);
	return 0;
}

static int no_extra_args(int argc, char **argv, const char *cmd)
{
	if (argc > 1) {
		fprintf(stderr, "rankpulse %s: unexpected argument '%s' (see rankpulse %s --help)\n",
			cmd, argv[1], cmd);
		return 2;
	}
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	/* Requests allocate and free many small blocks (json-c, hiredis) and a
	 * few larger ones; with fastbins glibc consolidates them on every larger
	 * malloc (5 % of a worker's CPU on board reads). tcache still serves the
	 * small sizes. Inherited by the workers. */
	if (getenv("RANKPULSE_MALLOC_FASTBINS") == NULL)
		mallopt(M_MXFAST, 0);
	const char *env_file;
	int rc = load_config(&argc, argv, &env_file);
	if (rc != 0 || (rc = no_extra_args(argc, argv, "serve")) != 0)
		return rc;
	if (sodium_init() < 0) {
		fprintf(stderr, "rankpulse: libsodium init failed\n");
		return 1;
	}
	if (config.jwt_secret_len == 0) {
		/* development/test only (config refuses this in production) */
		randombytes_buf(config.jwt_secret, 32);
		config.jwt_secret_len = 32;
		log_warn("JWT_SECRET is not set: using a random secret for this run; tokens will "
			 "not survive a restart");
	}
	return master_run(&config, env_file);
}

static int cmd_migrate(int argc, char **argv)
{
	const char *env_file;
	int rc = load_config(&argc, argv, &env_file);
	if (rc != 0 || (rc = no_extra_args(argc, argv, "migrate")) != 0)
		return rc;
	if (sodium_init() < 0)
		return 1;
	return migrate_run(config.database_url, stdout) == RP_OK ? 0 : 1;
}

static int cmd_seed(int argc, char **argv)
{
	const char *env_file;
	int rc = load_config(&argc, argv, &env_file);
	if (rc != 0)
		return rc;
	long players = -1;
	bool if_empty = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--players") == 0 && i + 1 < argc) {
			char *end;
			players = strtol(argv[++i], &end, 10);
			if (*end != '\0' || end == argv[i])
				players = -1;
		} else if (strcmp(argv[i], "--if-empty") == 0) {
			if_empty = true;
		} else {
			fprintf(stderr, "rankpulse seed: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (players < 0 || players > SEED_MAX_PLAYERS) {
		fprintf(stderr, "rankpulse seed: --players N (0..%ld) is required\n", SEED_MAX_PLAYERS);
		return 2;
	}
	return seed_players(config.database_url, players, if_empty, stdout) == RP_OK ? 0 : 1;
}

static int cmd_rebuild_cache(int argc, char **argv)
{
	const char *env_file;
	int rc = load_config(&argc, argv, &env_file);
	if (rc != 0 || (rc = no_extra_args(argc, argv, "rebuild-cache")) != 0)
		return rc;
	if (sodium_init() < 0)
		return 1;
	struct app app;
	if (app_init(&app, &config, NULL) != RP_OK) {
		fprintf(stderr, "rankpulse rebuild-cache: cannot initialise\n");
		return 1;
	}
	enum rp_err e = ranks_rebuild_all(&app, stdout);
	app_free(&app);
	return e == RP_OK ? 0 : 1;
}

static int cmd_check_config(int argc, char **argv)
{
	const char *env_file;
	int rc = load_config(&argc, argv, &env_file);
	if (rc != 0 || (rc = no_extra_args(argc, argv, "check-config")) != 0)
		return rc;
	config_describe(&config, stdout);
	printf("configuration OK\n");
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	int rc = no_extra_args(argc, argv, "version");
	if (rc != 0)
		return rc;
	printf("rankpulse %s (git %s)\n", RP_VERSION, RP_GIT_REV);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv);
	const struct command *c = find_command(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "rankpulse: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(c->usage, stdout);
			return 0;
		}
	}
	return c->run(argc - 1, argv + 1);
}
