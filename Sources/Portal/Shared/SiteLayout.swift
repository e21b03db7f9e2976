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
    func write(value: (String) -> Any?, into w: inout HTMLWriter) -> String {
        // Written as bytes: built with interpolation and `+=`, the header and its log-out form
        // cost some 40,000 instructions a page (callgrind).
        w.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n")
        w.raw("  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>")
        w.text(Self.text(value("title")) ?? "")
        w.raw(" · Portal</title>\n")
        // A page waiting for something (a webhook test being sent) reloads itself, script or not.
        if let seconds = value("refresh") as? String, Int(seconds) != nil {
            w.raw("  <meta http-equiv=\"refresh\" content=\""); w.text(seconds); w.raw("\">\n")
        }
        w.raw("""
              <link rel="stylesheet" href="/static/css/portal.css">
              <script src="/static/js/app.js" defer></script>
            </head>
            <body>
              <a class="skip-link" href="#main">Skip to content</a>
              <header class="site-header">
                <div class="bar">
                  <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>Portal</a>
                  <nav class="site-nav" aria-label="Main">

            """)
        if let user = value("currentUser") as? HeaderUser {
            w.raw(user.user.isStaff ? "        <a href=\"/support\">Support queue</a>\n        \n" : "        \n        <a href=\"/orgs\">Organizations</a>\n")
            w.raw("        <a href=\"/account\">"); w.text(user.user.name); w.raw("</a>\n")
            logOut(value, into: &w)
        } else if let user = value("signingIn") as? HeaderUser {
            w.raw("        <span class=\"signing-in\">Signing in as <strong>"); w.text(user.user.email); w.raw("</strong></span>\n")
            logOut(value, into: &w)
        } else {
            w.raw("        <a href=\"/#features\">Features</a>\n        <a href=\"/login\">Log in</a>\n")
            w.raw("        <a class=\"button primary\" href=\"/signup\">Sign up</a>\n")
        }
        w.raw("      </nav>\n    </div>\n  </header>\n")
        if let org = value("org") as? OrgNav { w.raw(trusted: org.html); w.raw("\n") }
        w.raw("  <main id=\"main\" class=\"container\">\n")
        for message in value("flash") as? [FlashMessage] ?? [] {
            w.raw("    <div class=\"flash "); w.raw(message.kind == .error ? "alert" : "notice"); w.raw("\" role=\"status\">")
            w.text(message.text); w.raw("</div>\n")
        }
        return Self.after
    }

    private static let after = """

          </main>
          <footer class="site-footer">
            <div class="bar">
              <span>Portal · the developer portal for our payments API</span>
            </div>
          </footer>
        </body>
        </html>

        """

    private func logOut(_ value: (String) -> Any?, into w: inout HTMLWriter) {
        w.raw("        <form class=\"inline\" method=\"post\" action=\"/logout\">\n          <input type=\"hidden\" name=\"_csrf\" value=\"")
        w.text(Self.text(value("csrfToken")) ?? "")
        w.raw("\">\n          <button type=\"submit\" class=\"link\">Log out</button>\n        </form>\n")
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
