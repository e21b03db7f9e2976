import Web

/// The sign-up, login, second-factor, reset and confirmation pages (`accounts/…`): a title,
/// the form as it was sent (``FormState``), and the few typed values a page adds
/// (``Extras``: the QR code, the recovery codes, whether a link is valid).
struct IdentityPage: ViewModel {
    let title: String
    let form: FormState
    var extras = Extras()

    /// What a page shows besides its form. A value left nil is not answered at all, so the
    /// template looks further out (the layout's values), as for any name a page lacks.
    struct Extras {
        /// Whether the page's link (verification, reset, e-mail change) still works.
        var valid: Bool?
        /// The address the page speaks of (verification pending, reset mail sent, enrolment).
        var email: String?
        /// The address an e-mail change link moves the account to.
        var newEmail: String?
        /// The authenticator being set up: its QR code, grouped secret and `otpauth:` URL.
        var enrolment: Accounts.Enrolment?
        /// Recovery codes shown once, and where the page leads on ("" for the default).
        var codes: [String]?
        var next: String?
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": return title
        case "valid": return extras.valid
        case "email": return extras.email
        case "newEmail": return extras.newEmail
        case "qrSVG": return extras.enrolment?.qrSVG
        case "secret": return extras.enrolment?.groupedSecret
        case "otpauthURL": return extras.enrolment?.otpauthURL
        case "codes": return extras.codes
        case "next": return extras.next
        default: return form.child(named: name)
        }
    }
}
