import Capture
import Wire

extension CaptureSummary {
    /// Reads every frame of `source`, decodes it down to TCP and counts it.
    public static func read(from source: some PacketSource, smtpPorts: [UInt16] = defaultSMTPPorts) -> CaptureSummary {
        var summary = CaptureSummary(capture: source.name, smtpPorts: smtpPorts)
        var decoder = PacketDecoder()
        let outcome = source.readPackets { info, bytes in
            var segment: TCPSegment?
            let result = decoder.decode(
                frame: bytes, wireLength: info.wireLength, linkType: info.linkType,
                timestampNanoseconds: info.timestampNanoseconds
            ) { decoded, _ in segment = decoded }
            summary.add(info: info, result: result, segment: segment)
            return .next
        }
        summary.finish(outcome, recordsOverSnapshot: (source as? OfflineCapture)?.recordsOverSnapshot)
        return summary
    }
}
