/// Choices and limits for ``renderHTMLReport(_:options:)``. Every limit that is reached is said in the report.
public struct ReportOptions: Sendable {
    /// Heading of the page.
    public var title: String
    /// Capture name → vantage label (`outside`, `inside`, …); overrides labels guessed from file names.
    public var vantages: [String: String]
    /// Most lanes drawn in the retry timeline (message lanes first, then client→server lanes by severity).
    public var maxTimelineLanes: Int
    /// Most terminator pictures drawn (stalled transactions, worst first).
    public var maxTerminatorPictures: Int
    /// Most rows in the per-flow table.
    public var maxFlowRows: Int
    /// Most characters kept of any one text from the capture (banner, reply text, finding message).
    public var maxTextLength: Int

    public init(
        title: String = "smtpscope report",
        vantages: [String: String] = [:],
        maxTimelineLanes: Int = 40,
        maxTerminatorPictures: Int = 40,
        maxFlowRows: Int = 2_000,
        maxTextLength: Int = 300
    ) {
        self.title = title
        self.vantages = vantages
        self.maxTimelineLanes = maxTimelineLanes
        self.maxTerminatorPictures = maxTerminatorPictures
        self.maxFlowRows = maxFlowRows
        self.maxTextLength = maxTextLength
    }
}
