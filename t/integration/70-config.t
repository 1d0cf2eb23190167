#!/usr/bin/perl
# 70-config.t — the command line and `rankpulse check-config`, run with a
# controlled environment (env -i):
#   * a valid configuration exits 0 and prints it with secrets redacted;
#   * each bad variable exits non-zero with a one-line message naming it
#     ("rankpulse: invalid configuration: VAR: ..."), rediss:// points at the
#     stunnel recipe, production refuses a short/low-entropy JWT_SECRET and a
#     remote DATABASE_URL without sslmode=require — and no secret value is
#     ever printed;
#   * --env-file, `version`, `--help`, `CMD --help`, unknown command -> 2.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempfile);
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $BIN = Stack::env('RANKPULSE_BIN');
ok(-x $BIN, "the binary under test: $BIN") or BAIL_OUT("no binary at $BIN");

my %BASE = (
	PATH         => '/usr/local/bin:/usr/bin:/bin',
	DATABASE_URL => Stack::env('DATABASE_URL'),
	REDIS_URL    => Stack::env('REDIS_URL'),
	APP_ENV      => 'test',
	JWT_SECRET   => Stack::env('JWT_SECRET'),
	FCGI_SOCKET  => '/tmp/rankpulse-70-config.sock',
);

# rp(\%overrides, @args) -> (exit status, stdout, stderr); an undef override
# removes the variable.
sub rp {
	my ($over, @args) = @_;
	my %e = (%BASE, %$over);
	my @env = map { "$_=$e{$_}" } grep { defined $e{$_} } sort keys %e;
	return Stack::run_cmd([ 'env', '-i', @env, $BIN, @args ]);
}

# refused($name, \%env, $var, $like, @secrets): check-config must fail naming $var.
sub refused {
	my ($name, $over, $var, $like, @secrets) = @_;
	my ($rc, $out, $err) = rp($over, 'check-config');
	isnt($rc, 0, "$name: check-config exits non-zero");
	like($err, qr/^rankpulse: (?:invalid configuration: )?\Q$var\E: /m, "$name: the message names $var");
	like($err, $like, "$name: explains why") if $like;
	unlike($out, qr/configuration OK/, "$name: does not claim OK");
	for my $s (grep { defined && length } @secrets) {
		ok(index("$out$err", $s) < 0, "$name: the secret value is not printed");
	}
}

# ---------------------------------------------------------------- valid

{
	my ($rc, $out, $err) = rp({}, 'check-config');
	is($rc, 0, 'the stack configuration is valid') or diag $err;
	like($out, qr/configuration OK/, 'prints "configuration OK"');
	like($out, qr/^JWT_SECRET=/m, 'lists JWT_SECRET');
	ok(index("$out$err", $BASE{JWT_SECRET}) < 0, 'but never its value');
}

{
	my $dsn = 'postgresql://u:S3cretPw9@db.example.com/rp?sslmode=require';
	my ($rc, $out, $err) = rp({ APP_ENV => 'production', DATABASE_URL => $dsn,
		REDIS_URL => 'redis://:R3disPw9@127.0.0.1:6379/0' }, 'check-config');
	is($rc, 0, 'production with sslmode=require is valid') or diag $err;
	ok(index("$out$err", 'S3cretPw9') < 0, 'the database password is redacted');
	ok(index("$out$err", 'R3disPw9') < 0, 'the redis password is redacted');
}

for my $ok (
	[ 'production, loopback database without sslmode', { APP_ENV => 'production',
		DATABASE_URL => 'postgresql://rp@127.0.0.1/rp' } ],
	[ 'production, unix-socket database', { APP_ENV => 'production' } ],
	[ 'NODE_ENV accepted for APP_ENV', { APP_ENV => undef, NODE_ENV => 'production' } ],
	[ 'redis over a unix socket', { REDIS_URL => 'unix:///run/redis/redis.sock' } ],
	[ 'LOG_LEVEL debug', { LOG_LEVEL => 'debug' } ],
	[ 'WORKERS 256', { WORKERS => 256 } ],
) {
	my ($name, $over) = @$ok;
	my ($rc, $out, $err) = rp($over, 'check-config');
	is($rc, 0, "$name: valid") or diag $err;
}
{
	my ($rc, $out) = rp({ APP_ENV => undef, NODE_ENV => 'production' }, 'check-config');
	like($out, qr/^APP_ENV=production$/m, 'NODE_ENV=production becomes APP_ENV=production');
}

# ---------------------------------------------------------------- invalid

refused('rediss://', { REDIS_URL => 'rediss://:pw@redis.example.com:6380' }, 'REDIS_URL',
	qr/stunnel/);
refused('redis URL of another scheme', { REDIS_URL => 'http://x' }, 'REDIS_URL');

my $short = 'Sh0rtSecret-70cfg';
refused('production with a short JWT_SECRET', { APP_ENV => 'production', JWT_SECRET => $short },
	'JWT_SECRET', qr/short|32/, $short);
my $flat = 'ab' x 24;
refused('production with a low-entropy JWT_SECRET', { APP_ENV => 'production', JWT_SECRET => $flat },
	'JWT_SECRET', undef, $flat);
refused('production without JWT_SECRET', { APP_ENV => 'production', JWT_SECRET => undef },
	'JWT_SECRET');
refused('NODE_ENV=production with a short JWT_SECRET',
	{ APP_ENV => undef, NODE_ENV => 'production', JWT_SECRET => $short }, 'JWT_SECRET', undef, $short);

refused('production, remote database without sslmode',
	{ APP_ENV => 'production', DATABASE_URL => 'postgresql://u:Pw0rdX70@db.example.com/rp' },
	'DATABASE_URL', qr/sslmode/, 'Pw0rdX70');
refused('production, remote database with sslmode=prefer',
	{ APP_ENV => 'production', DATABASE_URL => 'postgresql://db.example.com/rp?sslmode=prefer' },
	'DATABASE_URL', qr/sslmode/);
refused('production, keyword DSN without sslmode',
	{ APP_ENV => 'production', DATABASE_URL => 'host=db.example.com dbname=rp password=KwPw0rd70' },
	'DATABASE_URL', undef, 'KwPw0rd70');
refused('DATABASE_URL unset', { DATABASE_URL => undef }, 'DATABASE_URL');
refused('DATABASE_URL of another scheme', { DATABASE_URL => 'mysql://x/y' }, 'DATABASE_URL');

refused('unknown APP_ENV', { APP_ENV => 'bogus' }, 'APP_ENV');
refused('unknown LOG_LEVEL', { LOG_LEVEL => 'loud' }, 'LOG_LEVEL');
refused('WORKERS=0', { WORKERS => '0' }, 'WORKERS');
refused('WORKERS=257', { WORKERS => '257' }, 'WORKERS');
refused('WORKERS=abc', { WORKERS => 'abc' }, 'WORKERS');
refused('relative FCGI_SOCKET', { FCGI_SOCKET => 'relative.sock' }, 'FCGI_SOCKET');

# ---------------------------------------------------------------- --env-file

{
	my ($fh, $file) = tempfile('rp-70-config-XXXXXX', TMPDIR => 1, UNLINK => 1);
	print $fh "# comment\nWORKERS=zero\n";
	close $fh;
	my ($rc, $out, $err) = rp({}, 'check-config', '--env-file', $file);
	isnt($rc, 0, '--env-file with a bad WORKERS: non-zero');
	like($err, qr/^rankpulse: (?:invalid configuration: )?WORKERS: /m, '--env-file: names WORKERS');

	my ($fh2, $file2) = tempfile('rp-70-config-XXXXXX', TMPDIR => 1, UNLINK => 1);
	print $fh2 "APP_ENV=production\nJWT_SECRET=$short\n";
	close $fh2;
	($rc, $out, $err) = rp({ APP_ENV => undef, JWT_SECRET => undef }, 'check-config',
		'--env-file', $file2);
	isnt($rc, 0, '--env-file with a short production secret: non-zero');
	like($err, qr/JWT_SECRET/, '--env-file: names JWT_SECRET');
	ok(index("$out$err", $short) < 0, '--env-file: the secret value is not printed');

	($rc, $out, $err) = rp({}, 'check-config', '--env-file', "$file.missing");
	isnt($rc, 0, '--env-file with a missing file: non-zero');
	like($err, qr/\Q$file.missing\E/, '--env-file: names the missing file');
}

# ---------------------------------------------------------------- commands

{
	my ($rc, $out, $err) = rp({}, 'version');
	is($rc, 0, 'rankpulse version: exit 0');
	like($out, qr/^rankpulse \d+\.\d+\.\d+/, 'rankpulse version: "rankpulse X.Y.Z"');

	($rc, $out, $err) = rp({}, '--help');
	is($rc, 0, 'rankpulse --help: exit 0');
	for my $cmd (qw(serve migrate seed rebuild-cache check-config version)) {
		like($out, qr/^\s+\Q$cmd\E\s/m, "--help lists $cmd");
		my ($crc, $cout, $cerr) = rp({}, $cmd, '--help');
		is($crc, 0, "rankpulse $cmd --help: exit 0");
		like("$cout$cerr", qr/rankpulse \Q$cmd\E/, "rankpulse $cmd --help: shows its usage");
	}

	($rc, $out, $err) = rp({}, 'nope');
	is($rc, 2, 'rankpulse nope: exit 2');
	like($err, qr/unknown command/, 'rankpulse nope: says unknown command');

	($rc, $out, $err) = rp({});
	is($rc, 2, 'rankpulse without a command: exit 2');

	($rc, $out, $err) = rp({}, 'version', 'extra');
	is($rc, 2, 'rankpulse version extra: exit 2');
}

done_testing();
