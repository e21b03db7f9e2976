/// Why `portal create-staff` could not create the account, in words for the terminal.
public struct StaffSetupError: Error, CustomStringConvertible {
    public let description: String
}

extension PortalApp {
    /// Creates a staff account and returns the absolute URL of its single-use setup link
    /// (valid 72 hours), made with the configured base URL. For an address that is already
    /// a staff account which has not set its password, a new link replaces the old one; any
    /// other existing address is refused.
    public func createStaff(email: String, name: String) throws -> String {
        let support = Support(organizations: organizations, logger: logger)
        let actor = Actor(userID: nil, ip: "127.0.0.1", userAgent: "portal create-staff")
        do {
            let (token, _) = try support.createStaff(email: email, name: name, actor: actor)
            return accounts.mailer.url(path: "/setup-account?token=\(token)")
        } catch SupportProblem.invalid(let errors) {
            throw StaffSetupError(description: errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        } catch SupportProblem.conflict(let message) {
            throw StaffSetupError(description: message)
        }
    }
}
