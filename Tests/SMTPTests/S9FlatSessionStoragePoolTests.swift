@testable import SMTP
import Testing

/// A session given a ``SessionStoragePool`` writes header values into the pool's one
/// header store, and while it waits for the reply to an end of data (a stalled connection
/// waits for tens of seconds) lends its reply and envelope stores and its pending-reply
/// slots to the pool, taking storage from it when it goes on. These tests pin what that
/// must not change (the events, the text kept by events, the order of pending replies) and
/// what it must do (hold none of that while waiting; take rather than make storage after).
@Suite struct S9FlatSessionStoragePoolTests {
    static let clientUntilData = "EHLO c.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
    static let serverUntilData = "220 mx.example.net ESMTP\r\n250 mx.example.net\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n"
    static func message(_ n: Int) -> String { "Message-ID: <m\(n)@example.org>\r\nSubject: hello \(n)\r\n\r\nbody\r\n.\r\n" }
    static let nextEnvelope = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
    static let nextEnvelopeReplies = "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n"

    /// An event with its texts read out (a stored text prints as its store and range).
    static func describe(_ event: SMTPEvent) -> String {
        switch event {
        case .reply(let reply, let answering): return "reply \(reply.code) \(reply.lines) to \(answering)"
        case .command(let command): return "command \(command.verb) \(command.argument)"
        case .endOfData(let s, let terminator):
            return "end \(s.transaction) \(s.mailFrom ?? "-") \(s.rcptTo) \(s.messageID ?? "-") \(s.subject ?? "-") \(s.fingerprint) \(s.size) \(String(describing: terminator))"
        default: return "\(event)"
        }
    }

    /// Client and server bytes fed in the order a connection carries them; the events
    /// are kept as text.
    struct Feeder {
        var session: SMTPSession
        var client: UInt64 = 0
        var server: UInt64 = 0
        var events: [String] = []

        mutating func client(_ text: String) {
            Array(text.utf8).withUnsafeBytes { bytes in session.feed(.client, bytes, at: client) { events.append(describe($0)) } }
            client += UInt64(text.utf8.count)
        }

        mutating func server(_ text: String) {
            Array(text.utf8).withUnsafeBytes { bytes in session.feed(.server, bytes, at: server) { events.append(describe($0)) } }
            server += UInt64(text.utf8.count)
        }

        /// Two transactions, the second's end of data left unanswered, then QUIT.
        mutating func dialog() {
            client(S9FlatSessionStoragePoolTests.clientUntilData)
            server(S9FlatSessionStoragePoolTests.serverUntilData)
            client(S9FlatSessionStoragePoolTests.message(1))
            server("250 2.0.0 Ok: queued as Q1\r\n")
            client(S9FlatSessionStoragePoolTests.nextEnvelope)
            server(S9FlatSessionStoragePoolTests.nextEnvelopeReplies)
            client(S9FlatSessionStoragePoolTests.message(2))
            client("QUIT\r\n")
            server("421 4.4.2 timeout\r\n")
        }
    }

    /// While the end of data waits for its reply, the session holds no reply, header or
    /// envelope store and no pending-reply slots: they are in the pool. The reply then takes
    /// a reply store back, and the next command slots.
    @Test func waitingSessionHoldsLittle() {
        let pool = SessionStoragePool()
        var f = Feeder(session: SMTPSession(options: SMTPOptions(), storagePool: pool))
        f.client(Self.clientUntilData)
        f.server(Self.serverUntilData)
        #expect(f.session.replyText.hasStore && f.session.commandText.hasStore && f.session.envelopeText.hasStore)
        #expect(f.session.pending.slotCount == 8)
        f.client(Self.message(1))
        #expect(!f.session.replyText.hasStore && !f.session.envelopeText.hasStore && !f.session.headerText.hasStore)
        #expect(pool.count(size: 512) == 1 && pool.count(size: 256) == 1)
        #expect(pool.headerText.hasStore)
        #expect(f.session.pending.count == 1 && f.session.pending.slotCount == 0 && pool.slotArrays == 1)
        #expect(f.session.pending.nextEndOfData == 0)
        // The command store is kept (lending it cost more than it holds).
        #expect(f.session.commandText.hasStore)
        f.server("250 2.0.0 Ok: queued as Q1\r\n")
        #expect(f.events.last == "reply 250 [\"2.0.0 Ok: queued as Q1\"] to endOfData(transaction: 0)")
        #expect(f.session.replyText.hasStore && pool.count(size: 512) == 0)
        #expect(f.session.pending.count == 0)
        f.client(Self.nextEnvelope)
        #expect(f.session.pending.count == 3 && f.session.pending.slotCount == 8 && pool.slotArrays == 0)
        #expect(f.session.envelopeText.hasStore && pool.count(size: 256) == 0)
    }

    /// The same dialog with and without a pool: the same events, in the same order.
    @Test func eventsAreTheSameWithAPool() {
        var with = Feeder(session: SMTPSession(options: SMTPOptions(), storagePool: SessionStoragePool()))
        var without = Feeder(session: SMTPSession(options: SMTPOptions()))
        with.dialog()
        without.dialog()
        #expect(with.events == without.events)
        #expect(with.events.count > 10)
        #expect(with.events.contains { $0.hasPrefix("end 1 a@example.org [\"b@example.net\"] <m2@example.org> hello 2 ") })
        #expect(with.events.last == "reply 421 [\"4.4.2 timeout\"] to endOfData(transaction: 1)")
    }

    /// An event kept by the receiver keeps its stores: the envelope store is not lent
    /// then, and the kept summary (envelope and header values) reads the same after later
    /// messages reused the pool's stores.
    @Test func keptTextIsNeverLent() {
        let pool = SessionStoragePool()
        var session = SMTPSession(options: SMTPOptions(), storagePool: pool)
        var kept: MessageSummary?
        var client: UInt64 = 0, server: UInt64 = 0
        func feed(_ side: SMTPSide, _ text: String) {
            Array(text.utf8).withUnsafeBytes { bytes in
                session.feed(side, bytes, at: side == .client ? client : server) { event in
                    if kept == nil, case .endOfData(let summary, _) = event { kept = summary }
                }
            }
            if side == .client { client += UInt64(text.utf8.count) } else { server += UInt64(text.utf8.count) }
        }
        feed(.client, Self.clientUntilData)
        feed(.server, Self.serverUntilData)
        feed(.client, Self.message(1))
        // The reply store was lent; the envelope store, which the kept summary refers to, was not.
        #expect(session.envelopeText.hasStore)
        #expect(pool.count(size: 512) == 1 && pool.count(size: 256) == 0)
        for n in 2...30 {
            feed(.server, "250 2.0.0 Ok: queued as Q\(n - 1)\r\n")
            feed(.client, Self.nextEnvelope.replacingOccurrences(of: "a@example.org", with: "x\(n)@example.org"))
            feed(.server, Self.nextEnvelopeReplies)
            feed(.client, Self.message(n))
        }
        #expect(kept?.mailFrom == "a@example.org")
        #expect(kept?.rcptTo == ["b@example.net"])
        #expect(kept?.messageID == "<m1@example.org>")
        #expect(kept?.subject == "hello 1")
        #expect(kept?.fingerprint.count == 16)
    }

    /// Stores move between the pool and the sessions, not made anew: over many messages
    /// of two sessions sharing a pool, the stores they use are the same few objects.
    @Test func storesCirculateWithoutNewOnes() {
        let pool = SessionStoragePool()
        var a = Feeder(session: SMTPSession(options: SMTPOptions(), storagePool: pool))
        var b = Feeder(session: SMTPSession(options: SMTPOptions(), storagePool: pool))
        var seen = Set<ObjectIdentifier>()
        func note(_ s: SMTPSession) {
            for store in [s.replyText.current, s.envelopeText.current].compactMap({ $0 }) { seen.insert(ObjectIdentifier(store)) }
        }
        a.client(Self.clientUntilData); a.server(Self.serverUntilData)
        b.client(Self.clientUntilData); b.server(Self.serverUntilData)
        for n in 1...40 {
            a.client(Self.message(n)); note(a.session)
            b.client(Self.message(n)); note(b.session)
            a.server("250 2.0.0 Ok: queued as A\(n)\r\n"); note(a.session)
            b.server("250 2.0.0 Ok: queued as B\(n)\r\n"); note(b.session)
            a.client(Self.nextEnvelope); a.server(Self.nextEnvelopeReplies); note(a.session)
            b.client(Self.nextEnvelope); b.server(Self.nextEnvelopeReplies); note(b.session)
        }
        // Two sessions, a reply and an envelope store each at most: four objects over 80 messages.
        #expect(seen.count <= 4, "\(seen.count) stores")
        #expect(pool.count(size: 512) <= 2 && pool.count(size: 256) <= 2 && pool.slotArrays <= 2)
    }

    /// A parked end of data (no slots) answers as the first entry, and stays first when
    /// commands are pushed after it: the same order as a queue that never parked.
    @Test func parkedEndOfDataKeepsItsPlace() {
        let pool = SessionStoragePool()
        var parked = PendingQueue()
        parked.pool = pool
        var plain = PendingQueue()
        for queue in [0, 1] {
            var q = queue == 0 ? parked : plain
            q.push(.greeting)
            _ = q.pop()
            if queue == 0 {
                let done = q.pushParked(endOfData: 7)
                #expect(done && q.slotCount == 0)
            } else {
                q.push(.endOfData(transaction: 7))
            }
            #expect(q.count == 1 && q.nextEndOfData == 7 && !q.nextIsCommandButEHLO)
            q.push(.command(SMTPCommand(verb: "QUIT", argument: "", offset: 0, length: 6)), verb: .quit)
            q.push(.command(SMTPCommand(verb: "NOOP", argument: "", offset: 6, length: 6)))
            var order: [String] = []
            while let (context, verb) = q.pop() {
                switch context {
                case .command(let command): order.append("\(command.verb) \(String(describing: verb))")
                case .endOfData(let transaction): order.append("end \(transaction)")
                default: order.append("other")
                }
            }
            #expect(order == ["end 7", "QUIT Optional(SMTP.SMTPVerb.quit)", "NOOP nil"])
            if queue == 0 { parked = q } else { plain = q }
        }
        // Not parked while other entries wait, or without a pool.
        var busy = PendingQueue()
        busy.pool = pool
        busy.push(.greeting)
        let busyParked = busy.pushParked(endOfData: 1)
        #expect(!busyParked && busy.count == 1)
        var nopool = PendingQueue()
        let nopoolParked = nopool.pushParked(endOfData: 1)
        #expect(!nopoolParked && nopool.count == 0)
    }

    /// The pool keeps at most ``SessionStoragePool/limit`` stores of each of two sizes, gives
    /// back a kept one emptied, and nothing of a size it does not keep.
    @Test func poolIsBounded() {
        let pool = SessionStoragePool()
        for _ in 0..<(SessionStoragePool.limit + 6) { pool.keep(TextStore.make(capacity: 512)) }
        for _ in 0..<3 { pool.keep(TextStore.make(capacity: 256)) }
        pool.keep(TextStore.make(capacity: 1024))
        #expect(pool.count(size: 512) == SessionStoragePool.limit)
        #expect(pool.count(size: 256) == 3)
        #expect(pool.count(size: 1024) == 0)
        #expect(pool.take(size: 1024) == nil)
        let store = pool.take(size: 256)
        #expect(store?.size == 256 && store?.used == 0)
        #expect(pool.count(size: 256) == 2)
        for _ in 0..<(SessionStoragePool.limit + 3) {
            pool.keep(slots: Array(repeating: (.unsolicited, nil), count: PendingQueue.initialSlots))
        }
        #expect(pool.slotArrays == SessionStoragePool.limit)
        let slots = pool.takeSlots()
        #expect(slots?.count == PendingQueue.initialSlots && pool.slotArrays == SessionStoragePool.limit - 1)
    }
}
