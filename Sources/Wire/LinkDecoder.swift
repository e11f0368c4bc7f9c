/// The network protocol a link layer hands on.
enum NetworkProtocol {
    case ipv4
    case ipv6
}

/// Where the link layer left off: the IP header's offset, or a final result.
enum LinkOutcome {
    case network(NetworkProtocol, offset: Int)
    case done(DecodeResult)
}

/// Link-layer headers: Ethernet II (+802.1Q/QinQ), Linux SLL/SLL2, BSD NULL/LOOP, raw IP.
enum LinkDecoder {
    static let ethernetHeaderLength = 14
    static let sllHeaderLength = 16
    static let sll2HeaderLength = 20
    static let nullHeaderLength = 4
    /// ARPHRD_NETLINK: SLL frames of netlink messages, never IP.
    static let arphrdNetlink: UInt16 = 824

    /// Inlined into its one caller, so the outcome is never built in memory.
    @inline(__always)
    static func decode(_ frame: UnsafeRawBufferPointer, linkType: LinkType, maxVLANTags: Int) -> LinkOutcome {
        switch linkType {
        case .ethernet:
            guard frame.count >= ethernetHeaderLength else { return failure(.link, 0, .truncated) }
            let type = frame.u16(12)
            // Untagged IPv4, nearly every frame: no walk through the VLAN loop.
            if type == 0x0800 { return .network(.ipv4, offset: ethernetHeaderLength) }
            return etherType(frame, type: type, payloadOffset: ethernetHeaderLength, maxTags: maxVLANTags)
        case .linuxSLL:
            guard frame.count >= sllHeaderLength else { return failure(.link, 0, .truncated) }
            guard frame.u16(2) != arphrdNetlink else { return .done(.notTCP) }
            return etherType(frame, type: frame.u16(14), payloadOffset: sllHeaderLength, maxTags: maxVLANTags)
        case .linuxSLL2:
            guard frame.count >= sll2HeaderLength else { return failure(.link, 0, .truncated) }
            guard frame.u16(8) != arphrdNetlink else { return .done(.notTCP) }
            return etherType(frame, type: frame.u16(0), payloadOffset: sll2HeaderLength, maxTags: maxVLANTags)
        case .null:
            guard frame.count >= nullHeaderLength else { return failure(.link, 0, .truncated) }
            // Host byte order of the capturing machine: a family is a small number,
            // so whichever reading is small is the right one.
            let bigEndian = frame.u32(0)
            let family = bigEndian <= 0xffff ? bigEndian : bigEndian.byteSwapped
            return addressFamily(family)
        case .loop:
            guard frame.count >= nullHeaderLength else { return failure(.link, 0, .truncated) }
            return addressFamily(frame.u32(0))
        case .raw, .rawBSD12, .rawBSD14:
            guard frame.count >= 1 else { return failure(.link, 0, .truncated) }
            switch frame.u8(0) >> 4 {
            case 4: return .network(.ipv4, offset: 0)
            case 6: return .network(.ipv6, offset: 0)
            default: return failure(.link, 0, .malformed)
            }
        case .ipv4:
            return .network(.ipv4, offset: 0)
        case .ipv6:
            return .network(.ipv6, offset: 0)
        default:
            return failure(.link, 0, .unsupported)
        }
    }

    /// Follows an EtherType through any number (up to `maxTags`) of VLAN tags.
    static func etherType(
        _ frame: UnsafeRawBufferPointer, type: UInt16, payloadOffset: Int, maxTags: Int
    ) -> LinkOutcome {
        var type = type
        var offset = payloadOffset
        var tags = 0
        while type == 0x8100 || type == 0x88a8 || type == 0x9100 {
            guard tags < maxTags else { return failure(.vlan, offset, .unsupported) }
            // Tag: 2 bytes TCI, then the inner EtherType.
            guard frame.count - offset >= 4 else { return failure(.vlan, offset, .truncated) }
            type = frame.u16(offset + 2)
            offset += 4
            tags += 1
        }
        switch type {
        case 0x0800: return .network(.ipv4, offset: offset)
        case 0x86dd: return .network(.ipv6, offset: offset)
        default: return .done(.notTCP)
        }
    }

    /// BSD address families: AF_INET = 2; AF_INET6 = 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (Darwin).
    static func addressFamily(_ family: UInt32) -> LinkOutcome {
        switch family {
        case 2: return .network(.ipv4, offset: nullHeaderLength)
        case 10, 24, 28, 30: return .network(.ipv6, offset: nullHeaderLength)
        default: return .done(.notTCP)
        }
    }

    static func failure(_ layer: WireError.Layer, _ offset: Int, _ reason: WireError.Reason) -> LinkOutcome {
        .done(.failed(WireError(layer: layer, offset: offset, reason: reason)))
    }
}
