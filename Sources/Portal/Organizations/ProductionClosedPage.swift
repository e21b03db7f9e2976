import Web

/// The page for Production before support has enabled it.
struct ProductionClosedPage: ViewModel {
    let access: OrgAccess
    let path: String
    let requested: Bool

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Production is not enabled · \(access.org.displayName)"
        case "orgName": access.org.displayName
        case "requested": requested
        // Only the Owner may ask (``Organizations/requestProduction``); others are told who can.
        case "canRequest": access.isOwner
        case "requestURL": "/orgs/\(access.org.publicID)/settings/production"
        case "sandboxURL": OrgMenu.portal.switchPath(path, base: "/orgs/\(access.org.publicID)", to: .sandbox)
        default: nil
        }
    }
}
