import Testing

/// In the regression tests a broken invariant is a test issue; the replay
/// goes on (or stops the current step) instead of trapping. The fuzz
/// harnesses (Tests/Fuzz/Shared) have a twin that traps.
@discardableResult
func require(_ condition: Bool, _ message: @autoclosure () -> String) -> Bool {
  if !condition { Issue.record(Comment(rawValue: message())) }
  return condition
}
