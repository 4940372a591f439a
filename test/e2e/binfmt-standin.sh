#!/bin/sh
# Stand-in for tonistiigi/binfmt's /usr/bin/binfmt installer inside the test image, so that the engine
# calls docker/setup-qemu-action makes can be replayed here (bench). Same commands: --version,
# --install LIST|all, --uninstall LIST, and no argument for the status JSON.
b=/binfmt_misc
mkdir -p "$b"
mount -t binfmt_misc binfmt_misc "$b" 2>/dev/null
E='\x7fELF'
M64='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
line() {
  case ${1#linux/} in
    arm64) line aarch64; return ;;
    arm|arm/v7|arm/v6) line arm; return ;;
    mips64le) line mips64el; return ;;
    loong64) line loongarch64; return ;;
    aarch64) echo ":qemu-aarch64:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:$M64:/usr/bin/qemu-aarch64:POCF" ;;
    arm) echo ":qemu-arm:M::$E\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00:$M64:/usr/bin/qemu-arm:POCF" ;;
    riscv64) echo ":qemu-riscv64:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00:$M64:/usr/bin/qemu-riscv64:POCF" ;;
    ppc64le) echo ":qemu-ppc64le:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00:/usr/bin/qemu-ppc64le:POCF" ;;
    s390x) echo ":qemu-s390x:M::$E\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/bin/qemu-s390x:POCF" ;;
    mips64el) echo ":qemu-mips64el:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08\x00:\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-mips64el:POCF" ;;
    mips64) echo ":qemu-mips64:M::$E\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08:\xff\xff\xff\xff\xff\xff\xff\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/bin/qemu-mips64:POCF" ;;
    loongarch64) echo ":qemu-loongarch64:M::$E\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x02\x01:\xff\xff\xff\xff\xff\xff\xff\xfc\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-loongarch64:POCF" ;;
  esac
}
ALL="aarch64 arm riscv64 ppc64le s390x mips64el mips64 loongarch64"
case "$1" in
  --version) echo "binfmt/stand-in qemu/$(/usr/bin/qemu-aarch64 --version | sed -n 's/.*version \([0-9.]*\).*/\1/p')"; exit 0 ;;
  --install)
    list=$(echo "$2" | tr ',' ' '); [ "$list" = all ] && list=$ALL
    for cpu in $list; do
      [ -e "$b/qemu-$cpu" ] && { echo "$cpu already registered"; continue; }
      l=$(line "$cpu"); [ -n "$l" ] && printf '%s' "$l" >"$b/register" && echo "installing: $cpu OK"
    done ;;
  --uninstall)
    for cpu in $(echo "$2" | tr ',' ' '); do [ -e "$b/$cpu" ] && echo -1 >"$b/$cpu"; done ;;
esac
em=""; for f in "$b"/qemu-*; do [ -e "$f" ] && em="$em\"${f##*/}\","; done
echo "{\"supported\":[\"linux/amd64\",\"linux/386\"],\"emulators\":[${em%,}]}"
