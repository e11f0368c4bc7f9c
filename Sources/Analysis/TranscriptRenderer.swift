import Reassembly
import SMTP
import Wire

/// Renders transcript entries for people (text) or programs (one JSON object per line).
///
/// Text columns: the frames that carried the line, the time since the flow's first frame,
/// `C:` or `S:`, then the bytes escaped (`\r`, `\n`, `\\`, other control and non-ASCII bytes as
/// `\xNN`) with `¦` (`|` with ``TranscriptOptions/ascii``) wherever a TCP segment boundary
/// falls inside the line. Message lines are indented; the middle of a long message is
/// abbreviated; each end of data shows its bytes with the split.
public struct TranscriptRenderer {
    public var options: TranscriptOptions

    public init(options: TranscriptOptions = TranscriptOptions()) {
        self.options = options
    }

    var mark: String { options.ascii ? "|" : "¦" }
    var arrow: String { options.ascii ? "->" : "→" }
    var ellipsis: String { options.ascii ? "..." : "…" }

    // MARK: - Text

    public func text(_ recording: TranscriptRecording, entries: [TranscriptEntry]) -> String {
        let info = recording.info
        var out = "flow \(info.id): client \(info.client) \(arrow) server \(info.server)"
        if info.midstream { out += " (capture began mid-connection)" }
        out += "\nfirst frame \(info.firstFrame) at \(TimeText.utc(info.firstTimestampNanoseconds)); times are relative to it"
        if let summary = recording.summary { out += "; \(summary.packets) frames, last \(summary.lastFrame)" }
        out += "\n"
        out += pad("frames", 14) + pad("time", 12) + "\n"
        for entry in entries {
            let frames = framesText(entry.frames)
            let time = entry.timestampNanoseconds.map { "+" + relative($0 &- info.firstTimestampNanoseconds) } ?? ""
            out += pad(frames, 14) + pad(time, 12) + (entry.direction == .clientToServer ? "C: " : "S: ")
            out += body(entry) + "\n"
        }
        return out
    }

    func body(_ entry: TranscriptEntry) -> String {
        switch entry.kind {
        case .command, .reply:
            return marked(entry)
        case .message:
            return "    " + marked(entry)
        case .elided(let lines):
            return "    \(ellipsis) \(lines) lines, \(entry.length) bytes \(ellipsis)"
        case .endOfData(let t) where t.style == nil:
            return "  end of data: BDAT LAST chunk complete" + messageText(t)
        case .endOfData(let t):
            var text = "  end of data: " + marked(entry, spaced: true) + "   "
            text += t.splitAfter.isEmpty
                ? "in one segment"
                : "split after byte\(t.splitAfter.count > 1 ? "s" : "") " + t.splitAfter.map(String.init).joined(separator: ", ")
            let frames = entry.frames
            text += ": frame\(frames.count > 1 ? "s" : "") " + frames.map(String.init).joined(separator: " | ")
            if !t.splitAfter.isEmpty { text += " (+\(TimeText.duration(t.spreadNanoseconds)))" }
            if let style = t.style, style != .crlf { text += "; style \(style.rawValue) (near miss taken as end)" }
            if !t.repeatedBy.isEmpty { text += "; repeated by frame " + t.repeatedBy.map(String.init).joined(separator: ", ") }
            return text + messageText(t)
        case .nearMiss(let t, let style):
            return "  near miss \(style.rawValue): " + marked(entry, spaced: true)
                + " inside message \(t) (not its end: strict reading)"
        case .smuggling(let t, let envelope):
            var text = "  server answered after the near miss in message \(t): it took it as end of data (smuggling)"
            if let from = envelope.mailFrom { text += "; smuggled MAIL FROM:<\(escaped(Array(from.utf8)))>" }
            for rcpt in envelope.rcptTo { text += " RCPT TO:<\(escaped(Array(rcpt.utf8)))>" }
            return text
        case .gap(let reason):
            return "[gap: \(entry.length) bytes lost (\(reason.rawValue))]"
        case .notKept:
            return "[\(entry.length) bytes not kept: transcript limit]"
        case .repeated(let frame, let conflicting):
            return "[retransmission: frame \(frame) repeated bytes \(entry.offset)..<\(entry.offset &+ entry.length)"
                + (conflicting ? " with DIFFERENT content]" : "]")
        case .encrypted:
            return "[TLS: \(entry.length) bytes encrypted]"
        case .end(let reason, let frame):
            switch reason {
            case .fin: return "[FIN frame \(frame)]"
            case .rst: return "[RST frame \(frame)]"
            default: return "[end: \(reason.rawValue), last frame \(frame)]"
            }
        }
    }

    /// The message behind an end of data, on a continuation line.
    func messageText(_ t: TranscriptEntry.Terminator) -> String {
        var text = "\n" + String(repeating: " ", count: 26) + "   message \(t.transaction): \(t.size) bytes"
        if let id = t.messageID { text += ", Message-ID \(escaped(Array(id.utf8)))" }
        return text + ", reply " + (t.replyCode.map(String.init) ?? "none")
    }

    /// The entry's bytes escaped, with a mark at every segment boundary inside them.
    func marked(_ entry: TranscriptEntry, spaced: Bool = false) -> String {
        guard !entry.bytes.isEmpty else { return "" }
        var text = ""
        var cuts = entry.cuts[...]
        for (index, byte) in entry.bytes.enumerated() {
            if let cut = cuts.first, cut == index {
                text += spaced ? " \(mark) " : mark
                cuts = cuts.dropFirst()
            }
            text += escaped(byte)
        }
        return text
    }

    /// Bytes as text: `\r`, `\n`, `\\`; printable ASCII as is; anything else `\xNN`.
    public func escaped(_ bytes: [UInt8]) -> String {
        bytes.map(escaped).joined()
    }

    func escaped(_ byte: UInt8) -> String {
        switch byte {
        case 0x0D: return "\\r"
        case 0x0A: return "\\n"
        case 0x5C: return "\\\\"
        case 0x7C where options.ascii: return "\\x7c"
        case 0x20...0x7E: return String(UnicodeScalar(byte))
        default:
            let hex = String(byte, radix: 16, uppercase: false)
            return "\\x" + (hex.count < 2 ? "0" : "") + hex
        }
    }

    func framesText(_ frames: [UInt64]) -> String {
        guard let first = frames.first, let last = frames.last else { return "" }
        if frames.count <= 3 { return frames.map(String.init).joined(separator: ",") }
        return "\(first)\(ellipsis)\(last)(\(frames.count))"
    }

    /// Seconds with 6 decimals.
    func relative(_ nanoseconds: Int64) -> String {
        TimeText.fixed(nanoseconds, unit: 1_000_000_000, decimals: 6)
    }

    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    // MARK: - Flow list

    public func list(_ flows: [TranscriptFlowListing]) -> String {
        var out = pad("flow", 6) + pad("client", 42) + pad("server", 42) + pad("frames", 8) + "first frame, time\n"
        for flow in flows {
            out += pad("\(flow.info.id)", 6) + pad("\(flow.info.client)", 42) + pad("\(flow.info.server)", 42)
            out += pad("\(flow.frames)", 8) + "\(flow.info.firstFrame) at \(TimeText.utc(flow.info.firstTimestampNanoseconds))"
            if flow.info.midstream { out += " (mid-connection)" }
            out += "\n"
        }
        return out
    }
}
