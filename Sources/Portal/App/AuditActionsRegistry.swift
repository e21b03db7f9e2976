extension AuditActions {
    /// Every action the features declare. A feature adds its list here (one line), never a
    /// case to a central switch.
    static let all = AuditActions([
        AccountsAuditEvents.all,
        OrganizationsAuditEvents.all,
        TeamAuditEvents.all,
        SupportAuditEvents.all,
    ])
}
