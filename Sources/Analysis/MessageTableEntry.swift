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
    /// with ``encode(epoch:into:)``. Envelopes stay in their packed form, one after the other in
    /// one buffer: two are the same when their bytes are. The table decodes the entries it
    /// looks up into one reused entry (``decode(_:epoch:into:)``), so a lookup allocates nothing
    /// once that entry's buffers have grown.
    struct Entry: Sendable {
        struct Seen: Sendable {
            var view: AttemptView
            var envelope: Int
            var key: TransactionKey { TransactionKey(view) }
            var order: (Int64, Int, Int, Int) { (view.startNanoseconds, view.capture, view.flow, view.transaction) }
        }

        /// Sorted by (start, capture, flow, transaction), as ``Correlator`` sorts a group.
        var seen: [Seen] = []
        /// The envelopes' packed bytes, one after the other; envelope `i` ends at `envelopeEnds[i]`.
        private(set) var envelopeBytes: [UInt8] = []
        private(set) var envelopeEnds: [Int] = []
        /// The lowest transaction ever noted: breaks ties in the message order.
        var first = TransactionKey(capture: .max, flow: .max, transaction: .max)

        var envelopeCount: Int { envelopeEnds.count }

        /// Envelope `index`'s packed bytes.
        func envelope(_ index: Int) -> ArraySlice<UInt8> {
            let start = index == 0 ? 0 : envelopeEnds[index - 1]
            return envelopeBytes[start..<envelopeEnds[index]]
        }

        private func envelopeIndex(of envelope: [UInt8]) -> Int? {
            for index in envelopeEnds.indices where self.envelope(index).elementsEqual(envelope) { return index }
            return nil
        }

        private mutating func appendEnvelope<C: Collection>(_ bytes: C) where C.Element == UInt8 {
            envelopeBytes.append(contentsOf: bytes)
            envelopeEnds.append(envelopeBytes.count)
        }

        /// Adds or replaces the view; true when anything changed.
        mutating func note(_ view: AttemptView, envelope: [UInt8], limit: Int, dropped: inout Int) -> Bool {
            let key = TransactionKey(view)
            first = min(first, key)
            if let at = seen.firstIndex(where: { $0.key == key }) {
                if seen[at].view == view && self.envelope(seen[at].envelope).elementsEqual(envelope) { return false }
                remove(at: at)
            }
            let index = envelopeIndex(of: envelope) ?? {
                appendEnvelope(envelope)
                return envelopeEnds.count - 1
            }()
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
            let start = envelope == 0 ? 0 : envelopeEnds[envelope - 1]
            let length = envelopeEnds[envelope] - start
            envelopeBytes.removeSubrange(start..<envelopeEnds[envelope])
            envelopeEnds.remove(at: envelope)
            for i in envelope..<envelopeEnds.count { envelopeEnds[i] -= length }
            for i in seen.indices where seen[i].envelope > envelope { seen[i].envelope -= 1 }
        }

        func message(windowNanoseconds: Int64, suffixes: SuffixTable) -> MessageRecord? {
            guard seen.count >= 2, let head = seen.first else { return nil }
            let text = envelopeEnds.indices.map { Self.text(envelope($0), suffixes: suffixes) }
            let lead = text[head.envelope]
            return Correlator.message(
                views: seen.map(\.view), messageID: seen.lazy.compactMap { text[$0.envelope].messageID }.first,
                fingerprint: seen.lazy.compactMap { text[$0.envelope].fingerprint }.first, mailFrom: lead.mailFrom,
                rcptTo: lead.rcptTo, windowNanoseconds: windowNanoseconds)
        }

        /// The identity every envelope of the entry implies.
        func identity(suffixes: SuffixTable) -> String? {
            envelopeEnds.isEmpty ? nil : Self.text(envelope(0), suffixes: suffixes).identity
        }

        static func text(_ envelope: ArraySlice<UInt8>, suffixes: SuffixTable) -> EntryCoding.Envelope {
            envelope.withUnsafeBufferPointer { bytes in
                var reader = ByteReader(bytes, at: 0)
                return EntryCoding.readEnvelope(&reader, decode: true, suffixes: suffixes) ?? EntryCoding.Envelope()
            }
        }

        /// The lowest key among the views (nil without views).
        private var lowestSeenKey: TransactionKey? {
            var lowest: TransactionKey?
            for item in seen where lowest.map({ item.key < $0 }) ?? true { lowest = item.key }
            return lowest
        }

        // MARK: packing

        /// Appends the record body (without its length prefix).
        func encode(epoch: Int64, into bytes: inout [UInt8]) {
            let storesFirst = lowestSeenKey != first
            bytes.appendVarint(UInt64(seen.count) << 1 | (storesFirst ? 1 : 0))
            if seen.count > 1 { bytes.appendVarint(UInt64(envelopeEnds.count)) }
            if storesFirst {
                bytes.appendSigned(first.capture)
                bytes.appendSigned(first.flow)
                bytes.appendSigned(first.transaction)
            }
            for item in seen {
                if envelopeEnds.count > 1 { bytes.appendVarint(UInt64(item.envelope)) }
                EntryCoding.appendView(item.view, epoch: epoch, to: &bytes)
            }
            bytes.append(contentsOf: envelopeBytes)
        }

        /// The body of an entry of one view, as ``encode(epoch:into:)`` would write it, without building one.
        static func encodeSingle(_ view: AttemptView, envelope: [UInt8], epoch: Int64, into bytes: inout [UInt8]) {
            bytes.appendVarint(1 << 1)
            EntryCoding.appendView(view, epoch: epoch, to: &bytes)
            bytes.append(contentsOf: envelope)
        }

        /// Views held, read from the body's first field.
        static func viewCount(_ reader: inout ByteReader) -> UInt64 { reader.varint() >> 1 }

        static func decode(_ reader: inout ByteReader, epoch: Int64) -> Entry {
            var entry = Entry()
            decode(&reader, epoch: epoch, into: &entry)
            return entry
        }

        /// Decodes into `entry`, whose buffers are emptied and reused.
        static func decode(_ reader: inout ByteReader, epoch: Int64, into entry: inout Entry) {
            entry.seen.removeAll(keepingCapacity: true)
            entry.envelopeBytes.removeAll(keepingCapacity: true)
            entry.envelopeEnds.removeAll(keepingCapacity: true)
            entry.first = TransactionKey(capture: .max, flow: .max, transaction: .max)
            let head = reader.varint()
            let views = head >> 1
            let envelopeCount = views > 1 ? reader.varint() : 1
            if head & 1 != 0 {
                entry.first = TransactionKey(capture: reader.signed(), flow: reader.signed(), transaction: reader.signed())
            }
            var n: UInt64 = 0
            while n < views && !reader.failed {
                let envelope = envelopeCount > 1 ? Int(clamping: reader.varint()) : 0
                entry.seen.append(Seen(view: EntryCoding.readView(&reader, epoch: epoch), envelope: envelope))
                n += 1
            }
            n = 0
            while n < envelopeCount && !reader.failed {
                let start = reader.at
                _ = EntryCoding.readEnvelope(&reader, decode: false)
                entry.appendEnvelope(UnsafeBufferPointer(rebasing: reader.bytes[start..<reader.at]))
                n += 1
            }
            // Only a bug could leave a view pointing past the envelopes; keep it harmless.
            let envelopes = entry.envelopeEnds.count
            entry.seen.removeAll { $0.envelope < 0 || $0.envelope >= envelopes }
            if head & 1 == 0, let lowest = entry.lowestSeenKey { entry.first = lowest }
        }
    }
}
