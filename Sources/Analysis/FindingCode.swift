import SMTP

/// The closed vocabulary of findings. Each flow reports a code at most once, with the
/// frames that show it. The prefix names the layer the evidence comes from.
public enum FindingCode: String, Sendable, Hashable, CaseIterable {
    // MARK: end of data

    /// Trigger: the `\r\n.\r\n` terminator's bytes came in more than one TCP segment.
    /// Severity: info (legal TCP; a problem only with a middlebox that drops it, see
    /// ``eodUnanswered``). Source: RFC 5321 §4.1.1.4; MS KB Q295725 (PIX Mailguard).
    case eodSplit = "smtp.eod_split"
    /// Trigger: end-of-data was sent and no reply came before the client gave up, the
    /// connection ended, or the reply timeout passed. Severity: error. Source: RFC 5321
    /// §4.5.3.2.6 (the client waits 10 minutes for the reply to end-of-data).
    case eodUnanswered = "smtp.eod_unanswered"
    /// Trigger: receiver view: the server sent 354, message bytes arrived, no terminator
    /// arrived and the connection ended. Severity: error. Source: RFC 5321 §4.1.1.4.
    case eodMissing = "smtp.eod_missing"
    /// Trigger: a near-miss end-of-data sequence (`\n.\n`, `\r\n.\n`, …) inside message
    /// data. Severity: warning. Source: RFC 5321 §4.1.1.4 ("MUST NOT be treated as
    /// equivalent"); SEC Consult SMTP smuggling, 2023.
    case eodNonstandard = "smtp.eod_nonstandard"
    /// Trigger: the server replied right after a near-miss sequence, before the strict
    /// terminator: it ended the message there (smuggling possible). Severity: error.
    /// Source: CVE-2023-51764/51765/51766.
    case eodNonstandardAccepted = "smtp.eod_nonstandard_accepted"
    /// Trigger: a 2xx to end-of-data arrived after the client gave up (QUIT, FIN or RST):
    /// the message was delivered but the sender will retry: a duplicate. Severity: error.
    /// Source: MS KB Q295725.
    case replyAfterClose = "smtp.reply_after_close"

    // MARK: middlebox fingerprints

    /// Trigger: a greeting whose text is only `*`, `0`, `2` and spaces. Severity: warning.
    /// Source: Cisco ASA "mask-banner"; PIX Mailguard (MS KB Q295725).
    case bannerMasked = "smtp.banner_masked"
    /// Trigger: EHLO answered 500/502. Severity: warning. Source: RFC 5321 §4.1.1.1;
    /// PIX Mailguard passes only RFC 821 commands (MS KB 320027).
    case ehloRejected = "smtp.ehlo_rejected"
    /// Trigger: a client command made of `X` only (ASA/PIX rewrites unknown verbs).
    /// Severity: warning. Source: Cisco TAC 113423.
    case commandMasked = "smtp.command_masked"
    /// Trigger: an EHLO reply line `XXXXXXXA` (STARTTLS masked by ASA "no allow-tls").
    /// Severity: warning. Source: Cisco ESA doc 118550.
    case starttlsMasked = "smtp.starttls_masked"
    /// Trigger: STARTTLS accepted; the rest of the flow is opaque. Severity: info.
    /// Source: RFC 3207.
    case tls = "smtp.tls"

    // MARK: other SMTP irregularities (mapped from the SMTP layer's anomalies)

    /// Trigger: a command or reply line longer than the parser's cap. Severity: warning. Source: RFC 5321 §4.5.3.1.
    case lineTooLong = "smtp.line_too_long"
    /// Trigger: a line ended by a bare LF. Severity: warning. Source: RFC 5321 §2.3.8.
    case bareLF = "smtp.bare_lf"
    /// Trigger: a line ended by a bare CR. Severity: warning. Source: RFC 5321 §2.3.8.
    case bareCR = "smtp.bare_cr"
    /// Trigger: a reply no command was waiting for. Severity: warning. Source: RFC 5321 §4.2.
    case unsolicitedReply = "smtp.unsolicited_reply"
    /// Trigger: a server line that is not a reply (no 3-digit code). Severity: warning. Source: RFC 5321 §4.2.
    case malformedReply = "smtp.malformed_reply"
    /// Trigger: more pipelined commands awaiting replies than the parser keeps. Severity: warning. Source: RFC 2920.
    case pipelineLimit = "smtp.pipeline_limit"
    /// Trigger: a BDAT command whose size is not a number. Severity: warning. Source: RFC 3030.
    case bdatMalformed = "smtp.bdat_malformed"
    /// Trigger: the parser resynchronised after lost bytes. Severity: info. Source: smtpscope.
    case resyncAfterGap = "smtp.resync_after_gap"

    // MARK: TCP

    /// Trigger: the client closed (FIN, RST, or QUIT/RSET after a pause) while the reply
    /// to end-of-data was pending; the message says how long it had waited. Severity:
    /// warning. Source: RFC 5321 §4.5.3.2.6.
    case clientTimeout = "tcp.client_timeout"
    /// Trigger: the server closed (FIN/RST, or a 421) while it was waiting for the client,
    /// e.g. during message data. Severity: warning. Source: RFC 5321 §4.5.3.2.7, §3.8.
    case serverTimeout = "tcp.server_timeout"
    /// Trigger: a RST ended the connection. Severity: warning. Source: RFC 9293 §3.5.2.
    case reset = "tcp.reset"
    /// Trigger: a segment carrying terminator bytes was sent again. Severity: warning.
    /// Source: RFC 9293 §3.8.1.
    case retransmission = "tcp.retransmission"
    /// Trigger: a retransmitted segment carried different bytes for an offset already
    /// seen (first-seen kept). Severity: error. Source: RFC 9293 §3.10.7.4; Suricata
    /// stream event `reassembly_overlap_different_data`.
    case overlapConflict = "tcp.overlap_conflict"

    // MARK: capture

    /// Trigger: bytes acknowledged by the peer never appeared in the capture, or a hole
    /// stayed open. Severity: warning. Source: smtpscope (Zeek `content_gap`).
    case gap = "capture.gap"
    /// Trigger: the snapshot length cut a segment's payload. Severity: warning. Source: libpcap snaplen.
    case truncated = "capture.truncated"
    /// Trigger: the capture began after the connection's handshake. Severity: info. Source: smtpscope.
    case midstream = "capture.midstream"
    /// Trigger: a limit of the reassembler was reached for this flow. Severity: warning.
    /// Source: ``ReassemblyOptions``.
    case limitReached = "capture.limit_reached"

    /// The fixed severity of the code.
    public var severity: Severity {
        switch self {
        case .eodUnanswered, .eodMissing, .eodNonstandardAccepted, .replyAfterClose, .overlapConflict:
            return .error
        case .eodSplit, .tls, .resyncAfterGap, .midstream:
            return .info
        case .eodNonstandard, .bannerMasked, .ehloRejected, .commandMasked, .starttlsMasked, .lineTooLong, .bareLF,
            .bareCR, .unsolicitedReply, .malformedReply, .pipelineLimit, .bdatMalformed, .clientTimeout, .serverTimeout,
            .reset, .retransmission, .gap, .truncated, .limitReached:
            return .warning
        }
    }

    /// The code for an anomaly the SMTP layer reports.
    public init(_ anomaly: SMTPAnomaly) {
        switch anomaly {
        case .lineTooLong: self = .lineTooLong
        case .bareLF: self = .bareLF
        case .bareCR: self = .bareCR
        case .unsolicitedReply: self = .unsolicitedReply
        case .malformedReply: self = .malformedReply
        case .tooManyPendingCommands: self = .pipelineLimit
        case .bannerMasked: self = .bannerMasked
        case .ehloRejected: self = .ehloRejected
        case .commandMasked: self = .commandMasked
        case .starttlsMasked: self = .starttlsMasked
        case .malformedBDAT: self = .bdatMalformed
        case .dataAfterGap: self = .resyncAfterGap
        }
    }
}
