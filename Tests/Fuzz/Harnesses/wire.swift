// Fuzz harness 1: Wire decode of frames of every link type.
// Input format and checks: Tests/RegressionTests/Replay/WireReplay.swift.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = WireReplay.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}
