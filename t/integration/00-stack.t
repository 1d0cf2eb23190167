#!/usr/bin/perl
# 00-stack.t — the throwaway stack is up: every component has a live pid,
# the master runs WORKERS workers, /api/health is healthy with all three
# services, /api/health/ready is ready at the current schema version and
# /api/health/live answers from a worker.

use strict;
use warnings;
use Test::More;
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;

for my $s (qw(postgres redis app nginx)) {
	ok(Stack::service_pid($s), "$s is running");
}

my $workers = Stack::env('WORKERS') || 4;
my ($master, @workers) = Stack::app_pids();
ok($master, 'the app master pid is live');
is(scalar @workers, $workers, "the master has $workers workers");

# Health can lag a second behind a fresh start (per-worker cache).
ok(Stack::wait_healthy(15), 'GET /api/health becomes healthy')
	or BAIL_OUT('the stack is not healthy; nothing else can pass');

{
	my ($code, $j, $tx) = Stack::get_json('/api/health');
	is($code, 200, 'health: 200');
	like($tx->res->headers->content_type // '', qr{^application/json\b}, 'health: JSON');
	is($j->{status}, 'healthy', 'health: healthy');
	is_deeply($j->{services},
		{ database => 'connected', redis => 'connected', websocket => 'running' },
		'health: database, redis and websocket up');
	like($j->{timestamp} // '', $ISO, 'health: ISO-8601 UTC timestamp');
	like($j->{uptime} // '', qr/^\d+$/, 'health: uptime in whole seconds');
	like($j->{version} // '', qr/^\d+\.\d+\.\d+/, 'health: version');

	my ($rc, $out) = Stack::run_cmd([ Stack::env('RANKPULSE_BIN'), 'version' ]);
	is($rc, 0, 'rankpulse version exits 0');
	like($out, qr/\Q$j->{version}\E/, 'health reports the version of the binary');
}

{
	my ($code, $j) = Stack::get_json('/api/health/ready');
	is($code, 200, 'ready: 200');
	is($j->{status}, 'ready', 'ready: ready');
	is_deeply($j->{checks}, { database => 'connected', migrations => 'current' },
		'ready: database connected, migrations current');
	my $db_version = Stack::psql('SELECT max(version) FROM schema_migrations');
	ok($db_version > 0, "schema_migrations has rows (version $db_version)");
	is($j->{schemaVersion}, $db_version, 'ready: schemaVersion is the applied version');
}

{
	my ($code, $j) = Stack::get_json('/api/health/live');
	is($code, 200, 'live: 200');
	is($j->{status}, 'alive', 'live: alive');
	my ($m, @w) = Stack::app_pids();
	ok((grep { $_ == ($j->{pid} // -1) } @w), "live: pid $j->{pid} is one of the workers")
		or diag "workers: @w";
}

done_testing();
