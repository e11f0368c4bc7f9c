import Capture
import Wire

extension CaptureSummary {
    /// One JSON Lines `summary` record (DESIGN.md output contract, schema `smtpscope/1`), without the newline.
    public var jsonLine: String {
        var fields: [(String, String)] = [
            ("type", jsonString("summary")),
            ("schema", jsonString(SMTPScopeVersion.schema)),
            ("capture", jsonString(capture)),
            ("packets", "\(packets)"),
            ("frames_decoded", "\(framesDecoded)"),
            ("bytes", "\(capturedBytes)"),
            ("wire_bytes", "\(wireBytes)"),
            ("start", firstTimestamp.map(epochSeconds) ?? "null"),
            ("end", lastTimestamp.map(epochSeconds) ?? "null"),
            ("duration", duration.map(epochSeconds) ?? "null"),
            ("link_types", jsonObject(sortedLinkTypes.map { ($0.key.description, "\($0.value)") })),
            ("tcp_segments", "\(tcpSegments)"),
            ("smtp_ports", "[" + smtpPorts.map { "\($0)" }.joined(separator: ",") + "]"),
            ("smtp_segments", "\(smtpSegments)"),
            ("tcp_payload_bytes", "\(tcpPayloadWireBytes)"),
            ("tcp_payload_captured_bytes", "\(tcpPayloadCapturedBytes)"),
            ("not_tcp", "\(notTCP)"),
            ("fragments_held", "\(fragmentsHeld)"),
            ("decode_errors", "\(decodeProblemCount)"),
            ("decode_errors_by_kind", jsonObject(decodeProblems.sorted { $0.key < $1.key }.map { ($0.key.description, "\($0.value)") })),
            ("truncated_frames", "\(truncatedFrames)"),
        ]
        if let failure = readFailure {
            fields.append(("read_error", jsonObject([
                ("frame", "\(failure.frame)"), ("kind", jsonString(failure.reason.kind.rawValue)),
                ("message", jsonString(failure.reason.message)),
            ])))
        } else {
            fields.append(("read_error", "null"))
        }
        if let over = recordsOverSnapshot {
            fields.append(("records_over_snapshot", jsonObject([
                ("count", "\(over.count)"), ("first_frame", "\(over.firstFrame)"),
                ("first_captured_length", "\(over.firstCapturedLength)"),
            ])))
        }
        return jsonObject(fields)
    }

    /// A short human-readable report, one fact per line.
    public var text: String {
        var lines = [capture]
        func row(_ label: String, _ value: String) { lines.append("  " + label.padding(18) + value) }
        row("frames", "\(packets)" + (framesDecoded != packets ? " (\(framesDecoded) passed the filter)" : ""))
        row("bytes", "\(capturedBytes) captured, \(wireBytes) on the wire")
        if let first = firstTimestamp, let last = lastTimestamp, let duration {
            row("time span", "\(isoDate(first)) to \(isoDate(last)) (\(epochSeconds(duration)) s)")
        } else {
            row("time span", "none")
        }
        row("link types", sortedLinkTypes.isEmpty ? "none" : sortedLinkTypes.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        row("TCP segments", "\(tcpSegments) (\(tcpPayloadWireBytes) payload bytes)")
        row("on SMTP ports", "\(smtpSegments) (ports \(smtpPorts.map { "\($0)" }.joined(separator: ", ")))")
        row("not TCP", "\(notTCP)")
        if fragmentsHeld > 0 { row("IP fragments held", "\(fragmentsHeld)") }
        row("decode problems", decodeProblems.isEmpty
            ? "none"
            : decodeProblems.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        row("truncated frames", "\(truncatedFrames)")
        if let failure = readFailure {
            row("read stopped", "at frame \(failure.frame): \(failure.reason)")
        }
        if let over = recordsOverSnapshot {
            row("oversized records", "\(over.count), first at frame \(over.firstFrame)")
        }
        return lines.joined(separator: "\n")
    }

    /// Capture time from first to last frame, in ns.
    public var duration: Int64? {
        guard let first = firstTimestamp, let last = lastTimestamp else { return nil }
        return last &- first
    }

    private var sortedLinkTypes: [(key: LinkType, value: UInt64)] {
        linkTypes.sorted { $0.key.rawValue < $1.key.rawValue }
    }
}

/// Nanoseconds as decimal seconds with 9 fractional digits, exact (no floating point).
fileprivate func epochSeconds(_ nanoseconds: Int64) -> String {
    let sign = nanoseconds < 0 ? "-" : ""
    let magnitude = nanoseconds.magnitude
    let fraction = String(magnitude % 1_000_000_000)
    return "\(sign)\(magnitude / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` in UTC (days-to-civil, H. Hinnant), without Foundation.
fileprivate func isoDate(_ nanoseconds: Int64) -> String {
    let (seconds, nanos) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
    let (wholeSeconds, fraction) = nanos < 0 ? (seconds - 1, nanos + 1_000_000_000) : (seconds, nanos)
    let days = wholeSeconds >= 0 ? wholeSeconds / 86_400 : (wholeSeconds - 86_399) / 86_400
    let secondOfDay = wholeSeconds - days * 86_400
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let fractionText = String(fraction)
    return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3_600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))."
        + String(repeating: "0", count: 9 - fractionText.count) + fractionText + "Z"
}

/// A JSON string literal (RFC 8259 escaping).
fileprivate func jsonString(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// A JSON object from already-encoded values, keys in the given order.
fileprivate func jsonObject(_ fields: [(String, String)]) -> String {
    "{" + fields.map { jsonString($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
