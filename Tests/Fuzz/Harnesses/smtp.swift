// Fuzz harness 3: the SMTP machine alone over chunked bytes of both sides.
// Input format and checks: Tests/RegressionTests/Replay/SMTPReplay.swift.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = SMTPReplay.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}
