/// The `smtpscope/1` records (DESIGN.md "Output contract") written straight as bytes. Field
/// order, `null`s and number text are those of the `JSONValue` reference encoding
/// (JSONReferenceEncoder.swift); JSONBytePathTests holds the two together.
extension JSONByteWriter {
    private mutating func header(_ type: StaticString) {
        key("type")
        byte(UInt8(ascii: "\""))
        raw(type)
        byte(UInt8(ascii: "\""))
        key("schema")
        string(SMTPScopeVersion.schema)
    }

    /// Returns where the address's JSON text (inside its quotes) was written.
    @discardableResult
    private mutating func endpoint(_ endpoint: EndpointRecord) -> Range<Int> {
        separate()
        guard case .ipv4(let value) = endpoint.address else { return generalEndpoint(endpoint) }
        // IPv4 (the usual): written in one go, at most 7 + 15 + 9 + 5 + 1 bytes.
        var at = reserve(40)
        let base = self.base  // after `reserve`, which may move the buffer
        at = Self.put("{\"ip\":\"", at: at)
        let start = at - base
        at += EndpointRecord.writeDottedQuad(value, at: at)
        let ip = start..<(at - base)
        at = Self.put("\",\"port\":", at: at)
        at = Self.writeDigits(UInt64(endpoint.port), at: at)
        at.pointee = UInt8(ascii: "}")
        commit(at + 1)
        return ip
    }

    /// ``endpoint(_:)`` of an address kept as text or IPv6, written in parts.
    private mutating func generalEndpoint(_ endpoint: EndpointRecord) -> Range<Int> {
        raw("{\"ip\":")
        let start = count + 1
        endpoint.withIPBytes { text(bytes: $0) }
        let ip = start..<max(start, count - 1)
        raw(",\"port\":"); uint(UInt64(endpoint.port))
        byte(UInt8(ascii: "}"))
        return ip
    }

    private mutating func uints(_ values: [UInt64]) {
        beginArray()
        for value in values { uint(value) }
        endArray()
    }

    private mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    // MARK: flow

    mutating func flow(_ flow: FlowRecord) {
        separate()
        // Between the texts and lists, keys and numbers are written in runs, each with one
        // check for room. The schema as a literal: JSONBytePathTests holds it to
        // `SMTPScopeVersion.schema`.
        // 48 + 20 + 8 + 20 + 16 bytes at most.
        var at = reserve(128)
        at = Self.put("{\"type\":\"flow\",\"schema\":\"smtpscope/1\",\"capture\":", at: at)
        at = Self.putInt(flow.capture, at: at)
        at = Self.put(",\"flow\":", at: at)
        at = Self.putInt(flow.flow, at: at)
        commit(Self.put(",\"community_id\":", at: at))
        keyedText(flow.communityIDText)
        raw(",\"client\":"); let clientIP = endpoint(flow.client)
        raw(",\"server\":"); let serverIP = endpoint(flow.server)
        // 9 + 23 + 7 + 23 + 15 + 20 + 14 + 20 + 15 + 4 + 14 + 8 + 11 bytes at most.
        at = reserve(200)
        at = Self.put(",\"start\":", at: at)
        var cache = secondsCache
        at = Self.putSeconds(flow.startNanoseconds, at: at, cache: &cache)
        at = Self.put(",\"end\":", at: at)
        at = Self.putSeconds(flow.endNanoseconds, at: at, cache: &cache)
        secondsCache = cache
        at = Self.put(",\"first_frame\":", at: at)
        at = Self.writeDigits(flow.firstFrame, at: at)
        at = Self.put(",\"last_frame\":", at: at)
        at = Self.writeDigits(flow.lastFrame, at: at)
        at = Self.put(",\"end_reason\":\"", at: at)
        at = Self.put(flow.endReason.jsonText, at: at)
        at = Self.put("\",\"closed_by\":", at: at)
        switch flow.closedBy {
        case .client?: at = Self.put("\"client\"", at: at)
        case .server?: at = Self.put("\"server\"", at: at)
        case nil: at = Self.put("null", at: at)
        }
        commit(Self.put(",\"banner\":", at: at))
        keyedText(flow.bannerText)
        raw(flow.tls ? ",\"tls\":true,\"transactions\":[" : ",\"tls\":false,\"transactions\":[")
        // Each record read where it is: a `for in` copies it out (its text retained, then released).
        flow.transactions.withUnsafeBufferPointer { records in
            guard let first = records.baseAddress else { return }
            for index in records.indices {
                if index > 0 { byte(UInt8(ascii: ",")) }
                byte(UInt8(ascii: "{"))
                transactionFields(first + index)
                byte(UInt8(ascii: "}"))
            }
        }
        raw("],\"findings\":[")
        for finding in flow.findings { self.finding(finding) }
        at = reserve(80)
        at = Self.put("],\"packets\":", at: at)
        at = Self.writeDigits(flow.packets, at: at)
        at = Self.put(flow.midstream ? ",\"midstream\":true" : ",\"midstream\":false", at: at)
        commit(Self.put(",\"wireshark_filter\":", at: at))
        flowFilter(flow, clientIP: clientIP, serverIP: serverIP)
        byte(UInt8(ascii: "}"))
    }

    /// ``WiresharkFilter/flow(client:server:firstFrame:lastFrame:)`` as a JSON string, built in
    /// place; the addresses' text is copied from where the endpoints wrote it (the same escaped
    /// text ``escapedContent(_:)`` would write again).
    private mutating func flowFilter(_ flow: FlowRecord, clientIP: Range<Int>, serverIP: Range<Int>) {
        separate()
        // As WiresharkFilter decides it (`contains(":")`); in ASCII text (addresses always
        // are) a `:` byte is a `:` character, so only other text needs the String search.
        // (A dotted quad has none.)
        let ipv6: Bool
        if case .ipv4 = flow.client.address {
            ipv6 = false
        } else {
            ipv6 = asciiBytes(clientIP, contain: UInt8(ascii: ":")) ?? flow.client.ip.contains(":")
        }
        guard clientIP.lowerBound >= 0 && clientIP.upperBound <= count && serverIP.lowerBound >= 0
            && serverIP.upperBound <= count
        else { return partsFilter(flow, clientIP: clientIP, serverIP: serverIP, ipv6: ipv6) }
        // In one go: the addresses, quote, 2 × (12 + 14 + 5 digits), 4, 2 × (20 + 20 digits).
        var at = reserve(clientIP.count + serverIP.count + 160)
        let base = self.base  // after `reserve`, which may move the buffer
        at.pointee = UInt8(ascii: "\"")
        at = Self.filterSide(base + clientIP.lowerBound, clientIP.count, port: flow.client.port, ipv6: ipv6, at: at + 1)
        at = Self.put(" && ", at: at)
        at = Self.filterSide(base + serverIP.lowerBound, serverIP.count, port: flow.server.port, ipv6: ipv6, at: at)
        at = Self.put(" && frame.number >= ", at: at)
        at = Self.writeDigits(flow.firstFrame, at: at)
        at = Self.put(" && frame.number <= ", at: at)
        at = Self.writeDigits(flow.lastFrame, at: at)
        at.pointee = UInt8(ascii: "\"")
        commit(at + 1)
    }

    /// One side's `ip.addr==… && tcp.port==…` at `at` (room reserved), its address copied
    /// from the endpoint's text written before; returns the end.
    @inline(__always)
    private static func filterSide(
        _ ip: UnsafeMutablePointer<UInt8>, _ ipCount: Int, port: UInt16, ipv6: Bool, at start: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        var at = ipv6 ? put("ipv6.addr==", at: start) : put("ip.addr==", at: start)
        at.update(from: ip, count: ipCount)
        at = put(" && tcp.port==", at: at + ipCount)
        return writeDigits(UInt64(port), at: at)
    }

    /// ``flowFilter(_:clientIP:serverIP:)`` written in parts (address ranges not in the text:
    /// not reached by the ranges ``endpoint(_:)`` returns).
    private mutating func partsFilter(_ flow: FlowRecord, clientIP: Range<Int>, serverIP: Range<Int>, ipv6: Bool) {
        byte(UInt8(ascii: "\""))
        filterSide(clientIP, port: flow.client.port, ipv6: ipv6)
        raw(" && ")
        filterSide(serverIP, port: flow.server.port, ipv6: ipv6)
        raw(" && frame.number >= ")
        digits(flow.firstFrame)
        raw(" && frame.number <= ")
        digits(flow.lastFrame)
        byte(UInt8(ascii: "\""))
    }

    private mutating func filterSide(_ ip: Range<Int>, port: UInt16, ipv6: Bool) {
        if ipv6 { raw("ipv6.addr==") } else { raw("ip.addr==") }
        repeatBytes(ip)
        raw(" && tcp.port==")
        digits(UInt64(port))
    }

    // MARK: transaction

    /// The transaction fields shared by `flow.transactions` and the live `transaction` record.
    /// Fields are read where they are (a record copied out, or passed as a borrowed value,
    /// costs more: each text is copied for its use either way). Between the texts, keys and
    /// numbers are written in runs, each with one check for room.
    mutating func transactionFields(_ record: UnsafePointer<TransactionRecord>) {
        // First in a flow's transaction object; after the header fields in the live record.
        let comma = needsComma
        var at = reserve(45)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        at = Self.put("\"index\":", at: at)
        at = Self.putInt(record.pointee.index, at: at)
        commit(Self.put(",\"mail_from\":", at: at))
        keyedText(of: record, \.mailFromText)
        raw(",\"rcpt_to\":"); keyedLines(record.pointee.rcptToList)
        raw(",\"message_id\":"); keyedText(of: record, \.messageIDText)
        at = reserve(48)
        at = Self.put(",\"size\":", at: at)
        at = Self.putDigits(record.pointee.size, at: at)
        commit(Self.put(",\"fingerprint\":", at: at))
        keyedText(of: record, \.fingerprintText)
        at = reserve(56)
        at = Self.put(",\"data_frame\":", at: at)
        at = Self.putDigits(record.pointee.dataFrame, at: at)
        commit(Self.put(",\"terminator\":", at: at))
        terminator(of: record)
        raw(",\"reply\":")
        if let reply = record.pointee.reply { self.reply(reply) } else { raw("null") }
        // The outcome and diagnosis words are at most 23 bytes each.
        at = reserve(150)
        at = Self.put(",\"outcome\":\"", at: at)
        at = Self.put(record.pointee.outcome.jsonText, at: at)
        at = Self.put("\",\"diagnosis\":\"", at: at)
        at = Self.put(record.pointee.diagnosis.jsonText, at: at)
        at = Self.put("\",\"start\":", at: at)
        var cache = secondsCache
        at = Self.putSeconds(record.pointee.startNanoseconds, at: at, cache: &cache)
        secondsCache = cache
        commit(Self.put(",\"subject\":", at: at))
        keyedText(of: record, \.subjectText)
        raw(",\"gave_up\":")
        if let gaveUp = record.pointee.gaveUp { self.gaveUp(gaveUp) } else { raw("null") }
    }

    /// The live `transaction` record.
    mutating func liveTransaction(_ t: TransactionRecord) {
        beginObject()
        header("transaction")
        key("capture"); int(t.capture)
        key("flow"); int(t.flow)
        key("client"); endpoint(t.client)
        key("server"); endpoint(t.server)
        withUnsafePointer(to: t) { transactionFields($0) }
        endObject()
    }

    /// The terminator object. With the usual style (`crlf`, or none) in one go: room for the
    /// fixed text, two times, an offset and every frame and split position (21 bytes each).
    private mutating func terminator(of record: UnsafePointer<TransactionRecord>) {
        let crlf = record.pointee.terminator.style == "crlf"
        guard crlf || record.pointee.terminator.style.isNone else { return generalTerminator(of: record) }
        let frames = record.pointee.terminator.frameList.count
        // Exact for split positions (the mask's bits, or the list's count).
        let splits = record.pointee.terminator.splitPositions.underestimatedCount
        let retransmissions = record.pointee.terminator.retransmissionFrames.count
        var at = reserve(200 &+ 21 &* (frames &+ splits &+ retransmissions))
        at = Self.put("{\"seen\":", at: at)
        at = Self.putBool(record.pointee.terminator.seen, at: at)
        at = crlf ? Self.put(",\"style\":\"crlf\",\"frames\":[", at: at) : Self.put(",\"style\":null,\"frames\":[", at: at)
        for index in 0..<frames {
            if index > 0 { at.pointee = UInt8(ascii: ","); at += 1 }
            at = Self.writeDigits(record.pointee.terminator.frameList[index], at: at)
        }
        at = Self.put("],\"split_after\":[", at: at)
        var first = true
        for position in record.pointee.terminator.splitPositions {
            if !first { at.pointee = UInt8(ascii: ","); at += 1 }
            first = false
            at = Self.putInt(position, at: at)
        }
        at = Self.put("],\"time\":", at: at)
        var cache = secondsCache
        at = Self.putSeconds(record.pointee.terminator.timeNanoseconds, at: at, cache: &cache)
        at = Self.put(",\"spread\":", at: at)
        at = Self.putSeconds(record.pointee.terminator.spreadNanoseconds, at: at, cache: &cache)
        secondsCache = cache
        at = Self.put(",\"retransmissions\":[", at: at)
        record.pointee.terminator.retransmissionFrames.withUnsafeBufferPointer { list in
            for index in list.indices {
                if index > 0 { at.pointee = UInt8(ascii: ","); at += 1 }
                at = Self.writeDigits(list[index], at: at)
            }
        }
        at = Self.put("],\"offset\":", at: at)
        at = Self.putDigits(record.pointee.terminator.offset, at: at)
        at.pointee = UInt8(ascii: "}")
        commit(at + 1)
    }

    /// ``terminator(of:)`` written field by field (any style).
    private mutating func generalTerminator(of record: UnsafePointer<TransactionRecord>) {
        raw("{\"seen\":")
        if record.pointee.terminator.seen { raw("true") } else { raw("false") }
        raw(",\"style\":")
        // The usual style as a literal (a `String` compare of two small strings is a few
        // instructions; writing one through ``string(_:)`` is not).
        if record.pointee.terminator.style == "crlf" { raw("\"crlf\"") } else { string(record.pointee.terminator.style) }
        raw(",\"frames\":[")
        let frames = record.pointee.terminator.frameList.count
        for index in 0..<frames { uint(record.pointee.terminator.frameList[index]) }
        raw("],\"split_after\":[")
        for position in record.pointee.terminator.splitPositions { int(position) }
        raw("],\"time\":"); seconds(record.pointee.terminator.timeNanoseconds)
        raw(",\"spread\":"); seconds(record.pointee.terminator.spreadNanoseconds)
        raw(",\"retransmissions\":[")
        record.pointee.terminator.retransmissionFrames.withUnsafeBufferPointer { frames in
            for frame in frames { uint(frame) }
        }
        raw("],\"offset\":"); uint(record.pointee.terminator.offset)
        byte(UInt8(ascii: "}"))
    }

    private mutating func reply(_ r: ReplyRecord) {
        var at = reserve(40)
        at = Self.put("{\"code\":", at: at)
        at = Self.putInt(r.code, at: at)
        commit(Self.put(",\"text\":", at: at))
        keyedText(r.textValue)
        at = reserve(112)
        at = Self.put(",\"frame\":", at: at)
        at = Self.writeDigits(r.frame, at: at)
        at = Self.put(",\"latency\":", at: at)
        var cache = secondsCache
        at = Self.putSeconds(r.latencyNanoseconds, at: at, cache: &cache)
        at = Self.put(",\"time\":", at: at)
        at = Self.putSeconds(r.timeNanoseconds, at: at, cache: &cache)
        secondsCache = cache
        at.pointee = UInt8(ascii: "}")
        commit(at + 1)
    }

    private mutating func gaveUp(_ g: GiveUpRecord) {
        beginObject()
        key("kind"); string(g.kind.rawValue)
        key("frame"); uint(g.frame)
        key("time"); seconds(g.timeNanoseconds)
        key("waited"); seconds(g.waitedNanoseconds)
        endObject()
    }

    /// One finding: keys, numbers and frames in runs with one room check each (21 bytes a frame).
    private mutating func finding(_ f: Finding) {
        let comma = needsComma
        var at = reserve(10)
        if comma { at.pointee = UInt8(ascii: ","); at += 1 }
        commit(Self.put("{\"code\":", at: at))
        // Code names are contract words (plain ASCII: copied as they are, checked all the same).
        var name = f.code.rawValue
        let storage = self.storage
        if !name.withUTF8({ storage.appendQuotedIfPlain(UnsafeRawBufferPointer($0), comma: false) }) { string(f.code.rawValue) }
        let frames = f.frameList.count
        at = reserve(48 &+ 21 &* frames)
        at = Self.put(",\"severity\":\"", at: at)
        at = Self.put(f.severity.jsonText, at: at)
        at = Self.put("\",\"frames\":[", at: at)
        for index in 0..<frames {
            if index > 0 { at.pointee = UInt8(ascii: ","); at += 1 }
            at = Self.writeDigits(f.frameList[index], at: at)
        }
        commit(Self.put("],\"message\":", at: at))
        keyedText(f.messageText)
        // 15 + 20 + 20 + 18 + 2 + 1 bytes, and the frames again (WiresharkFilter.frames(_:)).
        at = reserve(80 &+ 21 &* frames)
        at = Self.put(",\"occurrences\":", at: at)
        at = Self.putInt(f.occurrences, at: at)
        at = Self.put(",\"wireshark_filter\":", at: at)
        if frames == 0 {
            at = Self.put("null", at: at)
        } else {
            at = Self.put("\"frame.number in {", at: at)
            for index in 0..<frames {
                if index > 0 { at.pointee = UInt8(ascii: " "); at += 1 }
                at = Self.writeDigits(f.frameList[index], at: at)
            }
            at = Self.put("}\"", at: at)
        }
        at.pointee = UInt8(ascii: "}")
        commit(at + 1)
    }

    // MARK: message

    private mutating func viewFields(_ v: AttemptView) {
        key("capture"); int(v.capture)
        key("flow"); int(v.flow)
        key("transaction"); int(v.transaction)
        key("start"); seconds(v.startNanoseconds)
        key("outcome"); literal(v.outcome.jsonText)
        key("diagnosis"); literal(v.diagnosis.jsonText)
    }

    mutating func message(_ m: MessageRecord) {
        beginObject()
        header("message")
        key("message_id"); string(m.messageID)
        key("fingerprint"); string(m.fingerprint)
        key("attempts")
        beginArray()
        for attempt in m.attempts {
            beginObject()
            viewFields(attempt.primary)
            key("views")
            beginArray()
            for view in attempt.views {
                beginObject()
                viewFields(view)
                endObject()
            }
            endArray()
            endObject()
        }
        endArray()
        key("interval")
        if let i = m.interval {
            beginObject()
            key("median"); seconds(i.medianNanoseconds)
            key("min"); seconds(i.minNanoseconds)
            key("max"); seconds(i.maxNanoseconds)
            endObject()
        } else {
            null()
        }
        key("regular"); bool(m.regular)
        key("accepted"); int(m.accepted)
        key("accepted_late"); int(m.acceptedLate)
        key("pattern"); string(m.pattern?.rawValue)
        key("mail_from"); string(m.mailFrom)
        key("rcpt_to"); strings(m.rcptTo)
        key("transactions"); int(m.transactions)
        endObject()
    }

    // MARK: summary

    mutating func summary(_ s: SummaryRecord) {
        let a = s.association
        beginObject()
        header("summary")
        key("packets"); uint(s.packets)
        key("flows"); int(s.flows)
        key("transactions"); int(s.transactions)
        key("outcomes")
        beginObject()
        for outcome in Outcome.allCases {
            dynamicKey(outcome.rawValue)
            int(s.outcomes[outcome] ?? 0)
        }
        endObject()
        key("diagnoses")
        beginObject()
        for diagnosis in Diagnosis.allCases {
            dynamicKey(diagnosis.rawValue)
            int(s.diagnoses[diagnosis] ?? 0)
        }
        endObject()
        key("association")
        beginObject()
        key("split_unanswered"); int(a.splitUnanswered)
        key("split_answered"); int(a.splitAnswered)
        key("unsplit_unanswered"); int(a.unsplitUnanswered)
        key("unsplit_answered"); int(a.unsplitAnswered)
        key("p_value"); double(a.pValue)
        key("test"); string("fisher_exact_two_sided")
        endObject()
        key("sentence"); string(a.sentence)
        key("middlebox")
        beginObject()
        key("detected"); bool(s.middlebox.detected)
        key("kind"); string(s.middlebox.kind)
        key("evidence"); strings(s.middlebox.evidence)
        endObject()
        key("decode_errors"); uint(s.decodeErrors)
        key("truncated_frames"); uint(s.truncatedFrames)
        key("limits_hit"); uint(s.limitsHit)
        if s.correlationLimited {
            key("correlation_evicted")
            beginObject()
            key("messages"); int(s.correlationEvictedMessages)
            key("transactions"); int(s.correlationDroppedTransactions)
            endObject()
        }
        key("drops"); uint(s.drops)
        key("read_errors"); int(s.readErrors)
        key("messages"); int(s.messages)
        key("retried_messages"); int(s.retriedMessages)
        key("accepted_late"); int(s.acceptedLate)
        key("captures")
        beginArray()
        for c in s.captures { capture(c) }
        endArray()
        endObject()
    }

    private mutating func capture(_ c: CaptureStats) {
        beginObject()
        key("index"); int(c.index)
        key("name"); string(c.name)
        key("packets"); uint(c.packets)
        key("frames_analyzed"); uint(c.framesAnalyzed)
        key("bytes"); uint(c.capturedBytes)
        key("tcp_segments"); uint(c.tcpSegments)
        key("decode_errors"); uint(c.decodeErrors)
        key("truncated_frames"); uint(c.truncatedFrames)
        key("limits_hit"); uint(c.limitsHit)
        key("drops"); uint(c.drops)
        key("start"); seconds(c.firstNanoseconds)
        key("end"); seconds(c.lastNanoseconds)
        key("read_error")
        if let e = c.readError {
            beginObject()
            key("frame"); uint(e.frame)
            key("reason"); string(e.reason)
            endObject()
        } else {
            null()
        }
        endObject()
    }
}

// The raw values of the contract's words as literals: written without building a `String`
// or scanning it for escapes. JSONWriterEdgeTests holds them equal to `rawValue`.

extension Outcome {
    var jsonText: StaticString {
        switch self {
        case .accepted: "accepted"
        case .acceptedLate: "accepted_late"
        case .rejected: "rejected"
        case .noReply: "no_reply"
        case .noTerminator: "no_terminator"
        case .encrypted: "encrypted"
        case .incomplete: "incomplete"
        }
    }
}

extension Diagnosis {
    var jsonText: StaticString {
        switch self {
        case .ok: "ok"
        case .rejected: "rejected"
        case .splitTerminatorStall: "split_terminator_stall"
        case .terminatorNotReceived: "terminator_not_received"
        case .unanswered: "unanswered"
        case .encrypted: "encrypted"
        case .incompleteCapture: "incomplete_capture"
        }
    }
}

extension Severity {
    var jsonText: StaticString {
        switch self {
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }
}

extension EndReason {
    var jsonText: StaticString {
        switch self {
        case .quit: "quit"
        case .fin: "fin"
        case .rst: "rst"
        case .open: "open"
        }
    }
}

extension SMTPSideName {
    var jsonText: StaticString {
        switch self {
        case .client: "client"
        case .server: "server"
        }
    }
}
