import Capture
import TestSupport
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// Where an adversarial case writes its frames: a classic pcap through Capture's
/// libpcap writer, or a pcapng file (libpcap cannot write pcapng). Frames are
/// written as they are made, so the generator's memory does not grow with the file.
protocol AdversarialOutput: AnyObject {
    /// Frames written so far.
    var frames: UInt64 { get }
    /// Bytes of the file so far.
    var fileBytes: Int { get }
    /// Appends one frame on `interface` (pcapng only; 0 for pcap) with its original length.
    func write(_ frame: [UInt8], wireLength: Int, interface: Int)
    func close() throws
}

extension AdversarialOutput {
    func write(_ frame: [UInt8], interface: Int = 0) { write(frame, wireLength: frame.count, interface: interface) }
}

/// Capture time shared by every frame of a case: starts at 2024-01-01 and moves on
/// 10 µs per frame, so timestamps are strictly increasing.
struct AdversarialClock {
    private(set) var nanoseconds: Int64 = 1_704_067_200 * 1_000_000_000
    mutating func tick(_ step: Int64 = 10_000) -> Int64 {
        nanoseconds &+= step
        return nanoseconds
    }
}

/// A classic pcap file written by libpcap (`pcap_dump`).
final class AdversarialPcap: AdversarialOutput {
    private let writer: PcapWriter
    private var clock = AdversarialClock()
    private(set) var frames: UInt64 = 0
    private(set) var fileBytes = 24

    init(path: String, snapshotLength: Int = 262_144) throws {
        writer = try PcapWriter(path: path, linkType: .ethernet, snapshotLength: snapshotLength, nanosecondTimestamps: true)
    }

    func write(_ frame: [UInt8], wireLength: Int, interface: Int) {
        frames += 1
        fileBytes += 16 + frame.count
        let info = CaptureInfo(
            frameNumber: frames, timestampNanoseconds: clock.tick(), capturedLength: frame.count, wireLength: wireLength,
            linkType: .ethernet)
        writer.write(info, bytes: frame)
    }

    func close() throws { try writer.close() }
}

/// A pcapng file (section header, interface descriptions, enhanced packet blocks),
/// written block by block. Hand-encoded because libpcap has no pcapng writer; it is
/// read back only through libpcap.
final class AdversarialPcapng: AdversarialOutput {
    private let file: UnsafeMutablePointer<FILE>
    private var clock = AdversarialClock()
    private(set) var frames: UInt64 = 0
    private(set) var fileBytes = 0

    init(path: String) throws {
        guard let opened = fopen(path, "wb") else { throw AdversarialError("cannot write \(path)") }
        file = opened
        // Section header block: byte-order magic, version 1.0, section length unknown.
        var body: [UInt8] = []
        append(UInt32(0x1A2B_3C4D), to: &body)
        append(UInt16(1), to: &body)
        append(UInt16(0), to: &body)
        append(UInt64.max, to: &body)
        block(type: 0x0A0D_0D0A, body: body)
    }

    /// Describes one more interface (numbered from 0 in the order described).
    func addInterface(linkType: LinkType, snapshotLength: UInt32 = 262_144) {
        var body: [UInt8] = []
        append(UInt16(truncatingIfNeeded: linkType.rawValue), to: &body)
        append(UInt16(0), to: &body)
        append(snapshotLength, to: &body)
        block(type: 1, body: body)
    }

    func write(_ frame: [UInt8], wireLength: Int, interface: Int) {
        frames += 1
        // Default resolution: microseconds since the epoch, as two 32-bit halves.
        let micros = UInt64(clock.tick() / 1_000)
        var body: [UInt8] = []
        body.reserveCapacity(20 + frame.count + 3)
        append(UInt32(truncatingIfNeeded: interface), to: &body)
        append(UInt32(truncatingIfNeeded: micros >> 32), to: &body)
        append(UInt32(truncatingIfNeeded: micros), to: &body)
        append(UInt32(truncatingIfNeeded: frame.count), to: &body)
        append(UInt32(truncatingIfNeeded: max(wireLength, frame.count)), to: &body)
        body += frame
        while body.count % 4 != 0 { body.append(0) }
        block(type: 6, body: body)
    }

    func close() throws {
        guard fclose(file) == 0 else { throw AdversarialError("cannot finish the pcapng file") }
    }

    private func block(type: UInt32, body: [UInt8]) {
        let total = UInt32(truncatingIfNeeded: 12 + body.count)
        var bytes: [UInt8] = []
        append(type, to: &bytes)
        append(total, to: &bytes)
        bytes += body
        append(total, to: &bytes)
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fileBytes += bytes.count
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}

struct AdversarialError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One TCP connection whose frames are made on demand (Ethernet, correct checksums).
/// Sequence numbers advance with what each side sends; a case can also send at any
/// sequence number it likes (holes, overlaps).
struct AdversarialFlow {
    let client: Endpoint
    let server: Endpoint
    private(set) var clientNext: UInt32
    private(set) var serverNext: UInt32
    private var ipID: UInt16 = 1

    init(client: Endpoint, server: Endpoint, clientISN: UInt32 = 1_000, serverISN: UInt32 = 5_000_000) {
        self.client = client
        self.server = server
        clientNext = clientISN
        serverNext = serverISN
    }

    /// A frame from one side at an explicit sequence number; does not move the side's next number.
    mutating func frame(fromClient: Bool, seq: UInt32, flags: TCPFlags = [.psh, .ack], payload: [UInt8] = []) -> [UInt8] {
        ipID &+= 1
        let packet = PacketBuilder.tcp(
            from: fromClient ? client : server, to: fromClient ? server : client, seq: seq,
            ack: flags.contains(.ack) ? (fromClient ? serverNext : clientNext) : 0, flags: flags, window: 65_535,
            payload: payload, ipID: ipID)
        return PacketBuilder.ethernet(packet)
    }

    /// The next in-order frame from one side; advances that side's sequence number.
    mutating func send(fromClient: Bool, flags: TCPFlags = [.psh, .ack], payload: [UInt8] = []) -> [UInt8] {
        let seq = fromClient ? clientNext : serverNext
        let frame = frame(fromClient: fromClient, seq: seq, flags: flags, payload: payload)
        let consumed = UInt32(truncatingIfNeeded: payload.count) &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
        if fromClient { clientNext &+= consumed } else { serverNext &+= consumed }
        return frame
    }

    /// Moves a side's next sequence number on without sending (a hole).
    mutating func skip(fromClient: Bool, bytes: UInt32) {
        if fromClient { clientNext &+= bytes } else { serverNext &+= bytes }
    }

    /// SYN, SYN+ACK, ACK.
    mutating func handshake(into output: AdversarialOutput, interface: Int = 0) {
        for (fromClient, flags) in [(true, TCPFlags.syn), (false, [.syn, .ack]), (true, .ack)] {
            output.write(send(fromClient: fromClient, flags: flags), interface: interface)
        }
    }

    /// One side's text, split into segments of at most `segmentSize` bytes.
    mutating func say(_ text: String, fromClient: Bool, into output: AdversarialOutput, interface: Int = 0, segmentSize: Int = 1448) {
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + segmentSize)
            output.write(send(fromClient: fromClient, payload: Array(bytes[start..<end])), interface: interface)
            start = end
        }
    }

    /// FIN from the client, FIN+ACK from the server, last ACK.
    mutating func close(into output: AdversarialOutput, interface: Int = 0) {
        output.write(send(fromClient: true, flags: [.fin, .ack]), interface: interface)
        output.write(send(fromClient: false, flags: [.fin, .ack]), interface: interface)
        output.write(send(fromClient: true, flags: .ack), interface: interface)
    }
}

