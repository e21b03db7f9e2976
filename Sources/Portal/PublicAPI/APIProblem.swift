/// Why the API refused a call, beyond the money features' own problems.
enum APIProblem: Error, Equatable {
    /// The credential's restriction on `resource` is below `needed`.
    case insufficientPermissions(resource: APIResource, needed: APIAccessLevel)
    /// An OAuth token's scopes do not include `scope`.
    case insufficientScope(String)
    /// Only Sandbox transactions may be created through the API.
    case sandboxOnly
    /// No such object in the credential's organization and environment.
    case notFound(String)
    /// A list's `starting_after` names no object of the list.
    case unknownCursor(String)
}
