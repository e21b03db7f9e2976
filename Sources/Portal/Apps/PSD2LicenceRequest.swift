import Database
import Foundation

extension SupportRequestRecord.Kind {
    static let psd2Licence = Self("psd2_licence", title: "PSD2 licence", phrase: "the PSD2 licence",
                                  filed: AppsAuditEvents.licenceFiled)
}

/// The organization's PSD2 licence, as support approved it. The regulated products
/// (``AppProduct/regulated``) are locked until then; the licence is the newest approved
/// ``PSD2LicenceRequest`` of the organization, read through the support queue.
struct PSD2Licences: Sendable {
    let supportQueue = SupportQueue()

    struct Licence: Sendable, Equatable {
        let number: String
        let authority: String
        let registerURL: String
        let approvedAt: Int64
    }

    func licence(organizationID: Int64, on db: Connection) throws -> Licence? {
        try supportQueue.requests(organizationID: organizationID, on: db)
            .first { $0.kind == .psd2Licence && $0.status == "approved" }
            .map { Licence(number: $0.changes["licence_number"] ?? "", authority: $0.changes["authority"] ?? "",
                           registerURL: $0.changes["register_url"] ?? "", approvedAt: $0.resolvedAt ?? $0.createdAt) }
    }

    func isApproved(organizationID: Int64, on db: Connection) throws -> Bool {
        try licence(organizationID: organizationID, on: db) != nil
    }

    /// The open request, if one waits for support.
    func pending(organizationID: Int64, on db: Connection) throws -> SupportRequestRecord? {
        try supportQueue.openRequest(organizationID: organizationID, kind: .psd2Licence, on: db)
    }

    static func lockedReason(_ product: AppProduct) -> String {
        "\(product.title) is a regulated product: it needs your organization's PSD2 licence, approved by support. The Owner files it on the Apps page."
    }
}

/// The Owner files the organization's PSD2 licence (number, competent authority, register
/// link); support checks it in the public register and approves or rejects it. Approving
/// unlocks the PSD2 products for every app of the organization; rejecting changes nothing.
struct PSD2LicenceRequest: SupportRequestKind {
    var kind: SupportRequestRecord.Kind { .psd2Licence }

    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String]) {
        let ch = c.request.changes
        return ([SupportChange(label: "Licence number", before: "—", after: ch["licence_number"] ?? "—"),
                 SupportChange(label: "Competent authority", before: "—", after: ch["authority"] ?? "—"),
                 SupportChange(label: "Register entry", before: "—", after: ch["register_url"] ?? "—")],
                ["Check the licence in the authority's public register before approving.",
                 "Approving lets the organization's apps subscribe to Account Information (PSD2) and Payment Initiation (PSD2)."])
    }

    func check(_ c: SupportCase, on db: Connection) throws {
        guard c.organization?.isActive == true else { throw SupportProblem.conflict("The organization of this request is closed. Reject the request.") }
    }

    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        try check(c, on: db)
    }

    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome {
        let org = c.organization?.publicID ?? ""
        return SupportOutcome(
            what: approved ? "Support approved your PSD2 licence \(c.request.changes["licence_number"] ?? ""): your apps can now subscribe to the PSD2 products."
                : "Support could not confirm your PSD2 licence \(c.request.changes["licence_number"] ?? ""); the PSD2 products stay locked.",
            path: "/orgs/\(org)/sandbox/apps", linkText: "Your apps")
    }
}
