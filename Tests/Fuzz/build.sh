#!/usr/bin/env bash
# Builds one libFuzzer harness with swiftc straight from the package sources
# (not SwiftPM): each needed target becomes its own instrumented module, the
# harness is linked against them.
#
#   Tests/Fuzz/build.sh HARNESS        # wire | reassembly | smtp | pcap
#
# Output: $SMTPSCOPE_FUZZ_DIR/build/fuzz-HARNESS (default /tmp/smtpscope-fuzz).
set -euo pipefail

harness=${1:?usage: build.sh wire|reassembly|smtp|pcap}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${SMTPSCOPE_FUZZ_DIR:-/tmp/smtpscope-fuzz}
build="$work/build"
mkdir -p "$build"

# One package name for all modules, as SwiftPM gives them (for `package` declarations).
flags=(-sanitize=fuzzer,address -parse-as-library -O -wmo -swift-version 6 -g -package-name smtpscope)

# Builds target $1 (its sources in Sources/$1) as a module in $build, when
# any of its sources is newer than the object.
module() {
    local name=$1
    shift
    local object="$build/$name.o"
    local sources=("$root/Sources/$name"/*.swift)
    local stale=$rebuilt
    [[ -f $object ]] || stale=1
    for source in "${sources[@]}"; do
        [[ $source -nt $object ]] && stale=1
    done
    if ((stale)); then
        echo "build: module $name" >&2
        (cd "$build" && swiftc "${flags[@]}" -module-name "$name" -I "$build" \
            -I "$root/Sources/CLibpcap" -I "$root/Sources/CByteMask/include" -I "$root/Sources/CSHA1/include" "$@" \
            -emit-module -emit-module-path "$build/$name.swiftmodule" \
            -c -o "$object" "${sources[@]}")
        rebuilt=1  # modules after this one import it
    fi
}

# Which modules each harness needs, in dependency order.
case $harness in
wire) modules=(Wire) ;;
reassembly) modules=(Wire Reassembly SMTP) ;;
smtp) modules=(SMTP) ;;
pcap) modules=(Wire Reassembly SMTP Capture Analysis) ;;
*)
    echo "unknown harness: $harness" >&2
    exit 2
    ;;
esac

objects=()
rebuilt=0
# The C targets (SMTP's body scan and XXH64, Analysis' SHA-1 with the SHA
# extensions), compiled with clang and instrumented alike, when one of their
# files is newer than the object.
ctarget() {
    local name=$1
    local cobject="$build/$name.o"
    local cfiles=("$root/Sources/$name"/*.c)
    local cstale=0
    [[ -f $cobject ]] || cstale=1
    for source in "${cfiles[@]}" "$root/Sources/$name"/*.h "$root/Sources/$name/include"/*.h; do
        [[ $source -nt $cobject ]] && cstale=1
    done
    if ((cstale)); then
        echo "build: C target $name" >&2
        local objs=()
        for source in "${cfiles[@]}"; do
            clang -fsanitize=fuzzer-no-link,address -O2 -g -I "$root/Sources/$name/include" \
                -c "$source" -o "$build/$name-$(basename "$source" .c).o"
            objs+=("$build/$name-$(basename "$source" .c).o")
        done
        ld -r -o "$cobject" "${objs[@]}"
        rebuilt=1  # its header may have changed what the Swift modules import
    fi
    objects+=("$cobject")
}
for name in "${modules[@]}"; do
    case $name in
    SMTP) ctarget CByteMask ;;
    Analysis) ctarget CSHA1 ;;
    esac
done
for name in "${modules[@]}"; do
    module "$name"
    objects+=("$build/$name.o")
done

# The input formats and checks live with the regression tests that replay
# the same inputs (Tests/RegressionTests/Replay); here a broken check traps.
replay="$root/Tests/RegressionTests/Replay"
extra=()
shared=("$here/Shared/Require+Fuzz.swift" "$replay/FuzzInput.swift")
case $harness in
wire) shared+=("$replay/WireReplay.swift") ;;
reassembly) shared+=("$replay/StreamChecker.swift" "$replay/Pipeline.swift" "$replay/ReassemblyReplay.swift") ;;
smtp) shared+=("$replay/SMTPReplay.swift") ;;
pcap)
    shared+=("$replay/StreamChecker.swift" "$replay/Pipeline.swift" "$replay/CaptureReplay.swift")
    extra=(-I "$root/Sources/CLibpcap" -lpcap)
    ;;
esac

echo "build: harness $harness" >&2
# From the build folder: swiftc leaves module files in the current directory.
cd "$build"
swiftc "${flags[@]}" -module-name "Fuzz_$harness" -I "$build" -I "$root/Sources/CByteMask/include" -I "$root/Sources/CSHA1/include" \
    "$here/Harnesses/$harness.swift" "${shared[@]}" "${objects[@]}" "${extra[@]}" \
    -o "$build/fuzz-$harness.new" 2> >(grep -v "Cannot export local symbol" >&2)
# Replace, not overwrite: a running fuzzer keeps its binary.
mv -f "$build/fuzz-$harness.new" "$build/fuzz-$harness"
echo "$build/fuzz-$harness"
