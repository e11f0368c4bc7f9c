/// A flow's findings: each code at most once, evidence frames merged, in order of first occurrence.
struct FindingSet {
    private var findings: [Finding] = []
    let maxFrames: Int

    init(maxFrames: Int) { self.maxFrames = max(1, maxFrames) }

    /// Reports `code`; the first message is kept, later ones only add frames and count.
    mutating func add(_ code: FindingCode, frames: [UInt64], message: @autoclosure () -> String) {
        if let index = findings.firstIndex(where: { $0.code == code }) {
            // The same evidence reported twice (e.g. by the SMTP layer and by a fallback
            // check here) is one occurrence.
            if !frames.isEmpty && frames.allSatisfy(findings[index].frames.contains) { return }
            findings[index].occurrences += 1
            findings[index].frames = merged(findings[index].frames, frames)
        } else {
            findings.append(Finding(code: code, frames: merged([], frames), message: message()))
        }
    }

    func contains(_ code: FindingCode) -> Bool { findings.contains { $0.code == code } }

    /// Forgets every finding, keeping the list's storage when no record shares it (a
    /// tracker reused for another flow).
    mutating func removeAll() {
        findings.removeAll(keepingCapacity: true)
    }

    /// Findings with their final messages (the list itself when no message changes, so a
    /// record shares its storage).
    var all: [Finding] {
        guard findings.contains(where: { $0.occurrences > 1 }) else { return findings }
        return findings.map { finding in
            var finding = finding
            if finding.occurrences > 1 { finding.message += " (\(finding.occurrences) times in this flow)" }
            return finding
        }
    }

    private func merged(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        // The usual first report: already distinct, ascending and within the limit.
        if a.isEmpty, b.count <= maxFrames, zip(b, b.dropFirst()).allSatisfy({ $0 < $1 }) { return b }
        return Array(Set(a).union(b).sorted().prefix(maxFrames))
    }
}
