/// In a fuzz harness a broken invariant traps: that is the fuzzer's failure
/// signal. (Tests/RegressionTests has a twin that records a test issue.)
@discardableResult
func require(_ condition: Bool, _ message: @autoclosure () -> String) -> Bool {
  precondition(condition, message())
  return true
}
