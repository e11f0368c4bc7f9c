import Crypto
import Foundation
import Wire

/// Community ID flow hashing, version 1 (corelight/community-id-spec), for TCP.
public enum CommunityID {
    /// IANA protocol number of TCP.
    public static let tcp: UInt8 = 6

    /// `1:` + base64(SHA-1(seed · smaller endpoint · larger endpoint · proto · 0 · ports)).
    /// The endpoint that is numerically smaller (address, then port) comes first.
    public static func v1(_ a: Endpoint, _ b: Endpoint, proto: UInt8 = tcp, seed: UInt16 = 0) -> String {
        let aBytes = a.address.bytes
        let bBytes = b.address.bytes
        let aFirst = aBytes.lexicographicallyPrecedes(bBytes) || (aBytes == bBytes && a.port <= b.port)
        let (first, second) = aFirst ? (a, b) : (b, a)
        var input: [UInt8] = [UInt8(seed >> 8), UInt8(seed & 0xFF)]
        input += first.address.bytes
        input += second.address.bytes
        input += [proto, 0, UInt8(first.port >> 8), UInt8(first.port & 0xFF)]
        input += [UInt8(second.port >> 8), UInt8(second.port & 0xFF)]
        let digest = Insecure.SHA1.hash(data: input)
        return "1:" + Data(digest).base64EncodedString()
    }
}
