import Testing

/// In the regression tests a broken invariant is a test issue; the replay
/// goes on (or stops the current step) instead of trapping. The fuzz
/// harnesses (Tests/Fuzz/Shared) have a twin that traps.
@discardableResult
func require(_ condition: Bool, _ message: @autoclosure () -> String) -> Bool {
    if !condition { Issue.record(Comment(rawValue: message())) }
    return condition
}

/// A check that a known, reported bug breaks (see Tests/Fuzz/known-bugs.txt);
/// here the same as ``require(_:_:)``: the bug's own test wraps its replay in
/// `withKnownIssue`.
@discardableResult
func knownBug(_ id: String, _ condition: Bool, _ message: @autoclosure () -> String) -> Bool {
    require(condition, "[\(id)] \(message())")
}

/// The tests never step around a known bug (its own test shows it).
func tolerates(_ id: String) -> Bool { false }
