// Fuzz harness 4: a whole capture file (pcap or pcapng) read by libpcap from
// memory (fmemopen + pcap_fopen_offline); every frame decoded by Wire and fed
// to Reassembly → SMTP, the stream contract checked on every event.
//
// Each frame is copied into its own exact-size allocation so that the address
// sanitizer sees any read past the captured length (libpcap's own buffer is
// larger than the frame).
import CLibpcap
import Glibc
import Reassembly
import Wire

/// Frames read per input at most (bounds the time per input).
private let maxFrames = 20_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCapture(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0, let file = fmemopen(UnsafeMutableRawPointer(mutating: data), size, "rb") else { return 0 }
    var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
    // pcap_fopen_offline takes ownership of `file` (pcap_close closes it).
    guard let handle = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
        fclose(file)
        return 0
    }
    defer { pcap_close(handle) }
    let linkType = LinkType(rawValue: UInt32(bitPattern: pcap_datalink(handle)))

    var decoder = PacketDecoder()
    var options = ReassemblyOptions()
    // Small limits so eviction and flushing run on fuzz-sized inputs.
    options.maxFlows = 16
    options.maxOutOfOrderBytesPerFlow = 4096
    options.maxOutOfOrderBytesTotal = 16384
    options.maxOutOfOrderSegmentsPerDirection = 32
    var pipeline = Pipeline(options: options)

    var header: UnsafeMutablePointer<pcap_pkthdr>?
    var bytes: UnsafePointer<UInt8>?
    var frameNumber: UInt64 = 0
    while frameNumber < UInt64(maxFrames), pcap_next_ex(handle, &header, &bytes) == 1 {
        guard let header, let bytes else { break }
        frameNumber += 1
        let captured = Int(header.pointee.caplen)
        let wire = Int(header.pointee.len)
        let time = header.pointee.ts
        let (seconds, o1) = Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        let timestamp = o1 ? Int64.max : seconds &+ Int64(time.tv_usec)

        let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: captured, alignment: 1)
        frame.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: captured))
        _ = decoder.decode(
            frame: UnsafeRawBufferPointer(frame), wireLength: wire, linkType: linkType, timestampNanoseconds: timestamp
        ) { segment, payload in
            precondition(payload.count == segment.payloadLength, "payload buffer matches payloadLength")
            pipeline.process(segment, payload: payload, frame: frameNumber, timestampNanoseconds: timestamp)
        }
        frame.deallocate()
    }
    precondition(decoder.statistics.frames == frameNumber, "every frame counted by the decoder")
    pipeline.finish()
    return 0
}
