import Wire

/// Runs the simulation: keeps `concurrency` SMTP conversations going (each
/// replaced by a new one when it ends), schedules retries, adds bulk and DNS
/// traffic until it is about a fifth of the bytes, and stops starting new
/// traffic once the traffic started adds up to the target size (what runs
/// then, and retries, still finish). Retries keep their exact interval and
/// count against the same budget: while they run, fewer new conversations
/// start, so a long capture holds the same number of connections open as a
/// short one. Memory depends on the concurrency, not on the target size.
final class Generator {
    /// Revision of the traffic model, in the truth summary (`generator`) and `--version`:
    /// captures of the same seed and size are byte-identical only within one revision.
    /// 2: retries count against the concurrency budget.
    static let revision = "2"
    struct Options {
        var targetBytes: Int
        var seed: UInt64
        var concurrency: Int
        var retryIntervalNanoseconds: Int64
        /// Share of frame bytes that is not SMTP.
        var otherShare = 0.2
        var ipv6Share = 0.1
    }

    let options: Options
    let sink: FrameSink
    private let truth: TruthWriter
    private var queue = ActorQueue()
    private var random: SplitMix64
    private var serial: UInt64 = 0
    private var portCounter: Int
    private var stopping = false
    private var activeBulk = 0
    /// Conversations that hold a slot, from their launch to their end.
    private var slotConversations = 0
    /// Retries from their first frame to their end.
    private var runningRetries = 0
    /// Frame bytes of the traffic started so far, estimated when it starts:
    /// payload plus about 7 % of headers and ACKs, plus the dialog.
    private var promisedSMTP = 0.0
    private var promisedOther = 0.0
    private var now: Int64
    private let start: Int64 = 1_704_067_200 * 1_000_000_000  // 2024-01-01T00:00:00Z
    private let dns: DNSChatter
    private(set) var conversations = 0
    private(set) var bulkTransfers = 0

    init(options: Options, sink: FrameSink, truth: TruthWriter) {
        self.options = options
        self.sink = sink
        self.truth = truth
        random = SplitMix64(seed: options.seed, stream: 0x6E6E)
        portCounter = random.below(64_000)
        now = start
        dns = DNSChatter(start: start + 1_000_000, random: SplitMix64(seed: options.seed, stream: 0xD115))
    }

    func run() {
        for _ in 0..<options.concurrency {
            startConversation(at: start + random.millis(0, 2_000))
        }
        queue.push(dns, at: start + 1_000_000)
        var writes = 0
        while let (time, actor) = queue.pop() {
            now = time
            if let retry = actor as? SMTPConversation, !retry.holdsSlot, !retry.counted {
                retry.counted = true
                runningRetries += 1
            }
            actor.emitNext(self)
            writes += 1
            if !stopping, promisedSMTP + promisedOther >= Double(options.targetBytes) {
                stopping = true
                dns.stopped = true
            }
            if writes & 255 == 0 { startBulkIfShort() }
            if let next = actor.nextTime {
                queue.push(actor, at: next)
            } else {
                finished(actor)
            }
        }
    }

    /// The summary line of the truth file.
    func summary() -> String {
        let total = sink.smtpBytes + sink.otherBytes
        let share = total > 0 ? Double(sink.otherBytes) / Double(total) : 0
        return #"{"type":"summary","seed":\#(options.seed),"target_bytes":\#(options.targetBytes),"file_bytes":\#(sink.fileBytes),"frames":\#(sink.frames),"#
            + #""smtp_frame_bytes":\#(sink.smtpBytes),"other_frame_bytes":\#(sink.otherBytes),"other_share":\#(Double(Int(share * 10_000)) / 10_000),"#
            + #""smtp_flows":\#(conversations),"bulk_flows":\#(bulkTransfers),"transactions":\#(truth.records),"#
            + #""concurrency":\#(options.concurrency),"retry_interval":\#(options.retryIntervalNanoseconds / 1_000_000_000),"#
            + #""generator":"\#(Self.revision)","first_time":\#(seconds(start)),"last_time":\#(seconds(sink.lastTime))}"#
    }

    func record(_ record: TruthRecord) { truth.write(record) }

    /// A new connection for `plan` whose MAIL comes exactly one retry interval after `previousMail`.
    func scheduleRetry(_ plan: MessagePlan, profile: ClientProfile, previousMail: Int64) {
        let at = previousMail + options.retryIntervalNanoseconds - profile.synToMail
        launch(SMTPConversation(
            profile: profile, clientPort: nextPort(), messages: [plan], start: max(at, now), holdsSlot: false,
            random: SplitMix64(seed: options.seed, stream: nextSerial())))
    }

    private func finished(_ actor: any TrafficActor) {
        if let conversation = actor as? SMTPConversation {
            if conversation.holdsSlot { slotConversations -= 1 } else { runningRetries -= 1 }
            while !stopping, slotConversations + runningRetries < options.concurrency {
                startConversation(at: now + random.millis(0, 1_500))
            }
        }
        if actor is BulkTransfer { activeBulk -= 1 }
    }

    private func launch(_ actor: ScriptedFlow) {
        if actor is SMTPConversation { conversations += 1 } else { bulkTransfers += 1 }
        if let first = actor.nextTime { queue.push(actor, at: first) }
    }

    private func nextSerial() -> UInt64 {
        serial += 1
        return serial
    }

    /// Client ports walk all of 1024-65023 in a seeded order (7919 is prime to 64000), skipping SMTP ports.
    private func nextPort() -> UInt16 {
        repeat { portCounter = (portCounter + 7_919) % 64_000 } while portCounter + 1_024 == 2_525
        return UInt16(portCounter + 1_024)
    }

    private func startConversation(at time: Int64) {
        let profile = makeProfile()
        let count = random.chance(0.8) ? 1 : (random.chance(0.75) ? 2 : 3)
        var messages: [MessagePlan] = []
        for _ in 0..<count {
            let messageSerial = nextSerial()
            var messageRandom = SplitMix64(seed: options.seed, stream: messageSerial)
            let message = MessagePlan.draw(serial: messageSerial, seed: options.seed, domain: profile.clientName, random: &messageRandom)
            promisedSMTP += Double(message.contentLength) * 1.07 + 700
            messages.append(message)
        }
        promisedSMTP += 1_500
        slotConversations += 1
        launch(SMTPConversation(
            profile: profile, clientPort: nextPort(), messages: messages, start: time, holdsSlot: true,
            random: SplitMix64(seed: options.seed, stream: nextSerial())))
    }

    private func makeProfile() -> ClientProfile {
        let client: IPAddress
        let server: IPAddress
        let host = random.int(1...254)
        let mx = random.int(1...20)
        if random.chance(options.ipv6Share) {
            client = .v6(high: 0x2001_0db8_0001_0000, low: UInt64(random.int(1...0xffff)))
            server = .v6(high: 0x2001_0db8_0025_0000, low: UInt64(mx % 4 + 1))
        } else {
            client = .v4((random.chance(0.5) ? 0xC000_0200 : 0xC633_6400) | UInt32(host == 53 ? 54 : host))
            server = .v4(0xCB00_7100 | UInt32(mx))
        }
        return ClientProfile(
            client: client, server: server, clientName: "relay\(host).example.net", serverName: "mx\(mx).example.com",
            roundTrip: random.millis(5, 150), bannerDelay: random.micros(200, 5_000), ehloDelay: random.micros(100, 2_000),
            window: random.int(4...10), segmentGap: random.micros(40, 150))
    }

    /// Starts bulk transfers while the bytes promised to them fall short of their share.
    private func startBulkIfShort() {
        guard !stopping else { return }
        let wanted = promisedSMTP * options.otherShare / (1 - options.otherShare)
        let maximum = max(2, options.concurrency / 10)
        while activeBulk < maximum, promisedOther < wanted {
            let size = min(random.logUniform(50_000...3_000_000), max(20_000, options.targetBytes / 20))
            let client = Endpoint(address: .v4((random.chance(0.5) ? 0xC000_0200 : 0xC633_6400) | UInt32(random.int(1...254))), port: nextPort())
            let server = Endpoint(address: .v4(0xCB00_7100 | UInt32(random.int(100...120))), port: random.chance(0.8) ? 443 : 80)
            promisedOther += Double(size) * 1.07 + 800
            activeBulk += 1
            launch(BulkTransfer(client: client, server: server, size: size, start: now + random.micros(0, 50_000),
                                random: SplitMix64(seed: options.seed, stream: nextSerial())))
        }
    }
}
