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
	# the master's children are the workers and the realtime publishers
	# (process name "rankpulse-pub"); this returns the workers
	my @workers = grep { _pid_alive($_) && _comm($_) ne 'rankpulse-pub' } ($o =~ /(\d+)/g);
	return ($master, @workers);
}

sub _comm {
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/comm") or return '';
	my $c = <$fh> // '';
	chomp $c;
	return $c;
}

# publisher_pids(): the realtime publisher processes (one per outbox partition).
sub publisher_pids {
	_need();
	my $master = _read_pid($ENVV{APP_PID_FILE});
	return () unless _pid_alive($master);
	my ($rc, $o) = _run([ 'pgrep', '-P', $master ]);
	return grep { _pid_alive($_) && _comm($_) eq 'rankpulse-pub' } ($o =~ /(\d+)/g);
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

# board_counts_drift(): (missing, extra, moves) — the board rank counts of
# migration 0005 (board_tie_counts plus the unfolded board_moves) against a
# GROUP BY over leaderboard_entries: cells (season, board, elo, UTC day) the
# counts lack or get wrong, cells they have that the entries do not, and
# the moves not folded yet. (0, 0, x) when the counts are exact.
sub board_counts_drift {
	my $r = psql(<<'SQL');
WITH truth AS (
  SELECT season_id, '' AS cc, elo, board_day(reached_at) AS day, count(*) AS n
    FROM leaderboard_entries WHERE is_active GROUP BY 1, 2, 3, 4
  UNION ALL
  SELECT season_id, country_code, elo, board_day(reached_at), count(*)
    FROM leaderboard_entries WHERE is_active AND country_code IS NOT NULL GROUP BY 1, 2, 3, 4),
m AS (SELECT * FROM board_moves),
d AS (SELECT season_id, '' AS cc, new_elo AS elo, new_day AS day, 1 AS n FROM m WHERE new_elo IS NOT NULL
  UNION ALL SELECT season_id, new_cc, new_elo, new_day, 1 FROM m WHERE new_elo IS NOT NULL AND new_cc IS NOT NULL
  UNION ALL SELECT season_id, '', old_elo, old_day, -1 FROM m WHERE old_elo IS NOT NULL
  UNION ALL SELECT season_id, old_cc, old_elo, old_day, -1 FROM m WHERE old_elo IS NOT NULL AND old_cc IS NOT NULL
  UNION ALL SELECT season_id, country_code, elo, day, n FROM board_tie_counts),
kept AS (SELECT season_id, cc, elo, day, sum(n) AS n FROM d GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0),
per_elo AS (SELECT season_id, country_code, elo, sum(n) AS n FROM board_tie_counts GROUP BY 1, 2, 3
  HAVING sum(n) <> 0)
SELECT (SELECT count(*) FROM (SELECT * FROM truth EXCEPT SELECT * FROM kept) a) || '|'
    || ((SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * FROM truth) b)
        + (SELECT count(*) FROM ((SELECT * FROM per_elo EXCEPT SELECT * FROM board_elo_counts)
           UNION ALL (SELECT * FROM board_elo_counts WHERE n <> 0 EXCEPT SELECT * FROM per_elo)) c))
    || '|' || (SELECT count(*) FROM board_moves)
SQL
	return split /\|/, $r;
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

# ---------------------------------------------------------------------------
# Stack::RT — realtime helpers of t/integration/3xx: WebSocket / EventSource
# subscribers on the Mojo::IOLoop singleton, matches with results, nginx pids.
{
	package Stack::RT;
	use strict;
	use warnings;
	use Mojo::IOLoop;
	use Mojo::JSON qw(decode_json);
	use Time::HiRes qw(time);

	sub _ua {
		require Mojo::UserAgent;
		return Mojo::UserAgent->new(connect_timeout => 5, inactivity_timeout => 0,
			request_timeout => 0, max_redirects => 0);
	}

	sub _got {
		my ($s, $text) = @_;
		push @{ $s->{raw} }, $text;
		my $m = eval { decode_json($text) };
		push @{ $s->{msgs} }, $m if ref $m eq 'HASH';
		push @{ $s->{at} }, time;
	}

	# ws($path, headers => {...}) -> subscriber {open, closed, code, body,
	# ctype, msgs => [decoded JSON], raw => [text], at => [arrival times]}.
	# Non-blocking: run the loop (wait_until / pump) to make progress.
	sub ws {
		my ($path, %o) = @_;
		my $s = { kind => 'ws', path => $path, open => 0, closed => 0, msgs => [], raw => [], at => [] };
		my $ua = $s->{ua} = _ua();
		$ua->websocket(Stack::ws_url($path) => ($o{headers} // {}) => sub {
			my (undef, $tx) = @_;
			$s->{code}  = $tx->res->code;
			$s->{ctype} = $tx->res->headers->content_type;
			if (!$tx->is_websocket) {
				@$s{qw(closed body)} = (1, $tx->res->body);
				return;
			}
			@$s{qw(open tx)} = (1, $tx);
			$tx->on(message => sub { _got($s, $_[1]) });
			$tx->on(finish => sub { @$s{qw(open closed)} = (0, 1) });
		});
		return $s;
	}

	# es($path, headers => {...}) -> EventSource subscriber (as ws, plus
	# ids => [the id: of each message]).
	sub es {
		my ($path, %o) = @_;
		my $s = { kind => 'es', path => $path, open => 0, closed => 0, msgs => [], raw => [], at => [],
			ids => [], body => '' };
		my $ua = $s->{ua} = _ua();
		my $tx = $s->{tx} = $ua->build_tx(GET => Stack::url($path) =>
			{ Accept => 'text/event-stream', %{ $o{headers} // {} } });
		$tx->res->max_message_size(0);
		# nchan sends neither Content-Length nor chunked (yet "keep-alive"):
		# the stream ends with the connection, as EventSource readers assume
		$tx->res->content->relaxed(1);
		my $buf = '';
		$tx->res->content->unsubscribe('read')->on(read => sub {
			my (undef, $bytes) = @_;
			$s->{code}  = $tx->res->code;
			$s->{ctype} = $tx->res->headers->content_type;
			if (($s->{code} // 0) != 200 || ($s->{ctype} // '') !~ m{^text/event-stream}) {
				$s->{body} .= $bytes;
				return;
			}
			$s->{open} = 1;
			$buf .= $bytes;
			while ($buf =~ s/^(.*?)\r?\n\r?\n//s) {
				my ($id, @data);
				for my $line (split /\r?\n/, $1) {
					if ($line =~ /^id:\s?(.*)$/) { $id = $1 }
					elsif ($line =~ /^data:\s?(.*)$/) { push @data, $1 }
				}
				next unless @data;
				push @{ $s->{ids} }, $id;
				_got($s, join "\n", @data);
			}
		});
		$ua->start($tx => sub {
			my (undef, $tx) = @_;
			$s->{code} //= $tx->res->code;
			$s->{ctype} //= $tx->res->headers->content_type;
			@$s{qw(open closed)} = (0, 1);
		});
		return $s;
	}

	# lp($path, headers => {...}) -> long-poll subscriber: one GET that
	# answers with the next message (msgs gets it).  No readiness signal:
	# ready() pumps a moment for it.
	sub lp {
		my ($path, %o) = @_;
		my $s = { kind => 'lp', path => $path, open => 1, closed => 0, msgs => [], raw => [], at => [] };
		my $ua = $s->{ua} = _ua();
		$ua->request_timeout(15);
		$s->{tx} = $ua->build_tx(GET => Stack::url($path) => $o{headers} // {});
		$ua->start($s->{tx} => sub {
			my (undef, $tx) = @_;
			@$s{qw(code ctype open closed)} = ($tx->res->code, $tx->res->headers->content_type, 0, 1);
			if (($s->{code} // 0) == 200) { _got($s, $tx->res->body) }
			else { $s->{body} = $tx->res->body }
		});
		return $s;
	}

	# close_sub($s): disconnect a subscriber (and let the loop notice).
	sub close_sub {
		my ($s) = @_;
		if ($s->{kind} eq 'ws') {
			$s->{tx}->finish if $s->{tx} && $s->{open};
		} elsif ($s->{tx} && defined(my $c = $s->{tx}->connection)) {
			Mojo::IOLoop->remove($c);
		}
		pump(0.05);
		@$s{qw(open closed)} = (0, 1);
		delete $s->{ua};
	}

	# wait_until(sub { cond }, $timeout = 5): run the loop until cond holds
	# (true) or the timeout passes (false).
	sub wait_until {
		my ($cond, $timeout) = @_;
		my $deadline = time + ($timeout // 5);
		return 1 if $cond->();
		my $ok = 0;
		my $id = Mojo::IOLoop->recurring(0.005 => sub {
			if ($cond->()) { $ok = 1; Mojo::IOLoop->stop }
			elsif (time >= $deadline) { Mojo::IOLoop->stop }
		});
		Mojo::IOLoop->start;
		Mojo::IOLoop->remove($id);
		return $ok;
	}

	# pump($seconds): run the loop for a while.
	sub pump {
		my ($secs) = @_;
		Mojo::IOLoop->timer($secs => sub { Mojo::IOLoop->stop });
		Mojo::IOLoop->start;
	}

	# ready(@subs): wait (≤ 5 s) until every subscriber is open or refused;
	# true when all are open.  Allows nchan a moment to register them.
	sub ready {
		my (@subs) = @_;
		wait_until(sub { !grep { !$_->{open} && !$_->{closed} } @subs }, 5);
		pump(0.1);
		return !grep { !$_->{open} || (defined $_->{code} && $_->{kind} eq 'lp') } @subs;
	}

	# of_type($s, $type) -> messages of that type
	sub of_type {
		my ($s, $type) = @_;
		return grep { ($_->{type} // '') eq $type } @{ $s->{msgs} };
	}

	# play($token, $p1, $p2, $s1, $s2) -> (match, result JSON); dies unless
	# the match is created (201) and the result accepted (200).
	sub play {
		my ($token, $p1, $p2, $s1, $s2) = @_;
		my $tx = Stack::T::call(POST => '/api/matches', token => $token,
			json => { player1Id => $p1->{id}, player2Id => $p2->{id} });
		die 'create match: ' . ($tx->res->code // 'none') . ' ' . $tx->res->body . "\n"
			unless ($tx->res->code // 0) == 201;
		my $m = Stack::T::body_json($tx);
		$tx = Stack::T::call(POST => "/api/matches/$m->{id}/result", token => $token,
			json => { player1Score => $s1, player2Score => $s2 });
		die 'result: ' . ($tx->res->code // 'none') . ' ' . $tx->res->body . "\n"
			unless ($tx->res->code // 0) == 200;
		return ($m, Stack::T::body_json($tx));
	}

	# new_match($token, $p1, $p2) -> match JSON (dies unless 201).
	sub new_match {
		my ($token, $p1, $p2) = @_;
		my $tx = Stack::T::call(POST => '/api/matches', token => $token,
			json => { player1Id => $p1->{id}, player2Id => $p2->{id} });
		die 'create match: ' . ($tx->res->code // 'none') . ' ' . $tx->res->body . "\n"
			unless ($tx->res->code // 0) == 201;
		return Stack::T::body_json($tx);
	}

	# warm_boards($player): make the Redis boards ready (they rebuild on a
	# read) so results carry ranks; an uncached URL per player.
	sub warm_boards {
		my ($p) = @_;
		Stack::T::call(GET => "/api/leaderboards/around/$p->{id}?radius=1");
	}

	# as_user(@cmd): the command prefixed to run as the stack user.
	sub as_user { return (Stack::_as_user(), @_) }

	sub _cmdline {
		my ($pid) = @_;
		open my $fh, '<', "/proc/$pid/cmdline" or return '';
		local $/;
		return <$fh> // '';
	}

	# nginx_pids() -> (master, sorted worker pids); () if nginx is down.
	# Only "worker process" children: the cache loader exits on its own.
	sub nginx_pids {
		my $master = Stack::service_pid('nginx') or return ();
		my (undef, $o) = Stack::_run([ 'pgrep', '-P', $master ]);
		my @w = grep { Stack::_pid_alive($_) && _cmdline($_) =~ /worker process/ } ($o =~ /(\d+)/g);
		return ($master, sort { $a <=> $b } @w);
	}

	# nginx_error_log_size() / nginx_error_log_since($off): error.log text.
	sub nginx_error_log_size { return -s Stack::env('NGINX_ERROR_LOG') // 0 }
	sub nginx_error_log_since {
		my ($off) = @_;
		open my $fh, '<', Stack::env('NGINX_ERROR_LOG') or return '';
		seek $fh, $off // 0, 0;
		local $/;
		my $t = <$fh> // '';
		close $fh;
		return $t;
	}

	# channel_info($channel) -> (HTTP status, body) of GET /pub/<channel> on
	# the publisher socket (curl as the stack user).
	sub channel_info {
		my ($chan) = @_;
		my ($rc, $o) = Stack::_run([ as_user('curl', '-s', '--max-time', '3', '-w', '\n%{http_code}',
			'-H', 'Accept: application/json', '--unix-socket', Stack::env('NCHAN_SOCKET'),
			"http://localhost/pub/$chan") ]);
		my ($body, $code) = $o =~ /^(.*)\n(\d+)$/s ? ($1, $2) : ($o, 0);
		return ($code, $body);
	}
}

1;

# ---------------------------------------------------------------------------
# Stack::Auth — helpers of t/integration/1xx (auth, players); own package so
# the names cannot collide with other appended helpers.
{
	package Stack::Auth;
	use strict;
	use warnings;
	use Carp qw(croak);
	use Digest::SHA qw(hmac_sha256);
	use MIME::Base64 qw(encode_base64url decode_base64url);
	use Mojo::JSON qw(decode_json encode_json);

	our $PASSWORD = 'Auth-test-pass-1';

	# need_stack(): BAIL_OUT (never skip) unless RP_STACK_ENV names a stack.
	sub need_stack {
		require Test::More;
		Test::More::BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
			unless Stack::available();
	}

	# addr($file_no) -> a fresh loopback source address '127.F.R.N' per call
	# (F = file number, R random per process, N counting): the app limits
	# registrations per client IP (10/60 s), so spreading them keeps files
	# and quick reruns from sharing a budget.
	my %N;
	my $R = 1 + int(rand(250));
	sub addr {
		my ($f) = @_;
		my $n = ++$N{$f};
		croak "addr: out of addresses for $f" if $n > 250;
		return "127.$f.$R.$n";
	}

	# ua_at($addr): a Mojo::UserAgent whose connections come from $addr.
	# (Mojolicious 9.31 has no local_address attribute — passing one to new()
	# is silently ignored; socket_options LocalAddr is what binds.)
	sub ua_at {
		my ($addr) = @_;
		require Mojo::UserAgent;
		return Mojo::UserAgent->new(connect_timeout => 5, inactivity_timeout => 15,
			request_timeout => 15, max_redirects => 0, socket_options => { LocalAddr => $addr });
	}

	# register($ua, \%body) -> ($tx, $json): POST /api/auth/register.
	sub register {
		my ($ua, $body) = @_;
		my $tx = Stack::T::call(POST => '/api/auth/register', ua => $ua, json => $body);
		return ($tx, Stack::T::body_json($tx));
	}

	# new_user($ua, $name, %extra) -> user hash {id, username, email, token,
	# refresh} (dies unless 201); password $PASSWORD unless given.
	sub new_user {
		my ($ua, $name, %extra) = @_;
		my %body = (username => $name, email => lc($name) . '@example.com',
			password => $PASSWORD, %extra);
		my ($tx, $j) = register($ua, \%body);
		die "register $name: " . ($tx->res->code // 'no answer') . ' ' . $tx->res->body . "\n"
			unless ($tx->res->code // 0) == 201 && ref $j eq 'HASH' && $j->{token};
		return { %{ $j->{user} }, password => $body{password}, token => $j->{token},
			refresh => $j->{refreshToken} };
	}

	# jwt_make(\%header, \%claims, $secret, %o) -> compact JWS, HMAC-SHA256
	# over header.payload with $secret (JWT_SECRET of the stack by default);
	# o{sig} gives the signature part verbatim instead (e.g. '' for alg none).
	sub jwt_make {
		my ($hdr, $claims, $secret, %o) = @_;
		$secret //= Stack::env('JWT_SECRET');
		my $si = encode_base64url(encode_json($hdr)) . '.' . encode_base64url(encode_json($claims));
		my $sig = exists $o{sig} ? $o{sig} : encode_base64url(hmac_sha256($si, $secret));
		return "$si.$sig";
	}

	# jwt_claims($token) -> the decoded payload (signature NOT checked).
	sub jwt_claims {
		my ($t) = @_;
		my (undef, $p) = split /\./, $t // '';
		return eval { decode_json(decode_base64url($p // '')) };
	}

	# problem($tx, $status, $field) -> list of mismatches ('' list = fine):
	# an RFC 9457 body of the app (type/title/status/detail/instance/
	# requestId = X-Request-Id/errors[]) with that status, and, when $field
	# is defined, an entry of errors[] naming it.
	sub problem {
		my ($tx, $status, $field) = @_;
		my $res = $tx->res;
		my @bad;
		my $code = $res->code // 0;
		push @bad, "status $code, want $status" if $code != $status;
		my $ct = $res->headers->content_type // '';
		push @bad, "content type '$ct'" unless $ct =~ m{^application/problem\+json\b};
		my $j = eval { decode_json($res->body) };
		return (@bad, 'body is not a JSON object: ' . substr($res->body // '', 0, 200))
			unless ref $j eq 'HASH';
		push @bad, "body status " . ($j->{status} // 'undef') if ($j->{status} // -1) != $status;
		push @bad, "type '" . ($j->{type} // '') . "'" unless ($j->{type} // '') =~ m{^https?://\S+/[a-z-]+$};
		for my $k (qw(title detail instance requestId)) {
			push @bad, "no $k" unless defined $j->{$k} && !ref $j->{$k} && length $j->{$k};
		}
		my $rid = $res->headers->header('X-Request-Id') // '';
		push @bad, "requestId '" . ($j->{requestId} // '') . "' != X-Request-Id '$rid'"
			if ($j->{requestId} // '') ne $rid;
		if (ref $j->{errors} ne 'ARRAY') {
			push @bad, 'errors is not an array';
		} elsif (defined $field && !grep { ref $_ eq 'HASH' && ($_->{field} // "\0") eq $field
				&& defined $_->{message} && length $_->{message} } @{ $j->{errors} }) {
			push @bad, "no error for field '$field' in " . encode_json($j->{errors});
		}
		push @bad, 'Retry-After missing on 429'
			if $status == 429 && ($res->headers->header('Retry-After') // '') !~ /^[1-9][0-9]*$/;
		push @bad, 'WWW-Authenticate: Bearer missing on 401'
			if $status == 401 && ($res->headers->header('WWW-Authenticate') // '') !~ /^Bearer\b/;
		return @bad;
	}

	# psql_session() -> an object whose ->query($sql) runs SQL in ONE long-lived
	# psql (as the stack user) and returns the chomped output (psql -XAtq), in
	# ~2 ms instead of ~75 ms per Stack::psql; croaks on an SQL error.  The
	# session ends when the object goes away.
	sub psql_session {
		require IPC::Open3;
		Stack::_need();
		my @cmd = (Stack::_as_user(), Stack::env('PSQL') || 'psql', '-XAtq', '-d', Stack::env('DATABASE_URL'));
		my $pid = IPC::Open3::open3(my $in, my $out, undef, @cmd);
		$in->autoflush(1);
		return bless { pid => $pid, in => $in, out => $out }, 'Stack::Auth::Session';
	}
	{
		package Stack::Auth::Session;
		sub query {
			my ($self, $sql) = @_;
			my $end = '__rp_end_' . int(rand(1e9)) . '__';
			local $SIG{PIPE} = 'IGNORE';
			print { $self->{in} } "$sql;\n\\echo $end\n" or Carp::croak("psql session: $!");
			my @lines;
			while (1) {
				my $l = readline $self->{out};
				Carp::croak('psql session ended: ' . join("\n", @lines)) unless defined $l;
				chomp $l;
				last if $l eq $end;
				push @lines, $l;
			}
			Carp::croak('psql: ' . join("\n", @lines)) if grep { /^(?:psql:.*)?(?:ERROR|FATAL):/ } @lines;
			return join "\n", @lines;
		}
		sub DESTROY {
			my ($self) = @_;
			close $self->{in};
			waitpid $self->{pid}, 0 if $self->{pid};
		}
	}

	# problem_ok($tx, $status, $field, $name): one Test::More assertion of problem().
	sub problem_ok {
		my ($tx, $status, $field, $name) = @_;
		require Test::More;
		local $Test::Builder::Level = $Test::Builder::Level + 1;
		my @bad = problem($tx, $status, $field);
		my $ok = Test::More::ok(!@bad, $name);
		Test::More::diag(join "\n", @bad, 'body: ' . substr($tx->res->body // '', 0, 400)) unless $ok;
		return $ok;
	}
}

1;
