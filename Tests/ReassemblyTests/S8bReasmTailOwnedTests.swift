import Testing
import Wire

@testable import Reassembly

/// The in-order path writes a flow's tail window (the last 64 delivered bytes, kept to compare
/// retransmissions) without a uniqueness check: a flow in the reassembler's store owns its tail
/// boxes, because a copied store gives every copied flow boxes of its own (``SlotStore/copy()``).
/// Here a reassembler is copied mid-stream, and the copy and the original each deliver different
/// bytes at the same offset and then resend them: each resend must match its own bytes (not
/// conflicting), exactly as in a reassembler that never was copied. Had the two shared a box, the
/// second delivery would overwrite the first's bytes and one resend would be reported as conflicting.
@Suite struct S8bReasmTailOwnedTests {
    static let client = Endpoint(address: .v4(0xC000_0201), port: 40000)
    static let server = Endpoint(address: .v4(0xCB00_7107), port: 25)

    struct Step {
        var segment: TCPSegment
        var payload: [UInt8]
    }

    /// Handshake, then `prefix` client bytes, from client ISN 1000 and server ISN 5000.
    static func opening(prefix: [UInt8]) -> [Step] {
        [
            Step(segment: segment(from: client, seq: 1000, ack: 0, flags: [.syn], count: 0), payload: []),
            Step(segment: segment(from: server, seq: 5000, ack: 1001, flags: [.syn, .ack], count: 0), payload: []),
            Step(segment: segment(from: client, seq: 1001, ack: 5001, flags: [.ack], count: 0), payload: []),
            Step(segment: segment(from: client, seq: 1001, ack: 5001, flags: [.ack, .psh], count: prefix.count), payload: prefix),
        ]
    }

    /// `body` from the client right after `prefixCount` bytes, then the same bytes again.
    static func sendAndResend(_ body: [UInt8], prefixCount: Int) -> [Step] {
        let seq = 1001 &+ UInt32(prefixCount)
        let step = Step(segment: segment(from: client, seq: seq, ack: 5001, flags: [.ack, .psh], count: body.count), payload: body)
        return [step, step]
    }

    static func segment(from source: Endpoint, seq: UInt32, ack: UInt32, flags: TCPFlags, count: Int) -> TCPSegment {
        TCPSegment(
            source: source, destination: source == client ? server : client, sequenceNumber: seq, acknowledgmentNumber: ack,
            flags: flags, window: 65535, payloadLength: count)
    }

    static func feed(_ reassembler: inout TCPReassembler, _ steps: [Step], firstFrame: UInt64, into events: inout [String]) {
        for (offset, step) in steps.enumerated() {
            let frame = firstFrame + UInt64(offset)
            step.payload.withUnsafeBytes { payload in
                reassembler.process(step.segment, payload: payload, frame: frame, timestampNanoseconds: Int64(frame) * 1000) {
                    events.append(InOrderFastPathTests.describe($0))
                }
            }
        }
    }

    /// Whether `events` hold a retransmission, and whether any was conflicting.
    static func retransmissions(_ events: [String]) -> (seen: Int, conflicting: Int) {
        let resent = events.filter { $0.hasPrefix("rexmit ") }
        return (resent.count, resent.filter { $0.hasSuffix(" true") }.count)
    }

    @Test(arguments: [8, 64, 200])
    func copiesKeepTheirOwnTailWindows(bodyLength: Int) {
        let prefix = [UInt8](repeating: 0x41, count: 100)
        let mine = (0..<bodyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let theirs = (0..<bodyLength).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 200) }
        var original = TCPReassembler(options: ReassemblyOptions(), seed: 7)
        var shared: [String] = []
        Self.feed(&original, Self.opening(prefix: prefix), firstFrame: 1, into: &shared)
        var copy = original
        var originalEvents = shared
        var copyEvents = shared
        // Interleaved: the copy delivers its bytes, then the original its own, then each resends.
        let copySteps = Self.sendAndResend(theirs, prefixCount: prefix.count)
        let originalSteps = Self.sendAndResend(mine, prefixCount: prefix.count)
        Self.feed(&copy, [copySteps[0]], firstFrame: 5, into: &copyEvents)
        Self.feed(&original, [originalSteps[0]], firstFrame: 5, into: &originalEvents)
        Self.feed(&copy, [copySteps[1]], firstFrame: 6, into: &copyEvents)
        Self.feed(&original, [originalSteps[1]], firstFrame: 6, into: &originalEvents)

        // Independent expectation: each resend repeats exactly the bytes its side delivered.
        #expect(Self.retransmissions(copyEvents).seen == 1)
        #expect(Self.retransmissions(copyEvents).conflicting == 0)
        #expect(Self.retransmissions(originalEvents).seen == 1)
        #expect(Self.retransmissions(originalEvents).conflicting == 0)

        // And the same events as a reassembler that was never copied.
        for (body, events) in [(theirs, copyEvents), (mine, originalEvents)] {
            var fresh = TCPReassembler(options: ReassemblyOptions(), seed: 7)
            var freshEvents: [String] = []
            Self.feed(&fresh, Self.opening(prefix: prefix) + Self.sendAndResend(body, prefixCount: prefix.count), firstFrame: 1, into: &freshEvents)
            #expect(events == freshEvents)
        }
    }
}
