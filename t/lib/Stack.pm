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
