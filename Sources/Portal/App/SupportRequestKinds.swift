/// Every kind of request support decides, in the order the queue's filter lists them. A
/// feature that adds a kind declares its type in its own folder and adds one line here.
extension SupportRequestRecord.Kind {
    static let registered: [any SupportRequestKind] = [
        LostAuthenticatorRequest(),
        OrgChangeRequest(kind: .orgDetails),
        OrgChangeRequest(kind: .orgName),
        OffboardingRequest(),
        ProductionAccessRequest(),
        TransactionCancellationRequest(),
        APIKeyLeakRequest(),
        PSD2LicenceRequest(),
    ]
}
