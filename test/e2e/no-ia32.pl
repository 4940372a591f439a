#!/usr/bin/perl
# Checks the test suite on the other kind of machine: perl test/e2e/no-ia32.pl bash .ci/run
# no-ia32 COMMAND...: runs COMMAND (and everything it starts) with 32-bit x86 system calls refused
# by a seccomp filter (the process is killed with SIGSYS), so that 32-bit x86 binaries do not run
# natively while x86_64 ones, QEMU's qemu-i386 among them, do: a machine whose CPU lacks 32-bit x86.
use strict;
my $f = pack('SCCL', 0x20, 0, 0, 4)                 # ld [arch]
      . pack('SCCL', 0x15, 0, 1, 0x40000003)         # jeq AUDIT_ARCH_I386
      . pack('SCCL', 0x06, 0, 0, 0x80000000)         # ret KILL_PROCESS
      . pack('SCCL', 0x06, 0, 0, 0x7fff0000);        # ret ALLOW
my $prog = pack('S x6 Q', 4, unpack('Q', pack('p', $f)));
syscall(157, 22, 2, $prog) == 0 or die "prctl(PR_SET_SECCOMP): $!\n";
exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";
