import Report
import Testing

@Test func reportReadsTheAnalysisSchema() {
    #expect(ReportFormat.schema == "smtpscope/1")
}
