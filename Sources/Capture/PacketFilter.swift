import Wire

/// BPF filter expressions (pcap-filter(7) syntax).
public enum PacketFilter {
    /// Checks that `expression` compiles for `linkType`, without any input open;
    /// lets a command line reject a bad filter before reading anything.
    /// - Throws: ``CaptureError/invalidFilter(expression:reason:)`` with libpcap's text.
    public static func validate(_ expression: String, linkType: LinkType = .ethernet) throws(CaptureError) {
        guard let dead = PcapHandle.openDead(linkType: linkType.rawValue, snapshotLength: 262_144, nanoseconds: true) else {
            throw .invalidFilter(expression: expression, reason: "libpcap cannot compile for link type \(linkType.rawValue)")
        }
        if case .failure(let message) = dead.compile(expression) {
            throw .invalidFilter(expression: expression, reason: message.text)
        }
    }
}
