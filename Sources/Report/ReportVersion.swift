/// The HTML report is rendered from `smtpscope/1` JSON Lines records alone,
/// so a report can be made from any saved `analyze --format jsonl` output.
public enum ReportFormat {
    public static let schema = "smtpscope/1"
}
