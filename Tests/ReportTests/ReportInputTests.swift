@testable import Report
import Testing

@Test func decodesTheKBRecords() throws {
    let input = try ReportInput(jsonLines: Fixtures.kb)
    #expect(input.flows.count == 6)
    #expect(input.messages.count == 1)
    #expect(input.summaries.count == 1)
    let first = try #require(input.flows.first)
    #expect(first.client == ReportEndpoint(ip: "192.0.2.10", port: 49152))
    #expect(first.transactions.first?.terminator?.splitAfter == [2])
    #expect(first.transactions.first?.terminator?.frames == [10, 11])
    #expect(first.transactions.first?.reply == nil)
    #expect(input.messages.first?.attempts.map(\.flow) == [0, 2, 3, 5])
    #expect(input.summaries.first?.association?.splitUnanswered == 4)
    #expect(input.summaries.first?.middlebox?.detected == true)
    #expect(input.timeSpan == 1_714_557_600.0...1_714_557_765.42)
}

@Test func aBadLineIsNamedByItsNumber() {
    let good = #"{"type":"summary","packets":1}"#
    #expect(throws: ReportInputError.badLine(number: 3, reason: "not valid JSON")) {
        try ReportInput(jsonLines: [good, "", "{\"type\": \"flow\","])
    }
    #expect(throws: ReportInputError.badLine(number: 2, reason: "not a JSON object")) {
        try ReportInput(jsonLines: [good, "[1, 2]"])
    }
    #expect(throws: ReportInputError.badLine(number: 1, reason: "no \"type\" field")) {
        try ReportInput(jsonLines: [#"{"flow": 0}"#])
    }
    #expect(throws: ReportInputError.badLine(number: 1, reason: "schema smtpscope/2, expected smtpscope/1")) {
        try ReportInput(jsonLines: [#"{"type":"flow","schema":"smtpscope/2"}"#])
    }
}

@Test func unknownRecordsAndFieldsAreIgnoredAndMissingOnesTolerated() throws {
    let lines = [
        #"{"type":"hello","anything":[1,2,3]}"#,
        #"{"type":"flow","capture":"x.pcap","flow":7,"client":{"ip":"192.0.2.1","port":1025},"server":{"ip":"198.51.100.1","port":25},"future_field":{"a":1},"transactions":[{"outcome":"incomplete"}]}"#,
    ]
    let input = try ReportInput(jsonLines: lines)
    #expect(input.flows.count == 1)
    let flow = try #require(input.flows.first)
    #expect(flow.index == 7)
    #expect(flow.endReason == "open")
    #expect(flow.banner == nil)
    #expect(flow.transactions.first?.terminator == nil)
    #expect(flow.transactions.first?.diagnosis == "incomplete_capture")
    // The report still renders, and renders well-formed.
    _ = try parseXML(renderHTMLReport(input, options: ReportOptions()))
}

@Test func liveTransactionRecordsStandInForMissingFlows() throws {
    let lines = [
        #"{"type":"transaction","capture":"live","flow":3,"client":{"ip":"192.0.2.1","port":1025},"server":{"ip":"198.51.100.1","port":25},"index":0,"start":1714557600.0,"outcome":"no_reply","diagnosis":"unanswered"}"#,
        #"{"type":"transaction","capture":"live","flow":4,"client":{"ip":"192.0.2.1","port":1026},"server":{"ip":"198.51.100.1","port":25},"index":0,"start":1714557700.0,"outcome":"accepted","diagnosis":"ok"}"#,
        #"{"type":"flow","capture":"live","flow":4,"client":{"ip":"192.0.2.1","port":1026},"server":{"ip":"198.51.100.1","port":25},"start":1714557700.0,"end_reason":"quit","transactions":[{"index":0,"outcome":"accepted","diagnosis":"ok"}],"findings":[]}"#,
    ]
    let input = try ReportInput(jsonLines: lines)
    #expect(input.flows.map(\.index) == [4, 3])
    #expect(input.flows.last?.transactions.first?.outcome == "no_reply")
}

@Test func vantageIsGuessedFromFileNames() {
    #expect(ReportInputFile(name: "/tmp/kb-outside.pcap").vantage == "outside")
    #expect(ReportInputFile(name: "fw_inside_2024.pcapng").vantage == "inside")
    #expect(ReportInputFile(name: "mx1.pcap").vantage == nil)
    #expect(ReportInputFile(name: "insider.pcap").vantage == nil)
    #expect(ReportInputFile(name: "mx1.pcap", vantage: "dmz").vantage == "dmz")
}

@Test func fisherExactMatchesHandComputedValues() {
    // [[4,0],[0,2]]: only the observed table is as unlikely as itself: 1 / C(6,4) = 1/15.
    #expect(abs(fisherExactTwoSided(a: 4, b: 0, c: 0, d: 2) - 1.0 / 15.0) < 1e-9)
    // Lady tasting tea, [[3,1],[1,3]]: (1 + 16 + 16 + 1) / 70.
    #expect(abs(fisherExactTwoSided(a: 3, b: 1, c: 1, d: 3) - 34.0 / 70.0) < 1e-9)
    #expect(fisherExactTwoSided(a: 0, b: 0, c: 0, d: 0) == 1)
    #expect(fisherExactTwoSided(a: -1, b: 0, c: 0, d: 2) == 1)
}

@Test func terminatorGroupsFollowSplitAfter() throws {
    func groups(_ split: [Int], style: String = "crlf") throws -> [Int] {
        let line = #"{"type":"flow","transactions":[{"terminator":{"seen":true,"style":""# + style
            + #"","frames":[],"split_after":"# + "\(split)" + "}}]}"
        return try #require(ReportInput(jsonLines: [line]).flows.first?.transactions.first?.terminator?.byteGroups)
    }
    #expect(try groups([]) == [5])
    #expect(try groups([2]) == [2, 3])
    #expect(try groups([4, 1]) == [1, 3, 1])
    #expect(try groups([0, 5, 9]) == [5])  // outside 1...4: ignored
    #expect(try groups([1], style: "lf.lf") == [1, 2])
}

@Test func timeTextIsUTCAndDurationsReadable() {
    #expect(TimeText.dateTime(1_714_557_645.25) == "2024-05-01 10:00:45.250 UTC")
    #expect(TimeText.date(0) == "1970-01-01")
    #expect(TimeText.date(951_782_400) == "2000-02-29")
    #expect(TimeText.duration(45) == "45 s")
    #expect(TimeText.duration(2.5) == "2.5 s")
    #expect(TimeText.duration(0.0004) == "400 µs")
    #expect(TimeText.duration(150) == "2 min 30 s")
    #expect(TimeText.duration(3600 * 5 + 60 * 7) == "5 h 7 min")
    #expect(TimeTicks(from: 0, to: 166, maxTicks: 9).step == 30)
    #expect(TimeTicks(from: 0, to: 86_400 * 1.06, maxTicks: 9).step == 10_800)
    #expect(TimeTicks(from: 0, to: 4, maxTicks: 9).step == 1)
}
