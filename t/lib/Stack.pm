package Stack;

# Stack — helper for the integration tests: the running local stack that
# scripts/test.sh started (scripts/stack.sh), described by the file named in
# $ENV{RP_STACK_ENV} (shell `export K='V'` lines).
#
#   use Stack;
#   plan skip_all => 'no stack (run make test)' unless Stack::available();
#   my $tx = Stack::ua()->get(Stack::url('/api/health'));
#   Stack::stop_service('redis'); ... Stack::start_service('redis');
#
# Core Perl + Mojolicious only.  Sockets of the stack are private to the
# stack user (run/ is 0700), so when the tests run as root, psql and
# redis-cli run as that user through runuser.

use strict;
use warnings;

use Carp qw(croak);
use File::Spec;
use IO::Select;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Time::HiRes qw(sleep time);

my %ENVV;
my $LOADED = 0;

sub _parse_value {
	my ($raw) = @_;
	my $out = '';
	while (length $raw) {
		if ($raw =~ s/^'([^']*)'//) {
			$out .= $1;
		} elsif ($raw =~ s/^"((?:[^"\\]|\\.)*)"//) {
			(my $v = $1) =~ s/\\(.)/$1/g;
			$out .= $v;
		} elsif ($raw =~ s/^\\(.)//) {
			$out .= $1;
		} elsif ($raw =~ s/^([^'"\\\s]+)//) {
			$out .= $1;
		} else {
			last;    # whitespace / trailing comment
		}
	}
	return $out;
}

sub _load {
	my $file = $ENV{RP_STACK_ENV};
	return unless defined $file && length $file && -r $file;
	open my $fh, '<', $file or return;
	while (my $line = <$fh>) {
		chomp $line;
		next unless $line =~ /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
		$ENVV{$1} = _parse_value($2);
	}
	close $fh;
	$LOADED = defined $ENVV{BASE_URL};
}
_load();

# True when a stack is described by RP_STACK_ENV; tests skip_all otherwise.
sub available { return $LOADED }

# env('BASE_URL'): a value from stack.env (undef if absent).
sub env {
	my ($key) = @_;
	return $ENVV{$key};
}

sub _need {
	croak 'no stack: RP_STACK_ENV is not set (run make test)' unless $LOADED;
}

# url('/api/health') -> http://127.0.0.1:PORT/api/health
sub url {
	my ($path) = @_;
	_need();
	$path //= '/';
	$path = "/$path" unless $path =~ m{^/};
	return $ENVV{BASE_URL} . $path;
}

# ws_url('/rt/leaderboard') -> ws://127.0.0.1:PORT/rt/leaderboard
sub ws_url {
	my $u = url(@_);
	$u =~ s{^http}{ws};
	return $u;
}

# A fresh Mojo::UserAgent with 5 s timeouts and no redirects.
sub ua {
	require Mojo::UserAgent;
	return Mojo::UserAgent->new(
		connect_timeout    => 5,
		inactivity_timeout => 5,
		request_timeout    => 5,
		max_redirects      => 0,
	);
}

sub repo {
	return $ENV{RP_REPO} if $ENV{RP_REPO};
	my $dir = File::Spec->rel2abs(__FILE__);
	$dir =~ s{/t/lib/Stack\.pm$}{};
	return $dir;
}

sub is_root { return $> == 0 }

# The command prefix that runs a program as the stack user.
sub _as_user {
	my $user = $ENVV{STACK_USER};
	return () if !is_root() || !defined $user || $user eq 'root';
	return ('runuser', '-u', $user, '--');
}

# _run(\@cmd) -> (exit status, stdout, stderr); never goes through a shell.
sub _run {
	my ($cmd, $stdin) = @_;
	my $err = gensym;
	my $pid = open3(my $in, my $out, $err, @$cmd);
	$stdin //= '';
	my ($o, $e) = ('', '');
	my $rsel = IO::Select->new($out, $err);
	my $wsel = IO::Select->new();
	if (length $stdin) { $wsel->add($in) } else { close $in }
	local $SIG{PIPE} = 'IGNORE';
	while ($rsel->count || $wsel->count) {
		my ($r, $w) = IO::Select->select($rsel, $wsel, undef);
		for my $fh (@{ $w || [] }) {
			my $n = syswrite $fh, $stdin, 65536;
			if (!defined $n) { $wsel->remove($fh); close $fh; next }
			substr($stdin, 0, $n, '');
			if (!length $stdin) { $wsel->remove($fh); close $fh }
		}
		for my $fh (@{ $r || [] }) {
			my $n = sysread $fh, my $buf, 65536;
			if (!$n) { $rsel->remove($fh); close $fh; next }
			if ($fh == $out) { $o .= $buf } else { $e .= $buf }
		}
	}
	waitpid $pid, 0;
	return ($? >> 8, $o, $e);
}

# stack_sh(@args): run scripts/stack.sh with --dir of this stack; true on success.
sub stack_sh {
	my (@args) = @_;
	_need();
	my @cmd = (repo() . '/scripts/stack.sh', @args, '--dir', $ENVV{STACK_DIR});
	my ($rc, $o, $e) = _run(\@cmd);
	print STDERR $e if $rc != 0 || $ENV{TEST_VERBOSE};
	return $rc == 0;
}

# stop_service('redis') / start_service('redis'): postgres|redis|app|nginx.
sub stop_service {
	my ($name) = @_;
	return stack_sh('stop-service', $name);
}

sub start_service {
	my ($name) = @_;
	return stack_sh('start-service', $name);
}

sub _pid_alive {
	my ($pid) = @_;
	return 0 unless defined $pid && $pid =~ /^\d+$/;
	open my $fh, '<', "/proc/$pid/stat" or return 0;
	my $stat = <$fh> // '';
	close $fh;
	return $stat =~ /\)\s+([A-Za-z])\s/ && $1 ne 'Z' && $1 ne 'X';
}

sub _read_pid {
	my ($file) = @_;
	return undef unless defined $file && open my $fh, '<', $file;
	my $line = <$fh> // '';
	close $fh;
	my ($pid) = $line =~ /(\d+)/;
	return $pid;
}

# app_pids() -> (master_pid, worker pids...); () when the app is not running.
sub app_pids {
	_need();
	my $master = _read_pid($ENVV{APP_PID_FILE});
	return () unless _pid_alive($master);
	my ($rc, $o) = _run([ 'pgrep', '-P', $master ]);
	my @workers = grep { _pid_alive($_) } ($o =~ /(\d+)/g);
	return ($master, @workers);
}

# service_pid('redis'): pid of a component from its pid file (undef if dead).
sub service_pid {
	my ($name) = @_;
	_need();
	my %file = (
		postgres => $ENVV{POSTGRES_PID_FILE},
		redis    => $ENVV{REDIS_PID_FILE},
		app      => $ENVV{APP_PID_FILE},
		nginx    => $ENVV{NGINX_PID_FILE},
	);
	croak "unknown service $name" unless exists $file{$name};
	my $pid = _read_pid($file{$name});
	return _pid_alive($pid) ? $pid : undef;
}

# wait_for(sub { ... }, $timeout = 10, $interval = 0.1): true as soon as the
# sub returns true, false after the timeout.
sub wait_for {
	my ($cond, $timeout, $interval) = @_;
	$timeout  //= 10;
	$interval //= 0.1;
	my $deadline = time + $timeout;
	while (1) {
		my $ok = eval { $cond->() };
		return $ok if $ok;
		return 0 if time >= $deadline;
		sleep $interval;
	}
}

# psql($sql): run SQL against DATABASE_URL as the stack user (psql -XAtq,
# ON_ERROR_STOP).  Scalar context: chomped output; list context: lines.
# Dies with psql's message on failure.
sub psql {
	my ($sql) = @_;
	_need();
	my $psql = $ENVV{PSQL} || 'psql';
	my @cmd = (_as_user(), $psql, '-XAtq', '-v', 'ON_ERROR_STOP=1',
		'-d', $ENVV{DATABASE_URL}, '-f', '-');
	my ($rc, $o, $e) = _run(\@cmd, $sql);
	croak "psql failed ($rc): $e" if $rc != 0;
	chomp $o;
	return wantarray ? split(/\n/, $o) : $o;
}

# redis_cli(@args): redis-cli -s RUN_DIR/redis.sock @args as the stack user.
# Scalar context: chomped output; list context: lines.  Dies if redis-cli
# cannot run or connect.
sub redis_cli {
	my (@args) = @_;
	_need();
	my @cmd = (_as_user(), 'redis-cli', '-s', $ENVV{REDIS_SOCKET}, @args);
	my ($rc, $o, $e) = _run(\@cmd);
	croak "redis-cli failed ($rc): $e$o" if $rc != 0;
	chomp $o;
	return wantarray ? split(/\n/, $o) : $o;
}

# app_log_size(): current size of the app log (an offset for app_log_since).
sub app_log_size {
	_need();
	return -s $ENVV{APP_LOG} // 0;
}

# app_log_since($offset): what the app logged after $offset.
# Scalar context: the text; list context: lines.
sub app_log_since {
	my ($offset) = @_;
	_need();
	$offset //= 0;
	open my $fh, '<', $ENVV{APP_LOG} or croak "cannot read $ENVV{APP_LOG}: $!";
	seek $fh, $offset, 0;
	my $text = do { local $/; <$fh> } // '';
	close $fh;
	return wantarray ? split(/\n/, $text) : $text;
}

# app_log_json_since($offset): the JSON lines logged after $offset, decoded
# (lines that are not JSON objects are skipped).
sub app_log_json_since {
	my ($offset) = @_;
	require Mojo::JSON;
	my @out;
	for my $line (app_log_since($offset)) {
		next unless $line =~ /^\s*\{/;
		my $v = eval { Mojo::JSON::decode_json($line) };
		push @out, $v if ref $v eq 'HASH';
	}
	return @out;
}

1;

# ---------------------------------------------------------------------------
# Helpers for t/integration/ (appended; the subs above are unchanged).

# run_cmd(\@cmd, $stdin) -> (exit status, stdout, stderr), no shell.  Public
# face of _run for tests that run the binary with a controlled environment.
sub run_cmd {
	my ($cmd, $stdin) = @_;
	return _run($cmd, $stdin);
}

# psql_bg($sql): run SQL in a background psql session (as the stack user,
# output discarded); returns its pid.  Reap it with wait_pid($pid).
sub psql_bg {
	my ($sql) = @_;
	_need();
	require POSIX;
	my $psql = $ENVV{PSQL} || 'psql';
	my @cmd = (_as_user(), $psql, '-XAtq', '-v', 'ON_ERROR_STOP=1',
		'-d', $ENVV{DATABASE_URL}, '-c', $sql);
	my $pid = fork;
	croak "fork: $!" unless defined $pid;
	if ($pid == 0) {
		open STDIN,  '<', '/dev/null';
		open STDOUT, '>', '/dev/null';
		open STDERR, '>', '/dev/null';
		exec @cmd or POSIX::_exit(127);
	}
	return $pid;
}

# wait_pid($pid, $timeout = 10): reap a child; its exit status, or undef if
# it is still running after the timeout.
sub wait_pid {
	my ($pid, $timeout) = @_;
	require POSIX;
	my $deadline = time + ($timeout // 10);
	while (1) {
		my $r = waitpid $pid, POSIX::WNOHANG();
		return $? >> 8 if $r == $pid;
		return -1 if $r < 0;
		return undef if time >= $deadline;
		sleep 0.05;
	}
}

# get_json($path, \%headers) -> (HTTP status, decoded JSON body or undef, tx).
sub get_json {
	my ($path, $headers) = @_;
	my $tx = ua()->get(url($path) => $headers // {});
	my $res = $tx->res;
	my $json = eval { $res->json };
	return ($res->code // 0, $json, $tx);
}

# health_state() -> 'healthy' / 'degraded' / 'unhealthy' / 'down' (no JSON).
sub health_state {
	my ($code, $j) = get_json('/api/health');
	return 'down' unless ref $j eq 'HASH' && defined $j->{status};
	return $j->{status};
}

# wait_healthy($timeout = 15): true once /api/health answers 200 healthy with
# database, redis and websocket up on every try of a short run of requests
# (several workers answer; each caches its checks for up to 1 s).
sub wait_healthy {
	my ($timeout) = @_;
	return wait_for(sub {
		for (1 .. 4) {
			my ($code, $j) = get_json('/api/health');
			return 0 unless $code == 200 && ref $j eq 'HASH'
				&& ($j->{status} // '') eq 'healthy';
		}
		return 1;
	}, $timeout // 15, 0.2);
}

# restore_stack($timeout = 30): start every component that is not running
# (postgres, redis, app, nginx in that order) and wait until healthy.  For END
# blocks of tests that stop things; true when the stack is healthy again.
sub restore_stack {
	my ($timeout) = @_;
	return 0 unless $LOADED;
	for my $s (qw(postgres redis app nginx)) {
		next if service_pid($s);
		start_service($s);
	}
	# A master that lost workers respawns them; wait for the full pool too.
	my $want = $ENVV{WORKERS} || 4;
	wait_for(sub { my @p = app_pids(); @p == $want + 1 }, 15, 0.2);
	return wait_healthy($timeout // 30);
}

# metrics_text(): the body of GET /api/metrics (dies unless 200).
sub metrics_text {
	my $tx = ua()->get(url('/api/metrics'));
	my $code = $tx->res->code // 0;
	croak "GET /api/metrics: $code" unless $code == 200;
	return $tx->res->body;
}

# metric_samples($text) -> list of [name, {labels}, value].
sub metric_samples {
	my ($text) = @_;
	my @out;
	for my $line (split /\n/, $text) {
		next if $line =~ /^\s*(?:#|$)/;
		next unless $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
		my ($name, $lbl, $val) = ($1, $2 // '', $3);
		my %l;
		while ($lbl =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) {
			(my $v = $2) =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
			$l{$1} = $v;
		}
		$val = 9**9**9 if $val eq '+Inf';
		push @out, [ $name, \%l, $val ];
	}
	return @out;
}

# metric_value($text, $name, \%labels): the sum of the samples of $name whose
# labels include %labels (0 when there are none; undef if $name is absent).
sub metric_value {
	my ($text, $name, $want) = @_;
	$want //= {};
	my ($sum, $seen) = (0, 0);
	SAMPLE: for my $s (metric_samples($text)) {
		next unless $s->[0] eq $name;
		$seen = 1;
		for my $k (keys %$want) {
			next SAMPLE unless defined $s->[1]{$k} && $s->[1]{$k} eq $want->{$k};
		}
		$sum += $s->[2];
	}
	return $seen ? $sum : undef;
}

1;

# ---------------------------------------------------------------------------
# Stack::T — helpers of t/integration/2xx (matches, boards, seasons); own
# package so the names cannot collide with other appended helpers.
{
	package Stack::T;
	use strict;
	use warnings;
	use Mojo::JSON qw(decode_json encode_json);

	our $PASSWORD = 'Integration-pass-1';

	# tag(): short per-process tag for unique usernames / ids ([a-z0-9]).
	my $TAG;
	sub tag {
		return $TAG //= lc(sprintf '%x%04x', time % 0xffffff, $$ % 0xffff);
	}

	# call($method, $path, json => $data | body => $raw, token => $t,
	#      headers => {...}, ua => $ua, content_type => $ct) -> tx
	sub call {
		my ($method, $path, %o) = @_;
		my $ua = $o{ua} // Stack::ua();
		my %h = %{ $o{headers} // {} };
		$h{Authorization} = "Bearer $o{token}" if defined $o{token};
		my @body;
		if (exists $o{json}) {
			$h{'Content-Type'} //= 'application/json';
			@body = (encode_json($o{json}));
		} elsif (defined $o{body}) {
			$h{'Content-Type'} //= $o{content_type} // 'application/json';
			@body = ($o{body});
		}
		my $url = $path =~ m{^https?://} ? $path : Stack::url($path);
		return $ua->start($ua->build_tx($method => $url => \%h => @body));
	}

	# body_json($tx): decoded JSON body, undef if none.
	sub body_json {
		my ($tx) = @_;
		return eval { decode_json($tx->res->body) };
	}

	# invalidate_boards(): new Redis epoch, so the boards rebuild from
	# PostgreSQL on the next read (after writes made with psql).
	sub invalidate_boards { Stack::redis_cli('INCR', 'lb:epoch') }

	# login($username) -> access token (dies on failure).
	sub login {
		my ($username, %o) = @_;
		my $tx = call(POST => '/api/auth/login',
			json => { username => $username, password => $PASSWORD }, ua => $o{ua});
		my $j = body_json($tx);
		die "login $username: " . ($tx->res->code // 'no answer') . ' ' . $tx->res->body . "\n"
			unless ($tx->res->code // 0) == 200 && $j->{token};
		return $j->{token};
	}

	# make_admin($player) -> token of $player after promotion to admin.
	sub make_admin {
		my ($p) = @_;
		Stack::psql("UPDATE players SET role = 'admin' WHERE id = '$p->{id}'");
		return $p->{token} = login($p->{username});
	}

	# setup_players(prefix => 't200', n => 4, country => 'IS', addr => '127.0.4.1',
	#               login => N, retire => 1)
	# -> ($registered, @players).  $registered is registered over HTTP from
	# source address addr (no country; {id, username, token}); @players (n of
	# them, {id, username}, the first `login` of them with a token) are
	# inserted with psql (same password), each with its all-time board row.
	# The Redis boards are invalidated afterwards.  retire => 1 first
	# deactivates the players of earlier runs with the same prefix.
	sub setup_players {
		my (%o) = @_;
		my $pfx = "$o{prefix}_" . tag();
		if ($o{retire}) {    # players of earlier runs of the same file leave the boards
			Stack::psql("WITH p AS (UPDATE players SET is_active = false WHERE username LIKE "
				. "'$o{prefix}\\_%' AND is_active RETURNING id) UPDATE leaderboard_entries "
				. "SET is_active = false WHERE player_id IN (SELECT id FROM p)");
		}
		require Mojo::UserAgent;
		my $rua = Mojo::UserAgent->new(request_timeout => 10,
			$o{addr} ? (socket_options => { LocalAddr => $o{addr} }) : ());
		my $name = "${pfx}_r";
		my $tx = call(POST => '/api/auth/register', ua => $rua, json => {
			username => $name, email => "$name\@example.com", password => $PASSWORD });
		my $j = body_json($tx);
		die "register $name: " . ($tx->res->code // 'no answer') . ' ' . $tx->res->body . "\n"
			unless ($tx->res->code // 0) == 201 && $j->{token};
		my $reg = { id => $j->{user}{id}, username => $name, token => $j->{token} };
		my @p;
		my $n = $o{n} // 0;
		if ($n > 0) {
			my $cc = defined $o{country} ? "'$o{country}'" : 'NULL';
			my @rows = Stack::psql(<<"SQL");
WITH src AS (SELECT '${pfx}_' || lpad(g::text, 3, '0') AS u, g FROM generate_series(1, $n) g),
p AS (INSERT INTO players (username, email, password_hash, display_name, country_code)
      SELECT u, u || '\@example.com', (SELECT password_hash FROM players WHERE id = '$reg->{id}'),
             'Player ' || u, $cc FROM src ORDER BY g RETURNING id, username, country_code),
e AS (INSERT INTO leaderboard_entries (season_id, player_id, elo, country_code, reached_at)
      SELECT 'all-time', id, 1200, country_code, date_trunc('milliseconds', now()) FROM p)
SELECT id || '|' || username FROM p ORDER BY username;
SQL
			for my $r (@rows) {
				my ($id, $u) = split /\|/, $r;
				push @p, { id => $id, username => $u };
			}
			die "setup_players: inserted " . scalar(@p) . " of $n\n" unless @p == $n;
			invalidate_boards();
		}
		for my $i (0 .. ($o{login} // 0) - 1) {
			last if $i >= @p;
			$p[$i]{token} = login($p[$i]{username});
		}
		return ($reg, @p);
	}

	# Rating rules of SPEC §5, independently: K by games played, expected
	# score, rounding half away from zero.
	sub elo_k { return $_[0] < 30 ? 40 : 24 }
	sub elo_round { my ($x) = @_; return $x >= 0 ? int($x + 0.5) : -int(-$x + 0.5) }
	sub elo_expected { my ($ra, $rb) = @_; return 1 / (1 + 10**(($rb - $ra) / 400)) }

	# elo_new($ra, $rb, $games_a, $score_a) -> ($new_a, $k_a)
	sub elo_new {
		my ($ra, $rb, $ga, $sa) = @_;
		my $k = elo_k($ga);
		return (elo_round($ra + $k * ($sa - elo_expected($ra, $rb))), $k);
	}

	# A player's record as SPEC §5 maintains it.
	sub rec_new {
		my (%o) = @_;
		return { elo => 1200, peak => 1200, lowest => 1200, games => 0, wins => 0,
			losses => 0, draws => 0, streak => 0, best => 0, %o };
	}

	# rate(\%rec_a, \%rec_b, $score_a): apply a rated result to both records;
	# returns ([before, after, delta, k] of a, same of b).
	sub rate {
		my ($a, $b, $sa) = @_;
		my ($na, $ka) = elo_new($a->{elo}, $b->{elo}, $a->{games}, $sa);
		my ($nb, $kb) = elo_new($b->{elo}, $a->{elo}, $b->{games}, 1 - $sa);
		my @out = ([ $a->{elo}, $na, $na - $a->{elo}, $ka ], [ $b->{elo}, $nb, $nb - $b->{elo}, $kb ]);
		for ([ $a, $na, $sa ], [ $b, $nb, 1 - $sa ]) {
			my ($r, $new, $s) = @$_;
			$r->{elo} = $new;
			$r->{peak} = $new if $new > $r->{peak};
			$r->{lowest} = $new if $new < $r->{lowest};
			$r->{games}++;
			if ($s == 1) {
				$r->{wins}++;
				$r->{streak} = $r->{streak} > 0 ? $r->{streak} + 1 : 1;
				$r->{best} = $r->{streak} if $r->{streak} > $r->{best};
			} elsif ($s == 0) {
				$r->{losses}++;
				$r->{streak} = $r->{streak} < 0 ? $r->{streak} - 1 : -1;
			} else {
				$r->{draws}++;
				$r->{streak} = 0;
			}
		}
		return @out;
	}
}

1;
