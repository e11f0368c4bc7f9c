import Foundation
@testable import Report
import Testing

/// The report's own number formatting (C library) against Foundation's `String(format:)`, which the
/// report used before it dropped Foundation, and against hand-written values.
struct CFormatTests {
    @Test func formatsAsFoundationDoes() {
        let cases: [(String, [CVarArg])] = [
            ("%04d-%02d-%02d", [2024, 5, 1]), ("%02d:%02d:%02d", [0, 7, 59]), ("%.3f", [0.1235]),
            ("%.0f ms", [999.5]), ("%.1f", [9.95]), ("%.1f", [1024.0 / 1024]), ("p = %.2f", [0.125]),
            ("p = %.3g", [0.012345]), ("p = %.3g", [0.0001]), ("%.0f µs", [0.4]), ("%.0f s", [59.5]),
        ]
        for (format, arguments) in cases {
            #expect(cFormat(format, arguments) == String(format: format, arguments: arguments), "\(format)")
        }
    }

    @Test func formatsHandComputedValues() {
        #expect(cFormat("%04d-%02d-%02d", 1970, 1, 2) == "1970-01-02")
        #expect(cFormat("%.1f", 2.25) == "2.2")  // exactly halfway: to even
        #expect(cFormat("p = %.3g", 0.00123456) == "p = 0.00123")
        #expect(cFormat("%.0f µs", 12.0) == "12 µs")
    }

    @Test func lastComponentIsNSStrings() {
        for path in ["a/b/c.pcap", "c.pcap", "dir/", "dir//", "/", "", "/abs/x-outside.pcap", "./in side.pcapng"] {
            #expect(lastPathComponent(path) == (path as NSString).lastPathComponent, "\(path)")
        }
    }
}
