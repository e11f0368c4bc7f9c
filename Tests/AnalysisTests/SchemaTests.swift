import Analysis
import Testing

@Test func schemaName() {
    #expect(SMTPScopeVersion.schema == "smtpscope/1")
}
