#!/usr/bin/perl
# 410-systemd-install.t — `make install` and the systemd units, without a
# running systemd:
#   * `make -f Makefile -f mk/install.mk install DESTDIR=tmp` (the stack's
#     binary as INSTALL_BIN) installs the binary, the operator scripts, the
#     units, sysusers/tmpfiles snippets, the nginx templates, the static files
#     with the problem+json bodies and the docs; PREFIX is rewritten into the
#     units; the installed rankpulse runs; an existing logrotate file is kept;
#   * the units carry what the spec and the runbook rely on (hardening,
#     restart policy, reload/stop semantics, --env-file, RuntimeDirectory), and
#     the FastCGI socket path agrees between rankpulse.service,
#     rankpulse.socket, .env.example and the rendered production nginx;
#   * `systemd-analyze verify` accepts copies of the installed units whose
#     paths point into the DESTDIR tree (and rejects a copy whose ExecStart is
#     missing, so the check means something); the nginx.service drop-in loads;
#     `systemd-analyze security --offline` rates the services ≤ 2.5;
#   * systemd-sysusers / systemd-tmpfiles apply the snippets to a scratch root;
#   * EnvironmentFile= and --env-file name the same file: at start the real
#     environment wins over --env-file (shown with check-config); on a SIGHUP
#     reload the file wins (config_reload_env_file), so edits take effect.
# Needs systemd-analyze (package systemd); when it is missing those checks
# are skipped with that reason and everything else still runs.
# Touches nothing of the stack.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Copy qw(copy);
use Stack;

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $REPO = Stack::repo();
my $BIN  = Stack::env('RANKPULSE_BIN');
my $T    = tempdir('t410-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $D    = "$T/dest";

sub slurp { my ($f) = @_; open my $fh, '<', $f or return undef; local $/; return <$fh> }
sub have { my ($tool) = @_; my ($rc) = Stack::run_cmd([ 'sh', '-c', "command -v $tool" ]); return $rc == 0 }

# unit($text) -> { "Section.Key" => [values] }
sub unit {
	my ($text) = @_;
	my (%u, $sec);
	for my $line (split /\n/, $text // '') {
		next if $line =~ /^\s*(?:[#;]|$)/;
		if ($line =~ /^\[(\w+)\]/) { $sec = $1; next }
		push @{ $u{"$sec.$1"} }, $2 if $line =~ /^(\w+)=(.*)$/;
	}
	return \%u;
}
sub one { my ($u, $k) = @_; my $v = $u->{$k}; return $v ? $v->[-1] : undef }

# ---------------------------------------------------------------- make install

my ($rc, $out, $err) = Stack::run_cmd([ 'make', '-s', '-C', $REPO, '-f', 'Makefile', '-f', 'mk/install.mk',
	'install', "DESTDIR=$D", 'PREFIX=/usr/local', "INSTALL_BIN=$BIN" ]);
is($rc, 0, 'make install DESTDIR=… PREFIX=/usr/local') or diag "$out$err";

my $P = "$D/usr/local";
my %expect = (
	"$P/bin/rankpulse" => 0755,
	"$P/sbin/rankpulse-render-nginx" => 0755,
	"$P/sbin/rankpulse-backup" => 0755,
	"$P/sbin/rankpulse-restore" => 0755,
	"$P/sbin/rankpulse-env.sh" => 0644,
	(map { ("$P/lib/systemd/system/$_" => 0644) } qw(rankpulse.service rankpulse.socket
		rankpulse-migrate.service rankpulse-backup.service rankpulse-backup.timer)),
	"$P/lib/systemd/system/nginx.service.d/rankpulse.conf" => 0644,
	"$P/lib/sysusers.d/rankpulse.conf" => 0644,
	"$P/lib/tmpfiles.d/rankpulse.conf" => 0644,
	(map { ("$P/share/rankpulse/nginx/$_" => 0644) } qw(nginx.conf container.conf.in
		rankpulse-locations.conf fastcgi_params.conf nchan-memory.conf nchan-redis.conf
		nchan-redis-upstream.conf.in)),
	"$P/share/rankpulse/www/index.html" => 0644,
	"$P/share/rankpulse/www/_problem/429.json" => 0644,
	"$P/share/rankpulse/www/_problem/413.json" => 0644,
	"$P/share/doc/rankpulse/README.md" => 0644,
	"$P/share/doc/rankpulse/systemd.md" => 0644,
	"$P/share/doc/rankpulse/examples/stunnel-redis-client.conf" => 0644,
	"$D/etc/rankpulse/rankpulse.env.example" => 0644,
	"$D/etc/logrotate.d/rankpulse-nginx" => 0644,
);
my @bad;
for my $f (sort keys %expect) {
	my @st = stat $f;
	push @bad, @st ? sprintf('%s mode %04o', $f, $st[2] & 07777) : "$f missing"
		unless @st && ($st[2] & 07777) == $expect{$f};
}
ok(!@bad, scalar(keys %expect) . ' files installed with their modes') or diag join "\n", @bad;
my @docs = glob "$REPO/docs/*.md";
is(scalar(grep { -f "$P/share/doc/rankpulse/" . ($_ =~ s{.*/}{}r) } @docs), scalar @docs,
	'every docs/*.md installed');
my @installed_problems = map { s{.*/}{}r } glob "$P/share/rankpulse/www/_problem/*.json";
my @problems = map { s{.*/}{}r } glob "$REPO/conf/errors/*.json";
is_deeply(\@installed_problems, \@problems, 'every problem+json body installed under www/_problem/');
ok(!-e "$D/etc/rankpulse/rankpulse.env", 'no rankpulse.env created (secrets are the operator\'s)');

($rc, $out) = Stack::run_cmd([ "$P/bin/rankpulse", 'version' ]);
my (undef, $want) = Stack::run_cmd([ $BIN, 'version' ]);
like($out, qr/^rankpulse \S+ \(git \S+\)$/m, 'the installed binary runs: ' . ($out =~ s/\n.*//sr));
is($out, $want, '... and is the binary given as INSTALL_BIN');

my $svc = slurp("$P/lib/systemd/system/rankpulse.service");
like($svc, qr{^ExecStart=/usr/local/bin/rankpulse serve }m, 'units name PREFIX/bin/rankpulse');

# PREFIX=/usr: paths rewritten; an existing logrotate file is kept.
make_path("$T/dest2/etc/logrotate.d");
open my $lr, '>', "$T/dest2/etc/logrotate.d/rankpulse-nginx" or die $!;
print $lr "# local edit\n";
close $lr;
($rc, $out, $err) = Stack::run_cmd([ 'make', '-s', '-C', $REPO, '-f', 'Makefile', '-f', 'mk/install.mk',
	'install', "DESTDIR=$T/dest2", 'PREFIX=/usr', "INSTALL_BIN=$BIN" ]);
is($rc, 0, 'make install PREFIX=/usr') or diag "$out$err";
my $u2 = unit(slurp("$T/dest2/usr/lib/systemd/system/rankpulse.service"));
like(one($u2, 'Service.ExecStart'), qr{^/usr/bin/rankpulse serve }, '... ExecStart=/usr/bin/rankpulse');
like(one(unit(slurp("$T/dest2/usr/lib/systemd/system/rankpulse-backup.service")), 'Service.ExecStart'),
	qr{^/usr/sbin/rankpulse-backup }, '... backup ExecStart=/usr/sbin/rankpulse-backup');
is(slurp("$T/dest2/etc/logrotate.d/rankpulse-nginx"), "# local edit\n", '... the existing logrotate file kept');
like($err, qr/kept the existing/, '... and said so');

# ---------------------------------------------------------------- unit contents

my $u = unit($svc);
my $envfile = '/etc/rankpulse/rankpulse.env';
my %svc_want = (
	'Service.User' => 'rankpulse',
	'Service.Restart' => 'on-failure',
	'Service.TimeoutStopSec' => '15',
	'Service.KillMode' => 'mixed',
	'Service.ExecReload' => '/bin/kill -HUP $MAINPID',
	'Service.ProtectSystem' => 'strict',
	'Service.PrivateTmp' => 'yes',
	'Service.NoNewPrivileges' => 'yes',
	'Service.ProtectHome' => 'yes',
	'Service.RestrictAddressFamilies' => 'AF_UNIX AF_INET AF_INET6',
	'Service.RuntimeDirectory' => 'rankpulse',
	'Service.RuntimeDirectoryMode' => '0750',
	'Service.RuntimeDirectoryPreserve' => 'yes',
	'Install.WantedBy' => 'multi-user.target',
);
for my $k (sort keys %svc_want) {
	is(one($u, $k), $svc_want{$k}, "rankpulse.service $k=$svc_want{$k}");
}
ok((grep { $_ eq '@system-service' } @{ $u->{'Service.SystemCallFilter'} // [] }), 'SystemCallFilter=@system-service');
is(one($u, 'Service.ExecStartPre'), "/usr/local/bin/rankpulse check-config --env-file $envfile",
	'ExecStartPre=rankpulse check-config --env-file …');
is(one($u, 'Service.ExecStart'), "/usr/local/bin/rankpulse serve --env-file $envfile",
	'ExecStart=rankpulse serve --env-file … (SIGHUP re-reads it)');
is(one($u, 'Service.EnvironmentFile'), $envfile, 'EnvironmentFile= is the same file as --env-file');

# Why: the real environment wins over --env-file.
open my $ef, '>', "$T/prec.env" or die $!;
print $ef "LOG_LEVEL=debug\nDATABASE_URL=postgresql:///x?host=/tmp\n";
close $ef;
($rc, $out) = Stack::run_cmd([ 'env', '-i', 'PATH=/usr/bin:/bin', 'LOG_LEVEL=warn', $BIN, 'check-config',
	'--env-file', "$T/prec.env" ]);
like($out, qr/^LOG_LEVEL=warn$/m, 'rankpulse: a variable of the real environment wins over --env-file');

my $sock = unit(slurp("$P/lib/systemd/system/rankpulse.socket"));
my $socket_path = "/run/" . one($u, 'Service.RuntimeDirectory') . "/rankpulse.sock";
is(one($sock, 'Socket.ListenStream'), $socket_path, "rankpulse.socket ListenStream=$socket_path (the RuntimeDirectory)");
is(one($sock, 'Socket.SocketMode'), '0660', '... SocketMode=0660');
is(one($sock, 'Socket.SocketUser'), 'rankpulse', '... owned by rankpulse');
like(slurp("$REPO/.env.example"), qr/^FCGI_SOCKET=\Q$socket_path\E$/m, '... = FCGI_SOCKET of .env.example');

# The production nginx, rendered with defaults, talks to that socket.
open $ef, '>', "$T/empty.env" or die $!;
close $ef;
($rc, $out, $err) = Stack::run_cmd([ 'env', '-u', 'FCGI_SOCKET', '-u', 'NCHAN_PUBLISH_URL',
	"$P/sbin/rankpulse-render-nginx", '--no-check', '--env-file', "$T/empty.env", '--out', "$T/nginx",
	'--state-dir', "$T/nginx-state" ]);
is($rc, 0, 'installed rankpulse-render-nginx renders with its installed templates') or diag $err;
like(slurp("$T/nginx/rankpulse/rankpulse-locations.conf") // '', qr{fastcgi_pass unix:\Q$socket_path\E;},
	'... default fastcgi_pass is the unit\'s socket');
like(slurp("$T/nginx/nginx.conf") // '', qr{listen unix:/run/rankpulse/nchan\.sock;},
	'... the publisher socket is NCHAN_PUBLISH_URL\'s default, in the same directory');
like(slurp("$T/nginx/rankpulse/rankpulse-locations.conf") // '', qr{root \Q$P\E/share/rankpulse/www;},
	'... static root = the installed www');

my $mig = unit(slurp("$P/lib/systemd/system/rankpulse-migrate.service"));
is(one($mig, 'Service.Type'), 'oneshot', 'rankpulse-migrate.service: oneshot');
is(one($mig, 'Service.ExecStart'), "/usr/local/bin/rankpulse migrate --env-file $envfile", '... runs rankpulse migrate');
like(one($mig, 'Unit.Before') // '', qr/\brankpulse\.service\b/, '... ordered before rankpulse.service');
my $bk = unit(slurp("$P/lib/systemd/system/rankpulse-backup.service"));
is(one($bk, 'Service.Type'), 'oneshot', 'rankpulse-backup.service: oneshot');
like(one($bk, 'Service.ExecStart'), qr{^/usr/local/sbin/rankpulse-backup --env-file \Q$envfile\E --dir /var/backups/rankpulse$},
	'... runs rankpulse-backup');
is(one($bk, 'Service.ReadWritePaths'), '/var/backups/rankpulse', '... may write only its backup directory');
my $tm = unit(slurp("$P/lib/systemd/system/rankpulse-backup.timer"));
ok(one($tm, 'Timer.OnCalendar'), 'rankpulse-backup.timer: OnCalendar=' . (one($tm, 'Timer.OnCalendar') // ''));
is(one($tm, 'Timer.Persistent'), 'true', '... Persistent=true');
is(one($tm, 'Timer.Unit'), 'rankpulse-backup.service', '... starts rankpulse-backup.service');
is(one($tm, 'Install.WantedBy'), 'timers.target', '... WantedBy=timers.target');

# ---------------------------------------------------------------- systemd-analyze

SKIP: {
	skip 'systemd-analyze is not installed (package systemd): unit verification not run', 12
		unless have('systemd-analyze');
	my $V = "$T/verify";
	make_path($V);
	for my $f (glob "$P/lib/systemd/system/rankpulse*") {
		my $text = slurp($f);
		$text =~ s{/usr/local/}{$P/}g;    # executables must exist: point them into DESTDIR
		open my $fh, '>', "$V/" . ($f =~ s{.*/}{}r) or die $!;
		print $fh $text;
		close $fh;
	}
	my @units = map { "$V/$_" } qw(rankpulse.service rankpulse.socket rankpulse-migrate.service
		rankpulse-backup.service rankpulse-backup.timer);
	my ($vrc, $vo, $ve) = Stack::run_cmd([ 'systemd-analyze', 'verify', @units ]);
	is($vrc, 0, 'systemd-analyze verify: all five units') or diag "$vo$ve";
	is("$vo$ve", '', '... without a single warning') or diag "$vo$ve";
	like(slurp("$V/rankpulse.service"), qr{ExecStart=\Q$P\E/bin/rankpulse serve}, '... against the DESTDIR tree');

	my $broken = slurp("$V/rankpulse.service") =~ s{bin/rankpulse serve}{bin/rankpulse-missing serve}r;
	open my $bf, '>', "$T/broken.service" or die $!;
	print $bf $broken;
	close $bf;
	($vrc, $vo, $ve) = Stack::run_cmd([ 'systemd-analyze', 'verify', "$T/broken.service" ]);
	isnt($vrc, 0, 'verify rejects a unit whose ExecStart does not exist (the check is real)');

	# The nginx.service drop-in, against Debian's nginx.service when present.
	my $UP = "$T/unitpath";
	make_path("$UP/nginx.service.d");
	copy("$P/lib/systemd/system/nginx.service.d/rankpulse.conf", "$UP/nginx.service.d/rankpulse.conf") or die $!;
	my $base = '/lib/systemd/system';
	if (!-f "$base/nginx.service") {
		open my $nf, '>', "$UP/nginx.service" or die $!;
		print $nf "[Unit]\nDescription=stub nginx\n[Service]\nExecStart=/bin/true\n";
		close $nf;
	}
	local $ENV{SYSTEMD_UNIT_PATH} = "$UP:$base";
	($vrc, $vo, $ve) = Stack::run_cmd([ 'systemd-analyze', 'verify', 'nginx.service' ]);
	is($vrc, 0, 'nginx.service with the rankpulse drop-in verifies') or diag "$vo$ve";
	unlike("$vo$ve", qr/rankpulse\.conf/, '... no complaint about the drop-in') or diag "$vo$ve";
	delete $ENV{SYSTEMD_UNIT_PATH};

	for my $s (qw(rankpulse.service rankpulse-migrate.service rankpulse-backup.service)) {
		my ($src, $so, $se) = Stack::run_cmd([ 'systemd-analyze', 'security', '--offline=true',
			'--threshold=25', "$V/$s" ]);
		my ($level) = "$so$se" =~ /Overall exposure level for \S+: ([\d.]+)/;
		is($src, 0, "systemd-analyze security: $s exposure " . ($level // '?') . ' ≤ 2.5') or diag "$so$se";
	}

	skip 'systemd-sysusers/-tmpfiles need root (chown in a scratch root)', 4 unless $> == 0;
	my $R = "$T/root";
	make_path("$R/etc");
	copy("/etc/$_", "$R/etc/$_") for qw(passwd group);
	my ($xrc, $xo, $xe) = Stack::run_cmd([ 'systemd-sysusers', "--root=$R", "$P/lib/sysusers.d/rankpulse.conf" ]);
	is($xrc, 0, 'systemd-sysusers applies rankpulse.sysusers') or diag "$xo$xe";
	my ($uid) = (slurp("$R/etc/passwd") // '') =~ /^rankpulse:[^:]*:(\d+):/m;
	like(slurp("$R/etc/group") // '', qr/^rankpulse:[^:]*:\d+:(?:.*,)?www-data(?:,|$)/m,
		'... user rankpulse exists, www-data is in group rankpulse');
	($xrc, $xo, $xe) = Stack::run_cmd([ 'systemd-tmpfiles', "--root=$R", '--create', "$P/lib/tmpfiles.d/rankpulse.conf" ]);
	is($xrc, 0, 'systemd-tmpfiles --create applies rankpulse.tmpfiles') or diag "$xo$xe";
	my @run = stat "$R/run/rankpulse";
	my @bkd = stat "$R/var/backups/rankpulse";
	ok(@run && ($run[2] & 07777) == 0750 && defined $uid && $run[4] == $uid
		&& @bkd && ($bkd[2] & 07777) == 0700 && $bkd[4] == $uid,
		'... /run/rankpulse 0750 and /var/backups/rankpulse 0700, owned by rankpulse');
}

done_testing();
