import Wire

/// The slots of recently active IPv4 flows, in a small direct-mapped cache keyed by their tuple
/// packed into two words: a segment of a cached flow skips building its ``FlowKey`` and the
/// table's hash and probe (a multiply, a load and two word compares instead of about a hundred
/// instructions). One entry (the last flow) missed every other segment of the generated mix,
/// which interleaves many connections; with 256, 92 % of the IPv4 segments of the 100 MB bench
/// capture hit (the rest: first packets of flows, and pure SYNs, which always go the long way). A
/// colliding tuple only evicts an entry (the table still answers): no worse than a miss.
///
/// An entry is valid exactly while its slot holds that tuple's open flow: the reassembler
/// forgets the tuple here whenever it removes the flow (``forget(_:slot:)``). IPv6 tuples are
/// never cached (they take the table).
struct RecentFlows {
    /// An IPv4 tuple in canonical order: each endpoint as `address << 16 | port` (48 bits), the
    /// smaller in `low` with bit 48 set, so that no IPv4 tuple equals ``none`` or ``empty``.
    struct Tuple: Equatable {
        var low: UInt64
        var high: UInt64

        /// A segment's tuple that is not cached (IPv6).
        static var none: Tuple { Tuple(low: 0, high: 0) }
        /// An entry that holds nothing: equal to no segment's tuple, ``none`` included.
        static var empty: Tuple { Tuple(low: 0, high: 1) }

        /// The tuple of a segment between `a` and `b`, in either direction; ``none`` unless both are IPv4.
        @inline(__always)
        init(_ a: Endpoint, _ b: Endpoint) {
            guard case .v4(let x) = a.address, case .v4(let y) = b.address else {
                self = .none
                return
            }
            self.init(v4: x, a.port, y, b.port)
        }

        /// The tuple of a segment between IPv4 `x`:`xPort` and `y`:`yPort`, in either direction.
        @inline(__always)
        init(v4 x: UInt32, _ xPort: UInt16, _ y: UInt32, _ yPort: UInt16) {
            let first = UInt64(x) << 16 | UInt64(xPort)
            let second = UInt64(y) << 16 | UInt64(yPort)
            low = min(first, second) | 1 << 48
            high = max(first, second)
        }

        @inline(__always)
        init(low: UInt64, high: UInt64) {
            self.low = low
            self.high = high
        }

        var isCacheable: Bool {
            @inline(__always) get { low != 0 }
        }
    }

    struct Entry {
        var tuple = Tuple.empty
        var slot: Int32 = -1
    }

    static let entryCount = 256
    private var entries = [Entry](repeating: Entry(), count: RecentFlows.entryCount)

    @inline(__always)
    private static func position(of tuple: Tuple) -> Int {
        let mixed = (tuple.low &* 0x9E37_79B9_7F4A_7C15 ^ tuple.high) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: mixed >> 56)
    }

    /// The slot of `tuple`'s open flow if it is cached, else -1.
    @inline(__always)
    func slot(of tuple: Tuple) -> Int32 {
        let entry = entries[Self.position(of: tuple)]
        return entry.tuple == tuple ? entry.slot : -1
    }

    /// `tuple`'s flow is in `slot` (IPv6 tuples are not kept).
    @inline(__always)
    mutating func remember(_ tuple: Tuple, slot: Int32) {
        guard tuple.isCacheable else { return }
        entries[Self.position(of: tuple)] = Entry(tuple: tuple, slot: slot)
    }

    /// The flow of `tuple` in `slot` is gone (its slot may be reused by another tuple).
    @inline(__always)
    mutating func forget(_ tuple: Tuple, slot: Int32) {
        let position = Self.position(of: tuple)
        if entries[position].slot == slot { entries[position] = Entry() }
    }

    mutating func removeAll() {
        for position in entries.indices { entries[position] = Entry() }
    }
}
