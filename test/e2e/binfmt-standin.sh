#!/bin/sh
# Stand-in for tonistiigi/binfmt's /usr/bin/binfmt installer inside the test image, so that the engine
# calls docker/setup-qemu-action makes can be replayed here (bench). Same commands: --version,
# --install LIST|all, --uninstall LIST, and no argument for the status JSON.
# Like upstream, `--install all` installs every emulator the image has except for the platforms the
# host runs natively, and the status lists the native platforms first. Which those are it is told in
# BINFMT_NATIVE (comma-separated, e.g. linux/amd64,linux/386; the bench passes what the test
# environment found by running a real binary); without it, only linux/amd64.
b=/binfmt_misc
mkdir -p "$b"
mount -t binfmt_misc binfmt_misc "$b" 2>/dev/null
NATIVE=${BINFMT_NATIVE:-linux/amd64}
E='\x7fELF'
M64='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
# line NAME: the register line for a platform or CPU name (the \x escapes are for the kernel to read)
line() {
  case ${1#linux/} in
    arm64) line aarch64 ;;
    arm/v7 | arm/v6) line arm ;;
    mips64le) line mips64el ;;
    loong64) line loongarch64 ;;
    386) line i386 ;;
    aarch64) printf '%s\n' ":qemu-aarch64:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:$M64:/usr/bin/qemu-aarch64:POCF" ;;
    arm) printf '%s\n' ":qemu-arm:M::$E\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00:$M64:/usr/bin/qemu-arm:POCF" ;;
    i386) printf '%s\n' ":qemu-i386:M::$E\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386:POCF" ;;
    riscv64) printf '%s\n' ":qemu-riscv64:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00:$M64:/usr/bin/qemu-riscv64:POCF" ;;
    ppc64le) printf '%s\n' ":qemu-ppc64le:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00:/usr/bin/qemu-ppc64le:POCF" ;;
    s390x) printf '%s\n' ":qemu-s390x:M::$E\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/bin/qemu-s390x:POCF" ;;
    mips64el) printf '%s\n' ":qemu-mips64el:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00:\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-mips64el:POCF" ;;
    mips64) printf '%s\n' ":qemu-mips64:M::$E\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08:\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/bin/qemu-mips64:POCF" ;;
    loongarch64) printf '%s\n' ":qemu-loongarch64:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x02\x01:\xff\xff\xff\xff\xff\xff\xff\xfc\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-loongarch64:POCF" ;;
  esac
}
# platforms CPU: the buildx platforms an emulator serves
platforms() {
  case $1 in
    aarch64) echo linux/arm64 ;; arm) echo linux/arm/v7 linux/arm/v6 ;; i386) echo linux/386 ;;
    mips64el) echo linux/mips64le ;; loongarch64) echo linux/loong64 ;; *) echo "linux/$1" ;;
  esac
}
native() { case ",$NATIVE," in *",$1,"*) return 0 ;; esac; return 1; }
all() {
  for cpu in aarch64 arm riscv64 ppc64le s390x mips64el mips64 loongarch64 i386; do
    [ -x "/usr/bin/qemu-$cpu" ] || continue
    p=$(platforms "$cpu"); native "${p%% *}" || echo "$cpu"
  done
}
case "$1" in
  --version) echo "binfmt/stand-in qemu/$(/usr/bin/qemu-aarch64 --version | sed -n 's/.*version \([0-9.]*\).*/\1/p')"; exit 0 ;;
  --install)
    list=$(echo "$2" | tr ',' ' '); [ "$list" = all ] && list=$(all)
    for cpu in $list; do
      l=$(line "$cpu"); [ -n "$l" ] || { echo "installing: $cpu unknown"; continue; }
      name=${l#:}; name=${name%%:*}
      [ -e "$b/$name" ] && { echo "$cpu already registered"; continue; }
      printf '%s' "$l" >"$b/register" && echo "installing: $cpu OK"
    done ;;
  --uninstall)
    for cpu in $(echo "$2" | tr ',' ' '); do [ -e "$b/$cpu" ] && echo -1 >"$b/$cpu"; done ;;
esac
supported="" em=""
for p in $(echo "$NATIVE" | tr ',' ' '); do supported="$supported\"$p\","; done
for f in "$b"/qemu-*; do
  [ -e "$f" ] || continue
  em="$em\"${f##*/}\","
  for p in $(platforms "${f##*/qemu-}"); do native "$p" || supported="$supported\"$p\","; done
done
echo "{\"supported\":[${supported%,}],\"emulators\":[${em%,}]}"
