extension Organizations {
    /// The first live invitation for the user's address, if any: where /home sends someone
    /// with no organization yet (e.g. just signed up through an invitation link and enrolled).
    func pendingInvitationPath(for user: UserRecord) throws -> String? {
        guard !user.isStaff else { return nil }
        let now = clock.now()
        return try database.read { try Team.liveInvitations(email: user.email, now: now, on: $0) }.first
            .map { "/invitations/\($0.publicID)" }
    }
}
