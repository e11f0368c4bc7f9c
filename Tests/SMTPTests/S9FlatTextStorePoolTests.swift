@testable import SMTP
import Testing

/// A session given a ``TextStorePool`` lends its reply and header stores to it while it
/// waits for the reply to an end of data (a stalled connection waits for tens of seconds),
/// and takes stores from it when it writes text again. These tests pin what it must not
/// change (the events, the text kept by events) and what it must do (hold no such store
/// while waiting, take rather than make one afterwards).
@Suite struct S9FlatTextStorePoolTests {
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
            client(S9FlatTextStorePoolTests.clientUntilData)
            server(S9FlatTextStorePoolTests.serverUntilData)
            client(S9FlatTextStorePoolTests.message(1))
            server("250 2.0.0 Ok: queued as Q1\r\n")
            client(S9FlatTextStorePoolTests.nextEnvelope)
            server(S9FlatTextStorePoolTests.nextEnvelopeReplies)
            client(S9FlatTextStorePoolTests.message(2))
            client("QUIT\r\n")
            server("421 4.4.2 timeout\r\n")
        }
    }

    /// While the end of data waits for its reply, the session holds no reply or header
    /// store: both are in the pool. The reply then takes one back.
    @Test func waitingSessionHoldsNoReplyOrHeaderStore() {
        let pool = TextStorePool()
        var f = Feeder(session: SMTPSession(options: SMTPOptions(), textStorePool: pool))
        f.client(Self.clientUntilData)
        f.server(Self.serverUntilData)
        #expect(f.session.replyText.hasStore && f.session.commandText.hasStore && f.session.envelopeText.hasStore)
        f.client(Self.message(1))
        #expect(!f.session.replyText.hasStore)
        #expect(!f.session.headerText.hasStore)
        #expect(pool.count(size: 512) == 2)
        // The command and envelope stores are kept (lending them cost more than they hold).
        #expect(f.session.commandText.hasStore && f.session.envelopeText.hasStore)
        f.server("250 2.0.0 Ok: queued as Q1\r\n")
        #expect(f.session.replyText.hasStore)
        #expect(pool.count(size: 512) == 1)
        #expect(f.events.last == "reply 250 [\"2.0.0 Ok: queued as Q1\"] to endOfData(transaction: 0)")
    }

    /// The same dialog with and without a pool: the same events, in the same order.
    @Test func eventsAreTheSameWithAPool() {
        var with = Feeder(session: SMTPSession(options: SMTPOptions(), textStorePool: TextStorePool()))
        var without = Feeder(session: SMTPSession(options: SMTPOptions()))
        with.dialog()
        without.dialog()
        #expect(with.events == without.events)
        #expect(with.events.count > 10)
        #expect(with.events.contains { $0.hasPrefix("end 1 a@example.org [\"b@example.net\"] <m2@example.org> hello 2 ") })
        #expect(with.events.last == "reply 421 [\"4.4.2 timeout\"] to endOfData(transaction: 1)")
    }

    /// An event kept by the receiver keeps its store: the header store is not lent then,
    /// and the kept summary reads the same after later messages reused the pool.
    @Test func keptTextIsNeverLent() {
        let pool = TextStorePool()
        var session = SMTPSession(options: SMTPOptions(), textStorePool: pool)
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
        // The reply store was lent; the header store, which the kept summary refers to, was not.
        #expect(session.headerText.hasStore)
        #expect(pool.count(size: 512) == 1)
        for n in 2...30 {
            feed(.server, "250 2.0.0 Ok: queued as Q\(n - 1)\r\n")
            feed(.client, Self.nextEnvelope)
            feed(.server, Self.nextEnvelopeReplies)
            feed(.client, Self.message(n))
        }
        #expect(kept?.messageID == "<m1@example.org>")
        #expect(kept?.subject == "hello 1")
        #expect(kept?.fingerprint.count == 16)
    }

    /// Stores move between the pool and the sessions, not made anew: over many messages
    /// of two sessions sharing a pool, the stores they use are the same few objects.
    @Test func storesCirculateWithoutNewOnes() {
        let pool = TextStorePool()
        var a = Feeder(session: SMTPSession(options: SMTPOptions(), textStorePool: pool))
        var b = Feeder(session: SMTPSession(options: SMTPOptions(), textStorePool: pool))
        var seen = Set<ObjectIdentifier>()
        func note(_ s: SMTPSession) {
            for store in [s.replyText.current, s.headerText.current].compactMap({ $0 }) { seen.insert(ObjectIdentifier(store)) }
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
        // Two sessions, two 512-byte stores each at most: four objects over 80 messages.
        #expect(seen.count <= 4, "\(seen.count) stores")
        #expect(pool.count(size: 512) <= 4)
    }

    /// The pool keeps at most ``TextStorePool/limit`` stores of each of two sizes, gives
    /// back a kept one emptied, and nothing of a size it does not keep.
    @Test func poolIsBounded() {
        let pool = TextStorePool()
        for _ in 0..<(TextStorePool.limit + 6) { pool.keep(TextStore.make(capacity: 512)) }
        for _ in 0..<3 { pool.keep(TextStore.make(capacity: 256)) }
        pool.keep(TextStore.make(capacity: 1024))
        #expect(pool.count(size: 512) == TextStorePool.limit)
        #expect(pool.count(size: 256) == 3)
        #expect(pool.count(size: 1024) == 0)
        #expect(pool.take(size: 1024) == nil)
        let store = pool.take(size: 256)
        #expect(store?.size == 256 && store?.used == 0)
        #expect(pool.count(size: 256) == 2)
    }
}
