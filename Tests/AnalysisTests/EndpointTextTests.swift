import Testing
import Wire

@testable import Analysis

/// An IPv4 endpoint's text is written by hand (``EndpointRecord/dottedQuad(_:)``): it must be
/// `IPAddress.description`, and the dotted quad of its four octets in decimal.
@Suite struct EndpointTextTests {
    @Test func dottedQuadOfEveryOctetWidth() {
        let octets: [UInt32] = [0, 1, 9, 10, 11, 99, 100, 101, 199, 200, 249, 250, 255]
        for a in octets {
            for b in octets {
                for c in [0, 9, 10, 100, 255] as [UInt32] {
                    for d in [0, 7, 42, 128, 255] as [UInt32] {
                        let value = a << 24 | b << 16 | c << 8 | d
                        let endpoint = EndpointRecord(Endpoint(address: .v4(value), port: 25))
                        let text = endpoint.ip
                        #expect(text == "\(a).\(b).\(c).\(d)")
                        #expect(text == IPAddress.v4(value).description)
                        // Printed (JSON, filters) from the same bytes; equal to the endpoint typed as text.
                        #expect(endpoint.withIPBytes { Array($0) } == Array(text.utf8))
                        #expect(endpoint == EndpointRecord(ip: text, port: 25))
                    }
                }
            }
        }
    }
}
