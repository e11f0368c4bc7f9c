/// How many times a session saw each ``SMTPAnomaly`` on one side: one counter per kind,
/// held in place (a dictionary allocated its storage on a session's first anomaly, and again
/// as kinds were added).
struct AnomalyCounts {
    private var counts: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// The count before this one, then counted (saturating: never traps).
    mutating func note(_ kind: SMTPAnomaly) -> UInt64 {
        let index = Self.index(kind)
        return withUnsafeMutableBytes(of: &counts) { raw in
            let seen = raw.load(fromByteOffset: index &* 8, as: UInt64.self)
            raw.storeBytes(of: seen == .max ? seen : seen &+ 1, toByteOffset: index &* 8, as: UInt64.self)
            return seen
        }
    }

    mutating func removeAll() { self = AnomalyCounts() }

    /// A place per kind (a switch: `allCases` would build an array on every call).
    private static func index(_ kind: SMTPAnomaly) -> Int {
        switch kind {
        case .lineTooLong: return 0
        case .bareLF: return 1
        case .bareCR: return 2
        case .unsolicitedReply: return 3
        case .malformedReply: return 4
        case .tooManyPendingCommands: return 5
        case .bannerMasked: return 6
        case .ehloRejected: return 7
        case .commandMasked: return 8
        case .starttlsMasked: return 9
        case .malformedBDAT: return 10
        case .dataAfterGap: return 11
        }
    }
}
