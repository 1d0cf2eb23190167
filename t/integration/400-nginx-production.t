#!/usr/bin/perl
# 400-nginx-production.t — the production nginx.conf, for real:
#   scripts/render-nginx.sh renders it (CORS from an env file, a self-signed
#   certificate, high ports on 127.0.0.1, pid/logs/temp/cache and the nchan
#   publisher socket in a temp dir, FastCGI to the RUNNING test stack's app
#   socket); `nginx -t` accepts it; nginx runs it as the stack user; then,
#   through TLS: API answers, HTTP→HTTPS redirect, TLS 1.2/1.3 only with
#   forward-secret AEAD suites, unknown SNI refused, HSTS / nosniff /
#   Referrer-Policy / X-Frame-Options / CSP, CORS allow-list (simple,
#   preflight, microcached reads, nchan), request id propagation to the app
#   and both logs, gzip for JSON but not for tokens, 64 KiB body limit as
#   problem+json 413 (HTTP/1.1 only: nginx #1356), metrics loopback-only,
#   limit_req 429 problem+json with Retry-After (auth zone and API zone), a
#   WebSocket over TLS (101, correct accept key, a frame published on this
#   nginx's own publisher socket arrives, clean close), and log rotation with
#   conf/logrotate/rankpulse-nginx (postrotate makes nginx reopen).
#   The render refuses bad origins and '*' in production.
# State restored: the temp nginx is stopped, the players this file adds
# leave the boards (END).

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use IO::Select;
use IO::Socket::INET;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use IPC::Open3 qw(open3);
use MIME::Base64 qw(encode_base64);
use Digest::SHA qw(sha1);
use POSIX ();
use Symbol qw(gensym);
use Time::HiRes qw(sleep time);
use Digest::MD5 qw(md5_hex);
use File::Path qw(remove_tree);
use Mojo::JSON qw(decode_json encode_json);
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $REPO   = Stack::repo();
my $USER   = Stack::env('STACK_USER');
my $AS_ROOT = $> == 0 && $USER ne 'root';
my ($UID, $GID) = (getpwnam $USER)[2, 3];
my $GROUP  = getgrgid($GID) // $USER;
for my $tool (qw(nginx openssl curl)) {
	my ($rc) = Stack::run_cmd([ 'sh', '-c', "command -v $tool" ]);
	BAIL_OUT("$tool is not installed (scripts/deps.sh installs it)") if $rc != 0;
}

# as_user(@cmd): the command, run as the stack user (sockets are private to it).
sub as_user {
	return @_ unless $AS_ROOT;
	return ('setpriv', "--reuid=$UID", "--regid=$GID", '--init-groups', '--', @_);
}
sub run_as { my ($cmd, $in) = @_; return Stack::run_cmd([ as_user(@$cmd) ], $in) }

sub free_port {
	my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0,
		Proto => 'tcp') or die "no free port: $!";
	return $s->sockport;
}

my $T = tempdir('t400-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $T;
chown $UID, $GID, $T if $AS_ROOT;
my ($P_TLS, $P_HTTP) = (free_port(), free_port());
$P_HTTP = free_port() while $P_HTTP == $P_TLS;
my $CERT = "$T/cert.pem";
my $KEY  = "$T/key.pem";
my $STATE = "$T/state";
my $CONF  = "$T/conf";
my $NCHAN = "$T/nchan.sock";
# the microcache on tmpfs (--cache-dir), where this machine has one
my $SHM_OK = (`stat -f -c %T /dev/shm 2>/dev/null` // '') =~ /^tmpfs/ && -w '/dev/shm';
my $CACHE = $SHM_OK ? "/dev/shm/t400-cache-$$-" . int(rand 1e6) : "$STATE/cache";
my $NGINX_PID;
my @RETIRE;

END {
	local $?;
	remove_tree($CACHE) if $CACHE && $CACHE =~ m{^/dev/shm/t400-cache-};
	if (my $pid = nginx_pid()) {
		kill 'QUIT', $pid;
		Stack::wait_for(sub { !kill 0, $pid }, 5, 0.05) or kill 'KILL', $pid;
	}
	if (@RETIRE) {
		eval {
			Stack::psql("WITH p AS (UPDATE players SET is_active = false WHERE id IN ("
				. join(',', map {"'$_'"} @RETIRE) . ") RETURNING id) UPDATE leaderboard_entries "
				. "SET is_active = false WHERE player_id IN (SELECT id FROM p)");
			Stack::T::invalidate_boards();
		};
	}
}

sub nginx_pid {
	open my $fh, '<', "$STATE/nginx.pid" or return undef;
	my ($pid) = (<$fh> // '') =~ /(\d+)/;
	return $pid && kill(0, $pid) ? $pid : undef;
}

# ---------------------------------------------------------------- setup

my ($rc, $out, $err) = Stack::run_cmd([ 'openssl', 'req', '-x509', '-newkey', 'ec',
	'-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', $KEY, '-out', $CERT,
	'-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1' ]);
is($rc, 0, 'self-signed certificate') or diag $err;
chown $UID, $GID, $KEY, $CERT if $AS_ROOT;

sub write_file {
	my ($path, $text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	chown $UID, $GID, $path if $AS_ROOT;
}

my $FCGI = Stack::env('FCGI_SOCKET');
write_file("$T/app.env", <<"EOF");
# an app env file as an operator writes it
APP_ENV=production
FCGI_SOCKET=$FCGI
ALLOWED_ORIGINS=https://app.example.test, http://localhost:5173  # two origins
FRONTEND_URL="https://front.example.test/some/path"
EOF

my @RENDER = ("$REPO/scripts/render-nginx.sh", '--env-file', "$T/app.env", '--out', $CONF,
	'--state-dir', $STATE, '--https-listen', "127.0.0.1:$P_TLS", '--http-listen', "127.0.0.1:$P_HTTP",
	'--nchan-socket', $NCHAN, '--www', Stack::env('STACK_DIR') . '/www', '--cert', $CERT,
	'--key', $KEY, '--server-name', 'localhost', ($SHM_OK ? ('--cache-dir', $CACHE) : ()));

# Refusals first: nothing may be written.
write_file("$T/bad.env", "APP_ENV=production\nALLOWED_ORIGINS=https://ok.test,https://evil.test/;x\n");
($rc, $out, $err) = run_as([ @RENDER[0 .. 0], '--env-file', "$T/bad.env", @RENDER[3 .. $#RENDER] ]);
isnt($rc, 0, 'render refuses an origin with a path / nginx syntax');
like($err, qr/ALLOWED_ORIGINS: 'https:\/\/evil\.test\/;x' is not an origin/, '... naming it');
write_file("$T/star.env", "APP_ENV=production\nALLOWED_ORIGINS=*\n");
($rc, $out, $err) = run_as([ @RENDER[0 .. 0], '--env-file', "$T/star.env", @RENDER[3 .. $#RENDER] ]);
isnt($rc, 0, "render refuses ALLOWED_ORIGINS='*' in production");
ok(!-e "$CONF/nginx.conf", 'nothing was written by the refused renders');

($rc, $out, $err) = run_as(\@RENDER);
is($rc, 0, 'render-nginx.sh renders the production config (and its own nginx -t passes)')
	or diag $err;
my $locations = do { local (@ARGV, $/) = ("$CONF/rankpulse/rankpulse-locations.conf"); <> } // '';
my $main      = do { local (@ARGV, $/) = ("$CONF/nginx.conf"); <> } // '';
my $cors      = do { local (@ARGV, $/) = ("$CONF/rankpulse/cors-origins.conf"); <> } // '';
like($locations, qr/^\s*fastcgi_keep_conn off;/m, 'fastcgi_keep_conn off');
like($locations, qr/fastcgi_pass unix:\Q$FCGI\E;/, 'fastcgi_pass to the FCGI_SOCKET of the env file');
unlike($main . $locations, qr/\@[A-Z_]+\@/, 'no placeholder left');
like($main, qr/^\s*fastcgi_cache_path \Q$CACHE\E .*keys_zone=rp_micro:/m,
	"the microcache in $CACHE" . ($SHM_OK ? ' (--cache-dir, tmpfs)' : ''));
like($main, qr/fastcgi_cache_path [^;]*inactive=2s[^;]*manager_files=\d+/,
	'... entries dropped 2 s after their last use, the manager keeps up with one-off keys');
like($locations, qr/^\s*fastcgi_cache_min_uses 2;/m, 'fastcgi_cache_min_uses 2 (one-off keys are never stored)');
like($main, qr/listen unix:\Q$NCHAN\E;/, 'the publisher server listens on the rendered unix socket only');
is_deeply([ sort $cors =~ /^"([^"]+)" \$http_origin;$/mg ],
	[ 'http://localhost:5173', 'https://app.example.test', 'https://front.example.test' ],
	'CORS map: ALLOWED_ORIGINS + the origin of FRONTEND_URL');

($rc, $out, $err) = run_as([ 'nginx', '-t', '-p', "$STATE/", '-c', "$CONF/nginx.conf" ]);
is($rc, 0, 'nginx -t accepts the rendered nginx.conf') or diag $err;
like($err, qr/test is successful/, '... "test is successful"');

($rc, $out, $err) = run_as([ 'nginx', '-p', "$STATE/", '-c', "$CONF/nginx.conf" ]);
is($rc, 0, 'nginx starts (as the stack user)') or diag $err;
ok(Stack::wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$P_TLS", Timeout => 1) }, 10),
	"listening on 127.0.0.1:$P_TLS");
$NGINX_PID = nginx_pid();

# ---------------------------------------------------------------- helpers

# https($path, method => M, headers => {...}, body_file => F, interface => A,
#       http => 'http2'|'http1.1', url => full URL)
#   -> {code, version, h => {lc name => [values]}, body}
my $N = 0;
sub https {
	my ($path, %o) = @_;
	$N++;
	my ($hf, $bf) = ("$T/h$N", "$T/b$N");
	my @cmd = ('curl', '-sS', '--max-time', '8', '--cacert', $CERT,
		'--resolve', "localhost:$P_TLS:127.0.0.1", '-D', $hf, '-o', $bf,
		'-w', '%{http_code} %{http_version}', '-H', 'Expect:');
	push @cmd, '--' . ($o{http} // 'http1.1');
	push @cmd, '-X', $o{method} if $o{method};
	push @cmd, '--interface', $o{interface} if $o{interface};
	push @cmd, '--data-binary', "\@$o{body_file}" if $o{body_file};
	push @cmd, '--data-binary', $o{body} if defined $o{body};
	push @cmd, map { ('-H', "$_: $o{headers}{$_}") } sort keys %{ $o{headers} // {} };
	push @cmd, $o{url} // "https://localhost:$P_TLS$path";
	my ($rc, $w, $e) = Stack::run_cmd(\@cmd);
	my %r = (rc => $rc, err => $e, h => {});
	@r{qw(code version)} = split / /, $w;
	$r{code} //= 0;
	if (open my $fh, '<', $hf) {
		my @blocks = split /\r?\n\r?\n/, do { local $/; <$fh> } // '';
		my $last = (grep { /\S/ } @blocks)[-1] // '';
		for my $line (split /\r?\n/, $last) {
			push @{ $r{h}{ lc $1 } }, $2 if $line =~ /^([^:\s]+):\s*(.*?)\s*$/;
		}
	}
	$r{body} = do { local (@ARGV, $/) = ($bf); <> } // '';
	unlink $hf, $bf;
	return \%r;
}
sub hdr { my ($r, $n) = @_; my $v = $r->{h}{ lc $n }; return $v ? join(', ', @$v) : undef }
sub hcount { my ($r, $n) = @_; return scalar @{ $r->{h}{ lc $n } // [] } }
sub json_of { my ($r) = @_; return eval { decode_json($r->{body}) } }

# The security headers every answer of this server carries.
sub security_headers_ok {
	my ($r, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @bad;
	push @bad, 'HSTS' unless (hdr($r, 'Strict-Transport-Security') // '') =~ /^max-age=(\d+); includeSubDomains$/ && $1 >= 31536000;
	push @bad, 'nosniff' unless (hdr($r, 'X-Content-Type-Options') // '') eq 'nosniff';
	push @bad, 'Referrer-Policy' unless (hdr($r, 'Referrer-Policy') // '') eq 'no-referrer';
	push @bad, 'X-Frame-Options' unless (hdr($r, 'X-Frame-Options') // '') eq 'DENY';
	push @bad, 'CSP' unless defined hdr($r, 'Content-Security-Policy');
	push @bad, 'X-Request-Id (' . hcount($r, 'X-Request-Id') . ')' unless hcount($r, 'X-Request-Id') == 1;
	ok(!@bad, "$what: security headers and one X-Request-Id") or diag "missing/bad: @bad";
}

# ---------------------------------------------------------------- basics

my $r = https('/api/health/live');
is($r->{code}, 200, 'GET /api/health/live over TLS → 200 from the stack\'s app');
is($r->{version}, '1.1', '... over HTTP/1.1');
is((json_of($r) // {})->{status}, 'alive', '... body from the app');
security_headers_ok($r, '/api/health/live');
is(hdr($r, 'Content-Security-Policy'), "default-src 'none'; frame-ancestors 'none'", 'JSON answers: CSP default-src none');
like(hdr($r, 'X-Request-Id') // '', qr/^[0-9a-f]{32}$/, 'nginx generates a request id');

$r = https('/api/health/live', http => 'http2');
is($r->{version}, '1.1', 'no HTTP/2 offered (keeps the problem+json 413, nginx #1356)');

$r = https('/');
is($r->{code}, 200, 'demo page');
like(hdr($r, 'Content-Type') // '', qr{^text/html}, '... is HTML');
my $csp = hdr($r, 'Content-Security-Policy') // '';
like($csp, qr/(?:^|; )default-src 'self'(?:;|$)/, 'demo page CSP: default-src self');
like($csp, qr/connect-src 'self' wss:\/\/localhost:$P_TLS(?:;|$)/, '... connect-src self and its wss://');
like($csp, qr/frame-ancestors 'none'/, '... frame-ancestors none');
unlike($csp, qr/unsafe-inline|unsafe-eval/, '... nothing unsafe');
security_headers_ok($r, 'demo page');

# Request id: a sane client id is kept, reaches the app (its problem body
# and its log) and nginx's JSON access log.
my $rid = "t400-$$-" . int(rand 1e6);
my $log_off = Stack::app_log_size();
$r = https('/api/no-such-route', headers => { 'X-Request-Id' => $rid });
is($r->{code}, 404, 'unknown route → 404 from the app');
is(hdr($r, 'X-Request-Id'), $rid, 'client X-Request-Id echoed');
is((json_of($r) // {})->{requestId}, $rid, '... and it is the id the app saw');
ok(Stack::wait_for(sub { grep { ($_->{request_id} // '') eq $rid } Stack::app_log_json_since($log_off) }, 3),
	'... and the app logged it');
$r = https('/api/health/live', headers => { 'X-Request-Id' => 'bad id with spaces' });
like(hdr($r, 'X-Request-Id') // '', qr/^[0-9a-f]{32}$/, 'an insane client id is replaced');

# ---------------------------------------------------------------- TLS

sub s_client {
	my (@args) = @_;
	my ($rc, $o, $e) = Stack::run_cmd([ 'openssl', 's_client', '-brief', '-connect', "127.0.0.1:$P_TLS",
		'-CAfile', $CERT, '-verify_return_error', @args ], "Q\n");
	return ($rc, "$o$e");
}
my ($src, $so) = s_client('-servername', 'localhost', '-tls1_2');
like($so, qr/Protocol version: TLSv1\.2/, 'TLS 1.2 negotiates');
like($so, qr/Ciphersuite: ECDHE-(?:ECDSA|RSA)-(?:AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/, '... with an ECDHE AEAD suite');
($src, $so) = s_client('-servername', 'localhost', '-tls1_3');
like($so, qr/Protocol version: TLSv1\.3/, 'TLS 1.3 negotiates');
($src, $so) = s_client('-servername', 'localhost', '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0');
like($so, qr/alert protocol version/, 'TLS 1.1 is refused by the server (protocol_version alert)');
($src, $so) = s_client('-servername', 'localhost', '-tls1_2', '-cipher', 'AES128-SHA:AES256-SHA256');
like($so, qr/alert handshake failure/, 'TLS 1.2 without forward secrecy / with CBC is refused (handshake_failure)');
($src, $so) = s_client('-servername', 'other.example', '-tls1_3');
like($so, qr/unrecognized name/, 'a name this server does not serve: handshake rejected (unrecognized_name)');

# ---------------------------------------------------------------- redirect

my ($crc, $cw) = Stack::run_cmd([ 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}',
	'-H', 'Host: localhost', "http://127.0.0.1:$P_HTTP/api/leaderboards?limit=3&x=y" ]);
is($cw, "301 https://localhost:$P_TLS/api/leaderboards?limit=3&x=y", 'HTTP → 301 to the same URL over HTTPS');
($crc, $cw) = Stack::run_cmd([ 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
	"http://127.0.0.1:$P_HTTP/.well-known/acme-challenge/token" ]);
is($cw, '404', 'ACME http-01 path is served over HTTP, not redirected');

# ---------------------------------------------------------------- CORS

$r = https('/api/health/live', headers => { Origin => 'https://app.example.test' });
is(hdr($r, 'Access-Control-Allow-Origin'), 'https://app.example.test', 'allowed origin echoed');
like(hdr($r, 'Vary') // '', qr/\bOrigin\b/, '... Vary: Origin');
like(hdr($r, 'Access-Control-Expose-Headers') // '', qr/X-Request-Id/, '... X-Request-Id exposed');
ok(!defined hdr($r, 'Access-Control-Allow-Credentials'), '... no credentials (bearer tokens only)');
$r = https('/api/health/live', headers => { Origin => 'https://front.example.test' });
is(hdr($r, 'Access-Control-Allow-Origin'), 'https://front.example.test', 'FRONTEND_URL origin allowed');
$r = https('/api/health/live', headers => { Origin => 'https://evil.example' });
ok(!defined hdr($r, 'Access-Control-Allow-Origin'), 'other origin: no CORS headers');
$r = https('/api/health/live', headers => { Origin => 'https://app.example.test.evil.example' });
ok(!defined hdr($r, 'Access-Control-Allow-Origin'), 'an origin with an allowed prefix is not allowed');

$r = https('/api/matches', method => 'OPTIONS', headers => { Origin => 'http://localhost:5173',
	'Access-Control-Request-Method' => 'POST', 'Access-Control-Request-Headers' => 'authorization,content-type' });
is($r->{code}, 204, 'preflight from an allowed origin → 204 from nginx');
is(hdr($r, 'Access-Control-Allow-Origin'), 'http://localhost:5173', '... ACAO');
like(hdr($r, 'Access-Control-Allow-Methods') // '', qr/\bPOST\b.*\bPATCH\b/, '... methods');
like(hdr($r, 'Access-Control-Allow-Headers') // '', qr/Authorization.*Content-Type/, '... headers');
like(hdr($r, 'Access-Control-Max-Age') // '', qr/^\d+$/, '... max age');
$r = https('/api/matches', method => 'OPTIONS', headers => { Origin => 'https://evil.example',
	'Access-Control-Request-Method' => 'POST' });
isnt($r->{code}, 204, 'preflight from another origin is not answered by nginx');
ok(!defined hdr($r, 'Access-Control-Allow-Origin'), '... and carries no CORS headers');
ok(!defined hdr($r, 'Access-Control-Allow-Methods'), '... nor allowed methods');

# The microcache: a key is stored from its second request on, a HIT from
# the third; a one-off key writes no cache file.
{
	my $key = '/api/leaderboards?limit=5&t400c=' . int(rand 1e9);
	my $h = md5_hex("GET|$key");
	my $file = "$CACHE/" . substr($h, -1) . '/' . substr($h, -3, 2) . "/$h";
	sleep int(time) + 1.02 - time;    # entries end with the second they were made in
	my @xc = map { hdr(https($key), 'X-Cache') // 'none' } 1 .. 3;
	is("@xc", 'MISS MISS HIT', 'a new key: MISS, MISS (stored), HIT');
	ok(-e $file, '... its cache file exists');
	my $one = '/api/leaderboards?limit=5&t400o=' . int(rand 1e9);
	$h = md5_hex("GET|$one");
	is(hdr(https($one), 'X-Cache'), 'MISS', 'a one-off key: MISS');
	ok(!-e "$CACHE/" . substr($h, -1) . '/' . substr($h, -3, 2) . "/$h", '... and no cache file');
}

# Players so that a board answer is big enough to compress.
my ($reg, @players) = Stack::T::setup_players(prefix => 't400', n => 12, retire => 1,
	addr => '127.40.' . (1 + int rand 250) . '.1');
push @RETIRE, $reg->{id}, map { $_->{id} } @players;

# Microcached board: its location has its own add_header list (X-Cache),
# rendered to include the full set.
my $board = "/api/leaderboards?limit=100&t400=" . time;
$r = https($board, headers => { Origin => 'https://app.example.test', 'Accept-Encoding' => 'gzip' });
is($r->{code}, 200, 'GET /api/leaderboards over TLS');
ok(defined hdr($r, 'X-Cache'), '... through the microcache location (X-Cache)');
security_headers_ok($r, 'microcached board');
is(hdr($r, 'Access-Control-Allow-Origin'), 'https://app.example.test', '... with CORS');
is(hdr($r, 'Content-Encoding'), 'gzip', 'JSON is gzip-compressed');
like(hdr($r, 'Vary') // '', qr/Accept-Encoding/, '... Vary: Accept-Encoding');
my $plain;
ok(gunzip(\$r->{body} => \$plain), 'gzip body decompresses') or diag $GunzipError;
my $j = eval { decode_json($plain // '') };
ok(ref $j eq 'HASH' && ref $j->{entries} eq 'ARRAY' && @{ $j->{entries} } >= 12, '... into the board JSON');

$r = https('/api/auth/login', method => 'POST', body => encode_json({ username => $reg->{username},
	password => $Stack::T::PASSWORD }), headers => { 'Content-Type' => 'application/json',
	'Accept-Encoding' => 'gzip' });
is($r->{code}, 200, 'login over TLS');
cmp_ok(length $r->{body}, '>', 512, '... the token answer is above gzip_min_length');
ok(!defined hdr($r, 'Content-Encoding'), '... yet not compressed (auth: gzip off, BREACH)');

# ---------------------------------------------------------------- limits

my $big = "$T/big.json";
write_file($big, '{"pad":"' . ('x' x (70 * 1024)) . '"}');
$r = https('/api/matches', method => 'POST', body_file => $big, headers => { 'Content-Type' => 'application/json',
	Origin => 'https://app.example.test' });
is($r->{code}, 413, 'a 70 KiB body → 413');
like(hdr($r, 'Content-Type') // '', qr{^application/problem\+json}, '... application/problem+json');
is((json_of($r) // {})->{status}, 413, '... the problem document');
security_headers_ok($r, '413');
is(hdr($r, 'Access-Control-Allow-Origin'), 'https://app.example.test', '... with CORS (readable by the page)');
write_file($big, '{"pad":"' . ('x' x (60 * 1024)) . '"}');
$r = https('/api/matches', method => 'POST', body_file => $big, headers => { 'Content-Type' => 'application/json' });
isnt($r->{code}, 413, 'a 60 KiB body passes nginx (the app answers)');

$r = https('/api/metrics');
is($r->{code}, 200, '/api/metrics from 127.0.0.1 → 200');
like($r->{body}, qr/^# (?:HELP|TYPE) rankpulse_/m, '... Prometheus text');
$r = https('/api/metrics', interface => '127.0.0.2');
is($r->{code}, 403, '/api/metrics from 127.0.0.2 (not loopback-allowed) → 403');
like(hdr($r, 'Content-Type') // '', qr{^application/problem\+json}, '... problem+json');
$r = https('/metrics/', interface => '127.0.0.2');
is($r->{code}, 403, '/metrics/ spelling denied as well');

# ---------------------------------------------------------------- WebSocket over TLS

# ws_open($origin) -> (pid, in, out, response head, leftover bytes)
sub ws_open {
	my ($origin, $key) = @_;
	my $err = gensym;
	my $pid = open3(my $in, my $out, $err, 'openssl', 's_client', '-quiet', '-connect', "127.0.0.1:$P_TLS",
		'-servername', 'localhost', '-CAfile', $CERT, '-verify_return_error');
	binmode $_ for $in, $out;
	$in->autoflush(1);
	print $in "GET /rt/leaderboard HTTP/1.1\r\nHost: localhost:$P_TLS\r\nUpgrade: websocket\r\n"
		. "Connection: Upgrade\r\nSec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n"
		. ($origin ? "Origin: $origin\r\n" : '') . "\r\n";
	my ($buf, $deadline) = ('', time + 5);
	my $sel = IO::Select->new($out);
	while ($buf !~ /\r\n\r\n/ && time < $deadline) {
		next unless $sel->can_read(0.2);
		my $n = sysread $out, my $chunk, 65536;
		last unless $n;
		$buf .= $chunk;
	}
	my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
	return ($pid, $in, $out, $head // '', $rest // '');
}
sub ws_close_proc { my ($pid) = @_; kill 'TERM', $pid; waitpid $pid, 0 }

# ws_frame($out, \$buf, $timeout) -> (opcode, payload) of the next server frame.
sub ws_frame {
	my ($out, $bufref, $timeout) = @_;
	my $deadline = time + ($timeout // 5);
	my $sel = IO::Select->new($out);
	while (1) {
		if (length $$bufref >= 2) {
			my ($b0, $b1) = unpack 'CC', $$bufref;
			my ($len, $off) = ($b1 & 0x7f, 2);
			if ($len == 126 && length $$bufref >= 4) { $len = unpack 'x2n', $$bufref; $off = 4 }
			elsif ($len == 127 && length $$bufref >= 10) { $len = unpack 'x2Q>', $$bufref; $off = 10 }
			if ($len < 126 || $off > 2) {
				if (length $$bufref >= $off + $len) {
					my $payload = substr $$bufref, $off, $len;
					substr($$bufref, 0, $off + $len, '');
					return ($b0 & 0x0f, $payload);
				}
			}
		}
		return () if time >= $deadline;
		next unless $sel->can_read(0.1);
		my $n = sysread $out, my $chunk, 65536;
		return () if !$n;
		$$bufref .= $chunk;
	}
}

my $wskey = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
my ($wpid, $win, $wout, $whead, $wbuf) = ws_open('https://app.example.test', $wskey);
like($whead, qr{^HTTP/1\.1 101 }, 'WebSocket upgrade on /rt/leaderboard over TLS → 101');
my ($accept) = $whead =~ /^Sec-WebSocket-Accept:\s*(\S+)/mi;
is($accept, encode_base64(sha1($wskey . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'), ''), '... correct Sec-WebSocket-Accept');
my @acao = $whead =~ /^Access-Control-Allow-Origin:\s*(.*?)\s*$/mgi;
is_deeply(\@acao, ['https://app.example.test'], '... exactly one Access-Control-Allow-Origin');
like($whead, qr/^Strict-Transport-Security:/mi, '... HSTS');

# A frame: published on THIS nginx's publisher socket (the app publishes
# to the stack's own nginx), delivered over the TLS WebSocket.
my $msg = encode_json({ type => 't400_probe', channel => 'leaderboard', seq => 0, data => { n => $$ } });
my ($prc, $pout, $perr) = run_as([ 'curl', '-sS', '--max-time', '3', '-o', '/dev/null', '-w', '%{http_code}',
	'--unix-socket', $NCHAN, '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', $msg,
	'http://localhost/pub/leaderboard' ]);
like($pout, qr/^20[12]$/, 'published on the rendered nchan publisher socket') or diag $perr;
my ($op, $payload) = ws_frame($wout, \$wbuf, 5);
is($op, 1, 'a text frame arrives over the TLS WebSocket');
is($payload, $msg, '... carrying the published message');

# Clean close: a masked close frame (1000) → the server's close frame.
my $mask = join '', map { chr int rand 256 } 1 .. 4;
my $cpl = pack 'n', 1000;
my $masked = join '', map { chr(ord(substr $cpl, $_, 1) ^ ord(substr $mask, $_ % 4, 1)) } 0 .. 1;
print $win pack('CC', 0x88, 0x80 | 2) . $mask . $masked;
($op) = ws_frame($wout, \$wbuf, 5);
is($op, 8, 'close frame answered with a close frame');
ws_close_proc($wpid);

($wpid, $win, $wout, $whead) = ws_open("https://localhost:$P_TLS", $wskey);
like($whead, qr{^HTTP/1\.1 101 }, 'WebSocket from the page\'s own origin → 101');
ws_close_proc($wpid);
($wpid, $win, $wout, $whead) = ws_open('', $wskey);
like($whead, qr{^HTTP/1\.1 101 }, 'WebSocket without Origin (non-browser client) → 101');
ws_close_proc($wpid);
($wpid, $win, $wout, $whead) = ws_open('https://evil.example', $wskey);
like($whead, qr{^HTTP/1\.1 403 }, 'WebSocket from a foreign origin → 403 (nchan origin check)');
ws_close_proc($wpid);

# ---------------------------------------------------------------- 429

# burst($path, $n) -> list of status codes of $n back-to-back requests on
# one keep-alive TLS connection.
sub burst {
	my ($path, $n) = @_;
	my @cmd = ('curl', '-sS', '--http1.1', '--max-time', '20', '--cacert', $CERT,
		'--resolve', "localhost:$P_TLS:127.0.0.1", '-w', '%{http_code}\n');
	push @cmd, ('-o', '/dev/null', "https://localhost:$P_TLS$path") for 1 .. $n;
	my ($rc, $o) = Stack::run_cmd(\@cmd);
	return split /\n/, $o;
}
my @codes = burst('/api/auth/me', 45);
is(scalar @codes, 45, '45 quick requests to /api/auth/me');
isnt($codes[0], '429', '... the first is let through (401 from the app)');
cmp_ok(scalar(grep { $_ eq '429' } @codes), '>=', 10, '... the auth zone (burst 20) limits the rest: ' . join(' ', @codes));
# the bucket drains while we look: on a slow machine refill it until limited
for my $try (1 .. 5) {
	$r = https('/api/auth/me', headers => { Origin => 'https://app.example.test' });
	last if $r->{code} == 429;
	burst('/api/auth/me', 30);
}
is($r->{code}, 429, 'rate limited request → 429');
like(hdr($r, 'Content-Type') // '', qr{^application/problem\+json}, '... problem+json');
my $pj = json_of($r) // {};
is($pj->{status}, 429, '... status 429 in the body');
like($pj->{type} // '', qr{^https?://}, '... a problem type');
is(hdr($r, 'Retry-After'), '1', '... Retry-After');
is(hdr($r, 'Access-Control-Allow-Origin'), 'https://app.example.test', '... CORS so the page can read it');
security_headers_ok($r, '429');

sleep 2.1;    # let the API zone's bucket drain from the requests above
@codes = burst('/api/health/live', 140);
isnt($codes[0], '429', 'API zone: the first requests pass');
my $limited = grep { $_ eq '429' } @codes;
# a slow machine sends the burst slower than the zone drains: push harder
for my $try (1 .. 3) {
	last if $limited >= 20;
	$limited += grep { $_ eq '429' } burst('/api/health/live', 200);
}
cmp_ok($limited, '>=', 20, "API zone (30 r/s, burst 60) limits bursts: $limited × 429");

# ---------------------------------------------------------------- logs

open my $alog, '<', "$STATE/logs/access.log" or die "access.log: $!";
my @lines = <$alog>;
close $alog;
my @json = map { eval { decode_json($_) } } @lines;
is(scalar(@json), scalar(@lines), 'access.log: every line is JSON (' . scalar(@lines) . ' lines)');
my ($mine) = grep { ($_->{request_id} // '') eq $rid } @json;
ok($mine, 'access.log: the request with our X-Request-Id');
is($mine->{status}, 404, '... with its status') if $mine;
is($mine->{tls}, 'TLSv1.3', '... and the TLS version') if $mine;

# logrotate with the shipped rule, paths pointed at this nginx.
my ($lrc) = Stack::run_cmd([ 'sh', '-c', 'command -v logrotate' ]);
ok($lrc == 0, 'logrotate is installed (scripts/deps.sh)') or diag 'add logrotate to scripts/deps.sh';
if ($lrc == 0) {
	open my $in, '<', "$REPO/conf/logrotate/rankpulse-nginx" or die $!;
	my $rule = do { local $/; <$in> };
	close $in;
	like($rule, qr{^/var/log/nginx/rankpulse/\*\.log \{}m, 'logrotate rule covers /var/log/nginx/rankpulse/*.log');
	like($rule, qr{kill -USR1 "\$\(cat /run/nginx\.pid\)"}, '... postrotate: USR1 to nginx (/run/nginx.pid)');
	$rule =~ s{/var/log/nginx/rankpulse/}{$STATE/logs/}g;
	$rule =~ s{/run/nginx\.pid}{$STATE/nginx.pid}g;
	write_file("$T/logrotate.conf", $rule);
	chmod 0644, "$T/logrotate.conf";
	my ($rc, $o, $e) = run_as([ 'logrotate', '-f', '-s', "$T/logrotate.state", "$T/logrotate.conf" ]);
	is($rc, 0, 'logrotate -f with the shipped rule') or diag "$o$e";
	my @rotated = glob "$STATE/logs/access.log-*";
	is(scalar @rotated, 1, '... access.log rotated (' . join(' ', map { s{.*/}{}r } @rotated) . ')');
	https('/api/health/live', headers => { 'X-Request-Id' => "$rid-after" });
	ok(Stack::wait_for(sub { -s "$STATE/logs/access.log" && do {
		open my $fh, '<', "$STATE/logs/access.log"; local $/; (<$fh> // '') =~ /\Q$rid-after\E/ } }, 3),
		'... nginx reopened its log (postrotate USR1): new lines go to the new access.log');
}

# ---------------------------------------------------------------- stop

my $pid = nginx_pid();
ok($pid, "nginx still running (pid $pid)") and kill 'QUIT', $pid;
ok(Stack::wait_for(sub { !kill 0, $pid }, 5, 0.05), 'nginx stops on QUIT') if $pid;
ok(!-e $NCHAN, 'the publisher socket is removed on exit');

done_testing();
