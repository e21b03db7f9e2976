import Foundation
import Web

/// What both account pages show: the heading, and the messages beside the fields of a form
/// that was sent back. Each page is a `ViewModel` class (not a dictionary or a plain struct),
/// so swift-mustache finds its values without reflection. Every `{{tag}}` still costs a
/// microsecond or two per request, so the templates keep to few: the sub-navigation is plain
/// HTML in each page, and a field's error is one section (CSS marks the field around it).
class AccountSettingsPage: ViewModel {
    let user: UserRecord
    let errors: [String: String]

    init(user: UserRecord, errors: [String: String]) {
        self.user = user
        self.errors = errors
    }

    func child(named name: String) -> Any? {
        switch name {
        case "email": user.email
        case "memberSince": PageTime.full(user.createdAt, zone: user.timeZone)
        case "hasErrors": !errors.isEmpty
        default:
            // `{{#error_field}}`: one flat lookup per field, no dotted path to split and walk.
            name.hasPrefix("error_") ? errors[String(name.dropFirst(6))] : nil
        }
    }
}

/// `/account`: personal details and communication preferences. Everything comes from the
/// user record the session lookup already read; the long time-zone list arrives as HTML
/// rendered once per selected zone (``TimeZoneOptions``).
final class ProfilePage: AccountSettingsPage {
    /// What was typed into a form that is shown again.
    let values: [String: String]
    let timeZoneOptions: String

    init(user: UserRecord, values: [String: String], errors: [String: String], timeZoneOptions: String) {
        self.values = values
        self.timeZoneOptions = timeZoneOptions
        super.init(user: user, errors: errors)
    }

    override func child(named name: String) -> Any? {
        switch name {
        case "title": "Your account"
        case "name": values["name"] ?? user.name
        case "phone": values["phone"] ?? user.phone
        case "timeZoneOptions": timeZoneOptions
        case "productNews": user.productNews
        case "reportReady": user.reportReady
        default: super.child(named: name)
        }
    }
}

/// The `<option>`s of the time-zone list with one zone selected (none for a value that is
/// not a zone): the same HTML for everyone who chose that zone, so the page is rendered once
/// per zone and kept. An option carries a `value` only when its text differs from the zone's
/// name ("America/New York"), which keeps the list, the bulk of the profile page, at 16 KB.
final class TimeZoneOptions: ViewModel, FixedViewModel {
    let fragmentKey: String
    /// Made only when the page is rendered, not when it comes from the cache.
    lazy var zones = Self.all.map { Zone(name: $0.name, label: $0.label, selected: $0.name == fragmentKey) }

    init(selected: String) {
        fragmentKey = PageTime.zones.contains(selected) ? selected : ""
    }

    func child(named name: String) -> Any? { name == "zones" ? zones : nil }

    private static let all = PageTime.zones.sorted().map { (name: $0, label: $0.replacingOccurrences(of: "_", with: " ")) }

    final class Zone: ViewModel {
        let name: String
        let label: String
        let selected: Bool
        init(name: String, label: String, selected: Bool) {
            self.name = name
            self.label = label
            self.selected = selected
        }
        func child(named key: String) -> Any? {
            switch key {
            case "value": label == name ? nil : name
            case "label": label
            case "selected": selected
            default: nil
            }
        }
    }
}

/// `/account/security`: password, e-mail address, recovery codes, active sessions and recent
/// security activity, read in one transaction.
final class SecurityPage: AccountSettingsPage {
    let newEmail: String
    let sessions: [SessionRow]
    let recoveryCodesLeft: Int
    let events: [EventRow]

    init(accounts: Accounts, session: SessionRecord, user: UserRecord, newEmail: String, errors: [String: String]) throws {
        self.newEmail = newEmail
        let zone = user.timeZone
        let overview = try accounts.securityOverview(user: user)
        self.sessions = overview.sessions.map { SessionRow($0, current: $0.id == session.id, zone: zone) }
        self.recoveryCodesLeft = overview.recoveryCodesLeft
        self.events = overview.events.map { EventRow($0, zone: zone) }
        super.init(user: user, errors: errors)
    }

    override func child(named name: String) -> Any? {
        switch name {
        case "title": "Account security"
        case "newEmail": newEmail
        case "sessions": sessions
        case "hasOtherSessions": sessions.count > 1
        case "recoveryCodesLeft": recoveryCodesLeft
        case "recoveryCodesLow": recoveryCodesLeft <= 3
        case "events": events
        default: super.child(named: name)
        }
    }

    final class SessionRow: ViewModel {
        let s: SessionRecord
        let current: Bool
        let device: String
        let lastSeen: String
        let started: String
        init(_ s: SessionRecord, current: Bool, zone: String) {
            self.s = s
            self.current = current
            self.device = SecurityPage.describeAgent(s.userAgent)
            self.lastSeen = PageTime.full(s.lastSeenAt, zone: zone)
            self.started = PageTime.full(s.createdAt, zone: zone)
        }
        func child(named name: String) -> Any? {
            switch name {
            case "id": s.id
            case "device": device
            case "ip": s.ip
            case "lastSeen": lastSeen
            case "started": started
            case "current": current
            default: nil
            }
        }
    }

    /// One line of "Recent security activity": always a sentence, whichever feature recorded
    /// the event ("You invited bo@example.com as Developer", "Password changed").
    final class EventRow: ViewModel {
        let e: AuditEvent
        let when: String
        let what: String
        init(_ e: AuditEvent, zone: String) {
            self.e = e
            self.when = PageTime.full(e.at, zone: zone)
            self.what = AuditActions.all.describe(e.action, actor: "You", subject: e.subject, details: e.details)
        }
        func child(named name: String) -> Any? {
            switch name {
            case "when": when
            case "what": what
            case "ip": e.ip
            case "details": AuditActions.all.detailText(e.action, details: e.details)
            default: nil
            }
        }
    }

    /// "Firefox on Linux" from a User-Agent, good enough to recognise one's own devices.
    static func describeAgent(_ ua: String) -> String {
        if ua.isEmpty { return "Unknown device" }
        // Ordered: the first match wins (Edge and Opera also say Chrome; iPhone says Mac OS X).
        let browsers: [(String, String)] = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome", "Headless Chrome"),
                                            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"), ("python", "Python")]
        let systems: [(String, String)] = [("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                           ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux")]
        // Searched as UTF-8 bytes: Foundation's `contains` goes through NSString.
        func has(_ s: String) -> Bool { ua.utf8.firstRange(of: s.utf8) != nil }
        let browser = browsers.first { has($0.0) }?.1 ?? "Browser"
        let os = systems.first { has($0.0) }?.1
        return os.map { "\(browser) on \($0)" } ?? browser
    }
}
