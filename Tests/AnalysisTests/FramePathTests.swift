import Analysis
import Capture
import Testing
import TestSupport
import Wire

/// The per-frame path end to end: frames decoded by the straight pass (untagged Ethernet,
/// IPv4 without options) and by the layered path (the same packets under a VLAN tag) go
/// through the reassembler's slot store and the flow stage's recent-flow shortcut. Many
/// conversations interleaved frame by frame, in two captures of one run, must each come out
/// with their own message (the Message-ID each was given, accepted), whichever path decoded them.
@Suite struct FramePathTests {
    static let flows = 120

    /// Conversation `index` of a capture: its own client and Message-ID, starts 1 ms apart, so
    /// that consecutive frames mostly belong to different flows.
    static func conversations(capture: Int) -> [MailConversation] {
        (0..<flows).map { index in
            MailConversation(
                client: syntheticClient(index + capture * flows), startMs: 1_000 + Int64(index),
                messageID: "<c\(capture)-m\(index)@example.org>", body: String(repeating: "line \(index)\r\n", count: 1 + index % 7),
                split: index % 3 == 0)
        }
    }

    /// The frames of `capture`'s conversations by time; `tagged` puts each under a VLAN tag.
    static func frames(capture: Int, tagged: Bool) -> [(nanoseconds: Int64, bytes: [UInt8])] {
        conversations(capture: capture).flatMap { $0.frames() }.enumerated()
            .sorted { ($0.element.nanoseconds, $0.offset) < ($1.element.nanoseconds, $1.offset) }
            .map { item in
                let frame = item.element
                guard tagged else { return frame }
                // Ethernet: 12 address bytes, then the tag, then the EtherType and the packet.
                let bytes = Array(frame.bytes[..<12]) + [0x81, 0x00, 0x00, 0x64] + Array(frame.bytes[12...])
                return (frame.nanoseconds, bytes)
            }
    }

    /// Per capture and client address: the Message-IDs and outcomes of the flow's transactions.
    static func run(tagged: Bool) -> [String: String] {
        var seen: [String: String] = [:]
        let analyzer = Analyzer(onFlow: { flow in
            let messages = flow.transactions.map { "\($0.messageID ?? "-") \($0.outcome)" }.joined(separator: ",")
            seen["\(flow.capture) \(flow.client.ip)"] = messages
        })
        for capture in 0..<2 {
            analyzer.beginCapture(name: "capture \(capture)")
            var frameNumber: UInt64 = 0
            feed(frames(capture: capture, tagged: tagged), to: analyzer, frameNumber: &frameNumber)
            analyzer.endCapture()
        }
        _ = analyzer.finish()
        return seen
    }

    @Test(arguments: [false, true])
    func everyFlowKeepsItsOwnMessage(tagged: Bool) {
        let seen = Self.run(tagged: tagged)
        #expect(seen.count == 2 * Self.flows)
        for capture in 0..<2 {
            for index in 0..<Self.flows {
                #expect(
                    seen["\(capture) 192.0.2.\(1 + (index + capture * Self.flows) % 250)"] == "<c\(capture)-m\(index)@example.org> accepted",
                    "capture \(capture) flow \(index)")
            }
        }
    }
}
