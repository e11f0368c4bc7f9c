import CAllocationCounter
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Names the call sites of sampled allocations. For each backtrace (which
/// starts at malloc's caller): the frames in this executable, skipping those
/// of the Swift runtime or Foundation in between, symbolised with
/// llvm-symbolizer and swift-demangle; the site is the first of them whose
/// (inlined) code comes from our Sources/, shown with the frame that asked for
/// memory when that one is a standard-library routine (an array growing, a
/// dictionary's `_modify` coroutine frame, say).
enum AllocationSites {
    private static let framesKept = 6

    static func top(executable: String, limit: Int) -> [(String, Int)] {
        var base: UnsafeRawPointer?
        var file: UnsafePointer<CChar>?
        guard smtpscope_image_of(#dsohandle, &base, &file) != 0, let base else { return [] }
        let image = file.map { String(cString: $0) } ?? executable
        var stacks: [[UInt]: Int] = [:]
        var outside: [String: Int] = [:]
        var frames = [UnsafeMutableRawPointer?](repeating: nil, count: 32)
        for index in 0..<smtpscope_allocation_sample_count() {
            let depth = frames.withUnsafeMutableBufferPointer { smtpscope_allocation_sample(index, $0.baseAddress, $0.count) }
            var ours: [UInt] = []
            var firstLibrary: String?
            for frame in frames.prefix(depth) {
                guard let frame else { continue }
                var frameBase: UnsafeRawPointer?
                var frameFile: UnsafePointer<CChar>?
                if smtpscope_image_of(frame, &frameBase, &frameFile) != 0, frameBase == base {
                    // A return address: look up the call instruction before it.
                    ours.append(UInt(bitPattern: frame) &- UInt(bitPattern: base) &- 1)
                    if ours.count == framesKept { break }
                } else {
                    if firstLibrary == nil { firstLibrary = frameFile.map { String(cString: $0) } }
                }
            }
            if ours.isEmpty {
                outside[URL(fileURLWithPath: firstLibrary ?? "?").lastPathComponent, default: 0] += 1
            } else {
                stacks[ours, default: 0] += 1
            }
        }
        let symbols = symbolise(Array(Set(stacks.keys.flatMap { $0 })), in: image)
        var bySite: [String: Int] = [:]
        for (stack, count) in stacks { bySite[label(stack, symbols), default: 0] += count }
        for (library, count) in outside { bySite["(no frame of ours: from \(library))", default: 0] += count }
        return bySite.sorted { $0.value > $1.value || $0.value == $1.value && $0.key < $1.key }.prefix(limit).map { ($0.key, $0.value) }
    }

    /// What one address's code is: its function (demangled) and, innermost first, its source locations.
    private struct Symbol {
        var function: String
        var locations: [String]
        var ourLocation: String? { locations.first { $0.contains("/Sources/") } }
    }

    private static func label(_ stack: [UInt], _ symbols: [UInt: Symbol]) -> String {
        guard !symbols.isEmpty else { return stack.map { "0x" + String($0, radix: 16) }.joined(separator: " < ") }
        let first = symbols[stack[0]]
        guard let ours = stack.compactMap({ symbols[$0] }).first(where: { $0.ourLocation != nil }), let place = ours.ourLocation else {
            return first?.function ?? "?"
        }
        let where_ = place.split(separator: "/").suffix(2).joined(separator: "/")
        let caller = "\(ours.function) (\(where_))"
        guard let first, first.ourLocation == nil else { return caller }
        return "\(first.function.prefix(60)) < \(caller)"
    }

    /// Empty when llvm-symbolizer is missing.
    private static func symbolise(_ addresses: [UInt], in image: String) -> [UInt: Symbol] {
        guard !addresses.isEmpty else { return [:] }
        let output = NSTemporaryDirectory() + "smtpscope-bench-\(getpid())-symbols.txt"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let arguments = ["llvm-symbolizer", "--obj=\(image)", "--functions=linkage", "--no-demangle"]
            + addresses.map { "0x" + String($0, radix: 16) }
        guard runChild(arguments, stdoutPath: output, stderrPath: "/dev/null")?.status == 0,
            let text = try? String(contentsOfFile: output, encoding: .utf8)
        else { return [:] }
        // One block per address, blank-line separated: (function, file:line:column) per inlining level, innermost first.
        let blocks = text.components(separatedBy: "\n\n").map { $0.split(separator: "\n").map(String.init) }.filter { !$0.isEmpty }
        guard blocks.count == addresses.count else { return [:] }
        let outermost = demangle(blocks.map { lines in lines.count >= 2 ? lines[lines.count - 2] : lines[0] })
        var symbols: [UInt: Symbol] = [:]
        for (index, lines) in blocks.enumerated() {
            symbols[addresses[index]] = Symbol(function: outermost[index], locations: stride(from: 1, to: lines.count, by: 2).map { lines[$0] })
        }
        return symbols
    }

    private static func demangle(_ names: [String]) -> [String] {
        let output = NSTemporaryDirectory() + "smtpscope-bench-\(getpid())-demangled.txt"
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard runChild(["swift-demangle", "--simplified"] + names, stdoutPath: output, stderrPath: "/dev/null")?.status == 0,
            let text = try? String(contentsOfFile: output, encoding: .utf8)
        else { return names }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= names.count else { return names }
        // "mangled ---> demangled" when given names as arguments.
        return lines.prefix(names.count).map { line in
            let text = line.range(of: " ---> ").map { String(line[$0.upperBound...]) } ?? line
            return withoutArguments(text.replacingOccurrences(of: "specialized ", with: ""))
        }
    }

    /// "f(a:b:) in T.g(x:)" → "f() in T.g()": argument labels make lines long.
    private static func withoutArguments(_ name: String) -> String {
        var depth = 0
        var kept = ""
        for character in name {
            if character == "(" {
                if depth == 0 { kept.append("(") }
                depth += 1
            } else if character == ")" {
                depth = max(0, depth - 1)
                if depth == 0 { kept.append(")") }
            } else if depth == 0 {
                kept.append(character)
            }
        }
        return kept
    }
}
