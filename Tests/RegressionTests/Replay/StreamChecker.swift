import Reassembly
import Wire

/// Checks the reassembler's event contract on every event and its bounds
/// after every segment; a violation goes to ``require(_:_:)`` (a trap in the
/// fuzz harnesses, a test issue in the regression tests).
///
/// Contract (TCPReassembler's documentation): per flow `opened` first, then
/// per direction `data`/`gap` contiguous in stream order (no byte twice, no
/// byte skipped), at most one `end`, then `closed` after both ends; nothing
/// after `closed`.
struct StreamChecker {
    struct Direction {
        var next: UInt64 = 0
        var ended = false
    }
    struct Flow {
        var client = Direction()
        var server = Direction()
        subscript(_ direction: FlowDirection) -> Direction {
            get { direction == .clientToServer ? client : server }
            set {
                if direction == .clientToServer { client = newValue } else { server = newValue }
            }
        }
    }

    private(set) var open: [FlowID: Flow] = [:]
    private(set) var closedCount = 0
    private(set) var openedCount = 0
    private(set) var deliveredBytes: UInt64 = 0
    /// Gap bytes reported, per reason.
    private(set) var gapBytes: [GapReason: UInt64] = [:]
    private var lastOpened = -1
    /// Bytes touched, so the sanitizer checks every delivered range.
    private(set) var checksum: UInt8 = 0

    mutating func check(_ event: StreamEvent) {
        switch event {
        case .opened(let info):
            require(open[info.id] == nil, "flow opened twice: \(info.id)")
            require(info.id.index > lastOpened, "flow ids increase: \(info.id) after \(lastOpened)")
            lastOpened = info.id.index
            openedCount += 1
            open[info.id] = Flow()
        case .data(let id, let direction, let offset, let bytes, let segment):
            guard var flow = open[id] else {
                require(false, "data for unknown or closed flow \(id)")
                return
            }
            var side = flow[direction]
            require(!side.ended, "data after end: flow \(id) \(direction)")
            require(
                offset == side.next,
                "data not contiguous: flow \(id) \(direction) offset \(offset), expected \(side.next)")
            require(bytes.count > 0, "empty data event: flow \(id) \(direction) offset \(offset)")
            require(segment.length >= bytes.count, "data longer than its segment")
            require(
                segment.streamOffset <= offset
                    && offset &+ UInt64(bytes.count) <= segment.streamOffset &+ UInt64(segment.length),
                "data outside its segment: offset \(offset)+\(bytes.count), segment \(segment.streamOffset)+\(segment.length)"
            )
            for byte in bytes { checksum &+= byte }
            side.next += UInt64(bytes.count)
            deliveredBytes += UInt64(bytes.count)
            flow[direction] = side
            open[id] = flow
        case .gap(let id, let direction, let offset, let length, let reason):
            gapBytes[reason, default: 0] &+= length
            guard var flow = open[id] else {
                require(false, "gap for unknown or closed flow \(id)")
                return
            }
            var side = flow[direction]
            require(!side.ended, "gap after end: flow \(id) \(direction)")
            require(
                offset == side.next,
                "gap not contiguous: flow \(id) \(direction) offset \(offset), expected \(side.next)")
            require(length > 0, "empty gap: flow \(id) \(direction) offset \(offset)")
            let (next, overflow) = side.next.addingReportingOverflow(length)
            require(!overflow, "gap overflows the stream offset")
            side.next = next
            flow[direction] = side
            open[id] = flow
        case .retransmission(let id, let direction, let offset, let length, _, _):
            guard let flow = open[id] else {
                require(false, "retransmission for unknown or closed flow \(id)")
                return
            }
            require(!flow[direction].ended, "retransmission after end: flow \(id) \(direction)")
            require(length > 0, "empty retransmission: flow \(id) \(direction) offset \(offset)")
        case .end(let id, let direction, _, _, _):
            guard var flow = open[id] else {
                require(false, "end for unknown or closed flow \(id)")
                return
            }
            require(!flow[direction].ended, "end twice: flow \(id) \(direction)")
            flow[direction].ended = true
            open[id] = flow
        case .closed(let id, _):
            guard let flow = open[id] else {
                require(false, "closed for unknown or closed flow \(id)")
                return
            }
            require(flow.client.ended && flow.server.ended, "closed before both ends: flow \(id)")
            open[id] = nil
            closedCount += 1
        case .limitReached(_, let flow, _):
            if let flow { require(flow.index <= lastOpened, "limit names a flow never opened: \(flow)") }
        }
    }

    /// Bounds that must hold after every `process` call.
    func checkBounds(_ reassembler: TCPReassembler, lastPayload: Int) {
        let options = reassembler.options
        // Open flows are bounded by maxFlows (checked against the events below); closed tuples
        // kept briefly for late packets are bounded separately by maxClosedFlows.
        require(
            reassembler.trackedFlows <= max(options.maxFlows, 1) + max(options.maxClosedFlows, 0),
            "flow table over its limits: \(reassembler.trackedFlows)")
        require(reassembler.bufferedOutOfOrderBytes >= 0, "negative out-of-order byte count")
        require(
            reassembler.bufferedOutOfOrderBytes <= options.maxOutOfOrderBytesTotal + lastPayload,
            "out-of-order bytes over the total limit: \(reassembler.bufferedOutOfOrderBytes)")
        require(
            open.count <= max(options.maxFlows, 1), "more open flows than the flow limit: \(open.count)")
    }

    /// After `finish`: every flow closed, nothing buffered.
    func checkFinished(_ reassembler: TCPReassembler) {
        require(open.isEmpty, "flows left open after finish: \(open.keys.map(\.index).sorted())")
        require(reassembler.trackedFlows == 0, "flows tracked after finish")
        require(reassembler.bufferedOutOfOrderBytes == 0, "bytes buffered after finish")
        require(openedCount == closedCount, "opened \(openedCount) flows, closed \(closedCount)")
        // The counters say what the events said.
        let statistics = reassembler.statistics
        require(statistics.flowsOpened == UInt64(openedCount), "flowsOpened \(statistics.flowsOpened), opened events \(openedCount)")
        let delivered = statistics.bytesDeliveredInPlace &+ statistics.bytesDeliveredFromStorage
        require(delivered == deliveredBytes, "statistics count \(delivered) delivered bytes, data events \(deliveredBytes)")
        for (reason, counted) in [
            (GapReason.captureLoss, statistics.captureLossBytes), (.limit, statistics.limitGapBytes),
            (.snaplen, statistics.snaplenGapBytes), (.holeAtEnd, statistics.holeAtEndBytes),
        ] {
            let reported = gapBytes[reason] ?? 0
            require(counted == reported, "statistics count \(counted) \(reason.rawValue) gap bytes, gap events \(reported)")
        }
    }
}
