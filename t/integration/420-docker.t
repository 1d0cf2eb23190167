#!/usr/bin/perl
# 420-docker.t — the Dockerfile and its entrypoint, without a container
# engine (425-docker-build.t builds the image where there is one):
#   * the Dockerfile: multi-stage, every base image debian:12 / bookworm,
#     every COPY source exists and is not excluded by .dockerignore (which
#     keeps var/, build/, .git and t/ out of the context), repo paths named
#     in RUN exist, the runtime stage installs the Debian package of every
#     library the binary links plus nginx, libnginx-mod-nchan and curl (and
#     every package name exists in apt's lists when they are present), the
#     build stage has the -dev packages, no secret in ENV/ARG, a non-root
#     numeric USER created in that stage, EXPOSE = PORT, HEALTHCHECK on
#     /api/health/live, ENTRYPOINT = the installed docker/entrypoint.sh;
#   * docker/entrypoint.sh: sh -n, dash -n, shellcheck -s sh (when installed);
#   * a smoke run of the image's layout: scripts/install.sh DESTDIR=tmp
#     PREFIX=/usr as in the Dockerfile, the entrypoint run as the stack user
#     with only environment variables (the test stack's PostgreSQL and Redis,
#     nginx on a free port, sockets in a temp dir): check-config, migrate,
#     rendered nginx, app + nginx up, the HEALTHCHECK command passes, health
#     is healthy (database, redis, websocket), CORS/security headers, a
#     WebSocket through the container's nginx receives a message published on
#     its own nchan socket; SIGTERM stops both (every process of both
#     process groups gone, sockets removed, exit 0, HEALTHCHECK then fails);
#     a second run whose nginx master is SIGKILLed makes the entrypoint stop
#     the app and exit 1; one-shot commands pass through; a bad config exits 2.
# Not exercised here: the image build itself, apt inside it, the non-root
# uid 10001, read-only root filesystem, docker stop's timing.
# The stack is only read from (migrate is a no-op on its current schema).

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Find qw(find);
use Cwd ();
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Mojo::JSON qw(decode_json encode_json);
use Mojo::IOLoop;
use Mojo::UserAgent;
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $REPO = Stack::repo();
my $USER = Stack::env('STACK_USER');
my $AS_ROOT = $> == 0 && $USER ne 'root';
my ($UID, $GID) = (getpwnam $USER)[2, 3];

sub slurp { my ($f) = @_; open my $fh, '<', $f or return undef; local $/; return <$fh> }
sub have { my ($tool) = @_; my ($rc) = Stack::run_cmd([ 'sh', '-c', "command -v $tool" ]); return $rc == 0 }
sub as_user {
	return @_ unless $AS_ROOT;
	return ('setpriv', "--reuid=$UID", "--regid=$GID", '--init-groups', '--', @_);
}

# ---------------------------------------------------------------- Dockerfile

my $df = slurp("$REPO/Dockerfile");
ok(defined $df, 'Dockerfile exists') or BAIL_OUT('no Dockerfile');
(my $joined = $df) =~ s/\\\n/ /g;
my (@ins, %arg, $stage);
my @stages;    # { name, base, ins => [] }
for my $line (split /\n/, $joined) {
	next if $line =~ /^\s*(?:#|$)/;
	my ($cmd, $rest) = $line =~ /^\s*(\w+)\s+(.*?)\s*$/ or next;
	$cmd = uc $cmd;
	if ($cmd eq 'ARG' && !@stages && $rest =~ /^(\w+)=(\S+)$/) { $arg{$1} = $2 }
	if ($cmd eq 'FROM') {
		my ($img, $name) = $rest =~ /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i;
		$img =~ s{\$\{(\w+)\}|\$(\w+)}{$arg{$1 // $2} // ''}ge;
		push @stages, { base => $img, name => $name, ins => [] };
	}
	push @{ $stages[-1]{ins} }, [ $cmd, $rest ] if @stages;
}
cmp_ok(scalar @stages, '>=', 2, 'multi-stage: ' . scalar(@stages) . ' stages');
my %stage_names = map { defined $_->{name} ? (lc $_->{name} => 1) : () } @stages;
for my $s (@stages) {
	next if $stage_names{ lc $s->{base} };
	like($s->{base}, qr/^debian:(?:12|bookworm)(?:-slim)?(?:\@sha256:[0-9a-f]{64})?$/,
		"base image $s->{base} is Debian 12");
}
my ($build) = grep { lc($_->{name} // '') eq 'build' } @stages;
my $final = $stages[-1];
ok($build && $final != $build, 'a build stage and a separate runtime stage');
sub ins_of { my ($s, $cmd) = @_; return map { $_->[1] } grep { $_->[0] eq $cmd } @{ $s->{ins} } }

# .dockerignore
my @ignore;
for (split /\n/, slurp("$REPO/.dockerignore") // '') {
	next if /^\s*(?:#|$)/;
	s/^\s+|\s+$//g;
	my $neg = s/^!//;
	s{^/+}{};
	s{/+$}{};
	my $re = join '', map {
		$_ eq '**' ? '.*' : $_ eq '*' ? '[^/]*' : $_ eq '?' ? '[^/]' : quotemeta $_
	} split /(\*\*|\*|\?)/;
	push @ignore, [ qr{^$re(?:/.*)?$}, $neg ];
}
sub ignored {
	my ($path) = @_;
	my $ex = 0;
	for (@ignore) { $ex = !$_->[1] if $path =~ $_->[0] }
	return $ex;
}
ok(ignored($_), ".dockerignore keeps $_ out of the build context") for qw(var build/rankpulse .git t/integration/00-stack.t);
ok(!ignored('.env.example'), '.dockerignore lets .env.example in');

my @copy_missing;
for my $s (@stages) {
	for my $c (ins_of($s, 'COPY')) {
		next if $c =~ /--from=/;
		my @words = grep { !/^--/ } split ' ', $c;
		pop @words;    # destination
		for my $src (@words) {
			(my $rel = $src) =~ s{/+$}{};
			if (!-e "$REPO/$rel") { push @copy_missing, "$src (missing)"; next }
			if (ignored($rel)) { push @copy_missing, "$src (excluded by .dockerignore)"; next }
			next unless -d "$REPO/$rel";
			find({ no_chdir => 1, wanted => sub {
				return unless -f $_ && /\.(?:c|h|sql|sh|conf|in|json|md|css|js|html)$|Makefile$/;
				(my $f = $_) =~ s{^\Q$REPO\E/}{};
				push @copy_missing, "$f (excluded by .dockerignore)" if ignored($f);
			} }, "$REPO/$rel");
		}
	}
}
ok(!@copy_missing, 'every COPY source exists and is in the build context') or diag join "\n", @copy_missing;

my @run_missing;
for my $s (@stages) {
	for my $r (ins_of($s, 'RUN')) {
		for my $p ($r =~ m{(?<![\w/])((?:scripts|docker|conf|mk)/[\w./-]+)}g) {
			push @run_missing, $p unless -e "$REPO/$p";
		}
	}
}
ok(!@run_missing, 'repo paths named in RUN exist') or diag "@run_missing";
like(join(' ', ins_of($build, 'RUN')), qr/\bmake\b[^&]*\ball\b/, 'build stage runs make all');
like(slurp("$REPO/Makefile") // '', qr/^all:/m, '... a target of the Makefile');

sub apt_packages {
	my ($s) = @_;
	my @p;
	for my $r (ins_of($s, 'RUN')) {
		for my $seg ($r =~ /apt-get\s+install\s+([^&;|]+)/g) {
			push @p, grep { !/^-/ } split ' ', $seg;
		}
	}
	return @p;
}
my %rt = map { $_ => 1 } apt_packages($final);
my %bt = map { $_ => 1 } apt_packages($build);
my ($lrc, $ldd) = Stack::run_cmd([ 'ldd', Stack::env('RANKPULSE_BIN') ]);
my %need;
for my $lib ($ldd =~ m{=>\s+(\S*lib(?:fcgi|pq|hiredis|json-c|sodium)\.so\S*)}g) {
	my ($drc, $dout) = Stack::run_cmd([ 'dpkg', '-S', Cwd::realpath($lib) // $lib ]);
	my ($pkg) = $dout =~ /^([^:\s]+)/;
	$need{$pkg} = 1 if $drc == 0 && $pkg;
}
cmp_ok(scalar keys %need, '>=', 5, 'the binary\'s libraries map to Debian packages: ' . join(' ', sort keys %need));
my @rt_missing = grep { !$rt{$_} } (sort(keys %need), qw(nginx libnginx-mod-nchan curl));
ok(!@rt_missing, 'runtime stage installs them, nginx, libnginx-mod-nchan and curl') or diag "missing: @rt_missing";
my @bt_missing = grep { !$bt{$_} } qw(build-essential pkg-config make libfcgi-dev libpq-dev
	libhiredis-dev libjson-c-dev libsodium-dev);
ok(!@bt_missing, 'build stage installs the toolchain and -dev packages') or diag "missing: @bt_missing";
SKIP: {
	my @pkgs = sort(keys %rt, keys %bt);
	my (undef, $ao) = Stack::run_cmd([ 'apt-cache', 'show', '--no-all-versions', 'nginx', @pkgs ]);
	my %known = map { $_ => 1 } $ao =~ /^Package: (\S+)/mg;
	skip 'apt package lists are empty here (apt-get update): package names not checked', 1 unless $known{nginx};
	my @unknown = grep { !$known{$_} } @pkgs;
	ok(!@unknown, 'every package name exists in Debian 12 (' . scalar(@pkgs) . ')') or diag "unknown: @unknown";
}
ok(!$rt{'build-essential'} && !grep({ /-dev$/ } keys %rt), 'no compiler or -dev package in the runtime stage');

my @env = map { /^(\w+)[= ]/g } (ins_of($final, 'ENV'), ins_of($final, 'ARG'), ins_of($build, 'ARG'));
my ($envline) = ins_of($final, 'ENV');
my %envv = ($envline // '') =~ /(\w+)=(\S+)/g;
ok(!grep({ /^(?:JWT_SECRET|DATABASE_URL|REDIS_URL|NCHAN_REDIS_URL)$/ } keys %envv, @env),
	'no secret or connection string baked into ENV/ARG');
my @users = ins_of($final, 'USER');
is(scalar @users, 1, 'one USER in the runtime stage');
my ($uid_s) = ($users[0] // '') =~ /^(\w+)/;
ok(defined $uid_s && $uid_s ne 'root' && $uid_s ne '0', "USER $users[0] is not root");
like(join(' ', ins_of($final, 'RUN')), qr/useradd\b[^&]*--uid\s+\Q$uid_s\E\b/, '... a user created in that stage') if defined $uid_s;
my @expose = map { /(\d+)/g } ins_of($final, 'EXPOSE');
ok(@expose, 'EXPOSE ' . join(' ', @expose));
is($expose[0], $envv{PORT}, '... = ENV PORT');
my ($hc) = ins_of($final, 'HEALTHCHECK');
like($hc // '', qr{\bCMD\b.*/api/health/live}, 'HEALTHCHECK on /api/health/live');
my ($hc_cmd) = ($hc // '') =~ /\bCMD\s+(.*)$/;
my ($ep) = ins_of($final, 'ENTRYPOINT');
my ($ep_path) = ($ep // '') =~ /^\[\s*"([^"]+)"/;
ok($ep_path, "ENTRYPOINT in exec form: " . ($ep_path // '?'));
like(join(' ', ins_of($build, 'RUN')), qr{docker/entrypoint\.sh\s+/out\Q$ep_path\E\b}, '... which the build stage installs from docker/entrypoint.sh')
	if $ep_path;
ok((grep { /--from=build\s+\/out\/?\s+\/$/ } ins_of($final, 'COPY')), 'runtime copies the installed tree from the build stage');

# ---------------------------------------------------------------- entrypoint syntax

my ($src, $so, $se) = Stack::run_cmd([ 'sh', '-n', "$REPO/docker/entrypoint.sh" ]);
is($src, 0, 'sh -n docker/entrypoint.sh') or diag $se;
SKIP: {
	skip 'dash not installed', 1 unless have('dash');
	($src, $so, $se) = Stack::run_cmd([ 'dash', '-n', "$REPO/docker/entrypoint.sh" ]);
	is($src, 0, 'dash -n docker/entrypoint.sh (POSIX sh)') or diag $se;
}
SKIP: {
	skip 'shellcheck not installed (optional)', 1 unless have('shellcheck');
	($src, $so, $se) = Stack::run_cmd([ 'shellcheck', '-s', 'sh', "$REPO/docker/entrypoint.sh",
		"$REPO/scripts/render-nginx.sh" ]);
	is($src, 0, 'shellcheck -s sh: entrypoint.sh and render-nginx.sh') or diag "$so$se";
}

# ---------------------------------------------------------------- smoke run

my $T = tempdir('t420-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $T;
my $ROOT = "$T/root";
my ($irc, $io, $ie) = Stack::run_cmd([ 'env', "DESTDIR=$ROOT", 'PREFIX=/usr',
	'RANKPULSE_BIN=' . Stack::env('RANKPULSE_BIN'), 'sh', "$REPO/scripts/install.sh" ]);
is($irc, 0, 'the image layout: scripts/install.sh DESTDIR=… PREFIX=/usr (as in the Dockerfile)') or diag $ie;
system('install', '-m', '0755', "$REPO/docker/entrypoint.sh", "$ROOT$ep_path") == 0 or die 'install entrypoint';
for my $d ("$T/run", "$T/state") {
	mkdir $d, 0750;
	chown $UID, $GID, $d if $AS_ROOT;
}

sub free_port {
	my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp');
	return $s->sockport;
}
my $PORT = free_port();
my %ENVS = (
	PATH => '/usr/local/bin:/usr/bin:/bin',
	RP_PREFIX => "$ROOT/usr", RP_RUN_DIR => "$T/run", RP_STATE_DIR => "$T/state",
	PORT => $PORT, LISTEN_ADDR => '127.0.0.1',
	DATABASE_URL => Stack::env('DATABASE_URL'), REDIS_URL => Stack::env('REDIS_URL'),
	APP_ENV => 'test', WORKERS => 2, LOG_LEVEL => 'info', STOP_TIMEOUT => 12,
	ALLOWED_ORIGINS => 'https://app.example.test',
	map { defined $ENV{$_} ? ($_ => $ENV{$_}) : () } qw(ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS),
);

my @LIVE;    # pids of running entrypoints (END kills them)
END {
	local $?;
	for my $p (@LIVE) {
		next unless kill 0, $p;
		kill 'TERM', $p;
		my $t = time + 15;
		sleep 0.1 while kill(0, $p) && waitpid($p, WNOHANG) == 0 && time < $t;
		kill 'KILL', $p if kill 0, $p;
	}
}

# start_ep($log, @args) -> pid; the entrypoint as the stack user, env only.
sub start_ep {
	my ($log, @args) = @_;
	open my $fh, '>', $log or die "$log: $!";
	close $fh;
	chown $UID, $GID, $log if $AS_ROOT;    # nginx reopens /dev/stdout as that user
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		chdir $T;
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $log;
		open STDERR, '>&', \*STDOUT;
		exec as_user('env', '-i', map({ "$_=$ENVS{$_}" } sort keys %ENVS), "$ROOT$ep_path", @args) or POSIX::_exit(127);
	}
	push @LIVE, $pid;
	return $pid;
}
# wait_exit($pid, $secs) -> exit status (undef on timeout)
sub wait_exit {
	my ($pid, $secs) = @_;
	my $t = time + $secs;
	while (time < $t) {
		my $r = waitpid $pid, WNOHANG;
		if ($r == $pid) { @LIVE = grep { $_ != $pid } @LIVE; return $? & 127 ? 128 + ($? & 127) : $? >> 8 }
		sleep 0.05;
	}
	return undef;
}
sub stat_of {
	my ($pid) = @_;
	my $s = slurp("/proc/$pid/stat") // return;
	my ($comm, $rest) = $s =~ /^\d+ \((.*)\) (.*)$/s or return;
	my @f = split ' ', $rest;    # state ppid pgrp ...
	return { comm => $comm, state => $f[0], ppid => $f[1], pgrp => $f[2] };
}
sub children { my ($pid) = @_; return grep { my $s = stat_of($_); $s && $s->{ppid} == $pid } map { m{/(\d+)$} } glob '/proc/[0-9]*' }
sub group_members { my ($pg) = @_; return grep { my $s = stat_of($_); $s && $s->{pgrp} == $pg && $s->{state} ne 'Z' } map { m{/(\d+)$} } glob '/proc/[0-9]*' }
sub http_get {
	my ($path, %h) = @_;
	my $tx = Mojo::UserAgent->new(request_timeout => 5)->get("http://127.0.0.1:$PORT$path" => \%h);
	return $tx->res;
}
sub healthcheck_rc {
	my ($rc) = Stack::run_cmd([ 'env', "PORT=$PORT", 'sh', '-c', $hc_cmd ]);
	return $rc;
}

# Run 1: up, checks, SIGTERM.
my $log1 = "$T/run1.log";
my $ep1 = start_ep($log1);
my $up = Stack::wait_for(sub { (http_get('/api/health/live')->code // 0) == 200 }, 30, 0.2);
ok($up, "entrypoint: nginx + app answer /api/health/live on 127.0.0.1:$PORT") or diag slurp($log1);
SKIP: {
	skip 'the container did not come up', 27 unless $up;
	is(healthcheck_rc(), 0, 'the HEALTHCHECK command of the Dockerfile passes');
	my $h = http_get('/api/health');
	my $hj = eval { decode_json($h->body) } // {};
	is($hj->{status}, 'healthy', '/api/health: healthy');
	is_deeply($hj->{services}, { database => 'connected', redis => 'connected', websocket => 'running' },
		'... database, redis and the container nginx\'s nchan all reached');
	my $c = http_get('/api/health/live', Origin => 'https://app.example.test');
	is($c->headers->header('Access-Control-Allow-Origin'), 'https://app.example.test', 'CORS from ALLOWED_ORIGINS (env)');
	is($c->headers->header('X-Content-Type-Options'), 'nosniff', 'security headers (shared with production)');
	like($c->headers->header('X-Request-Id') // '', qr/^[0-9a-f]{32}$/, 'request id');
	is(http_get('/api/auth/me')->code, 401, 'auth location reaches the app');
	# workers write their request lines in batches, at most ~20 ms late
	my $log = '';
	Stack::wait_for(sub { $log = slurp($log1) // ''; $log =~ /^\{"ts":"[^"]+","level":"info".*"msg":"request"/m }, 3);
	like($log, qr/"component":"entrypoint".*"msg":"rankpulse migrate"/, 'migrated on start (MIGRATE_ON_START=1)');
	like($log, qr/^\{"time":"[^"]+","request_id":"[0-9a-f]{32}".*"uri":"\/api\/health"/m, 'nginx JSON access log on stdout');
	like($log, qr/^\{"ts":"[^"]+","level":"info".*"msg":"request"/m, 'app JSON log lines on stderr');

	# Realtime through the container nginx.
	my ($ws_open, @got);
	my $ua = Mojo::UserAgent->new(inactivity_timeout => 10);
	$ua->websocket("ws://127.0.0.1:$PORT/rt/leaderboard" => sub {
		my (undef, $tx) = @_;
		$ws_open = $tx->is_websocket ? 1 : 0;
		return unless $ws_open;
		$tx->on(message => sub { push @got, $_[1] });
	});
	my $wait = sub {
		my ($cond, $secs) = @_;
		my $t = time + $secs;
		while (!$cond->() && time < $t) {
			Mojo::IOLoop->timer(0.05 => sub { });
			Mojo::IOLoop->one_tick;
		}
		return $cond->();
	};
	ok($wait->(sub { defined $ws_open }, 5) && $ws_open, 'WebSocket /rt/leaderboard through the container nginx');
	my $msg = encode_json({ type => 't420', n => $$ });
	my ($prc, $pout) = Stack::run_cmd([ as_user('curl', '-sS', '--max-time', '3', '-o', '/dev/null', '-w', '%{http_code}',
		'--unix-socket', "$T/run/nchan.sock", '-X', 'POST', '--data-binary', $msg, 'http://localhost/pub/leaderboard') ]);
	like($pout, qr/^20[12]$/, 'published on the container\'s nchan socket (RP_RUN_DIR/nchan.sock)');
	ok($wait->(sub { grep { $_ eq $msg } @got }, 5), '... and the subscriber got it');
	$ua = undef;

	# Process layout, then SIGTERM.
	my %kids = map { my $st = stat_of($_); $st ? ($st->{comm} => $_) : () } children($ep1);
	ok($kids{rankpulse} && $kids{nginx}, "entrypoint (pid $ep1) runs rankpulse (pid " . ($kids{rankpulse} // '?')
		. ") and nginx (pid " . ($kids{nginx} // '?') . ')');
	my @members = map { group_members($_) } grep { defined } @kids{qw(rankpulse nginx)};
	ok((grep { (stat_of($_) // {})->{pgrp} // 0 == $_ } grep { defined } @kids{qw(rankpulse nginx)}) == 2,
		'... each in its own process group');
	cmp_ok(scalar @members, '>=', 5, '... ' . scalar(@members) . ' processes: masters and workers');
	my $t0 = time;
	kill 'TERM', $ep1;
	my $st = wait_exit($ep1, 15);
	my $took = time - $t0;
	is($st, 0, sprintf('SIGTERM: the entrypoint exits 0 (%.1f s)', $took));
	cmp_ok($took, '<', 13, '... within STOP_TIMEOUT');
	my @left = grep { my $s = stat_of($_); $s && $s->{state} ne 'Z' } @members;
	ok(!@left, '... every process of the app and nginx is gone') or diag "left: @left";
	ok(!-e "$T/run/rankpulse.sock" && !-e "$T/run/nchan.sock", '... both sockets removed');
	like(slurp($log1) // '', qr/"msg":"stopped"/, '... and it logged "stopped"');
	isnt(healthcheck_rc(), 0, 'the HEALTHCHECK command fails once stopped');
}
kill 'KILL', $ep1 if kill 0, $ep1;

# Run 2: nginx dies → the entrypoint stops the app and exits 1.
my $log2 = "$T/run2.log";
my $ep2 = start_ep($log2);
$up = Stack::wait_for(sub { (http_get('/api/health/live')->code // 0) == 200 }, 30, 0.2);
ok($up, 'second run up') or diag slurp($log2);
SKIP: {
	skip 'the second run did not come up', 4 unless $up;
	my %kids = map { my $st = stat_of($_); $st ? ($st->{comm} => $_) : () } children($ep2);
	my @members = map { group_members($_) } grep { defined } @kids{qw(rankpulse nginx)};
	kill 'KILL', $kids{nginx};
	my $st = wait_exit($ep2, 15);
	is($st, 1, 'nginx master killed: the entrypoint exits 1 (the orchestrator restarts the container)');
	my @left = grep { my $s = stat_of($_); $s && $s->{state} ne 'Z' } @members;
	ok(!@left, '... the app and the orphaned nginx workers are gone too') or diag "left: @left";
	like(slurp($log2) // '', qr/"level":"error".*nginx \(pid \d+\) exited/, '... and it said why');
	ok(!-e "$T/run/rankpulse.sock", '... the app removed its socket');
}
kill 'KILL', $ep2 if kill 0, $ep2;

# One-shot commands and a bad configuration.
my $ep3 = start_ep("$T/run3.log", 'version');
is(wait_exit($ep3, 10), 0, '`IMAGE version` runs rankpulse version');
like(slurp("$T/run3.log") // '', qr/^rankpulse \S+ \(git /m, '... and prints it');
delete local $ENVS{DATABASE_URL};
my $ep4 = start_ep("$T/run4.log");
is(wait_exit($ep4, 15), 2, 'without DATABASE_URL: exit 2 before starting anything');
like(slurp("$T/run4.log") // '', qr/DATABASE_URL/, '... naming the variable');

my @san = grep { (slurp($_) // '') =~ /ERROR: (?:Address|Leak)Sanitizer|runtime error:/ } glob "$T/run*.log";
ok(!@san, 'no sanitizer report in the runs\' output') or diag map { slurp($_) } @san;

done_testing();
