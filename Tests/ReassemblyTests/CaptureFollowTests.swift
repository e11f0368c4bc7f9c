import Capture
import Foundation
import Reassembly
import TestSupport
import Testing
import Wire

/// One direction of a stream as tshark's `-z follow,tcp,raw,N` shows it:
/// the bytes, and where it inserted "[N bytes missing in capture file]".
struct FollowedDirection: Equatable, CustomStringConvertible {
    var bytes: [UInt8] = []
    /// (stream offset, length) of each missing run.
    var gaps: [Gap] = []

    struct Gap: Equatable, CustomStringConvertible {
        var offset: UInt64
        var length: UInt64
        var description: String { "@\(offset)+\(length)" }
    }

    /// Stream offset after everything so far, missing runs included.
    var end: UInt64 { UInt64(bytes.count) + gaps.reduce(0) { $0 + $1.length } }
    var description: String { "\(bytes.count) bytes, gaps \(gaps)" }
}

/// tshark's follow output for one stream, parsed from the stored file.
struct TsharkFollow {
    /// `Node 0` and `Node 1` as tshark prints them (`192.0.2.1:25`, `[2001:db8::1]:25`).
    var nodes: [String] = []
    var directions = [FollowedDirection(), FollowedDirection()]

    init(contentsOf url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        let marker = try Regex(#"^\[(\d+) bytes missing in capture file\]\x00$"#)
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Node ") {
                nodes.append(String(line.split(separator: " ", maxSplits: 2)[2]))
                continue
            }
            let node = line.hasPrefix("\t") ? 1 : 0
            let hex = line.trimmingCharacters(in: .whitespaces)
            guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit), hex.count % 2 == 0 else { continue }
            var chunk: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                chunk.append(UInt8(hex[index..<next], radix: 16) ?? 0)
                index = next
            }
            if let match = String(decoding: chunk, as: UTF8.self).wholeMatch(of: marker),
                let length = UInt64(match.output[1].substring ?? "")
            {
                directions[node].gaps.append(.init(offset: directions[node].end, length: length))
            } else {
                directions[node].bytes += chunk
            }
        }
    }
}

/// What the reassembler made of one flow.
struct ReassembledFlow {
    var info: FlowInfo
    var client = FollowedDirection()
    var server = FollowedDirection()
    var gapReasons: [GapReason] = []
    var offsetErrors: [String] = []

    subscript(direction: FlowDirection) -> FollowedDirection {
        get { direction == .clientToServer ? client : server }
        set { if direction == .clientToServer { client = newValue } else { server = newValue } }
    }
}

/// Reads a capture with libpcap, decodes it and reassembles every flow.
func reassemble(_ url: URL) throws -> (flows: [ReassembledFlow], statistics: ReassemblyStatistics) {
    let capture = try OfflineCapture(path: url.path)
    var decoder = PacketDecoder()
    var reassembler = TCPReassembler()
    var flows: [ReassembledFlow] = []
    func record(_ event: StreamEvent) {
        switch event {
        case .opened(let info):
            flows.append(ReassembledFlow(info: info))
        case .data(let flow, let direction, let offset, let bytes, _):
            if flows[flow.index][direction].end != offset {
                flows[flow.index].offsetErrors.append("data at \(offset), expected \(flows[flow.index][direction].end)")
            }
            flows[flow.index][direction].bytes += bytes
        case .gap(let flow, let direction, let offset, let length, let reason):
            if flows[flow.index][direction].end != offset {
                flows[flow.index].offsetErrors.append("gap at \(offset), expected \(flows[flow.index][direction].end)")
            }
            flows[flow.index][direction].gaps.append(.init(offset: offset, length: length))
            flows[flow.index].gapReasons.append(reason)
        default:
            break
        }
    }
    _ = capture.readPackets { info, frame in
        _ = decoder.decode(
            frame: frame, wireLength: info.wireLength, linkType: info.linkType, timestampNanoseconds: info.timestampNanoseconds
        ) { segment, payload in
            reassembler.process(
                segment, payload: payload, frame: info.frameNumber, timestampNanoseconds: info.timestampNanoseconds,
                emit: record)
        }
        return .next
    }
    reassembler.finish(emit: record)
    return (flows, reassembler.statistics)
}

/// Recorded captures (captures/reassembly, see its README): bulk port-25
/// traffic in both directions through a forwarder that dropped, duplicated
/// and reordered segments; every stream must equal tshark's reassembly.
@Suite struct CaptureFollowTests {
    static let folder = PackagePaths.captures.appendingPathComponent("reassembly")

    static func followFiles(of capture: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix(capture + ".stream") && $0.pathExtension == "follow" }
            .sorted { $0.lastPathComponent.count != $1.lastPathComponent.count
                ? $0.lastPathComponent.count < $1.lastPathComponent.count : $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Compares every flow with tshark's follow output, byte for byte, both directions.
    static func compareWithTshark(_ capture: String) throws -> (flows: [ReassembledFlow], statistics: ReassemblyStatistics) {
        let result = try reassemble(folder.appendingPathComponent(capture + ".pcap"))
        let files = try followFiles(of: capture)
        try #require(!files.isEmpty)
        #expect(result.flows.count == files.count, "\(capture): flows vs tshark streams")
        for (index, file) in files.enumerated() where index < result.flows.count {
            let expected = try TsharkFollow(contentsOf: file)
            let flow = result.flows[index]
            #expect(flow.offsetErrors.isEmpty, "\(file.lastPathComponent): \(flow.offsetErrors.prefix(3))")
            // tshark's Node 0 is the sender of the stream's first frame: the SYN here.
            try #require(expected.nodes == [flow.info.client.description, flow.info.server.description],
                         "\(file.lastPathComponent): endpoints \(expected.nodes)")
            for (node, direction) in [(0, FlowDirection.clientToServer), (1, .serverToClient)] {
                let mine = flow[direction]
                let theirs = expected.directions[node]
                #expect(mine.bytes.count == theirs.bytes.count, "\(file.lastPathComponent) \(direction): length")
                #expect(mine.bytes == theirs.bytes, "\(file.lastPathComponent) \(direction): bytes differ")
                #expect(mine.gaps == theirs.gaps, "\(file.lastPathComponent) \(direction): gaps \(mine.gaps) vs tshark \(theirs.gaps)")
            }
        }
        return result
    }

    @Test(arguments: ["receiver-side", "sender-side"])
    func impairedCaptureEqualsTsharkFollow(_ capture: String) throws {
        let (flows, statistics) = try Self.compareWithTshark(capture)
        // The impairments are in the capture: otherwise this test would prove little.
        #expect(statistics.outOfOrderSegments > 0)
        #expect(statistics.retransmittedSegments > 0)
        #expect(flows.allSatisfy { $0.gapReasons.isEmpty })
        #expect(flows.map { $0.info.server.port } == [25, 25, 25])
        #expect(flows.contains { !$0.info.client.address.isIPv4 })
    }

    /// receiver-side.pcap with one data frame per stream removed (editcap):
    /// bytes the receiver acknowledged but the capture lacks, which tshark
    /// marks as missing and the reassembler must report as capture loss there.
    @Test func captureLossGapsWhereTsharkShowsMissingBytes() throws {
        let (flows, _) = try Self.compareWithTshark("capture-loss")
        #expect(flows.flatMap(\.gapReasons) == [.captureLoss, .captureLoss, .captureLoss])
        #expect(flows.map { $0.client.gaps.count + $0.server.gaps.count } == [1, 1, 1])
    }
}
