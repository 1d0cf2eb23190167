#!/usr/bin/perl
# 425-docker-build.t — the image, built and run by a real container engine.
# Opt-in: it needs a Docker engine (CI machines have none) and takes
# minutes, so it runs only with RP_DOCKER_BUILD=1; 420-docker.t checks the
# Dockerfile and runs the entrypoint without an engine.
#   * docker build (GIT_REV=test) succeeds;
#   * image config: USER 10001:10001, EXPOSE 8080/tcp, HEALTHCHECK on
#     /api/health/live, the entrypoint; nchan module present; runs as uid 10001;
#   * `IMAGE version` prints the build's git revision; a missing
#     DATABASE_URL exits 2;
#   * a container on the host network, as the stack user, with the test
#     stack's unix sockets mounted and tmpfs for its writable paths, read-only
#     root filesystem: /api/health is healthy, docker's health status becomes
#     "healthy", `docker stop` ends it with exit code 0.
# The image and container are removed afterwards.

use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Mojo::JSON qw(decode_json);
use Mojo::UserAgent;
use Stack;

my ($drc, $dout, $derr) = Stack::run_cmd([ 'sh', '-c', 'command -v docker >/dev/null && docker info --format "{{.ServerVersion}}"' ]);
plan skip_all => 'no Docker engine here (`docker info` failed): the image is not built; 420-docker.t covers the Dockerfile and entrypoint'
	if $drc != 0;
plan skip_all => 'set RP_DOCKER_BUILD=1 to build and run the image (takes minutes)'
	unless ($ENV{RP_DOCKER_BUILD} // '') eq '1';
BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();

my $REPO  = Stack::repo();
my $IMAGE = "rankpulse-test:$$";
my $NAME  = "rankpulse-test-$$";
END {
	local $?;
	Stack::run_cmd([ 'docker', 'rm', '-f', $NAME ]);
	Stack::run_cmd([ 'docker', 'image', 'rm', '-f', $IMAGE ]);
}
sub docker { my ($rc, $o, $e) = Stack::run_cmd([ 'docker', @_ ]); return wantarray ? ($rc, $o, $e) : $rc }

my ($rc, $o, $e) = docker('build', '-q', '-t', $IMAGE, '--build-arg', 'GIT_REV=test', $REPO);
is($rc, 0, 'docker build') or BAIL_OUT("docker build failed: $e");

($rc, $o) = docker('image', 'inspect', $IMAGE);
my $cfg = (eval { decode_json($o) } // [ {} ])->[0]{Config} // {};
is($cfg->{User}, '10001:10001', 'USER 10001:10001');
ok(exists $cfg->{ExposedPorts}{'8080/tcp'}, 'EXPOSE 8080/tcp');
like(join(' ', @{ $cfg->{Healthcheck}{Test} // [] }), qr{/api/health/live}, 'HEALTHCHECK on /api/health/live');
is_deeply($cfg->{Entrypoint}, ['/usr/sbin/rankpulse-entrypoint'], 'ENTRYPOINT');

($rc, $o) = docker('run', '--rm', $IMAGE, 'version');
like($o, qr/^rankpulse \S+ \(git test\)/m, '`IMAGE version`: the build\'s revision');
($rc, $o) = docker('run', '--rm', $IMAGE, 'id', '-u');
is($o =~ s/\s+//gr, '10001', 'runs as uid 10001');
($rc) = docker('run', '--rm', $IMAGE, 'test', '-f', '/usr/lib/nginx/modules/ngx_nchan_module.so');
is($rc, 0, 'the nchan module is installed');
($rc, $o, $e) = docker('run', '--rm', $IMAGE);
is($rc, 2, 'no DATABASE_URL: exit 2') or diag "$o$e";

# A real run against the test stack (unix sockets mounted, host network).
my $user = Stack::env('STACK_USER');
my ($uid, $gid) = (getpwnam $user)[2, 3];
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport;
my $run = Stack::env('RUN_DIR');
($rc, $o, $e) = docker('run', '-d', '--name', $NAME, '--network', 'host', '--read-only',
	'--user', "$uid:$gid", '--tmpfs', "/run/rankpulse:uid=$uid,gid=$gid,mode=0750",
	'--tmpfs', "/var/lib/rankpulse:uid=$uid,gid=$gid", '--tmpfs', '/tmp', '-v', "$run:$run",
	'--health-interval', '2s', '--health-start-period', '5s', '--stop-timeout', '15',
	'-e', 'APP_ENV=test', '-e', "PORT=$port", '-e', 'LISTEN_ADDR=127.0.0.1', '-e', 'WORKERS=2',
	'-e', 'DATABASE_URL=' . Stack::env('DATABASE_URL'), '-e', 'REDIS_URL=' . Stack::env('REDIS_URL'),
	$IMAGE);
is($rc, 0, 'docker run -d (read-only root, tmpfs, the stack\'s sockets)') or diag $e;
my $ua = Mojo::UserAgent->new(request_timeout => 3);
ok(Stack::wait_for(sub { ($ua->get("http://127.0.0.1:$port/api/health")->res->json // {})->{status} eq 'healthy' }, 60, 0.5),
	'/api/health: healthy') or diag scalar docker('logs', $NAME);
ok(Stack::wait_for(sub { my (undef, $s) = docker('inspect', '-f', '{{.State.Health.Status}}', $NAME); $s =~ /^healthy/ }, 30, 1),
	'docker health status: healthy');
($rc) = docker('stop', '-t', '15', $NAME);
is($rc, 0, 'docker stop');
(undef, $o) = docker('inspect', '-f', '{{.State.ExitCode}}', $NAME);
is($o =~ s/\s+//gr, '0', '... exit code 0 (graceful)');

done_testing();
