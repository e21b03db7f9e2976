import Web

/// The page around every page: head, site header (who is signed in, or signing in, or the
/// visitor's links), the organization bar, flash messages, the content and the footer.
///
/// Made here rather than in `Templates/_layout/` because every page pays for it: through
/// swift-mustache its dozen values cost a dynamic cast or more each, about a fifth of a kept
/// dashboard view. It reads the same values a template layout would (``CodedLayout``):
/// `title` from the page's view model; `currentUser` or `signingIn` (``HeaderUser``) and
/// `csrfToken` from ``AuthMiddleware``; `org` (``OrgNav``) from ``OrgGate``; `flash`.
/// Every value from data is escaped.
struct SiteLayout: CodedLayout {
    func wrap(value: (String) -> Any?) -> (before: String, after: String) {
        var s = ""
        s.reserveCapacity(2_048)
        s += """
            <!DOCTYPE html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <title>
            """
        s += htmlEscape(Self.text(value("title")) ?? "")
        s += " · Portal</title>\n"
        // A page waiting for something (a webhook test being sent) reloads itself, script or not.
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
                  <input type="hidden" name="_csrf" value="\(htmlEscape(Self.text(value("csrfToken")) ?? ""))">
                  <button type="submit" class="link">Log out</button>
                </form>

        """
    }

    /// A value as Mustache's `{{name}}` would print it.
    static func text(_ value: Any?) -> String? {
        switch value {
        case nil: nil
        case let s as String: s
        case let lazy as LazyTemplateValue: lazy.text
        case let v?: "\(v)"
        }
    }
}
