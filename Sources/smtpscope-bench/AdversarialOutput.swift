import Foundation

/// What `smtpscope analyze --format jsonl` printed, read in one streaming pass
/// (a flood's output can be larger than memory should hold): finding codes
/// counted over all records, the first few flow records, and the summary.
struct AdversarialOutput {
    var lines = 0
    var findingCodes: [String: Int] = [:]
    /// The first flow records, parsed.
    var flows: [[String: Any]] = []
    var summary: [String: Any] = [:]
    var stderr = ""

    init(stdoutPath: String, stderrPath: String, keptFlows: Int = 8) {
        stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        guard let handle = FileHandle(forReadingAtPath: stdoutPath) else { return }
        defer { try? handle.close() }
        var pending = Data()
        var last = Data()
        while let chunk = try? handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            pending.append(chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                let line = pending[start..<newline]
                take(line, keptFlows: keptFlows)
                last = Data(line)
                start = pending.index(after: newline)
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty {
            take(pending, keptFlows: keptFlows)
            last = pending
        }
        summary = (try? JSONSerialization.jsonObject(with: last) as? [String: Any]) ?? [:]
    }

    private mutating func take(_ line: Data, keptFlows: Int) {
        lines += 1
        let marker = Array("\"code\":\"".utf8)
        let bytes = [UInt8](line)
        var index = 0
        while index + marker.count < bytes.count {
            if bytes[index] == marker[0], bytes[index..<(index + marker.count)].elementsEqual(marker) {
                let start = index + marker.count
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
                findingCodes[String(decoding: bytes[start..<end], as: UTF8.self), default: 0] += 1
                index = end
            } else {
                index += 1
            }
        }
        if flows.count < keptFlows, bytes.starts(with: Array("{\"type\":\"flow\"".utf8)),
            let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any]
        {
            flows.append(object)
        }
    }

    func int(_ key: String) -> Int { (summary[key] as? NSNumber)?.intValue ?? 0 }
    func outcome(_ name: String) -> Int { ((summary["outcomes"] as? [String: Any])?[name] as? NSNumber)?.intValue ?? 0 }
    func code(_ name: String) -> Int { findingCodes[name] ?? 0 }
    /// Sizes of the transactions of the kept flow records.
    var transactionSizes: [Int] {
        flows.flatMap { ($0["transactions"] as? [[String: Any]]) ?? [] }.compactMap { ($0["size"] as? NSNumber)?.intValue }
    }
}
