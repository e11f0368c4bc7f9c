/// (capture, flow, transaction): where a transaction sits in the run.
struct TransactionKey: Sendable, Hashable, Comparable {
    var capture: Int
    var flow: Int
    var transaction: Int

    init(capture: Int, flow: Int, transaction: Int) {
        self.capture = capture
        self.flow = flow
        self.transaction = transaction
    }

    init(_ view: AttemptView) { self.init(capture: view.capture, flow: view.flow, transaction: view.transaction) }

    static func < (a: Self, b: Self) -> Bool { (a.capture, a.flow, a.transaction) < (b.capture, b.flow, b.transaction) }
}

extension MessageTable {
    /// One identity's entry, unpacked from the arena to be changed or reported; packed back
    /// with ``encode(into:)``. Envelopes stay in their packed form: two are the same when
    /// their bytes are.
    struct Entry: Sendable {
        struct Seen: Sendable {
            var view: AttemptView
            var envelope: Int
            var key: TransactionKey { TransactionKey(view) }
            var order: (Int64, Int, Int, Int) { (view.startNanoseconds, view.capture, view.flow, view.transaction) }
        }

        /// Sorted by (start, capture, flow, transaction), as ``Correlator`` sorts a group.
        var seen: [Seen] = []
        var envelopes: [[UInt8]] = []
        /// The lowest transaction ever noted: breaks ties in the message order.
        var first = TransactionKey(capture: .max, flow: .max, transaction: .max)

        /// Adds or replaces the view; true when anything changed.
        mutating func note(_ view: AttemptView, envelope: [UInt8], limit: Int, dropped: inout Int) -> Bool {
            let key = TransactionKey(view)
            first = min(first, key)
            if let at = seen.firstIndex(where: { $0.key == key }) {
                if seen[at].view == view && envelopes[seen[at].envelope] == envelope { return false }
                remove(at: at)
            }
            let index = envelopes.firstIndex(of: envelope) ?? { envelopes.append(envelope); return envelopes.count - 1 }()
            let new = Seen(view: view, envelope: index)
            let at = seen.firstIndex { new.order < $0.order } ?? seen.count
            seen.insert(new, at: at)
            while seen.count > limit {
                remove(at: 0)
                dropped += 1
            }
            return true
        }

        /// Removes a view, and its envelope when no other view uses it.
        private mutating func remove(at index: Int) {
            let envelope = seen.remove(at: index).envelope
            guard !seen.contains(where: { $0.envelope == envelope }) else { return }
            envelopes.remove(at: envelope)
            for i in seen.indices where seen[i].envelope > envelope { seen[i].envelope -= 1 }
        }

        func message(windowNanoseconds: Int64) -> MessageRecord? {
            guard seen.count >= 2, let head = seen.first else { return nil }
            let text = envelopes.map(Self.text)
            let lead = text[head.envelope]
            return Correlator.message(
                views: seen.map(\.view), messageID: seen.lazy.compactMap { text[$0.envelope].messageID }.first,
                fingerprint: seen.lazy.compactMap { text[$0.envelope].fingerprint }.first, mailFrom: lead.mailFrom,
                rcptTo: lead.rcptTo, windowNanoseconds: windowNanoseconds)
        }

        /// The identity every envelope of the entry implies.
        var identity: String? { envelopes.first.flatMap { Self.text($0).identity } }

        static func text(_ envelope: [UInt8]) -> EntryCoding.Envelope {
            envelope.withUnsafeBufferPointer { bytes in
                var reader = ByteReader(bytes, at: 0)
                return EntryCoding.readEnvelope(&reader, decode: true) ?? EntryCoding.Envelope()
            }
        }

        // MARK: packing

        /// Appends the record body (without its length prefix).
        func encode(into bytes: inout [UInt8]) {
            let storesFirst = seen.map(\.key).min() != first
            bytes.appendVarint(UInt64(seen.count) << 1 | (storesFirst ? 1 : 0))
            if seen.count > 1 { bytes.appendVarint(UInt64(envelopes.count)) }
            if storesFirst {
                bytes.appendSigned(first.capture)
                bytes.appendSigned(first.flow)
                bytes.appendSigned(first.transaction)
            }
            for item in seen {
                if envelopes.count > 1 { bytes.appendVarint(UInt64(item.envelope)) }
                EntryCoding.appendView(item.view, to: &bytes)
            }
            for envelope in envelopes { bytes.append(contentsOf: envelope) }
        }

        /// The body of an entry of one view, as ``encode(into:)`` would write it, without building one.
        static func encodeSingle(_ view: AttemptView, envelope: [UInt8], into bytes: inout [UInt8]) {
            bytes.appendVarint(1 << 1)
            EntryCoding.appendView(view, to: &bytes)
            bytes.append(contentsOf: envelope)
        }

        /// Views held, read from the body's first field.
        static func viewCount(_ reader: inout ByteReader) -> UInt64 { reader.varint() >> 1 }

        static func decode(_ reader: inout ByteReader) -> Entry {
            let head = reader.varint()
            let views = head >> 1
            let envelopeCount = views > 1 ? reader.varint() : 1
            var entry = Entry()
            if head & 1 != 0 {
                entry.first = TransactionKey(capture: reader.signed(), flow: reader.signed(), transaction: reader.signed())
            }
            var n: UInt64 = 0
            while n < views && !reader.failed {
                let envelope = envelopeCount > 1 ? Int(clamping: reader.varint()) : 0
                entry.seen.append(Seen(view: EntryCoding.readView(&reader), envelope: envelope))
                n += 1
            }
            n = 0
            while n < envelopeCount && !reader.failed {
                let start = reader.at
                _ = EntryCoding.readEnvelope(&reader, decode: false)
                entry.envelopes.append(Array(UnsafeBufferPointer(rebasing: reader.bytes[start..<reader.at])))
                n += 1
            }
            // Only a bug could leave a view pointing past the envelopes; keep it harmless.
            entry.seen.removeAll { $0.envelope < 0 || $0.envelope >= entry.envelopes.count }
            if head & 1 == 0, let lowest = entry.seen.map(\.key).min() { entry.first = lowest }
            return entry
        }
    }
}
