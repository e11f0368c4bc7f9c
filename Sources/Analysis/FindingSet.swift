import SMTP

/// A flow's findings: each code at most once, evidence frames merged, in order of first occurrence.
struct FindingSet {
    private var findings: [Finding] = []
    let maxFrames: Int

    init(maxFrames: Int) { self.maxFrames = max(1, maxFrames) }

    /// Reports `code`; the first message is kept, later ones only add frames and count.
    mutating func add(_ code: FindingCode, frames: [UInt64], message: @autoclosure () -> String) {
        add(code, frames: FrameList(frames)) { SMTPText(message()) }
    }

    /// ``add(_:frames:message:)`` with the message written as bytes into `texts` (the flow's
    /// record text, recycled with the tracker): a finding's first report makes no `String`.
    mutating func add(_ code: FindingCode, frames: FrameList, texts: inout TextArena, message: (inout MessageWriter) -> Void) {
        add(code, frames: frames) { MessageWriter.text(into: &texts, message) }
    }

    private mutating func add(_ code: FindingCode, frames: FrameList, message: () -> SMTPText) {
        if let index = findings.firstIndex(where: { $0.code == code }) {
            // The same evidence reported twice (e.g. by the SMTP layer and by a fallback
            // check here) is one occurrence.
            if !frames.isEmpty && frames.allSatisfy(findings[index].frameList.contains) { return }
            findings[index].occurrences += 1
            merge(frames, into: &findings[index].frameList)
        } else {
            // A flow has few findings: room for a few at once, not grown from one.
            if findings.capacity == 0 { findings.reserveCapacity(4) }
            var kept = FrameList()
            merge(frames, into: &kept)
            findings.append(Finding(code: code, frameList: kept, messageText: message()))
        }
    }

    func contains(_ code: FindingCode) -> Bool { findings.contains { $0.code == code } }

    /// Forgets every finding, keeping the list's storage when no record shares it (a
    /// tracker reused for another flow).
    mutating func removeAll() {
        findings.removeAll(keepingCapacity: true)
    }

    /// The list's storage, handed over (this set is left empty, without storage).
    mutating func takeStorage() -> [Finding] {
        var storage: [Finding] = []
        swap(&storage, &findings)
        return storage
    }

    /// Starts from `storage` (an emptied list) if this set has none.
    mutating func adopt(_ storage: [Finding]) {
        if findings.capacity == 0 { findings = storage }
    }

    /// Whether the list has storage.
    var hasStorage: Bool { findings.capacity > 0 }

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

    /// Adds `frames` to the ascending, distinct `kept`, which keeps its first `maxFrames`.
    private func merge(_ frames: FrameList, into kept: inout FrameList) {
        // A finding's first frames (the usual): already ascending and distinct, kept whole.
        if kept.isEmpty && frames.count <= maxFrames && frames.isStrictlyAscending {
            kept = frames
            return
        }
        for frame in frames { kept.insertSorted(frame) }
        kept.keepFirst(maxFrames)
    }
}

/// A finding's message written in parts as bytes (numbers and durations without a `String`
/// per part), then kept as one text.
struct MessageWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    private var count = 0
    /// What did not fit in `buffer` (no message of the findings written this way gets there).
    private var overflow: [UInt8] = []

    private init(buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    /// The message `write` makes, copied into `texts`.
    static func text(into texts: inout TextArena, _ write: (inout MessageWriter) -> Void) -> SMTPText {
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 8) { buffer in
            var writer = MessageWriter(buffer: buffer)
            write(&writer)
            guard writer.overflow.isEmpty else {
                let whole = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<writer.count])) + writer.overflow
                return whole.withUnsafeBytes { texts.text($0) }
            }
            return texts.text(UnsafeRawBufferPointer(rebasing: buffer[0..<writer.count]))
        }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let fits = min(bytes.count, buffer.count - count)
        if fits > 0, let source = bytes.baseAddress, let target = buffer.baseAddress {
            (target + count).copyMemory(from: source, byteCount: fits)
            count += fits
        }
        if fits < bytes.count { overflow.append(contentsOf: bytes[fits...]) }
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A string's UTF-8 (a small one, such as a duration, is read in place).
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(_ text: SMTPText) {
        text.withBytes { append($0) }
    }

    /// Decimal digits, as `String(value)`.
    mutating func append(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { raw in
            var rest = value
            var at = raw.count
            repeat {
                at -= 1
                raw[at] = UInt8(truncatingIfNeeded: 0x30 &+ rest % 10)
                rest /= 10
            } while rest > 0
            append(UnsafeRawBufferPointer(rebasing: raw[at...]))
        }
    }

    /// Decimal, as `String(value)` (a minus sign when negative).
    mutating func append(_ value: Int) {
        if value < 0 { append("-" as StaticString) }
        append(UInt64(value.magnitude))
    }

    /// ``TimeText/duration(_:)``, written as bytes (its rules: microseconds without
    /// decimals, milliseconds or seconds with one, rounded half up on the magnitude).
    mutating func appendDuration(_ nanoseconds: Int64) {
        let magnitude = nanoseconds.magnitude
        let unit: UInt64 = magnitude < 1_000_000 ? 1_000 : magnitude < 1_000_000_000 ? 1_000_000 : 1_000_000_000
        // One decimal past microseconds: the remainder (< 10^9) times 10 stays below 2^64.
        let scale: UInt64 = unit == 1_000 ? 1 : 10
        var whole = magnitude / unit
        var fraction = ((magnitude % unit) * scale + unit / 2) / unit
        if fraction >= scale {
            fraction -= scale
            whole += 1
        }
        if nanoseconds < 0 { append("-" as StaticString) }
        append(whole)
        if scale == 10 {
            append("." as StaticString)
            append(fraction)
        }
        switch unit {
        case 1_000: append(" µs" as StaticString)
        case 1_000_000: append(" ms" as StaticString)
        default: append(" s" as StaticString)
        }
    }

    /// `1,3`: the positions with `separator` between them.
    mutating func append(_ positions: SplitPositions, separator: StaticString) {
        for (index, position) in positions.enumerated() {
            if index > 0 { append(separator) }
            append(position)
        }
    }

    /// `a/b/c` or `a,b`: the values with `separator` between them.
    mutating func append(_ values: FrameList, separator: StaticString) {
        for (index, value) in values.enumerated() {
            if index > 0 { append(separator) }
            append(value)
        }
    }
}
