/// What an API request acts as when it carries an API key: the key's organization and
/// environment, and what its restrictions allow. Holds no secret.
struct APIKeyCredential: APICredential {
    let publicID: String
    let logName: String
    let organizationID: Int64
    let environment: Environment
    let name: String
    let restrictions: APIKeyRestrictions
    /// The member who made the key: payouts it prepares name them, so they cannot authorize them.
    let createdByUserID: Int64?
    let logIdentity: APICredentialLogIdentity

    init(_ key: APIKeyRecord) {
        publicID = key.publicID
        logName = key.masked
        organizationID = key.organizationID
        environment = key.environment
        name = key.name
        restrictions = key.restrictions
        createdByUserID = key.createdBy
        logIdentity = key.logIdentity
    }

    func access(to resource: APIResource) -> APIAccessLevel { restrictions.access(to: resource) }
    /// People name keys ("Checkout server"): the request log shows it.
    var logLabel: String? { name }
}
