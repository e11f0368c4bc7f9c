import Glibc

/// In a fuzz harness a broken invariant traps: that is the fuzzer's failure
/// signal. The message goes to standard error first (optimised builds drop
/// precondition messages). Tests/RegressionTests has a twin that records a
/// test issue instead.
@discardableResult
func require(_ condition: Bool, _ message: @autoclosure () -> String) -> Bool {
    if !condition {
        let text = "require failed: \(message())\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        abort()
    }
    return true
}

/// Bugs already reported and replayed by a regression test: named in
/// `SMTPSCOPE_FUZZ_KNOWN_BUGS` (comma-separated ids, set by run.sh from
/// known-bugs.txt), they no longer stop the fuzzer, so it can look further.
let toleratedBugs: Set<Substring> = {
    guard let list = getenv("SMTPSCOPE_FUZZ_KNOWN_BUGS") else { return [] }
    return Set(String(cString: list).split(separator: ","))
}()

/// A check that a known, reported bug breaks: traps like ``require(_:_:)``
/// unless the bug `id` is tolerated.
@discardableResult
func knownBug(_ id: String, _ condition: Bool, _ message: @autoclosure () -> String) -> Bool {
    if !condition && toleratedBugs.contains(Substring(id)) { return false }
    return require(condition, "[\(id)] \(message())")
}

/// Whether run.sh told the harness to tolerate the known bug `id` (the
/// harness then steps around the input's trigger instead of trapping).
func tolerates(_ id: String) -> Bool { toleratedBugs.contains(Substring(id)) }
