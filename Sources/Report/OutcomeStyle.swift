/// How an attempt's outcome is drawn: seven kinds, each with its own colour (Okabe–Ito, safe for
/// colour-blind readers) AND its own shape/fill, so the kinds stay apart in greyscale print.
enum OutcomeKind: String, CaseIterable, Sendable {
    case accepted, acceptedLate = "accepted_late", rejected, stalled
    case notReceived = "not_received", encrypted, incomplete

    init(outcome: String, diagnosis: String) {
        switch outcome {
        case "accepted": self = diagnosis == "split_terminator_stall" ? .acceptedLate : .accepted
        case "accepted_late": self = .acceptedLate
        case "rejected": self = .rejected
        case "no_reply": self = .stalled
        case "no_terminator": self = .notReceived
        case "encrypted": self = .encrypted
        default:
            switch diagnosis {
            case "split_terminator_stall", "unanswered": self = .stalled
            case "terminator_not_received": self = .notReceived
            default: self = .incomplete
            }
        }
    }

    var label: String {
        switch self {
        case .accepted: return "accepted"
        case .acceptedLate: return "accepted late (after the client gave up)"
        case .rejected: return "rejected"
        case .stalled: return "stalled (no reply)"
        case .notReceived: return "terminator not received"
        case .encrypted: return "encrypted"
        case .incomplete: return "incomplete capture"
        }
    }

    var colour: String {
        switch self {
        case .accepted: return "#009E73"
        case .acceptedLate: return "#E69F00"
        case .rejected: return "#CC79A7"
        case .stalled: return "#D55E00"
        case .notReceived: return "#0072B2"
        case .encrypted: return "#56B4E9"
        case .incomplete: return "#7F7F7F"
        }
    }

    /// Worse outcomes sort first.
    var severity: Int {
        switch self {
        case .stalled: return 6
        case .notReceived: return 5
        case .acceptedLate: return 4
        case .rejected: return 3
        case .incomplete: return 2
        case .encrypted: return 1
        case .accepted: return 0
        }
    }

    /// The symbol centred on (x, y) with radius r; `classes` go on the element, `title` (escaped) inside it.
    func symbol(x: Double, y: Double, r: Double, classes: String, title: String? = nil) -> String {
        let open = symbolOpenTag(x: x, y: y, r: r, classes: classes)
        let tag = String(open.dropFirst().prefix { $0 != " " })
        guard let title else { return open + "/>" }
        return open + "><title>\(title)</title></\(tag)>"
    }

    private func symbolOpenTag(x: Double, y: Double, r: Double, classes: String) -> String {
        let c = colour
        let cx = f(x), cy = f(y)
        switch self {
        case .accepted:
            return "<circle class=\"\(classes)\" cx=\"\(cx)\" cy=\"\(cy)\" r=\"\(f(r))\" fill=\"\(c)\" stroke=\"#000\" stroke-width=\"0.8\""
        case .acceptedLate:
            return "<path class=\"\(classes)\" d=\"M\(cx) \(f(y - r * 1.3))L\(f(x + r * 1.1)) \(cy)L\(cx) \(f(y + r * 1.3))L\(f(x - r * 1.1)) \(cy)Z\" fill=\"\(c)\" stroke=\"#000\" stroke-width=\"0.8\""
        case .rejected:
            let d = r * 0.9
            return "<path class=\"\(classes)\" d=\"M\(f(x - d)) \(f(y - d))L\(f(x + d)) \(f(y + d))M\(f(x + d)) \(f(y - d))L\(f(x - d)) \(f(y + d))\" fill=\"none\" stroke=\"\(c)\" stroke-width=\"3.2\""
        case .stalled:
            return "<rect class=\"\(classes)\" x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"\(c)\" stroke=\"#000\" stroke-width=\"0.8\""
        case .notReceived:
            return "<rect class=\"\(classes)\" x=\"\(f(x - r + 1))\" y=\"\(f(y - r + 1))\" width=\"\(f(2 * r - 2))\" height=\"\(f(2 * r - 2))\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"2.6\""
        case .encrypted:
            return "<path class=\"\(classes)\" d=\"M\(cx) \(f(y - r * 1.2))L\(f(x + r * 1.1)) \(f(y + r * 0.9))L\(f(x - r * 1.1)) \(f(y + r * 0.9))Z\" fill=\"\(c)\" stroke=\"#000\" stroke-width=\"0.8\""
        case .incomplete:
            return "<circle class=\"\(classes)\" cx=\"\(cx)\" cy=\"\(cy)\" r=\"\(f(r - 1))\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"2\" stroke-dasharray=\"2.5 2\""
        }
    }
}

/// Severity rank of a diagnosis (higher is worse), for ordering flows.
func diagnosisSeverity(_ diagnosis: String) -> Int {
    switch diagnosis {
    case "split_terminator_stall": return 6
    case "terminator_not_received": return 5
    case "unanswered": return 5
    case "rejected": return 3
    case "incomplete_capture": return 2
    case "encrypted": return 1
    default: return 0
    }
}

func findingSeverity(_ severity: String) -> Int {
    switch severity {
    case "error": return 3
    case "warning": return 2
    case "info": return 1
    default: return 0
    }
}

/// A coordinate with at most 2 decimals.
func f(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let rounded = (value * 100).rounded() / 100
    if rounded == rounded.rounded() && abs(rounded) < 1e12 { return String(Int(rounded)) }
    return String(rounded)
}
