@testable import Analysis
import Testing

/// The tracker's text rules decide printable ASCII by bytes and anything else by Characters;
/// both ways must give the answers the rules state.
@Suite struct TrackerTextRuleTests {
    typealias Tracker = FlowTracker<SilentDialog>

    @Test(arguments: [
        ("FROM:<a@b.example> SIZE=12", "FROM:", "a@b.example"),
        ("from:<A@B.example>", "FROM:", "A@B.example"),
        ("FROM:   <x@y>", "FROM:", "x@y"),
        ("FROM:<>", "FROM:", ""),
        ("FROM:<open@ended", "FROM:", "open@ended"),
        ("FROM:bare@path SIZE=1", "FROM:", "bare@path"),
        ("<no@keyword>", "FROM:", "no@keyword"),
        ("TO:<c@d> NOTIFY=NEVER", "TO:", "c@d"),
        ("FROM:<ü@bücher.example> SMTPUTF8", "FROM:", "ü@bücher.example"),
        ("FRÖM:<x@y>", "FROM:", "FRÖM:<x@y>"),
        ("FROM:\t<x@y>", "FROM:", "\t<x@y>"),
    ] as [(String, String, String)])
    func pathOf(argument: String, keyword: String, expected: String) {
        #expect(Tracker.path(in: argument, after: keyword) == expected)
        #expect(Tracker.unicodePath(in: argument, after: keyword) == expected)
    }

    @Test(arguments: ["FROM:", "FROM:   ", "", "  "])
    func noPath(argument: String) {
        #expect(Tracker.path(in: argument, after: "FROM:") == nil)
        #expect(Tracker.unicodePath(in: argument, after: "FROM:") == nil)
    }

    @Test func maskedStarttlsInAnyCase() {
        #expect(Tracker.offersMaskedStarttls("XXXXXXXA"))
        #expect(Tracker.offersMaskedStarttls("xxxxxxxa extra"))
        #expect(!Tracker.offersMaskedStarttls("STARTTLS"))
        #expect(!Tracker.offersMaskedStarttls("XXXXXXX"))
        // A combining acute accent makes the eighth Character "Á", not "A".
        #expect(!Tracker.offersMaskedStarttls("XXXXXXXA\u{301}"))
        #expect(Tracker.offersMaskedStarttls("XXXXXXXAé"))
    }

    @Test func maskedBannerIsOnlyStarsZerosTwosAndSpaces() {
        #expect(Tracker.isMaskedBanner("***"))
        #expect(Tracker.isMaskedBanner("** 0 2 *"))
        #expect(!Tracker.isMaskedBanner("**"))
        #expect(!Tracker.isMaskedBanner("*** ok"))
        #expect(!Tracker.isMaskedBanner("***\u{301}"))
        #expect(!Tracker.isMaskedBanner(""))
    }
}
