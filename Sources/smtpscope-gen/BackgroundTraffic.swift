import TestSupport
import Wire

/// An HTTPS (or HTTP) download: a short request, then the server sends
/// `size` bytes in windows of MSS-sized segments, the client acknowledging
/// every second one; the server closes. Not on an SMTP port.
final class BulkTransfer: ScriptedFlow {
    private enum Step { case connect, request, data, close, done }
    private var step = Step.connect
    private let start: Int64
    private let roundTrip: Int64
    private let window: Int
    private var remaining: Int
    private var burstStart: Int64 = 0

    init(client: Endpoint, server: Endpoint, size: Int, start: Int64, random: SplitMix64) {
        var random = random
        let connection = TCPConnection(client: client, server: server, random: &random)
        self.start = start
        roundTrip = random.millis(5, 120)
        window = random.int(10...40)
        remaining = size
        super.init(connection: connection, random: random)
    }

    override func planMore() {
        switch step {
        case .connect:
            send(at: start, fromClient: true, .syn)
            send(at: start + 30_000, fromClient: false, [.syn, .ack])
            send(at: start + roundTrip, fromClient: true, .ack)
            step = .request
        case .request:
            send(at: lastPlanned + 20_000, fromClient: true, [.psh, .ack], .opaque(random.int(300...700)))
            send(at: lastPlanned + 30_000, fromClient: false, .ack)
            burstStart = lastPlanned + random.micros(500, 20_000)
            step = .data
        case .data:
            var time = burstStart
            var lastAck = time
            for index in 0..<window where remaining > 0 {
                let count = min(remaining, connection.segmentSize)
                remaining -= count
                send(at: time, fromClient: false, remaining == 0 ? [.psh, .ack] : .ack, .opaque(count))
                if index % 2 == 1 || remaining == 0 {
                    lastAck = time + 20_000
                    send(at: lastAck, fromClient: true, .ack)
                }
                time += 12_000
            }
            burstStart = lastAck + roundTrip
            if remaining == 0 { step = .close }
        case .close:
            send(at: lastPlanned + random.millis(1, 200), fromClient: false, [.fin, .ack])
            send(at: lastPlanned + roundTrip, fromClient: true, [.fin, .ack])
            send(at: lastPlanned + 20_000, fromClient: false, .ack)
            step = .done
        case .done:
            break
        }
    }
}

/// DNS over UDP: hosts asking a resolver for MX and A records, one query
/// and its answer at a time, until told to stop.
final class DNSChatter: TrafficActor {
    private var random: SplitMix64
    private var time: Int64
    private var answerDue: (query: [UInt8], client: Endpoint)?
    private var identification: UInt16 = 0
    var stopped = false
    private static let resolver = Endpoint(address: .v4(0xC633_6435), port: 53)  // 198.51.100.53

    init(start: Int64, random: SplitMix64) {
        self.time = start
        self.random = random
    }

    var nextTime: Int64? { stopped && answerDue == nil ? nil : time }

    func emitNext(_ generator: Generator) {
        if let (query, client) = answerDue {
            // Answer: the query with QR/RA set, one answer record (MX 10 mx.example.com).
            var answer = query
            answer[2] = 0x81
            answer[3] = 0x80
            answer[7] = 1
            answer += [0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x12, 0x00, 0x0a]
            answer += [2] + Array("mx".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0]
            generator.sink.write(Self.frame(from: Self.resolver, to: client, payload: answer), at: time, smtp: false)
            answerDue = nil
            time += random.micros(200, 20_000)
            return
        }
        identification &+= 1
        let client = Endpoint(
            address: .v4((random.chance(0.5) ? 0xC000_0200 : 0xC633_6400) | UInt32(random.int(1...254))),
            port: UInt16(random.int(1_024...65_000)))
        var query: [UInt8] = [UInt8(identification >> 8), UInt8(identification & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let name = "host\(random.below(10_000))"
        for label in [name, "example", random.chance(0.5) ? "net" : "org"] {
            query.append(UInt8(label.utf8.count))
            query += Array(label.utf8)
        }
        query += [0, 0x00, 0x0f, 0x00, 0x01]  // MX IN
        generator.sink.write(Self.frame(from: client, to: Self.resolver, payload: query), at: time, smtp: false)
        answerDue = (query, client)
        time += random.micros(300, 15_000)
    }

    /// Ethernet + IPv4 + UDP with a correct UDP checksum.
    static func frame(from source: Endpoint, to destination: Endpoint, payload: [UInt8]) -> [UInt8] {
        let length = UInt16(8 + payload.count)
        var datagram: [UInt8] = [
            UInt8(source.port >> 8), UInt8(source.port & 0xff), UInt8(destination.port >> 8), UInt8(destination.port & 0xff),
            UInt8(length >> 8), UInt8(length & 0xff), 0, 0,
        ] + payload
        let pseudo = PacketBuilder.addressBytes(source.address) + PacketBuilder.addressBytes(destination.address)
            + [0, 17, UInt8(length >> 8), UInt8(length & 0xff)]
        var sum = PacketBuilder.checksum(pseudo + datagram)
        if sum == 0 { sum = 0xffff }
        datagram[6] = UInt8(sum >> 8)
        datagram[7] = UInt8(sum & 0xff)
        return PacketBuilder.ethernet(PacketBuilder.ipv4(source: source.address, destination: destination.address, protocolNumber: 17, payload: datagram))
    }
}
