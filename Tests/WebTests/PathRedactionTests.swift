import Testing
@testable import Web

@Suite("PathRedaction: secrets in paths stay out of log lines")
struct PathRedactionTests {
    let redaction = PathRedaction([
        PathRedaction.Rule(prefix: "/invitations") { $0.hasPrefix("inv_") || $0 == "signup" },
        PathRedaction.Rule(prefix: "/reset-password"),
    ])

    @Test func masksEverySegmentUnderAPrefixThatIsNotKept() {
        #expect(redaction.apply("/invitations/s3cr3t") == "/invitations/[token]")
        #expect(redaction.apply("/invitations/s3cr3t/signup") == "/invitations/[token]/signup")
        #expect(redaction.apply("/invitations/s3cr3t/sign-up/s3cr3t") == "/invitations/[token]/[token]/[token]")
        #expect(redaction.apply("/invitations/inv_abc/signup") == "/invitations/inv_abc/signup")
        #expect(redaction.apply("/reset-password/s3cr3t/") == "/reset-password/[token]/")
    }

    @Test func leavesOtherPathsAlone() {
        #expect(redaction.apply("/reset-password") == "/reset-password")
        #expect(redaction.apply("/invitationsX/s3cr3t") == "/invitationsX/s3cr3t")
        #expect(redaction.apply("/orgs/org_1/team") == "/orgs/org_1/team")
    }
}
