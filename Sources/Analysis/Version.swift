/// smtpscope's version and JSON Lines schema.
public enum SMTPScopeVersion {
    public static let version = "0.1.0"
    /// The `schema` of every JSON Lines record (DESIGN.md "Output contract").
    public static let schema = "smtpscope/1"
}
