#!/usr/bin/perl
# 500-openapi.t — docs/openapi.yaml describes the API that actually runs.
#
# Static (no stack needed, but run with it):
#   * the document parses (CPAN::Meta::YAML, core Perl: the document stays in
#     its YAML subset) and a line-based scan of `paths:` finds the same
#     operations, so the two readings cannot silently disagree;
#   * OpenAPI 3.1, bearerAuth (http bearer JWT), the Problem schema with
#     type/title/status/detail/instance/requestId/errors[{field,message}];
#   * every $ref resolves; operationIds are unique; every {param} of a path
#     is declared as a required path parameter;
#   * the route table of lib/api/routes.c and the document list the same
#     METHOD + path set (the /api prefix stripped, {param} names ignored);
#   * each operation's request body matches the handler's field table
#     (lib/api/*.c `struct field_spec`): same fields, required, nullable,
#     type, string maxLength = byte limit, integer minimum/maximum, no
#     additional properties; operations whose handler has no field table
#     document no body properties;
#   * security agrees with the handler: authn_require/require_admin →
#     bearerAuth only; authn_optional → bearerAuth or anonymous; neither →
#     no bearerAuth; every documented query parameter is one the handler
#     reads; Idempotency-Key is documented exactly where it is read;
#     If-None-Match only where the handler answers 304.
# Live (through nginx, the running test stack):
#   * every documented operation answers, under its canonical path and the
#     other spelling (with/without /api): never the router's 404 ("no such
#     resource") and never 405; GETs go without auth, with made-up ids, other
#     methods with an empty JSON object;
#   * the status is one the document lists for that operation; a problem
#     answer is a well-formed problem document; X-Request-Id is present;
#     Cache-Control equals the documented constant where there is one;
#   * bearerAuth-only operations answer 401 without a token, others do not;
#   * /rt/* are probed without subscribing (a malformed last_event_id, an
#     unknown id or channel, no token), plus one short EventSource request;
#   * ETag / If-None-Match → 304 where documented (board; stats if a player
#     exists).  /api/metrics is called from 127.0.0.1 (the stack's address).

use strict;
use warnings;
use Test::More;
use CPAN::Meta::YAML;
use Mojo::JSON qw(decode_json);
use Stack;

my $REPO = Stack::repo();
my $DOC  = "$REPO/docs/openapi.yaml";
my @METHODS = qw(get put post delete options head patch trace);
my %IS_METHOD = map { $_ => 1 } @METHODS;

sub slurp {
	my ($file) = @_;
	open my $fh, '<:raw', $file or die "cannot read $file: $!";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

# "/api/players/{playerId}/stats" -> "/players/{}/stats"
sub norm_path {
	my ($p) = @_;
	$p =~ s{^/api(?=/|$)}{};
	$p = '/' if $p eq '';
	$p =~ s/\{[^}]*\}/{}/g;
	return $p;
}

# ------------------------------------------------------------ the document

my $yaml = CPAN::Meta::YAML->read($DOC);
ok($yaml, 'docs/openapi.yaml parses with CPAN::Meta::YAML')
	or BAIL_OUT('docs/openapi.yaml does not parse: ' . (CPAN::Meta::YAML->errstr // '?'));
my $doc = $yaml->[0];
is(ref $doc, 'HASH', 'the document is a mapping');
like($doc->{openapi} // '', qr/^3\.1\.\d+$/, 'openapi: 3.1.x');
ok(length($doc->{info}{title} // ''), 'info.title');
ok(length($doc->{info}{version} // ''), 'info.version');
like($doc->{info}{description} // '', qr{without it}i,
	'info.description says every route also answers without /api');

my $paths = $doc->{paths};
is(ref $paths, 'HASH', 'paths is a mapping') or BAIL_OUT('no paths');

# Operations as parsed: "METHOD /path" -> operation.
my %ops;
for my $p (sort keys %$paths) {
	for my $m (sort keys %{ $paths->{$p} }) {
		next unless $IS_METHOD{$m};
		$ops{ uc($m) . " $p" } = { path => $p, method => uc $m, op => $paths->{$p}{$m},
			item => $paths->{$p} };
	}
}
cmp_ok(scalar keys %ops, '>=', 30, 'the document has operations (' . scalar(keys %ops) . ')');

# Independent line-based reading of the paths section.
{
	my (%lines, $in, $cur);
	for my $line (split /\n/, slurp($DOC)) {
		if ($line =~ /^(\S[^:]*):/) { $in = $1 eq 'paths'; next }
		next unless $in;
		if ($line =~ m{^  (/\S*):\s*$}) { $cur = $1; next }
		if (defined $cur && $line =~ /^    ([a-z]+):\s*$/ && $IS_METHOD{$1}) {
			$lines{ uc($1) . " $cur" } = 1;
		}
	}
	is_deeply([ sort keys %lines ], [ sort keys %ops ],
		'a line-based scan of paths: finds the same operations as the YAML parser');
}

# $ref resolution and a walk over the whole document.
sub resolve {
	my ($ref) = @_;
	return undef unless defined $ref && $ref =~ m{^#/(.*)$};
	my $node = $doc;
	for my $part (split m{/}, $1) {
		$part =~ s/~1/\//g;
		$part =~ s/~0/~/g;
		return undef unless ref $node eq 'HASH' && exists $node->{$part};
		$node = $node->{$part};
	}
	return $node;
}

sub deref {
	my ($node) = @_;
	my $n = 0;
	while (ref $node eq 'HASH' && defined $node->{'$ref'} && $n++ < 10) {
		$node = resolve($node->{'$ref'});
	}
	return $node;
}

{
	my (@refs, @bad);
	my $walk;
	$walk = sub {
		my ($node) = @_;
		if (ref $node eq 'HASH') {
			push @refs, $node->{'$ref'} if defined $node->{'$ref'};
			$walk->($_) for values %$node;
		} elsif (ref $node eq 'ARRAY') {
			$walk->($_) for @$node;
		}
	};
	$walk->($doc);
	push @bad, grep { !defined resolve($_) } @refs;
	cmp_ok(scalar @refs, '>', 50, 'the document uses $ref (' . scalar(@refs) . ')');
	is_deeply(\@bad, [], 'every $ref resolves');
}

{
	my %seen;
	my @dup = grep { $seen{$_}++ } map { $_->{op}{operationId} // '(none)' } values %ops;
	is_deeply(\@dup, [], 'operationIds are present and unique');
}

# Security scheme and the Problem schema.
{
	my $bearer = $doc->{components}{securitySchemes}{bearerAuth} // {};
	is($bearer->{type}, 'http', 'bearerAuth is an http scheme');
	is(lc($bearer->{scheme} // ''), 'bearer', 'bearerAuth scheme is bearer');
	is($bearer->{bearerFormat}, 'JWT', 'bearerAuth bearerFormat is JWT');

	my $problem = $doc->{components}{schemas}{Problem} // {};
	my $props = $problem->{properties} // {};
	for my $f (qw(type title status detail instance requestId errors)) {
		ok($props->{$f}, "Problem has $f");
	}
	is_deeply([ sort @{ $problem->{required} // [] } ], [qw(detail status title type)],
		'Problem requires type, title, status and detail');
	my $item = deref($props->{errors}{items});
	is_deeply([ sort keys %{ $item->{properties} // {} } ], [qw(field message)],
		'Problem.errors[] items are {field, message}');
}

# Path parameters declared.
{
	my @missing;
	for my $k (sort keys %ops) {
		my $o = $ops{$k};
		my %declared;
		for my $prm (@{ $o->{item}{parameters} // [] }, @{ $o->{op}{parameters} // [] }) {
			my $p = deref($prm) // {};
			$declared{ $p->{name} } = 1
				if ($p->{in} // '') eq 'path' && ($p->{required} // '') =~ /^(?:1|true)$/;
		}
		for my $name ($o->{path} =~ /\{([^}]+)\}/g) {
			push @missing, "$k {$name}" unless $declared{$name};
		}
	}
	is_deeply(\@missing, [], 'every {param} of a path is a declared, required path parameter');
}

# ------------------------------------------------------- the route table

my $routes_c = slurp("$REPO/lib/api/routes.c");
my %table;    # "METHOD /norm" -> { pattern, handler }
while ($routes_c =~ /\{\s*HTTP_([A-Z]+)\s*,\s*"([^"]+)"\s*,\s*(\w+)/g) {
	$table{"$1 " . norm_path($2)} = { pattern => $2, handler => $3 };
}
cmp_ok(scalar keys %table, '>=', 30, 'lib/api/routes.c parsed (' . scalar(keys %table) . ' routes)');

my %doc_norm;    # "METHOD /norm" -> ops key
for my $k (keys %ops) {
	$doc_norm{ $ops{$k}{method} . ' ' . norm_path($ops{$k}{path}) } = $k;
}
for my $r (sort keys %table) {
	ok($doc_norm{$r}, "route $r ($table{$r}{pattern}) is documented");
}
for my $d (sort keys %doc_norm) {
	ok($table{$d}, "documented $doc_norm{$d} is a route in lib/api/routes.c");
}
{
	my @off = grep { $ops{$_}{path} !~ m{^/api/} && $ops{$_}{path} !~ m{^/rt/} } sort keys %ops;
	is_deeply(\@off, [], 'documented paths use the canonical /api prefix (realtime: /rt/)');
}

# ------------------------------------------------- handlers in lib/api/*.c

my (%func, %spec_array);
for my $file (glob "$REPO/lib/api/*.c") {
	my $src = slurp($file);
	while ($src =~ /^(?:static\s+)?(?:const\s+)?[A-Za-z_][\w \t\*]*?\b(\w+)\(([^)]*)\)\s*\n\{\n(.*?)^\}/msg) {
		$func{$1} = $3;
	}
	while ($src =~ /^static const struct field_spec (\w+)\[\] = \{(.*?)^\};/msg) {
		$spec_array{$1} = $2;
	}
}
ok(scalar(keys %func) > 40, 'handler sources parsed (' . scalar(keys %func) . ' functions)');

# The handler's body plus the bodies of the functions it calls (3 levels).
sub closure_text {
	my ($name) = @_;
	my (%seen, @queue, $text);
	@queue = ([ $name, 0 ]);
	while (my $e = shift @queue) {
		my ($f, $depth) = @$e;
		next if $seen{$f}++ || !defined $func{$f};
		$text .= "\n" . $func{$f};
		next if $depth >= 3;
		for my $callee ($func{$f} =~ /\b(\w+)\s*\(/g) {
			push @queue, [ $callee, $depth + 1 ] if defined $func{$callee} && !$seen{$callee};
		}
	}
	for my $arr (keys %spec_array) {
		$text .= "\n" . $spec_array{$arr} if defined $text && $text =~ /\b\Q$arr\E\b/;
	}
	return $text // '';
}

sub field_specs {
	my ($text) = @_;
	my %f;
	while ($text =~ /\{\s*"(\w+)"\s*,\s*FIELD_(STRING|INT|BOOL)\s*,\s*([^,]+?)\s*,\s*(\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*\w+\s*\}/g) {
		$f{$1} = { type => $2, flags => $3, max_bytes => $4, min => $5, max => $6 };
	}
	return \%f;
}

# A property schema with $ref / allOf[$ref] merged into one hash.
sub flat_schema {
	my ($s) = @_;
	$s = deref($s) // {};
	my %out = %$s;
	if (ref $s->{allOf} eq 'ARRAY') {
		for my $part (@{ $s->{allOf} }) {
			my $p = flat_schema($part);
			for my $k (keys %$p) { $out{$k} //= $p->{$k} }
		}
	}
	return \%out;
}

sub types_of {
	my ($s) = @_;
	my $t = $s->{type};
	return ref $t eq 'ARRAY' ? @$t : defined $t ? ($t) : ();
}

my %JSON_TYPE = (STRING => 'string', INT => 'integer', BOOL => 'boolean');

for my $r (sort keys %table) {
	my $k = $doc_norm{$r} or next;
	my $op = $ops{$k}{op};
	my $handler = $table{$r}{handler};
	my $text = closure_text($handler);
	ok(length $text, "$k: handler $handler found in lib/api") or next;

	# --- request body vs field table
	my $specs = field_specs($text);
	my $body = $op->{requestBody} ? deref($op->{requestBody}) : undef;
	my $schema = $body ? flat_schema($body->{content}{'application/json'}{schema}) : {};
	my $props = $schema->{properties} // {};
	if (!%$specs) {
		is_deeply([ sort keys %$props ], [], "$k: no field table, no documented body fields");
	} else {
		ok($body, "$k: the handler reads a JSON body, the operation documents one") or next;
		is_deeply([ sort keys %$props ], [ sort keys %$specs ],
			"$k: documented body fields = the handler's field table");
		ok(defined $schema->{additionalProperties}
				&& $schema->{additionalProperties} =~ /^(?:0|false|)$/,
			"$k: additionalProperties is false (unknown fields are refused)");
		my %req = map { $_ => 1 } @{ $schema->{required} // [] };
		my @bad;
		for my $name (sort keys %$specs) {
			my $f = $specs->{$name};
			my $p = flat_schema($props->{$name}) or next;
			my @t = types_of($p);
			my $want_req = $f->{flags} =~ /FIELD_REQUIRED/ ? 1 : 0;
			my $want_null = $f->{flags} =~ /FIELD_NULLABLE/ ? 1 : 0;
			push @bad, "$name: required" if $want_req != ($req{$name} ? 1 : 0);
			push @bad, "$name: nullable" if $want_null != ((grep { $_ eq 'null' } @t) ? 1 : 0);
			push @bad, "$name: type" unless grep { $_ eq $JSON_TYPE{ $f->{type} } } @t;
			if ($f->{type} eq 'STRING' && $f->{max_bytes} > 0) {
				push @bad, "$name: maxLength " . ($p->{maxLength} // 'none') . " != $f->{max_bytes}"
					unless ($p->{maxLength} // -1) == $f->{max_bytes};
			}
			if ($f->{type} eq 'INT') {
				push @bad, "$name: minimum" unless ($p->{minimum} // 'x') eq $f->{min};
				push @bad, "$name: maximum" unless ($p->{maximum} // 'x') eq $f->{max};
			}
		}
		is_deeply(\@bad, [], "$k: required/nullable/type/limits match the field table");
	}

	# --- security vs authentication calls
	my @sec = @{ $op->{security} // $doc->{security} // [] };
	my $has_bearer = grep { ref $_ eq 'HASH' && exists $_->{bearerAuth} } @sec;
	my $has_anon = grep { ref $_ eq 'HASH' && !%$_ } @sec;
	if ($text =~ /\b(?:authn_require|require_admin)\s*\(/) {
		ok($has_bearer && !$has_anon, "$k: the handler requires a token: security is bearerAuth");
	} elsif ($text =~ /\bauthn_optional\s*\(/) {
		ok($has_bearer && $has_anon, "$k: optional token: security is bearerAuth or anonymous");
	} else {
		ok(!$has_bearer, "$k: the handler reads no token: no bearerAuth");
	}

	# --- parameters vs what the handler reads
	my %reads = map { $_ => 1 } $text =~ /request_query\(\s*req\s*,\s*"([^"]+)"/g;
	my (@unread, %hdr);
	for my $prm (@{ $ops{$k}{item}{parameters} // [] }, @{ $op->{parameters} // [] }) {
		my $p = deref($prm) // {};
		push @unread, $p->{name} if ($p->{in} // '') eq 'query' && !$reads{ $p->{name} };
		$hdr{ lc $p->{name} } = 1 if ($p->{in} // '') eq 'header';
	}
	is_deeply(\@unread, [], "$k: every documented query parameter is read by the handler");
	is(($hdr{'idempotency-key'} ? 1 : 0), ($text =~ /idempotency_key/ ? 1 : 0),
		"$k: Idempotency-Key documented exactly when the handler reads it");
	ok(!$hdr{'if-none-match'} || $text =~ /if_none_match/,
		"$k: If-None-Match documented only where the handler answers 304");
}

# ------------------------------------------------------------------- live

BAIL_OUT('no stack: RP_STACK_ENV does not describe a running stack (run make test)')
	unless Stack::available();
ok(Stack::wait_healthy(20) || Stack::restore_stack(30), 'the stack is healthy');

my $ua = Stack::ua();
my $UUID = '6f1c4d2e-8b3a-4c5d-9e7f-0a1b2c3d4e5f';    # nobody's id
my %FILL = (    # normalised path -> values for its {params}, in order
	'/seasons/{}/close'         => ['no-such-season'],
	'/leaderboard/country/{}'   => ['US'],
	'/rt/leaderboard/{}'        => ['ZZ'],            # unknown country: 404, no stream
	'/rt/leaderboard/season/{}' => ['Bad_Id'],        # malformed: 404, no stream
);
my %QUERY = (   # GETs that would otherwise subscribe: stop them in the handler
	'/rt/leaderboard' => 'last_event_id=%ZZ',       # malformed query: 400
);

sub fill {
	my ($path) = @_;
	my @v = @{ $FILL{ norm_path($path) } // [] };
	$path =~ s/\{[^}]*\}/@v ? shift @v : $UUID/ge;
	return $path;
}

sub call {
	my ($method, $path) = @_;
	my $q = $QUERY{ norm_path($path) };
	my $url = Stack::url($path . (defined $q ? "?$q" : ''));
	my $tx = $method eq 'GET'
		? $ua->build_tx(GET => $url)
		: $ua->build_tx($method => $url => { 'Content-Type' => 'application/json' } => '{}');
	return $ua->start($tx);
}

sub header_const {
	my ($resp, $name) = @_;
	my $h = $resp->{headers}{$name} or return undef;
	my $s = deref(deref($h)->{schema}) // {};
	return $s->{const};
}

for my $k (sort keys %ops) {
	my $o = $ops{$k};
	my $path = fill($o->{path});
	my $other = $path =~ m{^/api/} ? substr($path, 4) : "/api$path";
	my $responses = $o->{op}{responses} // {};
	my ($first, $first_detail);
	for my $p ($path, $other) {
		my $tx = call($o->{method}, $p);
		my $res = $tx->res;
		my $code = $res->code // 0;
		my $ct = $res->headers->content_type // '';
		my $json = $ct =~ m{json} ? eval { decode_json($res->body) } : undef;
		my $detail = ref $json eq 'HASH' ? ($json->{detail} // '') : '';
		my $name = "$o->{method} $p";
		ok($code, "$name: answers ($code)")
			or diag('error: ' . ($tx->error ? $tx->error->{message} : '?'));
		ok(!($code == 404 && $detail eq 'no such resource'), "$name: not the router's 404");
		isnt($code, 405, "$name: not 405 ($detail)");
		like($res->headers->header('X-Request-Id') // '', qr/^[A-Za-z0-9._-]{1,64}$/,
			"$name: X-Request-Id");
		if ($p eq $path) {
			($first, $first_detail) = ($code, $detail);
			ok(exists $responses->{$code}, "$name: status $code is documented for $k"
				. ($detail ? " ($detail)" : ''));
			if ($ct =~ m{^application/problem\+json}) {
				ok(ref $json eq 'HASH' && defined $json->{type} && defined $json->{title}
						&& defined $json->{detail} && ($json->{status} // 0) == $code
						&& ref $json->{errors} eq 'ARRAY',
					"$name: a well-formed problem document");
			}
			my @sec = @{ $o->{op}{security} // $doc->{security} // [] };
			my $bearer_only = (grep { ref $_ eq 'HASH' && exists $_->{bearerAuth} } @sec)
				&& !(grep { ref $_ eq 'HASH' && !%$_ } @sec);
			if ($bearer_only) {
				is($code, 401, "$name: bearerAuth operation without a token is 401");
			} else {
				isnt($code, 401, "$name: public operation does not ask for a token");
			}
			my $doc_resp = deref($responses->{$code});
			if ($code < 300 && $doc_resp) {
				my $cc = header_const($doc_resp, 'Cache-Control');
				is($res->headers->cache_control, $cc, "$name: Cache-Control $cc")
					if defined $cc;
			}
		} else {
			is($code, $first, "$name: same status as the canonical spelling");
		}
	}
}

# One real EventSource subscription: 200 text/event-stream (fresh agent, short timeouts).
{
	my $sse = Stack::ua();
	$sse->inactivity_timeout(1);
	$sse->request_timeout(2);
	my $tx = $sse->get(Stack::url('/rt/leaderboard') => { Accept => 'text/event-stream' });
	is($tx->res->code, 200, 'GET /rt/leaderboard (EventSource): 200');
	like($tx->res->headers->content_type // '', qr{^text/event-stream},
		'GET /rt/leaderboard (EventSource): text/event-stream');
}

# ETag / If-None-Match where documented.
{
	my $board = deref($ops{'GET /api/leaderboards'}{op}{responses}{200});
	ok($board->{headers}{ETag}, 'GET /api/leaderboards documents an ETag');
	ok($ops{'GET /api/leaderboards'}{op}{responses}{304}, 'GET /api/leaderboards documents 304');
	my $tx = $ua->get(Stack::url('/api/leaderboards?limit=5'));
	is($tx->res->code, 200, 'GET /api/leaderboards: 200');
	my $etag = $tx->res->headers->etag;
	ok($etag, 'GET /api/leaderboards: ETag');
	my $j = eval { decode_json($tx->res->body) } // {};
	my @schema_keys = sort keys %{ deref($doc->{components}{schemas}{Board})->{properties} };
	my @missing = grep { !exists $j->{$_} } @{ deref($doc->{components}{schemas}{Board})->{required} };
	is_deeply(\@missing, [], 'the board answer has every required Board field');
	my @undocumented = grep { my $x = $_; !grep { $_ eq $x } @schema_keys } sort keys %$j;
	is_deeply(\@undocumented, [], 'the board answer has no undocumented field');
	SKIP: {
		skip 'no ETag', 1 unless $etag;
		$tx = $ua->get(Stack::url('/api/leaderboards?limit=5') => { 'If-None-Match' => $etag });
		is($tx->res->code, 304, 'GET /api/leaderboards with If-None-Match: 304');
	}
	my $player = ref $j->{entries} eq 'ARRAY' && @{ $j->{entries} } ? $j->{entries}[0]{playerId} : undef;
	SKIP: {
		skip 'no player on the board', 3 unless $player;
		$tx = $ua->get(Stack::url("/api/players/$player/stats"));
		is($tx->res->code, 200, 'GET /api/players/{id}/stats: 200');
		my $e = $tx->res->headers->etag;
		ok($e, 'stats: ETag');
		$tx = $ua->get(Stack::url("/api/players/$player/stats") => { 'If-None-Match' => $e // '' });
		is($tx->res->code, 304, 'stats with If-None-Match: 304');
	}
}

done_testing();
