#!/usr/bin/env perl
# Runs the C unit test t/unit/nchan.c (built by `make asan` with ASan+UBSan); it speaks TAP.
use strict;
use warnings;
use FindBin;
my $bin = "$FindBin::Bin/../../build/asan/t/unit/nchan";
-x $bin or die "$bin is not built: run make asan\n";
exec $bin or die "exec $bin: $!\n";
