import Web

/// Who the page header names: the signed-in user (`currentUser`: their name, the link to
/// their organizations or, for staff, the support queue) or, half-way through signing in,
/// the address signing in (`signingIn`). Set by ``AuthMiddleware`` for every page and
/// error page of the pages pipeline.
struct HeaderUser: ViewModel {
    let user: UserRecord

    func child(named name: String) -> Any? {
        switch name {
        case "name": user.name
        case "email": user.email
        case "isStaff": user.isStaff
        default: nil
        }
    }
}
