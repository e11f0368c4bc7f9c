/// The limits one flow's state reads on every segment, copied out of ``ReassemblyOptions``
/// (plain values, no port set to retain and release per packet).
struct FlowLimits {
    var maxOutOfOrderBytesPerFlow: Int
    var maxOutOfOrderSegmentsPerDirection: Int
    var outOfOrderTimeoutNanoseconds: Int64
    var comparedTailBytes: Int

    init(_ options: ReassemblyOptions) {
        maxOutOfOrderBytesPerFlow = options.maxOutOfOrderBytesPerFlow
        maxOutOfOrderSegmentsPerDirection = options.maxOutOfOrderSegmentsPerDirection
        outOfOrderTimeoutNanoseconds = options.outOfOrderTimeoutNanoseconds
        comparedTailBytes = options.comparedTailBytes
    }
}
