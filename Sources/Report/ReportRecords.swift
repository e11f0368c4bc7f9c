/// One side of a TCP connection, as written in a record (`{ip, port}`).
public struct ReportEndpoint: Sendable, Hashable {
    public var ip: String
    public var port: Int

    public init(ip: String, port: Int) {
        self.ip = ip
        self.port = port
    }

    init(_ json: JSONValue?) {
        ip = json?["ip"]?.string ?? "?"
        port = json?["port"]?.int ?? 0
    }

    /// `192.0.2.1:25`, or `[2001:db8::1]:25` for IPv6.
    public var text: String { ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
}

/// A finding (`code`, `severity`, `frames`, `message`).
public struct ReportFinding: Sendable, Hashable {
    public var code: String
    public var severity: String
    public var frames: [Int]
    public var message: String

    init(_ json: JSONValue) {
        code = json["code"]?.string ?? "unknown"
        severity = json["severity"]?.string ?? "info"
        frames = json["frames"]?.ints ?? []
        message = json["message"]?.string ?? ""
    }
}

/// One TCP segment that carried part of the end-of-data terminator.
public struct TerminatorSegment: Sendable, Hashable {
    /// How many of the 5 terminator bytes this segment carried (1...5).
    public var byteCount: Int
    /// The frame number, when the record names it.
    public var frame: Int?
    /// Capture time of the segment, when the record gives it.
    public var time: Double?
    /// Whether the segment was sent again (a retransmission of it was seen).
    public var retransmitted: Bool
}

/// Where the 5 bytes `\r\n.\r\n` fell (`terminator` object of a transaction).
public struct ReportTerminator: Sendable, Hashable {
    public var seen: Bool
    public var style: String
    public var frames: [Int]
    /// Byte positions (1–4) after which a segment boundary falls; `[]` = one segment.
    public var splitAfter: [Int]
    /// The terminator's bytes as escapes (`\r`, `\n`, `.`), from `style`: 5 for `crlf`, fewer for near-misses.
    public var bytes: [String] {
        let parts = style.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ ["crlf", "lf", "cr"].contains($0) }) else {
            return ["\\r", "\\n", ".", "\\r", "\\n"]
        }
        func expand(_ part: Substring) -> [String] {
            switch part {
            case "crlf": return ["\\r", "\\n"]
            case "lf": return ["\\n"]
            default: return ["\\r"]
            }
        }
        return expand(parts[0]) + ["."] + expand(parts[1])
    }

    public var time: Double?
    /// Frames of the terminator named as retransmitted (optional `retransmitted_frames` field).
    public var retransmittedFrames: Set<Int>
    /// Per-segment detail from the optional `segments` field.
    var segmentDetail: [JSONValue]

    init(_ json: JSONValue) {
        seen = json["seen"]?.bool ?? false
        style = json["style"]?.string ?? "crlf"
        frames = json["frames"]?.ints ?? []
        splitAfter = json["split_after"]?.ints ?? []
        time = json["time"]?.double
        retransmittedFrames = Set(json["retransmitted_frames"]?.ints ?? [])
        segmentDetail = json["segments"]?.array ?? []
    }

    /// The split positions that fall inside the terminator, sorted, without duplicates.
    public var splitPositions: [Int] {
        Set(splitAfter.filter { $0 >= 1 && $0 < bytes.count }).sorted()
    }

    /// Number of terminator bytes per carrying segment, from `split_after` (out-of-range positions ignored).
    public var byteGroups: [Int] {
        var groups: [Int] = []
        var previous = 0
        for cut in splitPositions + [bytes.count] {
            groups.append(cut - previous)
            previous = cut
        }
        return groups
    }

    /// The carrying segments with frame, time and retransmission marks where known.
    /// `retransmittedElsewhere` lists frames a `tcp.retransmission` finding named for this flow.
    public func segments(retransmittedElsewhere: Set<Int> = []) -> [TerminatorSegment] {
        let groups = byteGroups
        // `frames` is one frame per segment; a list with one entry per byte is read as such.
        var groupFrames: [Int?] = Array(repeating: nil, count: groups.count)
        if frames.count == groups.count {
            groupFrames = frames.map { $0 }
        } else if frames.count == bytes.count {
            var byteIndex = 0
            for (index, size) in groups.enumerated() {
                groupFrames[index] = frames[byteIndex]
                byteIndex += size
            }
        } else {
            for index in groupFrames.indices where index < frames.count {
                groupFrames[index] = frames[index]
            }
        }
        return groups.enumerated().map { index, size in
            let detail = index < segmentDetail.count ? segmentDetail[index] : nil
            let frame = detail?["frame"]?.int ?? groupFrames[index]
            let copies = detail?.first("retransmissions", "retransmitted_in")
            let detailSaysRetransmitted = (copies?.int ?? 0) > 0 || !(copies?.ints.isEmpty ?? true)
                || (detail?["retransmitted"]?.bool ?? false)
            let retransmitted = detailSaysRetransmitted
                || frame.map { retransmittedFrames.contains($0) || retransmittedElsewhere.contains($0) } ?? false
            let time = detail?["time"]?.double ?? (groups.count == 1 ? self.time : nil)
            return TerminatorSegment(byteCount: size, frame: frame, time: time, retransmitted: retransmitted)
        }
    }
}

/// The server's reply to the end of data (`reply` object).
public struct ReportReply: Sendable, Hashable {
    public var code: Int
    public var text: String
    public var frame: Int?
    public var latency: Double?
}

/// One MAIL…DATA/BDAT attempt inside a flow.
public struct ReportTransaction: Sendable, Hashable {
    public var index: Int
    public var mailFrom: String
    public var rcptTo: [String]
    public var messageID: String?
    public var size: Int?
    public var fingerprint: String?
    public var dataFrame: Int?
    /// Start time of the attempt (`start` or `time` when present, else the flow start).
    public var start: Double?
    public var terminator: ReportTerminator?
    public var reply: ReportReply?
    public var outcome: String
    public var diagnosis: String

    init(_ json: JSONValue, position: Int) {
        index = json["index"]?.int ?? position
        mailFrom = json["mail_from"]?.string ?? ""
        rcptTo = json["rcpt_to"]?.strings ?? []
        messageID = json["message_id"]?.string
        size = json["size"]?.int
        fingerprint = json["fingerprint"]?.string
        dataFrame = json["data_frame"]?.int
        start = json.first("start", "time")?.double
        terminator = json["terminator"].flatMap { $0.isNull ? nil : ReportTerminator($0) }
        if let reply = json["reply"], !reply.isNull {
            self.reply = ReportReply(
                code: reply["code"]?.int ?? 0, text: reply["text"]?.string ?? "",
                frame: reply["frame"]?.int, latency: reply["latency"]?.double)
        }
        outcome = json["outcome"]?.string ?? "incomplete"
        diagnosis = json["diagnosis"]?.string ?? "incomplete_capture"
    }
}

/// One TCP connection on an SMTP port (`flow` record).
public struct ReportFlow: Sendable, Hashable {
    /// The input the flow came from (`capture`: a file name, or an index rendered as text).
    public var capture: String
    public var index: Int
    public var communityID: String?
    public var client: ReportEndpoint
    public var server: ReportEndpoint
    public var start: Double?
    public var end: Double?
    public var firstFrame: Int?
    public var lastFrame: Int?
    public var endReason: String
    public var closedBy: String?
    public var banner: String?
    public var tls: Bool
    public var transactions: [ReportTransaction]
    public var findings: [ReportFinding]
    /// The analyzer's own Wireshark display filter (optional `wireshark_filter` field).
    public var wiresharkFilter: String?

    init(_ json: JSONValue, position: Int) {
        capture = json["capture"]?.string ?? ""
        index = json["flow"]?.int ?? position
        communityID = json["community_id"]?.string
        client = ReportEndpoint(json["client"])
        server = ReportEndpoint(json["server"])
        start = json["start"]?.double
        end = json["end"]?.double
        firstFrame = json["first_frame"]?.int
        lastFrame = json["last_frame"]?.int
        endReason = json["end_reason"]?.string ?? "open"
        closedBy = json["closed_by"]?.string
        banner = json["banner"]?.string
        tls = json["tls"]?.bool ?? false
        transactions = (json["transactions"]?.array ?? []).enumerated().map { ReportTransaction($1, position: $0) }
        findings = (json["findings"]?.array ?? []).map(ReportFinding.init)
        wiresharkFilter = json["wireshark_filter"]?.string
    }

    /// Frames named by this flow's `tcp.retransmission` findings.
    var retransmissionFrames: Set<Int> {
        Set(findings.filter { $0.code == "tcp.retransmission" }.flatMap(\.frames))
    }

    /// A Wireshark display filter selecting this connection.
    public var displayFilter: String {
        if let wiresharkFilter, !wiresharkFilter.isEmpty { return wiresharkFilter }
        let family = client.ip.contains(":") || server.ip.contains(":") ? "ipv6" : "ip"
        return "\(family).addr==\(client.ip) && tcp.port==\(client.port) && "
            + "\(family).addr==\(server.ip) && tcp.port==\(server.port)"
    }
}

/// One attempt of a message sent more than once (`message.attempts`).
public struct ReportAttempt: Sendable, Hashable {
    public var capture: String
    public var flow: Int
    public var transaction: Int
    public var start: Double
    public var outcome: String
    public var diagnosis: String
}

/// A message seen in two or more transactions (`message` record).
public struct ReportMessage: Sendable, Hashable {
    public var messageID: String?
    public var fingerprint: String?
    /// Every view of every attempt (one per capture that saw it).
    public var attempts: [ReportAttempt]
    /// Distinct attempts (an attempt seen outside and inside counts once).
    public var attemptCount: Int
    public var intervalMedian: Double?
    public var intervalMin: Double?
    public var intervalMax: Double?
    public var regular: Bool
    public var accepted: Int

    init(_ json: JSONValue) {
        messageID = json["message_id"]?.string
        fingerprint = json["fingerprint"]?.string
        // One attempt seen from several captures (outside and inside a firewall) carries its
        // per-capture `views`; each view is drawn on its capture's row, linked to the others.
        attemptCount = json["attempts"]?.array?.count ?? 0
        let records = (json["attempts"]?.array ?? []).flatMap { attempt -> [JSONValue] in
            let views = attempt["views"]?.array ?? []
            return views.isEmpty ? [attempt] : views
        }
        attempts = records.compactMap { attempt in
            guard let start = attempt["start"]?.double else { return nil }
            return ReportAttempt(
                capture: attempt["capture"]?.string ?? "", flow: attempt["flow"]?.int ?? -1,
                transaction: attempt["transaction"]?.int ?? 0, start: start,
                outcome: attempt["outcome"]?.string ?? "incomplete",
                diagnosis: attempt["diagnosis"]?.string ?? "incomplete_capture")
        }
        intervalMedian = json["interval"]?["median"]?.double
        intervalMin = json["interval"]?["min"]?.double
        intervalMax = json["interval"]?["max"]?.double
        regular = json["regular"]?.bool ?? false
        accepted = json["accepted"]?.int ?? 0
    }
}

/// The split × unanswered 2×2 table with its exact-test p-value.
public struct SplitAssociation: Sendable, Hashable {
    public var splitUnanswered: Int
    public var splitAnswered: Int
    public var wholeUnanswered: Int
    public var wholeAnswered: Int
    /// The p-value as the analyzer gave it, or computed here (Fisher's exact test, two-sided).
    public var pValue: Double

    public init(splitUnanswered: Int, splitAnswered: Int, wholeUnanswered: Int, wholeAnswered: Int, pValue: Double? = nil) {
        self.splitUnanswered = splitUnanswered
        self.splitAnswered = splitAnswered
        self.wholeUnanswered = wholeUnanswered
        self.wholeAnswered = wholeAnswered
        self.pValue = pValue ?? fisherExactTwoSided(
            a: splitUnanswered, b: splitAnswered, c: wholeUnanswered, d: wholeAnswered)
    }

    /// Reads `association` (or `split_unanswered`) as `{split_unanswered, split_answered,
    /// whole_unanswered, whole_answered, p_value}` (also `unsplit_*` / `not_split_*`), or as `table: [[a, b], [c, d]]`.
    init?(_ json: JSONValue?) {
        guard let json else { return nil }
        if let rows = json["table"]?.array, rows.count == 2 {
            let top = rows[0].ints
            let bottom = rows[1].ints
            guard top.count == 2, bottom.count == 2 else { return nil }
            self.init(splitUnanswered: top[0], splitAnswered: top[1], wholeUnanswered: bottom[0],
                      wholeAnswered: bottom[1], pValue: json.first("p_value", "p")?.double)
            return
        }
        guard let a = json["split_unanswered"]?.int, let b = json["split_answered"]?.int,
              let c = json.first("whole_unanswered", "unsplit_unanswered", "not_split_unanswered")?.int,
              let d = json.first("whole_answered", "unsplit_answered", "not_split_answered")?.int
        else { return nil }
        self.init(splitUnanswered: a, splitAnswered: b, wholeUnanswered: c, wholeAnswered: d,
                  pValue: json.first("p_value", "p")?.double)
    }
}

/// Whether a middlebox was detected and why (`summary.middlebox`).
public struct MiddleboxVerdict: Sendable, Hashable {
    public var detected: Bool
    public var kind: String?
    public var evidence: [String]

    init(_ json: JSONValue) {
        detected = json["detected"]?.bool ?? false
        kind = json["kind"]?.string
        if let list = json["evidence"]?.array {
            evidence = list.map(\.plainText).filter { !$0.isEmpty }
        } else {
            evidence = [json["evidence"]?.plainText ?? ""].filter { !$0.isEmpty }
        }
    }
}

/// The last line of an analysis (`summary` record).
public struct ReportSummary: Sendable, Hashable {
    public var verdict: String?
    public var packets: Int?
    public var flows: Int?
    public var transactions: Int?
    public var outcomes: [String: Int]
    public var diagnoses: [String: Int]
    public var association: SplitAssociation?
    public var middlebox: MiddleboxVerdict?
    /// Every other numeric field (capture stats such as decode errors, truncated frames, drops).
    public var captureStats: [String: Int]

    init(_ json: JSONValue) {
        verdict = json["verdict"]?.string ?? json["sentence"]?.string
        packets = json["packets"]?.int
        flows = json["flows"]?.int
        transactions = json["transactions"]?.int
        outcomes = Self.counts(json.first("outcomes", "outcome", "by_outcome"))
        diagnoses = Self.counts(json.first("diagnoses", "diagnosis", "by_diagnosis"))
        association = SplitAssociation(json.first("association", "split_unanswered", "split_x_unanswered"))
        middlebox = json["middlebox"].flatMap { $0.isNull ? nil : MiddleboxVerdict($0) }
        var stats = Self.counts(json["stats"])
        let named: Set<String> = ["packets", "flows", "transactions", "time", "start", "end"]
        for (key, value) in json.object ?? [:] where !named.contains(key) {
            if let count = value.int { stats[key] = count }
        }
        captureStats = stats
    }

    private static func counts(_ json: JSONValue?) -> [String: Int] {
        var counts: [String: Int] = [:]
        for (key, value) in json?.object ?? [:] {
            if let count = value.int { counts[key] = count }
        }
        return counts
    }
}
