import Web

/// The sign-up, login, second-factor, reset and confirmation pages (`auth/…`): a title, the
/// form as it was sent (``FormState``), and the few values a page adds (the QR code, the
/// recovery codes, whether a link is valid).
struct IdentityPage: ViewModel {
    let title: String
    let form: FormState
    /// Values besides the form's, by name (strings, flags, lists of strings).
    let extra: [String: Any]

    func child(named name: String) -> Any? {
        if name == "title" { return title }
        return form.child(named: name) ?? extra[name]
    }
}
