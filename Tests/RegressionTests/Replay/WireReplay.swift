// Replay of the `wire` fuzz harness (Tests/Fuzz): Wire decode of frames of every link type.
//
// Input: byte 0 selects the link type (index into `linkTypes`, or a raw
// unknown value); byte 1 selects the mode:
//   bit 7 clear: the rest is one frame;
//   bit 7 set:   the rest is a run of frames, each `[len hi][len lo][bytes]`,
//                through one decoder (fragment reassembly across frames),
//                bits 0-3 shrink the fragment limits so eviction paths run,
//                bits 4-6 scale the timestamp step so fragments expire.
// Each frame is copied into its own exact-size allocation so that the
// address sanitizer sees any read past the frame's end.
import Wire

let wireLinkTypes: [LinkType] = [
    .null, .ethernet, .rawBSD12, .rawBSD14, .raw, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2,
]

/// Replays one input of the `wire` harness (format above).
enum WireReplay {
    /// What a replay did, for bounds checks.
    struct Outcome {
        var frames = 0
        var segments = 0
    }

    static func run(_ input: UnsafeBufferPointer<UInt8>) -> Outcome {
        var outcome = Outcome()
        guard input.count >= 2 else { return outcome }
        let selector = Int(input[0])
        let linkType =
            selector < wireLinkTypes.count * 24
            ? wireLinkTypes[selector % wireLinkTypes.count] : LinkType(rawValue: UInt32(selector))
        let mode = input[1]
        let body = UnsafeBufferPointer(rebasing: input[2...])

        if mode & 0x80 == 0 {
            var decoder = PacketDecoder()
            outcome.segments += decodeOne(
                &decoder, Array(body), linkType: linkType, wireExtra: Int(mode & 0x7F) - 32, now: 0)
            outcome.frames = 1
            return outcome
        }

        let small = mode & 0x0F
        let options = DecoderOptions(
            maxFragmentedDatagrams: 1 + Int(small & 0x3),
            maxFragmentBytesHeld: small & 0x4 != 0 ? 3000 : 4 << 20,
            maxDatagramSize: small & 0x8 != 0 ? 1500 : 65535,
            maxFragmentsPerDatagram: small & 0x4 != 0 ? 4 : 128,
            fragmentTimeoutNanoseconds: 30_000_000_000, maxVLANTags: 8, maxIPv6ExtensionHeaders: 8)
        var decoder = PacketDecoder(options: options)
        let step = Int64(1) << (Int64((mode >> 4) & 0x7) * 5)
        var now: Int64 = 1_000_000_000
        var cursor = 0
        var frames = 0
        while cursor + 2 <= body.count, frames < 512 {
            let length = Int(body[cursor]) << 8 | Int(body[cursor + 1])
            cursor += 2
            let end = min(cursor + length, body.count)
            outcome.segments += decodeOne(
                &decoder, Array(body[cursor..<end]), linkType: linkType, wireExtra: 0, now: now)
            cursor = end
            frames += 1
            now &+= step
        }
        require(decoder.statistics.frames == UInt64(frames), "every frame is counted")
        outcome.frames = frames
        return outcome
    }

    /// Decodes one frame from an exact-size copy; returns the segments handed out.
    private static func decodeOne(
        _ decoder: inout PacketDecoder, _ bytes: [UInt8], linkType: LinkType, wireExtra: Int, now: Int64
    ) -> Int {
        let count = bytes.count
        // Exact-size allocation: reading past `count` is a sanitizer error.
        let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        defer { frame.deallocate() }
        bytes.withUnsafeBytes { frame.copyMemory(from: $0) }
        let wireLength = max(0, count + wireExtra)
        var segments = 0
        let result = decoder.decode(
            frame: UnsafeRawBufferPointer(frame), wireLength: wireLength, linkType: linkType,
            timestampNanoseconds: now
        ) { segment, payload in
            segments += 1
            require(payload.count == segment.payloadLength, "payload buffer matches payloadLength")
            require(segment.payloadLength >= 0, "payload length not negative")
            require(
                segment.wirePayloadLength >= segment.payloadLength, "wire payload at least captured payload"
            )
            require(segment.payloadLength <= 65535, "payload fits an IP datagram")
            // Touch every payload byte: the sanitizer checks the range is valid.
            for byte in payload { replaySink &+= byte }
        }
        switch result {
        case .tcp:
            require(segments == 1, ".tcp hands out exactly one segment")
        case .fragmentHeld, .notTCP:
            require(segments == 0, "no segment without .tcp")
        case .failed(let error):
            require(segments == 0, "no segment on failure")
            require(error.offset >= 0, "error offset not negative")
        }
        return segments
    }
}

/// Where touched bytes go, so the reads are not optimised away.
nonisolated(unsafe) var replaySink: UInt8 = 0
