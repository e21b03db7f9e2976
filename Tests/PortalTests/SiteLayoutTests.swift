import Testing
import Web
@testable import Portal

/// The coded layout writes bytes; its output must stay what the string-built layout wrote
/// (kept here as the reference, as it was at c508393), for every kind of header and with
/// text that needs escaping.
@Suite struct SiteLayoutTests {
    static func user(name: String, email: String, staff: Bool) -> HeaderUser {
        HeaderUser(user: UserRecord(id: 1, email: email, name: name, passwordHash: "", emailVerifiedAt: 1, phone: "", timeZone: "UTC",
                                    productNews: false, reportReady: false, totpSecret: nil, totpEnabledAt: nil, totpLastStep: nil,
                                    createdAt: 0, isStaff: staff))
    }

    @Test func writesWhatTheStringBuiltLayoutWrote() {
        let titles = ["Dashboard", "Tom & Jerry's <b>\"shop\"</b>", "", "Café · ünïcode"]
        let people: [(String, HeaderUser?)] = [
            ("", nil),
            ("currentUser", Self.user(name: "Ada <Lovelace>", email: "ada@example.com", staff: false)),
            ("currentUser", Self.user(name: "Sam", email: "sam@example.com", staff: true)),
            ("signingIn", Self.user(name: "Bo", email: "bo+\"x\"@example.com", staff: false)),
        ]
        let flashes: [[FlashMessage]] = [[], [FlashMessage(.success, "Saved & done")],
                                         [FlashMessage(.error, "<script>"), FlashMessage(.info, "It's fine")]]
        for title in titles {
            for (role, person) in people {
                for flash in flashes {
                    for refresh in [nil, "5", "x<"] as [String?] {
                        var values: [String: Any] = ["title": title, "flash": flash, "csrfToken": LazyTemplateValue { "tok&en" }]
                        if let person { values[role] = person }
                        if let refresh { values["refresh"] = refresh }
                        let got = SiteLayout().wrap { values[$0] }
                        let want = Reference().wrap { values[$0] }
                        #expect(got.before == want.before, "\(title) \(role) \(flash.count) \(refresh ?? "-")")
                        #expect(got.after == want.after)
                    }
                }
            }
        }
    }

    /// The layout before it wrote bytes.
    struct Reference {
        func wrap(value: (String) -> Any?) -> (before: String, after: String) {
            var s = ""
            s += """
                <!DOCTYPE html>
                <html lang="en">
                <head>
                  <meta charset="utf-8">
                  <meta name="viewport" content="width=device-width, initial-scale=1">
                  <title>
                """
            s += htmlEscape(SiteLayout.text(value("title")) ?? "")
            s += " · Portal</title>\n"
            if let seconds = value("refresh") as? String, Int(seconds) != nil { s += "  <meta http-equiv=\"refresh\" content=\"" + seconds + "\">\n" }
            s += """
                  <link rel="stylesheet" href="/static/css/portal.css">
                  <script src="/static/js/app.js" defer></script>
                </head>
                <body>
                  <a class="skip-link" href="#main">Skip to content</a>
                  <header class="site-header">
                    <div class="bar">
                      <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>Portal</a>
                      <nav class="site-nav" aria-label="Main">

                """
            if let user = value("currentUser") as? HeaderUser {
                s += user.user.isStaff ? "        <a href=\"/support\">Support queue</a>\n        \n" : "        \n        <a href=\"/orgs\">Organizations</a>\n"
                s += "        <a href=\"/account\">" + htmlEscape(user.user.name) + "</a>\n"
                s += logOut(value)
            } else if let user = value("signingIn") as? HeaderUser {
                s += "        <span class=\"signing-in\">Signing in as <strong>" + htmlEscape(user.user.email) + "</strong></span>\n"
                s += logOut(value)
            } else {
                s += """
                            <a href="/#features">Features</a>
                            <a href="/login">Log in</a>
                            <a class="button primary" href="/signup">Sign up</a>

                    """
            }
            s += """
                      </nav>
                    </div>
                  </header>

                """
            if let org = value("org") as? OrgNav { s += org.html + "\n" }
            s += "  <main id=\"main\" class=\"container\">\n"
            for message in value("flash") as? [FlashMessage] ?? [] {
                s += "    <div class=\"flash " + (message.kind == .error ? "alert" : "notice") + "\" role=\"status\">" + htmlEscape(message.text) + "</div>\n"
            }
            return (s, """

                  </main>
                  <footer class="site-footer">
                    <div class="bar">
                      <span>Portal · the developer portal for our payments API</span>
                    </div>
                  </footer>
                </body>
                </html>

                """)
        }

        private func logOut(_ value: (String) -> Any?) -> String {
            """
                    <form class="inline" method="post" action="/logout">
                      <input type="hidden" name="_csrf" value="\(htmlEscape(SiteLayout.text(value("csrfToken")) ?? ""))">
                      <button type="submit" class="link">Log out</button>
                    </form>

            """
        }
    }
}
