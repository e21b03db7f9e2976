/// Production asked for before support enabled it. Not a missing page (the organization is the
/// member's and Production will exist) and not a missing permission of the member: the
/// organization itself is not there yet.
struct EnvironmentClosed: Error, Equatable {
    let orgID: Int64
    init(org: OrganizationRecord) { orgID = org.id }
}
