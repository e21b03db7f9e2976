import Web

/// The paths whose segments may carry a mailed token, masked in every log line
/// (``PathRedaction``): the request log, and the HTTP layer's refusals. Today's links carry
/// their tokens in the query (never logged) except invitations; the others are listed
/// because a mail client that mangles `?token=` into `/` puts the token in the path. A
/// feature that mails a link with a secret in its path adds its rule here.
enum SecretPaths {
    static let redaction = PathRedaction([
        // `/invitations/<token>` (mailed) or `/invitations/inv_…` (a public id, not a
        // secret), then the answer's action.
        PathRedaction.Rule(prefix: "/invitations") { PublicID.isWellFormed(String($0), prefix: "inv") || ["signup", "accept", "decline"].contains($0) },
        PathRedaction.Rule(prefix: "/reset-password"),
        PathRedaction.Rule(prefix: "/verify-email") { $0 == "pending" || $0 == "resend" },
        PathRedaction.Rule(prefix: "/setup-account"),
        PathRedaction.Rule(prefix: "/account/email/confirm"),
        // A client secret pasted into a path (a verify or token call gone wrong) is masked;
        // every other segment of an organization's pages is kept as it is.
        PathRedaction.Rule(prefix: "/orgs") { !$0.hasPrefix(ClientSecret.prefix) },
    ])
}
