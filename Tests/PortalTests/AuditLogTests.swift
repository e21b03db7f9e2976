import Database
import Foundation
import Testing
import TestSupport
@testable import Portal

/// The organization's audit log over real sockets: events in words, newest first, pages,
/// filters, the CSV export, and who may read it.
@Suite("Audit log: page, filters, pagination, CSV export")
struct AuditLogTests {
    // MARK: - events in words

    @Test func eventsAppearNewestFirstInWordsWithTimeEnvironmentAndDetails() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        // Named before she acts: events keep the name their actor had when they happened.
        try portal.rename(ana.email, "Ana Lovelace")
        let org = try ana.createOrganization(portal, a)
        let bo = try TestUser.enrolled(portal, b)
        try portal.rename(bo.email, "Bo Diddley")
        let boMember = try portal.addMember(bo.email, to: org, role: .developer)
        let settings = "/orgs/\(org)/settings"
        portal.clock.advance(seconds: 5)
        #expect(try a.submit("\(settings)/details", to: "\(settings)/details",
                             [("address", "Damrak 5, 1012 LG Amsterdam"), ("reason", "We moved")]).status == 303)
        #expect(try a.submit("\(settings)/name", to: "\(settings)/name", [("legal_name", "Acme Group B.V."), ("reason", "Rebrand")]).status == 303)
        #expect(try a.submit("\(settings)/production", to: "\(settings)/production", [("note", "Payouts from March")]).status == 303)
        #expect(try a.submit("\(settings)/offboarding", to: "\(settings)/offboarding", [("reason", "Closing"), ("confirmation", "Acme")]).status == 303)
        let owner = try a.get("\(settings)/owner")
        portal.clock.advance(seconds: 30)
        #expect(try a.post("\(settings)/owner", [("member", boMember), ("password", ana.password), ("code", ana.code(portal))],
                           csrfFrom: owner).status == 303)

        // Ana (now an Admin, with logs.read) reads the log.
        let page = try a.get("/orgs/\(org)/logs")
        #expect(page.status == 200)
        #expect(Self.descriptions(page) == [
            "Ana Lovelace made Bo Diddley the Owner",
            "Ana Lovelace asked support to close the organization",
            "Production Ana Lovelace asked support for Production access",
            "Ana Lovelace asked support to change the organization's name",
            "Ana Lovelace asked support to change the organization's details",
            "Ana Lovelace created the organization Acme Payments B.V.",
        ])
        // The Production request carries the environment badge.
        #expect(page.text.contains("<span class=\"badge production\">Production</span> Ana Lovelace asked support for Production access"))
        // Before and after where they matter, with field names in words.
        #expect(page.text.contains("<li>Registered address: Herengracht 1\n1015 BA Amsterdam → Damrak 5, 1012 LG Amsterdam</li>"))
        #expect(page.text.contains("<li>Legal name: Acme Payments B.V. → Acme Group B.V.</li>"))
        #expect(page.text.contains("<li>Country: NL</li>"))
        // Time in the reader's zone (UTC by default), and where it came from.
        #expect(page.text.contains("(UTC)</time>"))
        #expect(page.text.contains(">127.0.0.1</span>"))
        #expect(page.text.contains("title=\"Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0\""))
        // The organization bar marks the Logs section.
        #expect(page.text.contains("/logs\" aria-current=\"page\">Logs</a>"))

        // The reader's time zone changes how times read.
        try portal.app.database.write { try $0.execute("UPDATE users SET time_zone = 'Asia/Tokyo' WHERE email = ?", ana.email) }
        #expect(try a.get("/orgs/\(org)/logs").text.contains("(Asia/Tokyo)</time>"))
    }

    @Test func teamAndSupportEventsReadAsSentencesWithStaffShownAsSupport() throws {
        let portal = try TestPortal()
        let a = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        try portal.rename(ana.email, "Ana Lovelace")
        let org = try ana.createOrganization(portal, a)
        let bo = try TestUser.enrolled(portal, Browser(portal))
        try portal.rename(bo.email, "Bo Diddley")
        _ = try portal.addMember(bo.email, to: org, role: .employee)
        let sam = try TestUser.enrolled(portal, Browser(portal))
        try portal.rename(sam.email, "Sam Staff")
        try portal.app.database.write { try $0.execute("UPDATE users SET is_staff = 1 WHERE email = ?", sam.email) }
        let anaID = try portal.userID(ana.email), samID = try portal.userID(sam.email)
        try portal.insertEvents(org, [
            ("member.invited", anaID, "cy@example.com", "role: Developer; permissions: api_keys.read, logs.read"),
            ("member.updated", anaID, bo.email, "role: Employee → Custom; permissions: payouts.create, transactions.read → transactions.read"),
            ("member.disabled", anaID, bo.email, ""),
            ("support.approved", samID, "req_aaaaaaaaaaaaaaaa", "Change organization details: Checked the registry"),
            ("org.details_changed", samID, "", "address: Herengracht 1 → Damrak 5"),
            ("support.rejected", nil, "req_bbbbbbbbbbbbbbbb", "Offboarding: Outstanding balance"),
            ("apps.secret_rolled", anaID, "app_cccccccccccccccc", ""),
        ])
        let page = try a.get("/orgs/\(org)/logs")
        let texts = Self.descriptions(page)
        #expect(Array(texts.prefix(7)) == [
            "Ana Lovelace: apps secret rolled (app_cccccccccccccccc)",
            "Support rejected the request to close the organization",
            "Support (Sam Staff) changed the organization's details",
            "Support (Sam Staff) approved the change of details",
            "Ana Lovelace disabled Bo Diddley's access",
            "Ana Lovelace changed Bo Diddley's role: Employee → Custom",
            "Ana Lovelace invited cy@example.com as Developer",
        ])
        #expect(page.text.contains("<li>Reason: Checked the registry</li>"))
        #expect(page.text.contains("<li>Role: Employee → Custom</li>"))
        // Staff are not offered by address, and their address is not shown to members.
        #expect(!page.text.contains(sam.email))
        #expect(page.text.contains("<option value=\"support\">Support staff</option>"))
    }

    @Test func anEmptyLogSaysSo() throws {
        let (portal, a, _, org) = try TestPortal.withOwner()
        try portal.app.database.write { try $0.execute("DELETE FROM audit_events WHERE organization_id = ?", try portal.orgRowID(org)) }
        let page = try a.get("/orgs/\(org)/logs")
        #expect(page.status == 200)
        #expect(page.text.contains("Nothing has been recorded for Acme yet."))
        #expect(!page.text.contains("<table"))
        let filtered = try a.get("/orgs/\(org)/logs?action=team")
        #expect(filtered.text.contains("Nothing has been recorded"))
    }

    // MARK: - pages

    @Test func fiftyEventsAPageWithOlderAndNewerLinksThatKeepTheFilters() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let anaID = try portal.userID(ana.email)
        try portal.insertEvents(org, (0..<120).map { ("member.invited", anaID, "p\($0)@example.com", "role: Employee") })
        func invitees(_ r: TestResponse) -> [String] {
            Self.descriptions(r).map { $0.replacingOccurrences(of: "Ada Lovelace invited ", with: "").replacingOccurrences(of: "@example.com as Employee", with: "") }
        }
        let first = try a.get("/orgs/\(org)/logs")
        #expect(invitees(first) == (70..<120).reversed().map { "p\($0)" })
        #expect(Self.link("prev", in: first) == nil)
        let older = try #require(Self.link("next", in: first))
        #expect(older.hasPrefix("/orgs/\(org)/logs?before="))
        let second = try a.get(older)
        #expect(invitees(second) == (20..<70).reversed().map { "p\($0)" })
        let third = try a.get(try #require(Self.link("next", in: second)))
        #expect(invitees(third) == (0..<20).reversed().map { "p\($0)" } + ["Ada Lovelace created the organization Acme Payments B.V."])
        #expect(Self.link("next", in: third) == nil)
        // Newer goes back exactly one page, then to the newest.
        let back = try a.get(try #require(Self.link("prev", in: third)))
        #expect(invitees(back) == invitees(second))
        let top = try a.get(try #require(Self.link("prev", in: back)))
        #expect(invitees(top) == invitees(first))
        #expect(Self.link("prev", in: top) == nil)
        // Past either end: the newest page without a newer link, or nothing with a way back.
        let past = try a.get("/orgs/\(org)/logs?before=999999999")
        #expect(invitees(past) == invitees(first))
        #expect(Self.link("prev", in: past) == nil)
        let end = try a.get("/orgs/\(org)/logs?before=1")
        #expect(invitees(end).isEmpty)
        #expect(end.text.contains("No more events match these filters."))
        let oldest = try a.get(try #require(Self.link("prev", in: end)))
        #expect(invitees(oldest) == (0..<49).reversed().map { "p\($0)" } + ["Ada Lovelace created the organization Acme Payments B.V."])

        // The filters stay in the page links.
        let team = try a.get("/orgs/\(org)/logs?action=team&from=2000-01-01")
        let teamOlder = try #require(Self.link("next", in: team))
        #expect(teamOlder.contains("action=team") && teamOlder.contains("from=2000-01-01"))
        let teamLast = try a.get(try #require(Self.link("next", in: try a.get(teamOlder))))
        // Only team events: the creation of the organization is not among them.
        #expect(invitees(teamLast) == (0..<20).reversed().map { "p\($0)" })
        #expect(try #require(Self.link("prev", in: teamLast)).contains("action=team"))
        // A cursor that is not a number is the first page.
        #expect(invitees(try a.get("/orgs/\(org)/logs?before=abc")) == invitees(first))
        #expect(invitees(try a.get("/orgs/\(org)/logs?before=-5")) == invitees(first))
    }

    // MARK: - filters

    @Test func filtersByActorOnlyAmongThisOrganizationsPeople() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal), c = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        let bo = try TestUser.enrolled(portal, b)
        try portal.rename(bo.email, "Bo Diddley")
        _ = try portal.addMember(bo.email, to: org, role: .developer)
        // Cy has her own organization and is no member of Ana's.
        let cy = try TestUser.enrolled(portal, c)
        let other = try cy.createOrganization(portal, c, ["legal_name": "Other Corp", "trading_name": "Other"])
        let sam = try TestUser.enrolled(portal, Browser(portal))
        try portal.app.database.write { try $0.execute("UPDATE users SET is_staff = 1, name = 'Sam Staff' WHERE email = ?", sam.email) }
        try portal.insertEvents(org, [
            ("invitation.accepted", try portal.userID(bo.email), bo.email, "role: Developer"),
            ("support.approved", try portal.userID(sam.email), "req_aaaaaaaaaaaaaaaa", "Production access: Compliance checked"),
        ])
        let base = "/orgs/\(org)/logs"
        let page = try a.get(base)
        #expect(page.text.contains("<option value=\"\(bo.email)\">Bo Diddley (\(bo.email))</option>"))
        #expect(!page.text.contains(cy.email))

        let byBo = try a.get("\(base)?actor=\(Browser.encode(bo.email.uppercased()))")
        #expect(Self.descriptions(byBo) == ["Bo Diddley accepted the invitation and joined as Developer"])
        #expect(byBo.text.contains("<option value=\"\(bo.email)\" selected>"))
        let bySupport = try a.get("\(base)?actor=support")
        #expect(Self.descriptions(bySupport) == ["Support (Sam Staff) approved Production access"])
        let byAna = try a.get("\(base)?actor=\(Browser.encode(ana.email))")
        #expect(Self.descriptions(byAna) == ["Ada Lovelace created the organization Acme Payments B.V."])

        // Someone of another organization, a staff address, or an unknown address: refused
        // the same way beside the field; the log is shown unfiltered.
        for outsider in [cy.email, sam.email, "nobody@example.com"] {
            let r = try a.get("\(base)?actor=\(Browser.encode(outsider))")
            #expect(r.status == 200)
            #expect(r.text.contains("<p class=\"error\" id=\"actor-error\">Choose someone from the list.</p>"))
            #expect(Self.descriptions(r).count == 3)
            #expect(!r.text.contains("Other Corp"))
        }
        // Cy's events in her own organization never show in Ana's log.
        #expect(!page.text.contains("Other Corp"))
        #expect(try c.get("/orgs/\(other)/logs").text.contains("Other Corp"))
    }

    @Test func filtersByActionFamilyOrExactAction() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let anaID = try portal.userID(ana.email)
        try portal.insertEvents(org, [
            ("member.invited", anaID, "bo@example.com", "role: Developer"),
            ("invitation.revoked", anaID, "bo@example.com", ""),
            ("request.production_access", anaID, "req_aaaaaaaaaaaaaaaa", ""),
            ("support.rejected", nil, "req_aaaaaaaaaaaaaaaa", "Production access: Not yet"),
            ("member_x.invited", anaID, "lookalike", ""),
        ])
        let base = "/orgs/\(org)/logs"
        let page = try a.get(base)
        // The groups, and the actions present in this log by name.
        #expect(page.text.contains("<option value=\"team\">Team: members and invitations</option>"))
        #expect(page.text.contains("<option value=\"invitation.revoked\">Invitation revoked</option>"))
        #expect(Self.descriptions(try a.get("\(base)?action=team")) == [
            "Ada Lovelace revoked the invitation to bo@example.com", "Ada Lovelace invited bo@example.com as Developer",
        ])
        #expect(Self.descriptions(try a.get("\(base)?action=requests")) == ["Ada Lovelace asked support for Production access"])
        #expect(Self.descriptions(try a.get("\(base)?action=support")) == ["Support rejected Production access"])
        #expect(Self.descriptions(try a.get("\(base)?action=organization")) == ["Ada Lovelace created the organization Acme Payments B.V."])
        let exact = try a.get("\(base)?action=member.invited")
        #expect(Self.descriptions(exact) == ["Ada Lovelace invited bo@example.com as Developer"])
        #expect(exact.text.contains("<option value=\"member.invited\" selected>"))
        // GLOB and LIKE wildcards are not wildcards here.
        #expect(Self.descriptions(try a.get("\(base)?action=member.invite_")).isEmpty)
        #expect(Self.descriptions(try a.get("\(base)?action=member.*")).count == 6)
        let bad = try a.get("\(base)?action=%3Cscript%3E")
        #expect(bad.text.contains("<p class=\"error\" id=\"action-error\">Choose an action from the list.</p>"))
        #expect(!bad.text.contains("<script>"))
        #expect(Self.descriptions(bad).count == 6)
        // Combined with an actor.
        #expect(Self.descriptions(try a.get("\(base)?action=support&actor=\(Browser.encode(ana.email))")).isEmpty)
        #expect(try a.get("\(base)?action=support&actor=\(Browser.encode(ana.email))").text.contains("No events match these filters."))
    }

    @Test func datesAreDaysInTheReadersTimeZoneAndABadDateIsExplainedBesideItsField() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let anaID = try portal.userID(ana.email)
        try portal.app.database.write { try $0.execute("UPDATE users SET time_zone = 'Asia/Tokyo' WHERE email = ?", ana.email) }
        // 2027-03-10 14:59 UTC is 23:59 on the 10th in Tokyo; 15:00 UTC is already the 11th there.
        let tenth2359 = Int64(1_804_690_740), eleventh0000 = tenth2359 + 60
        let eleventh2359 = eleventh0000 + 86_400 - 60, twelfth0000 = eleventh0000 + 86_400
        try portal.insertEvents(org, [
            ("member.invited", anaID, "a@example.com", "role: Admin"),
            ("member.invited", anaID, "b@example.com", "role: Admin"),
            ("member.invited", anaID, "c@example.com", "role: Admin"),
            ("member.invited", anaID, "d@example.com", "role: Admin"),
        ], at: [tenth2359, eleventh0000, eleventh2359, twelfth0000])
        let base = "/orgs/\(org)/logs"
        func invitees(_ q: String) throws -> [String] {
            Self.descriptions(try a.get("\(base)?\(q)")).map { String($0.dropFirst("Ada Lovelace invited ".count).prefix(1)) }
        }
        #expect(try invitees("from=2027-03-11&to=2027-03-11") == ["c", "b"])
        #expect(try invitees("from=2027-03-11&action=team") == ["d", "c", "b"])
        #expect(try invitees("to=2027-03-10&action=team") == ["a"])
        #expect(try invitees("from=2027-03-10&to=2027-03-12") == ["d", "c", "b", "a"])
        #expect(try a.get("\(base)?from=2027-03-10").text.contains("23:59 (Asia/Tokyo)"))

        // Not a date: the message beside the field, what was typed kept, the rest still applied.
        let bad = try a.get("\(base)?from=2027-02-30&action=team&to=2027-03-10")
        #expect(bad.status == 200)
        #expect(bad.text.contains("<p class=\"error\" id=\"from-error\">Enter a date as YYYY-MM-DD, for example 2027-01-31.</p>"))
        #expect(bad.text.contains("value=\"2027-02-30\""))
        #expect(Self.descriptions(bad).map { String($0.dropFirst("Ada Lovelace invited ".count).prefix(1)) } == ["a"])
        // The export link only carries the filters that were used.
        #expect(bad.text.contains("href=\"/orgs/\(org)/logs.csv?action=team&amp;to=2027-03-10\""))
        for junk in ["yesterday", "2027-3-1", "2027-13-01", "１２３４-01-01", "2027-01-01T00:00", "0001-01-01"] {
            let r = try a.get("\(base)?to=\(Browser.encode(junk))")
            #expect(r.text.contains("id=\"to-error\""), "\(junk)")
            #expect(Self.descriptions(r).count == 5, "\(junk)")
        }
        let backwards = try a.get("\(base)?from=2027-03-12&to=2027-03-10")
        #expect(backwards.text.contains("<p class=\"error\" id=\"to-error\">The end date is before the start date.</p>"))
        #expect(try invitees("from=2027-03-12&to=2027-03-10") == ["d"])
    }

    // MARK: - CSV

    @Test func csvExportHoldsTheFilteredEventsEscapedAndDefused() throws {
        let portal = try TestPortal()
        let a = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        try portal.rename(ana.email, "Ana, \"the\" Owner")
        let hostile = "=HYPERLINK(\"http://evil.example\",\"click\")"
        let org = try ana.createOrganization(portal, a, ["legal_name": hostile, "trading_name": "Acme Payments"])
        let settings = "/orgs/\(org)/settings"
        #expect(try a.submit("\(settings)/production", to: "\(settings)/production", [("note", "Go live")]).status == 303)
        try portal.insertEvents(org, [("member.invited", try portal.userID(ana.email), "+31@example.com", "role: Developer")])

        let r = try a.get("/orgs/\(org)/logs.csv")
        #expect(r.status == 200)
        #expect(r["Content-Type"] == "text/csv; charset=utf-8")
        let today = String(PageTime.iso8601(portal.clock.now).prefix(10))
        #expect(r["Content-Disposition"] == "attachment; filename=\"acme-payments-audit-log-\(today).csv\"")
        #expect(r["Cache-Control"]?.contains("no-store") == true)
        let text = Self.body(r)
        #expect(text.hasPrefix("time_utc,actor_email,actor_name,action,description,environment,subject,details,ip,user_agent\r\n"))
        #expect(text.hasSuffix("\r\n"))
        let rows = CSVReader.parse(text)
        #expect(rows.count == 4)
        #expect(rows.allSatisfy { $0.count == 10 })
        let (invited, production, created) = (rows[1], rows[2], rows[3])
        #expect(invited[3] == "member.invited")
        #expect(invited[6] == "'+31@example.com")
        #expect(invited[4] == "Ana, \"the\" Owner invited +31@example.com as Developer")
        #expect(production[3] == "request.production_access" && production[5] == "production")
        #expect(production[4] == "Ana, \"the\" Owner asked support for Production access")
        #expect(created[1] == ana.email && created[2] == "Ana, \"the\" Owner")
        // The organization's name starts with "=": defused wherever it starts a cell.
        #expect(created[6] == "'" + hostile)
        #expect(created[7].hasPrefix("legal_name: \(hostile); trading_name: Acme Payments; country: NL"))
        #expect(created[7].contains("address: Herengracht 1\n1015 BA Amsterdam"))
        #expect(created[8] == "127.0.0.1" && created[9] == a.userAgent)
        #expect(created[0].range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"#, options: .regularExpression) != nil)
        // Raw: the quotes doubled, the hostile cell quoted and led by an apostrophe.
        #expect(text.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\","))
        #expect(!text.contains(",=HYPERLINK"))

        // The same filters as the page.
        let filtered = CSVReader.parse(Self.body(try a.get("/orgs/\(org)/logs.csv?action=requests")))
        #expect(filtered.map { $0[3] } == ["action", "request.production_access"])
        let byStaff = CSVReader.parse(Self.body(try a.get("/orgs/\(org)/logs.csv?actor=support")))
        #expect(byStaff.count == 1)
        // A filter that cannot be used is refused rather than quietly exporting more.
        let bad = try a.get("/orgs/\(org)/logs.csv?from=31-12-2027&action=requests")
        #expect(bad.status == 422)
        #expect(bad.text.contains("Enter a date as YYYY-MM-DD"))
        // The page offers the export with its filters.
        #expect(try a.get("/orgs/\(org)/logs?action=requests").text.contains("href=\"/orgs/\(org)/logs.csv?action=requests\""))
    }

    @Test func csvExportStreamsLargeLogsInOrder() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let anaID = try portal.userID(ana.email)
        // More than two batches.
        try portal.insertEvents(org, (0..<2_345).map { ("member.invited", anaID, "p\($0)@example.com", "role: Employee") })
        let r = try a.get("/orgs/\(org)/logs.csv")
        #expect(r["Transfer-Encoding"] == "chunked")
        let rows = CSVReader.parse(Self.body(r))
        #expect(rows.count == 1 + 2_345 + 1)
        #expect(rows[1][6] == "p2344@example.com")
        #expect(rows[2_345][6] == "p0@example.com")
        #expect(rows.last?[3] == "org.created")
        #expect(Set(rows.dropFirst().map { $0[6] }).count == 2_346)
    }

    // MARK: - who may read it

    @Test func aMemberWithoutLogsReadIsRefusedBothThePageAndTheExport() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal), d = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        let bo = try TestUser.enrolled(portal, b)
        _ = try portal.addMember(bo.email, to: org, role: .custom, permissions: [.transactionsRead, .rolesRead, .rolesWrite])
        let dev = try TestUser.enrolled(portal, d)
        let devMember = try portal.addMember(dev.email, to: org, role: .developer)
        for path in ["/orgs/\(org)/logs", "/orgs/\(org)/logs.csv", "/orgs/\(org)/logs?action=team", "/orgs/\(org)/logs.csv?actor=support"] {
            let r = try b.get(path)
            #expect(r.status == 403, "\(path)")
            #expect(r.text.contains("does not include “View logs”"), "\(path)")
            #expect(!r.text.contains("org.created") && !r.text.contains("Acme Payments B.V."), "\(path)")
        }
        // Bo's organization bar does not offer Logs; the Developer's does.
        let dash = try b.get("/orgs/\(org)")
        #expect(dash.status == 200)
        #expect(!dash.text.contains("/orgs/\(org)/logs"))
        #expect(try d.get("/orgs/\(org)").text.contains("href=\"/orgs/\(org)/logs\""))
        #expect(try d.get("/orgs/\(org)/logs").status == 200)
        #expect(try d.get("/orgs/\(org)/logs.csv").status == 200)
        // Taking logs.read away works at the next request.
        try portal.app.database.write {
            try $0.execute("UPDATE memberships SET role = 'custom', permissions = 'transactions.read' WHERE public_id = ?", devMember)
        }
        #expect(try d.get("/orgs/\(org)/logs").status == 403)
        #expect(try d.get("/orgs/\(org)/logs.csv").status == 403)
        // A disabled member is refused too.
        try portal.app.database.write {
            try $0.execute("UPDATE memberships SET role = 'developer', permissions = ?, status = 'disabled' WHERE public_id = ?",
                           Permission.store(Role.developer.preset!), devMember)
        }
        #expect(try d.get("/orgs/\(org)/logs").status == 403)
        #expect(try d.get("/orgs/\(org)/logs.csv").status == 403)
    }

    @Test func anotherOrganizationsLogIsTheSameNotFoundAsAMissingOneAndNeverLeaks() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let acme = try ana.createOrganization(portal, a)
        let beta = try ana.createOrganization(portal, a, ["legal_name": "Beta Holdings Ltd", "trading_name": "Beta"])
        let bo = try TestUser.enrolled(portal, b)
        let bos = try bo.createOrganization(portal, b, ["legal_name": "Bo Corp Ltd", "trading_name": ""])
        for suffix in ["/logs", "/logs.csv", "/logs?action=team", "/logs.csv?before=999999"] {
            let foreign = try b.get("/orgs/\(acme)\(suffix)")
            let missing = try b.get("/orgs/org_aaaaaaaaaaaaaaaa\(suffix)")
            #expect(foreign.status == 404 && missing.status == 404, "\(suffix)")
            #expect(!foreign.text.contains("Acme"), "\(suffix)")
            #expect(Self.withoutCSRF(foreign.text) == Self.withoutCSRF(missing.text), "\(suffix)")
        }
        // Signed out: the login page.
        #expect(try Browser(portal).get("/orgs/\(acme)/logs.csv")["Location"]?.hasPrefix("/login") == true)
        // Ana's two organizations keep their logs apart, on the page and in the export.
        let acmeLog = try a.get("/orgs/\(acme)/logs")
        #expect(Self.descriptions(acmeLog) == ["Ada Lovelace created the organization Acme Payments B.V."])
        let betaCSV = CSVReader.parse(Self.body(try a.get("/orgs/\(beta)/logs.csv")))
        #expect(betaCSV.dropFirst().map { $0[6] } == ["Beta Holdings Ltd"])
        // A cursor taken from another organization's log shows nothing of it.
        let bosEvent = try portal.app.database.read {
            try $0.scalar("SELECT id FROM audit_events WHERE organization_id = ?", try portal.orgRowID(bos), as: Int64.self)
        }!
        let cursorPage = try a.get("/orgs/\(acme)/logs?after=\(bosEvent - 1)")
        #expect(!cursorPage.text.contains("Bo Corp"))
        #expect(!(try a.get("/orgs/\(acme)/logs?before=\(bosEvent + 1)")).text.contains("Bo Corp"))
    }

    // MARK: - the describer

    /// Every action the services write, as the log says it (actor, subject, details as written).
    @Test(arguments: [
        ("org.created", "Ana", "Acme B.V.", "legal_name: Acme B.V.; country: NL", "Ana created the organization Acme B.V."),
        ("org.owner_changed", "Ana", "bo@example.com", "from ana@example.com to bo@example.com; ana@example.com is now Admin",
         "Ana made Bo Diddley the Owner"),
        ("request.org_details", "Ana", "req_x", "address: A → B", "Ana asked support to change the organization's details"),
        ("request.org_name", "Ana", "req_x", "legal_name: A → B", "Ana asked support to change the organization's name"),
        ("request.offboarding", "Ana", "req_x", "", "Ana asked support to close the organization"),
        ("request.production_access", "Ana", "req_x", "", "Ana asked support for Production access"),
        ("member.invited", "Ana", "cy@example.com", "role: Developer; permissions: api_keys.read, logs.read", "Ana invited cy@example.com as Developer"),
        ("member.invited", "Ana", "cy@example.com", "role: manager", "Ana invited cy@example.com as Manager"),
        ("invitation.resent", "Ana", "cy@example.com", "", "Ana sent the invitation to cy@example.com again"),
        ("invitation.revoked", "Ana", "cy@example.com", "", "Ana revoked the invitation to cy@example.com"),
        ("invitation.accepted", "Cy", "cy@example.com", "", "Cy accepted the invitation and joined the team"),
        ("invitation.declined", "Cy", "cy@example.com", "", "Cy declined the invitation"),
        ("invitation.declined", "Portal", "cy@example.com", "", "cy@example.com declined the invitation"),
        ("member.updated", "Ana", "bo@example.com", "role: Employee → Custom; permissions: a, b → b", "Ana changed Bo Diddley's role: Employee → Custom"),
        ("member.updated", "Ana", "bo@example.com", "role: employee → admin", "Ana changed Bo Diddley's role: Employee → Admin"),
        ("member.updated", "Ana", "bo@example.com", "permissions: a → a, b", "Ana changed Bo Diddley's permissions"),
        ("member.disabled", "Ana", "bo@example.com", "", "Ana disabled Bo Diddley's access"),
        ("member.enabled", "Ana", "bo@example.com", "", "Ana enabled Bo Diddley's access again"),
        ("member.removed", "Ana", "gone@example.com", "", "Ana removed gone@example.com from the organization"),
        ("support.approved", "Support (Sam)", "req_x", "Change organization details: Registry checked", "Support (Sam) approved the change of details"),
        ("support.approved", "Support (Sam)", "req_x", "Change organization name: ok", "Support (Sam) approved the name change"),
        ("support.rejected", "Support (Sam)", "req_x", "Offboarding: Balance outstanding", "Support (Sam) rejected the request to close the organization"),
        ("support.approved", "Support", "req_x", "Production access: Compliance checked", "Support approved Production access"),
        ("support.approved", "Support (Sam)", "req_x", "Lost authenticator: ID checked", "Support (Sam) approved the two-factor reset"),
        ("org.details_changed", "Support (Sam)", "", "address: A → B", "Support (Sam) changed the organization's details"),
        ("org.name_changed", "Support (Sam)", "", "legal_name: Acme B.V. → Acme Group B.V.", "Support (Sam) changed the organization's name to Acme Group B.V."),
        ("org.closed", "Support (Sam)", "", "", "Support (Sam) closed the organization"),
        ("org.production_enabled", "Support (Sam)", "", "", "Support (Sam) enabled Production"),
        ("mfa.reset_by_support", "Support (Sam)", "bo@example.com", "", "Support (Sam) reset two-factor authentication for Bo Diddley"),
        ("staff.created", "Portal", "sam@ops.example", "", "Portal created a staff account for sam@ops.example"),
        ("staff.setup_completed", "Support (Sam)", "sam@ops.example", "", "Support (Sam) finished setting up a staff account"),
        ("webhooks.endpoint_added", "Ana", "https://hooks.example", "", "Ana: webhooks endpoint added (https://hooks.example)"),
    ])
    func everyActionReadsAsASentence(action: String, actor: String, subject: String, details: String, expected: String) {
        let names = ["bo@example.com": "Bo Diddley"]
        // Details as the services used to write them, read the way the start-up upgrade stores them.
        let json = AuditDetailsUpgrade.parse(action: action, details: details).json
        #expect(AuditActions.all.describe(action, actor: actor, subject: subject, details: json,
                                          subjectName: names[subject]) == expected)
        // Every action has a title for the filter list that is not its identifier.
        #expect(AuditActions.all.title(action) != action)
    }

    @Test func detailsReadAsLinesWithFieldNamesInWords() {
        #expect(Self.detailLines("member.updated", details: "role: employee → custom; permissions: a → b")
                == ["Role: Employee → Custom", "Permissions: a → b"])
        #expect(Self.detailLines("org.created", details: "legal_name: Acme; website: https://a.example")
                == ["Legal name: Acme", "Website: https://a.example"])
        #expect(Self.detailLines("support.rejected", details: "Offboarding: Balance: 5 EUR outstanding")
                == ["Reason: Balance: 5 EUR outstanding"])
        #expect(Self.detailLines("org.owner_changed", details: "from a@x to b@x; a@x is now Admin")
                == ["from a@x to b@x", "a@x is now Admin"])
        #expect(Self.detailLines("request.offboarding", details: "").isEmpty)
    }

    // MARK: - helpers

    /// The lines a legacy details string reads as once upgraded to JSON.
    static func detailLines(_ action: String, details: String) -> [String] {
        AuditActions.all.detailLines(action, details: AuditDetailsUpgrade.parse(action: action, details: details).json)
    }

    /// The event sentences on a log page, in order, as a person reads them.
    static func descriptions(_ r: TestResponse) -> [String] {
        r.text.components(separatedBy: "<div class=\"what\">").dropFirst().map { chunk in
            let html = chunk.components(separatedBy: "</div>")[0]
            var text = ""
            var inTag = false
            for c in html {
                if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { text.append(c) }
            }
            return unescape(text).trimmingCharacters(in: .whitespaces)
        }
    }

    /// The href of the pager link with this `rel`, unescaped.
    static func link(_ rel: String, in r: TestResponse) -> String? {
        guard let end = r.text.range(of: "\" rel=\"\(rel)\"") else { return nil }
        let before = r.text[..<end.lowerBound]
        guard let start = before.range(of: "href=\"", options: .backwards) else { return nil }
        return unescape(String(before[start.upperBound...]))
    }

    /// The page without its (per-render) CSRF token.
    static func withoutCSRF(_ html: String) -> String {
        html.replacingOccurrences(of: #"name="_csrf" value="[^"]*""#, with: "", options: .regularExpression)
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// The body of a response, with chunked transfer coding undone.
    static func body(_ r: TestResponse) -> String {
        guard r["Transfer-Encoding"] == "chunked" else { return r.text }
        var out: [UInt8] = []
        var rest = r.body[...]
        while let lineEnd = rest.firstRange(of: [13, 10]) {
            let sizeLine = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeLine, radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            out += rest[start..<(start + size)]
            rest = rest[(start + size + 2)...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension TestPortal {
    func userID(_ email: String) throws -> Int64 {
        try app.database.read { try $0.scalar("SELECT id FROM users WHERE email = ?", email, as: Int64.self) }!
    }

    func rename(_ email: String, _ name: String) throws {
        try app.database.write { try $0.execute("UPDATE users SET name = ? WHERE email = ?", name, email) }
    }

    /// Adds the user to the organization straight in the database; returns the membership's public id.
    @discardableResult
    func addMember(_ email: String, to org: String, role: Role, permissions: Set<Permission>? = nil) throws -> String {
        let publicID = PublicID.make("mem")
        let orgID = try orgRowID(org)
        let userID = try userID(email)
        try app.database.write { db in
            _ = try OrganizationsStore().insertMembership(publicID: publicID, organizationID: orgID, userID: userID, role: role,
                                                          permissions: permissions ?? role.preset ?? [], now: clock.now, on: db)
        }
        return publicID
    }

    /// Writes events for the organization through the audit store, oldest first.
    func insertEvents(_ org: String, _ events: [(action: String, actor: Int64?, subject: String, details: String)], at times: [Int64]? = nil) throws {
        let orgID = try orgRowID(org)
        let now = clock.now
        try app.database.write { db in
            for (i, e) in events.enumerated() {
                try AuditStore().insert(at: times?[i] ?? now, actorUserID: e.actor, organizationID: orgID, environment: "", action: e.action,
                                        subject: e.subject, ip: "192.0.2.7", userAgent: "curl/8.0", details: e.details, on: db)
            }
        }
        // Written as older versions wrote details; upgraded to JSON as a start-up would.
        try AuditDetailsUpgrade.convertAll(app.database)
    }
}

/// Date filters (the audit log's and the transactions list's) turn a day typed in the
/// reader's zone into the instant it starts. The arithmetic must agree with Foundation's
/// calendar everywhere: across DST changes, in zones far from UTC, in zones whose day once
/// started at 01:00, and for days that do not exist.
@Suite struct StartOfDayTests {
    static func reference(_ y: Int, _ m: Int, _ d: Int, zone: String, adding: Int) -> Int64? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
              calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: y, month: m, day: d),
              let shifted = calendar.date(byAdding: .day, value: adding, to: date) else { return nil }
        return Int64(calendar.startOfDay(for: shifted).timeIntervalSince1970)
    }

    @Test func agreesWithTheCalendarOnEveryDayOfSeveralYearsInManyZones() {
        let zones = ["UTC", "Europe/Amsterdam", "America/New_York", "America/Sao_Paulo", "Asia/Beirut", "America/Havana",
                     "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe", "Pacific/Apia", "America/Santiago", "Africa/Casablanca"]
        var checked = 0
        for zone in zones {
            for y in [1970, 2011, 2018, 2024, 2026, 2027] {
                for m in 1...12 {
                    for d in 1...31 {
                        for adding in [0, 1] {
                            let ymd = String(format: "%04d-%02d-%02d", y, m, d)
                            let got = AuditLog.startOfDay(ymd, zone: zone, addingDays: adding)
                            #expect(got == Self.reference(y, m, d, zone: zone, adding: adding), "\(ymd) +\(adding) in \(zone)")
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked == 12 * 6 * 12 * 31 * 2)
        #expect(AuditLog.startOfDay("2027-02-29", zone: "UTC") == nil && AuditLog.startOfDay("2028-02-29", zone: "UTC") != nil)
        #expect(AuditLog.startOfDay("2026-04-31", zone: "Europe/Amsterdam") == nil)
    }

    /// Only `yyyy-mm-dd` in ASCII digits is a date: other shapes, other digits, spaces are not.
    @Test func onlyTheExactShapeIsADate() {
        #expect(AuditLog.startOfDay("2026-01-02", zone: "UTC") == 1_767_312_000)
        for bad in ["2026-1-02", "2026-01-2", "20260-01-02", " 2026-01-02", "2026-01-02 ", "2026/01/02", "2026-01-02x", "2026--01-02",
                    "２０２６-01-02", "2026-01-0١", "2026-0a-02", "+026-01-02", "-2026-01-02", "", "2026-01", "1969-12-31", "2026-13-01",
                    "2026-00-10", "2026-01-00", "2026-01-32"] {
            #expect(AuditLog.startOfDay(bad, zone: "UTC") == nil, "\(bad)")
        }
    }
}

/// `datetime` attributes and every CSV time come from ``PageTime/iso8601(_:zone:)``, written
/// by hand: it must read as Foundation's own ISO 8601 formatter writes the same instant.
@Suite struct ISO8601Tests {
    @Test func agreesWithFoundationsFormatterInZonesOnBothSidesOfUTC() {
        for zone in ["UTC", "Europe/Amsterdam", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham", "America/Los_Angeles"] {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: zone)!
            for t in stride(from: Int64(0), to: 2_000_000_000, by: 7_777_777) + [1_774_744_200, 1_792_893_600, 253_402_300_799] {
                #expect(PageTime.iso8601(t, zone: zone) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t))), "\(t) in \(zone)")
            }
        }
    }
}
