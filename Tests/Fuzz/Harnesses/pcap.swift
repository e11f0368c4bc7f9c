// Fuzz harness 4: a whole capture file through libpcap (from memory), Wire,
// Reassembly, SMTP and the Analyzer.
// Input handling and checks: Tests/RegressionTests/Replay/CaptureReplay.swift.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCapture(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = CaptureReplay.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}
