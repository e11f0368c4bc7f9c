// Replay of the `pcap` fuzz harness (Tests/Fuzz): a whole capture file (pcap
// or pcapng) read by libpcap from memory (fmemopen + pcap_fopen_offline);
// every frame decoded by Wire and fed to Reassembly → SMTP with the stream
// contract checked on every event, and to the Analyzer (whole pipeline,
// findings, correlation, JSON Lines and text output).
//
// Each frame is copied into its own exact-size allocation so that the address
// sanitizer sees any read past the captured length (libpcap's own buffer is
// larger than the frame).
import Analysis
import CLibpcap
import Capture
import Glibc
import Reassembly
import Wire

/// Replays one input of the `pcap` harness.
enum CaptureReplay {
    /// What a replay did, for bounds checks.
    struct Outcome {
        /// False when libpcap refused the input as a capture file.
        var opened = false
        var frames = 0
        var segments = 0
        var flowsOpened = 0
        var flowRecords = 0
        var transactions = 0
        /// Each transaction's outcome (`accepted`, `no_reply`, …), in flow order.
        var outcomes: [String] = []
        var outputBytes = 0
    }

    /// Frames read per input at most (bounds the time per input).
    static let maxFrames = 20_000

    static func run(_ input: UnsafeBufferPointer<UInt8>) -> Outcome {
        var outcome = Outcome()
        guard let base = input.baseAddress, input.count > 0,
            let file = fmemopen(UnsafeMutableRawPointer(mutating: base), input.count, "rb")
        else { return outcome }
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        // On success the pcap handle owns `file` (pcap_close closes it).
        guard
            let handle = pcap_fopen_offline_with_tstamp_precision(
                file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer)
        else {
            fclose(file)
            return outcome
        }
        defer { pcap_close(handle) }
        outcome.opened = true
        let linkType = LinkType(rawValue: UInt32(bitPattern: pcap_datalink(handle)))

        var decoder = PacketDecoder()
        var options = AnalysisOptions()
        // Small limits so eviction and flushing run on fuzz-sized inputs.
        options.reassembly.maxFlows = 16
        options.reassembly.maxOutOfOrderBytesPerFlow = 4096
        options.reassembly.maxOutOfOrderBytesTotal = 16384
        options.reassembly.maxOutOfOrderSegmentsPerDirection = 32
        var pipeline = Pipeline(options: options.reassembly)
        let analyzer = Analyzer(options: options)
        analyzer.beginCapture(name: "fuzz")

        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var bytes: UnsafePointer<UInt8>?
        var frameNumber: UInt64 = 0
        var first: Int64?
        var skipped: UInt64 = 0
        // The Analyzer's capture clock and its once-per-second idle ticks, so both count the same flows.
        var clock = Int64.min
        var nextTick = Int64.min
        while frameNumber < UInt64(maxFrames), pcap_next_ex(handle, &header, &bytes) == 1 {
            guard let header, let bytes else { break }
            frameNumber += 1
            let captured = Int(header.pointee.caplen)
            let time = header.pointee.ts
            let (seconds, overflow) = Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
            let timestamp = overflow ? Int64.max : seconds &+ Int64(time.tv_usec)
            // Known bug analysis-text-duration-overflow: TimeText traps on durations over
            // ~58 years. When the fuzzer is told to step around it, frames more than
            // 9e17 ns from the first are left out, so no two times are 1.8e18 ns apart.
            let origin = first ?? timestamp
            first = origin
            let (distance, far) = timestamp.subtractingReportingOverflow(origin)
            if (far || distance.magnitude > 900_000_000_000_000_000) && tolerates("analysis-text-duration-overflow") {
                skipped += 1
                continue
            }
            let info = CaptureInfo(
                frameNumber: frameNumber, timestampNanoseconds: timestamp, capturedLength: captured,
                wireLength: Int(header.pointee.len), linkType: linkType)

            clock = max(clock, timestamp)
            if clock >= nextTick {
                nextTick = clock > .max - 1_000_000_000 ? .max : clock + 1_000_000_000
                pipeline.advanceClock(to: clock)
            }
            let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: captured, alignment: 1)
            frame.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: captured))
            _ = decoder.decode(
                frame: UnsafeRawBufferPointer(frame), wireLength: info.wireLength, linkType: linkType,
                timestampNanoseconds: timestamp
            ) { segment, payload in
                require(payload.count == segment.payloadLength, "payload buffer matches payloadLength")
                outcome.segments += 1
                pipeline.process(
                    segment, payload: payload, frame: frameNumber, timestampNanoseconds: timestamp, clock: clock)
            }
            analyzer.process(info, frame: UnsafeRawBufferPointer(frame))
            frame.deallocate()
        }
        require(decoder.statistics.frames == frameNumber - skipped, "every frame counted by the decoder")
        pipeline.finish()
        outcome.frames = Int(frameNumber)
        outcome.flowsOpened = pipeline.checker.openedCount

        let result = analyzer.finish()
        outcome.flowRecords = result.flows.count
        outcome.transactions = result.flows.reduce(0) { $0 + $1.transactions.count }
        outcome.outcomes = result.flows.flatMap { $0.transactions.map(\.outcome.rawValue) }
        for line in JSONLinesEncoder.encode(result) { outcome.outputBytes += line.utf8.count }
        outcome.outputBytes += renderText(result).utf8.count
        require(
            outcome.flowRecords == outcome.flowsOpened,
            "Analyzer flows \(outcome.flowRecords), reassembler flows \(outcome.flowsOpened)")
        return outcome
    }
}
