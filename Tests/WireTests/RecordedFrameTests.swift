import Testing
import Wire

/// Frames recorded with tcpdump (see RecordedFrames.swift); every expected value
/// below is what `tshark -T fields` printed for that frame:
/// `frame.number ip(v6).src tcp.srcport ip(v6).dst tcp.dstport tcp.seq_raw tcp.ack_raw tcp.flags
///  tcp.window_size_value tcp.option_kind mss wscale tsval tsecr tcp.len`
@Suite struct RecordedFrameTests {
    // eth.pcap 1: 192.0.2.1 49642 192.0.2.2 2525 1241390734 0 0x0002 64240 2,4,8,1,3 1460 10 3032561869 0 0
    @Test func ethernetIPv4SYNWithOptions() {
        let decoded = decodeOnce(RecordedFrames.ethernetIPv4SYN, .ethernet)
        #expect(decoded.result == .tcp)
        let segment = decoded.segment
        #expect(segment?.source == endpoint("192.0.2.1", 49642))
        #expect(segment?.destination == endpoint("192.0.2.2", 2525))
        #expect(segment?.sequenceNumber == 1_241_390_734)
        #expect(segment?.acknowledgmentNumber == 0)
        #expect(segment?.flags == [.syn])
        #expect(segment?.window == 64240)
        #expect(segment?.options == TCPOptions(
            maximumSegmentSize: 1460, windowScale: 10, sackPermitted: true, timestampValue: 3_032_561_869, timestampEcho: 0))
        #expect(segment?.payloadLength == 0)
        #expect(segment?.wirePayloadLength == 0)
        #expect(decoded.calls == 1)
    }

    // eth.pcap 17: 2001:db8::1 56406 2001:db8::2 2525 1806465496 1644245187 0x0018 64 1,1,8 2646238020 3779722867 21
    @Test func ethernetIPv6DataSegment() {
        let decoded = decodeOnce(RecordedFrames.ethernetIPv6Data, .ethernet)
        #expect(decoded.result == .tcp)
        #expect(decoded.segment?.source == endpoint("2001:db8::1", 56406))
        #expect(decoded.segment?.destination == endpoint("2001:db8::2", 2525))
        #expect(decoded.segment?.sequenceNumber == 1_806_465_496)
        #expect(decoded.segment?.acknowledgmentNumber == 1_644_245_187)
        #expect(decoded.segment?.flags == [.psh, .ack])
        #expect(decoded.segment?.window == 64)
        #expect(decoded.segment?.options == TCPOptions(timestampValue: 2_646_238_020, timestampEcho: 3_779_722_867))
        #expect(decoded.payload == Array("EHLO client.example\r\n".utf8))
        #expect(decoded.segment?.payloadLength == 21)
    }

    // sll2.pcap 6: 192.0.2.1 49642 192.0.2.2 2525 1241390735 1433947361 0x0018 63 1,1,8 3032561869 762266967 21
    @Test func linuxSLL2IPv4Data() {
        let decoded = decodeOnce(RecordedFrames.sll2IPv4Data, .linuxSLL2)
        #expect(decoded.result == .tcp)
        #expect(decoded.segment?.source == endpoint("192.0.2.1", 49642))
        #expect(decoded.segment?.destination == endpoint("192.0.2.2", 2525))
        #expect(decoded.segment?.sequenceNumber == 1_241_390_735)
        #expect(decoded.segment?.acknowledgmentNumber == 1_433_947_361)
        #expect(decoded.segment?.flags == [.psh, .ack])
        #expect(decoded.segment?.window == 63)
        #expect(decoded.segment?.options.timestampValue == 3_032_561_869)
        #expect(decoded.segment?.options.timestampEcho == 762_266_967)
        #expect(decoded.payload == Array("EHLO client.example\r\n".utf8))
    }

    // sll.pcap 12: 2001:db8::1 56406 2001:db8::2 2525 1806465495 0 0x0002 64800 2,4,8,1,3 1440 10 2646238020 0 0
    @Test func linuxSLLIPv6SYN() {
        let decoded = decodeOnce(RecordedFrames.sllIPv6SYN, .linuxSLL)
        #expect(decoded.result == .tcp)
        #expect(decoded.segment?.source == endpoint("2001:db8::1", 56406))
        #expect(decoded.segment?.destination == endpoint("2001:db8::2", 2525))
        #expect(decoded.segment?.sequenceNumber == 1_806_465_495)
        #expect(decoded.segment?.flags == [.syn])
        #expect(decoded.segment?.window == 64800)
        #expect(decoded.segment?.options == TCPOptions(
            maximumSegmentSize: 1440, windowScale: 10, sackPermitted: true, timestampValue: 2_646_238_020, timestampEcho: 0))
    }

    // raw.pcap 4: 192.0.2.2 2525 192.0.2.1 49642 1433947339 1241390735 0x0018 64 1,1,8 762266967 3032561869 22
    @Test func rawIPv4Data() {
        for linkType in [LinkType.raw, .rawBSD12, .rawBSD14, .ipv4] {
            let decoded = decodeOnce(RecordedFrames.rawIPv4Data, linkType)
            #expect(decoded.result == .tcp, "\(linkType)")
            #expect(decoded.segment?.source == endpoint("192.0.2.2", 2525))
            #expect(decoded.segment?.destination == endpoint("192.0.2.1", 49642))
            #expect(decoded.segment?.sequenceNumber == 1_433_947_339)
            #expect(decoded.segment?.acknowledgmentNumber == 1_241_390_735)
            #expect(decoded.payload == Array("220 mx.example ESMTP\r\n".utf8))
        }
    }

    // raw.pcap 13: 2001:db8::2 2525 2001:db8::1 56406 1644245164 1806465496 0x0012 64260 2,4,8,1,3 1440 10 3779722867 2646238020 0
    @Test func rawIPv6SYNACK() {
        for linkType in [LinkType.raw, .ipv6] {
            let decoded = decodeOnce(RecordedFrames.rawIPv6SYNACK, linkType)
            #expect(decoded.result == .tcp)
            #expect(decoded.segment?.source == endpoint("2001:db8::2", 2525))
            #expect(decoded.segment?.sequenceNumber == 1_644_245_164)
            #expect(decoded.segment?.acknowledgmentNumber == 1_806_465_496)
            #expect(decoded.segment?.flags == [.syn, .ack])
            #expect(decoded.segment?.window == 64260)
            #expect(decoded.segment?.options.timestampEcho == 2_646_238_020)
        }
    }

    /// NULL and LOOP headers constructed around the recorded raw packets (no BSD host to record on).
    @Test func nullAndLoopAroundRecordedPackets() {
        let v4 = RecordedFrames.rawIPv4Data
        let v6 = RecordedFrames.rawIPv6SYNACK
        // NULL, little-endian writer (family 02 00 00 00) and big-endian writer (00 00 00 02).
        #expect(decodeOnce([2, 0, 0, 0] + v4, .null).segment?.sequenceNumber == 1_433_947_339)
        #expect(decodeOnce([0, 0, 0, 2] + v4, .null).segment?.sequenceNumber == 1_433_947_339)
        for family: UInt8 in [10, 24, 28, 30] {
            #expect(decodeOnce([family, 0, 0, 0] + v6, .null).segment?.sequenceNumber == 1_644_245_164)
            #expect(decodeOnce([0, 0, 0, family] + v6, .null).segment?.sequenceNumber == 1_644_245_164)
        }
        #expect(decodeOnce([0, 0, 0, 2] + v4, .loop).result == .tcp)
        #expect(decodeOnce([0, 0, 0, 24] + v6, .loop).result == .tcp)
        // LOOP is network order only: a little-endian family is not IP.
        #expect(decodeOnce([2, 0, 0, 0] + v4, .loop).result == .notTCP)
        // Unknown family (AF_UNIX = 1).
        #expect(decodeOnce([1, 0, 0, 0] + v4, .null).result == .notTCP)
    }

    /// The recorded TCP checksums are wrong (offload, tcpdump says "incorrect"), and a
    /// broken IPv4 header checksum must not reject the frame either.
    @Test func badChecksumsAreAccepted() {
        var frame = RecordedFrames.ethernetIPv4SYN
        frame[24] ^= 0xff  // IPv4 header checksum high byte
        #expect(decodeOnce(frame, .ethernet).result == .tcp)
    }
}
