// Fuzz harness 2: TCP reassembly and SMTP over segments of two flows.
// Input format and checks: Tests/RegressionTests/Replay/ReassemblyReplay.swift.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReassembly(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = ReassemblyReplay.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}
