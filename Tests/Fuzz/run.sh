#!/usr/bin/env bash
# Builds one harness and fuzzes it for SECONDS (wall clock), at nice 19.
#
#   Tests/Fuzz/run.sh HARNESS SECONDS      # wire | reassembly | smtp | pcap
#
# Seeds: Tests/Fuzz/seeds/HARNESS (in git) plus what captures/ offers (pcap
# files as they are, or their frames / SMTP streams extracted with tcpdump
# and tshark). Corpus, logs and raw artifacts live outside the repository in
# $SMTPSCOPE_FUZZ_DIR/HARNESS (default /tmp/smtpscope-fuzz). Every crash,
# timeout or out-of-memory input is minimised and copied to
# captures/regressions/HARNESS-KIND-HASH; the fuzzer then restarts until the
# time is spent. The last lines printed are the libFuzzer summaries.
set -euo pipefail

# All in a function, read whole before it runs: editing this file while a
# long run is going must not change what that run does.
main() {
harness=${1:?usage: run.sh wire|reassembly|smtp|pcap SECONDS}
seconds=${2:?usage: run.sh HARNESS SECONDS}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${SMTPSCOPE_FUZZ_DIR:-/tmp/smtpscope-fuzz}/$harness
regressions="$root/captures/regressions"
export SWIFT_BACKTRACE=enable=no
SMTPSCOPE_FUZZ_KNOWN_BUGS=$({ grep -v '^#' "$here/known-bugs.txt" || true; } | awk 'NF {print $1}' | paste -sd, -)
export SMTPSCOPE_FUZZ_KNOWN_BUGS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1}

binary=$("$here/build.sh" "$harness" | tail -1)
mkdir -p "$work/corpus" "$work/artifacts" "$work/extracted" "$regressions"

case $harness in
wire) max_len=4096 ;;
reassembly) max_len=16384 ;;
smtp) max_len=16384 ;;
pcap) max_len=65536 ;;
esac

# Seeds from captures/ (recorded by other parts of the project), bounded;
# extracted again only when captures/ changed (tshark is slow).
stamp="$work/extracted/.stamp"
if [[ ! -f $stamp ]] || [[ -n $(find "$root/captures" -newer "$stamp" -name '*.pcap*' -print -quit) ]]; then
    python3 "$here/extract-seeds.py" "$harness" "$root/captures" "$work/extracted" "$max_len" || true
    touch "$stamp"
fi

common=(-rss_limit_mb=2048 -timeout=10 -max_len="$max_len" -print_final_stats=1)
log="$work/fuzz.log"
: >"$log"
deadline=$(($(date +%s) + seconds))
restarts=0
while :; do
    remaining=$((deadline - $(date +%s)))
    ((remaining > 5 && restarts < 50)) || break
    set +e
    (cd "$work" && nice -n 19 "$binary" "${common[@]}" -max_total_time="$remaining" \
        -artifact_prefix="$work/artifacts/" "$work/corpus" "$here/seeds/$harness" "$work/extracted") \
        >>"$log" 2>&1
    status=$?
    set -e
    ((status == 0)) && break
    restarts=$((restarts + 1))
    # Minimise each new artifact into captures/regressions/.
    for artifact in "$work"/artifacts/{crash,timeout,oom,leak,slow-unit}-*; do
        [[ -f $artifact ]] || continue
        kind=$(basename "$artifact" | cut -d- -f1)
        minimised="$work/artifacts/min-$(basename "$artifact")"
        (cd "$work" && nice -n 19 "$binary" "${common[@]}" -minimize_crash=1 -max_total_time=60 \
            -exact_artifact_path="$minimised" "$artifact") >>"$work/minimise.log" 2>&1 || true
        [[ -f $minimised ]] || cp "$artifact" "$minimised"
        hash=$(sha1sum "$minimised" | cut -c1-12)
        cp "$minimised" "$regressions/$harness-$kind-$hash"
        echo "run: $kind saved as captures/regressions/$harness-$kind-$hash" | tee -a "$log" >&2
        mv "$artifact" "$work/artifacts/done-$(basename "$artifact")"
    done
done
echo "run: $harness for ${seconds}s, $restarts restart(s); summaries:" >&2
grep -E "DONE|stat::number_of_executed_units|stat::peak_rss_mb|==ERROR|SUMMARY|Fatal error|Precondition|run:" "$log" || true
}

main "$@"
exit
