extension AuditActions {
    /// Every action the features declare. A feature adds its list here (one line), never a
    /// case to a central switch.
    static let all = AuditActions([
        AccountsAuditEvents.all,
        OrganizationsAuditEvents.all,
        TeamAuditEvents.all,
        SupportAuditEvents.all,
        MoneyAuditEvents.all,
        CancellationAuditEvents.all,
        PayoutsAuditEvents.all,
        DemoDataAuditEvents.all,
        APIKeysAuditEvents.all,
        AppsAuditEvents.all,
        WebhooksAuditEvents.all,
        OAuthAuditEvents.all,
    ])

    /// The filter's groups of actions, in the order the features are listed.
    static let families: [AuditLog.Family] =
        TeamAuditEvents.families + SupportAuditEvents.requestFamilies + OrganizationsAuditEvents.families + SupportAuditEvents.families + MoneyAuditEvents.families
        + APIKeysAuditEvents.families + AppsAuditEvents.families + WebhooksAuditEvents.families + OAuthAuditEvents.families
}
