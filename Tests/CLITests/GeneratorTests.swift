import Capture
import Foundation
import Testing
import TestSupport
import Wire

/// Black-box tests of `smtpscope-gen`: the built binary writes a small capture
/// and its truth file; the capture is then read back through Capture and Wire
/// and the truth file is checked against facts recomputed from the raw client
/// bytes (MAIL commands, Message-ID headers, where `\r\n.\r\n` fell across
/// segments), never against the generator's own bookkeeping.
@Suite(.serialized)
struct GeneratorTests {
    /// The `smtpscope-gen` product next to the test bundle (see ``CLIRunner``).
    static func generatorBinary() throws -> URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidates = [
            testBinary.deletingLastPathComponent().appendingPathComponent("smtpscope-gen"),
            PackagePaths.root.appendingPathComponent(".build/debug/smtpscope-gen"),
        ]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) })
    }

    /// Runs the generator; returns the capture and truth file locations.
    static func generate(size: String, seed: Int, name: String) throws -> (capture: URL, truth: URL) {
        let capture = try SyntheticCapture.temporaryPath(named: "\(name).pcap")
        let truth = capture.deletingPathExtension().appendingPathExtension("truth.jsonl")
        let process = Process()
        process.executableURL = try generatorBinary()
        process.arguments = ["--size", size, "--seed", String(seed), "-w", capture.path, "--truth", truth.path, "--quiet"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return (capture, truth)
    }

    /// Lines of the truth file as JSON objects.
    static func truthRecords(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// What the capture itself shows, per SMTP connection (client → server bytes only).
    struct Observed {
        var frames = 0
        var timestampsInOrder = true
        var udpOrOtherFrames = 0
        var nonSMTPTCPSegments = 0
        /// Per "client>server": MAIL commands seen.
        var mailCommands: [String: Int] = [:]
        /// Per "client>server": Message-IDs seen in the client's bytes, in order.
        var messageIDs: [String: [String]] = [:]
        /// Per "client>server": each terminator's segment boundaries (positions 1-4), in order.
        var splits: [String: [[Int]]] = [:]
    }

    /// Reads the capture with OfflineCapture and decodes it with PacketDecoder.
    static func observe(_ url: URL) throws -> Observed {
        var observed = Observed()
        var streams: [String: [UInt8]] = [:]
        var boundaries: [String: Set<Int>] = [:]
        let capture = try OfflineCapture(path: url.path)
        var decoder = PacketDecoder()
        var lastTime = Int64.min
        let outcome = capture.readPackets { info, bytes in
            observed.frames += 1
            if info.timestampNanoseconds < lastTime { observed.timestampsInOrder = false }
            lastTime = info.timestampNanoseconds
            let result = decoder.decode(
                frame: bytes, wireLength: info.wireLength, linkType: info.linkType,
                timestampNanoseconds: info.timestampNanoseconds
            ) { segment, payload in
                guard segment.destination.port == 25 else {
                    if segment.source.port != 25 { observed.nonSMTPTCPSegments += 1 }
                    return
                }
                guard !payload.isEmpty else { return }
                let key = "\(segment.source)>\(segment.destination)"
                streams[key, default: []].append(contentsOf: payload)
                boundaries[key, default: []].insert(streams[key, default: []].count)
            }
            if result == .notTCP { observed.udpOrOtherFrames += 1 }
            return .next
        }
        #expect(outcome == .endOfInput(framesRead: UInt64(observed.frames)))
        for (key, stream) in streams {
            let text = String(decoding: stream, as: UTF8.self)
            observed.mailCommands[key] = text.components(separatedBy: "\r\nMAIL FROM:<").count - 1
                + (text.hasPrefix("MAIL FROM:<") ? 1 : 0)
            observed.messageIDs[key] = text.components(separatedBy: "\r\nMessage-ID: ").dropFirst().map {
                String($0.prefix { $0 != "\r\n" && $0 != "\r" })
            }
            var splits: [[Int]] = []
            var index = 0
            let terminator: [UInt8] = [13, 10, 46, 13, 10]
            while index + 5 <= stream.count {
                if stream[index] == 13, Array(stream[index..<(index + 5)]) == terminator {
                    splits.append((1...4).filter { boundaries[key, default: []].contains(index + $0) })
                    index += 5
                } else {
                    index += 1
                }
            }
            observed.splits[key] = splits
        }
        return observed
    }

    @Test func captureMatchesItsTruthFile() throws {
        let (capture, truthURL) = try Self.generate(size: "2MB", seed: 2, name: "gen-2")
        let records = try Self.truthRecords(truthURL)
        let summary = try #require(records.last)
        #expect(summary["type"] as? String == "summary")
        let messages = records.filter { $0["type"] as? String == "message" }

        let observed = try Self.observe(capture)
        #expect(observed.frames == summary["frames"] as? Int)
        #expect(observed.timestampsInOrder)
        #expect(observed.udpOrOtherFrames > 0, "DNS traffic expected")
        #expect(observed.nonSMTPTCPSegments > 0, "bulk TCP traffic expected")

        var expectedMail: [String: Int] = [:]
        var expectedIDs: [String: [String]] = [:]
        var expectedSplits: [String: [[Int]]] = [:]
        for message in messages.sorted(by: { ($0["transaction"] as? Int ?? 0) < ($1["transaction"] as? Int ?? 0) }) {
            let client = try #require(message["client"] as? [String: Any])
            let server = try #require(message["server"] as? [String: Any])
            let key = "\(Self.text(client))>\(Self.text(server))"
            expectedMail[key, default: 0] += 1
            if let id = message["message_id"] as? String {
                expectedIDs[key, default: []].append(id)
                expectedSplits[key, default: []].append(try #require(message["split_after"] as? [Int]))
            }
        }
        #expect(observed.mailCommands.filter { $0.value > 0 } == expectedMail)
        #expect(observed.messageIDs.filter { !$0.value.isEmpty } == expectedIDs)
        #expect(observed.splits.filter { !$0.value.isEmpty } == expectedSplits)

        // The mix this seed produces, as the truth file states it: the checks above covered these cases.
        let diagnoses = Set(messages.compactMap { $0["diagnosis"] as? String })
        #expect(diagnoses.isSuperset(of: ["ok", "rejected", "split_terminator_stall", "unanswered"]), "\(diagnoses)")
        #expect(messages.contains { ($0["split_after"] as? [Int])?.isEmpty == false })
        let size = try #require(try FileManager.default.attributesOfItem(atPath: capture.path)[.size] as? Int)
        #expect(size == summary["file_bytes"] as? Int)
        #expect((1_500_000...3_500_000).contains(size))
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let first = try Self.generate(size: "1MB", seed: 5, name: "gen-5a")
        let second = try Self.generate(size: "1MB", seed: 5, name: "gen-5b")
        let other = try Self.generate(size: "1MB", seed: 6, name: "gen-6")
        let a = try Data(contentsOf: first.capture)
        #expect(a.count > 500_000)
        #expect(a == (try Data(contentsOf: second.capture)))
        #expect((try Data(contentsOf: first.truth)) == (try Data(contentsOf: second.truth)))
        #expect(a != (try Data(contentsOf: other.capture)))
    }

    static func text(_ endpoint: [String: Any]) -> String {
        let ip = endpoint["ip"] as? String ?? "?"
        let port = endpoint["port"] as? Int ?? -1
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
