import Wire

/// One decode call's observable outcome: the result, the segment and a copy of its payload.
struct Decoded {
    var result: DecodeResult
    var segment: TCPSegment?
    var payload: [UInt8]
    var calls: Int
}

extension PacketDecoder {
    /// Decodes `frame`, copying out whatever `onSegment` received.
    mutating func run(
        _ frame: [UInt8], _ linkType: LinkType, wireLength: Int? = nil, time: Int64 = 0
    ) -> Decoded {
        var decoded = Decoded(result: .notTCP, segment: nil, payload: [], calls: 0)
        decoded.result = decode(frame: frame, wireLength: wireLength, linkType: linkType, timestampNanoseconds: time) {
            segment, payload in
            decoded.segment = segment
            decoded.payload = Array(payload)
            decoded.calls += 1
        }
        return decoded
    }
}

func decodeOnce(_ frame: [UInt8], _ linkType: LinkType, wireLength: Int? = nil) -> Decoded {
    var decoder = PacketDecoder()
    return decoder.run(frame, linkType, wireLength: wireLength)
}

func ip(_ text: String) -> IPAddress {
    IPAddress(text) ?? .v4(0xffff_ffff)
}

func endpoint(_ text: String, _ port: UInt16) -> Endpoint {
    Endpoint(address: ip(text), port: port)
}

func failure(_ layer: WireError.Layer, _ offset: Int, _ reason: WireError.Reason) -> DecodeResult {
    .failed(WireError(layer: layer, offset: offset, reason: reason))
}
